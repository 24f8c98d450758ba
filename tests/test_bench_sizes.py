"""Which sizes the asv suite times a path at: a path the server sees send a statement per row stops at 10,000."""

from __future__ import annotations

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
    from benchmarks import common
    from benchmarks.insert_time import InsertTime

    if db.statements_executed() is None:
        pytest.skip(db.statements_unavailable() or "no pg_stat_statements")
    close = common._close_databases
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
