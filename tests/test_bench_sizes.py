"""Which sizes the asv suite times a path at: a path the server sees send a statement per row stops at 10,000."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import pytest

from bulkinsert import registry
from bulkinsert.data.schema import default_names
from bulkinsert.measure.runner import before_timer, sends_a_statement_per_row
from bulkinsert.pg.database import Database


@pytest.fixture()
def row_by_row() -> Iterator[str]:
    """A path declared with no role: one execute per row, as a user's own strategy might be."""

    def one_execute_per_row(db: Database, names: Sequence[str]) -> None:
        with db.dbapi() as conn, conn.cursor() as cur:
            for name in names:
                cur.execute("INSERT INTO users (name) VALUES (%s)", (name,))

    registry.strategy(family="dbapi")(one_execute_per_row)

    try:
        yield "one_execute_per_row"
    finally:
        registry.REGISTRY.pop("one_execute_per_row", None)


def test_the_warm_up_counts_what_the_server_saw(db: Database, row_by_row: str) -> None:
    if db.statements_executed() is None:
        pytest.skip(db.statements_unavailable() or "no pg_stat_statements")
    per_row = before_timer(row_by_row, default_names(10), db)
    batched = before_timer("execute_values", default_names(10), db)
    assert sends_a_statement_per_row(db, per_row)
    assert not sends_a_statement_per_row(db, batched)


def test_asv_times_a_per_row_path_up_to_10000_rows_only(db: Database, row_by_row: str) -> None:
    from benchmarks import base
    from benchmarks.insert_time import InsertTime

    if db.statements_executed() is None:
        pytest.skip(db.statements_unavailable() or "no pg_stat_statements")
    close = base._close_databases
    bench = InsertTime()
    try:
        with pytest.raises(NotImplementedError, match=r"one_execute_per_row at 100000 rows: sends one statement"):
            bench.setup(row_by_row, 100_000)
        bench.setup("execute_values", 100_000)  # batched: timed at every size
        bench.teardown("execute_values", 100_000)
        bench.setup(row_by_row, 1_000)  # small sizes are timed
        bench.time_insert(row_by_row, 1_000)
        bench.teardown(row_by_row, 1_000)  # checks the row count
    finally:
        close()


def test_the_default_run_leaves_the_large_size_to_its_own_target() -> None:
    """make bench times 1,000 and 10,000 rows; InsertTimeLarge (make bench-large) the 100,000."""
    from benchmarks import insert_large, insert_time, sizes

    if "BULKINSERT_TIME_ROWS" not in os.environ:  # which may widen it on purpose
        assert max(insert_time.InsertTime.params[1]) <= sizes.SLOW_LIMIT_ROWS
    large = insert_large.InsertTimeLarge
    assert large.params[1] == sizes.LARGE_ROWS and min(large.params[1]) > sizes.SLOW_LIMIT_ROWS
    assert large.params[0] == insert_time.InsertTime.params[0]  # every strategy, as at the other sizes
    assert issubclass(large, insert_time.InsertTime)  # the same setup, timed insert and checks


def test_setup_before_each_sample_reuses_the_names_and_scans_only_new_objects() -> None:
    import gc

    from benchmarks import base

    assert gc.get_freeze_count() > 10_000  # SQLAlchemy and the drivers, frozen once in _preload
    assert base.names_of(1_000) is base.names_of(1_000)
    assert list(base.names_of(1_000)) == list(default_names(1_000))


def test_the_driver_axis_says_where_it_is_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    """In an environment with an older psycopg2 of the matrix, both driver benchmarks are n/a with the reason."""
    from benchmarks import driver_counts, insert_time

    reason = "measured once per SQLAlchemy release, in the environment with psycopg2-binary 9.9.9"
    monkeypatch.setattr(insert_time, "DRIVER_AXIS_ELSEWHERE", reason)
    monkeypatch.setattr(driver_counts, "DRIVER_AXIS_ELSEWHERE", reason)
    name, driver = insert_time.SQLALCHEMY_PATHS[0], "asyncpg"
    with pytest.raises(NotImplementedError, match="psycopg2-binary 9.9.9"):
        insert_time.InsertTimeByDriver().setup(name, 1_000, driver)
    counts = driver_counts.measure_driver_counts()
    bench = driver_counts.DriverCounts()
    with pytest.raises(NotImplementedError, match="psycopg2-binary 9.9.9"):
        bench.setup(counts, name, driver_counts.TRACK_ROWS[0], driver)
