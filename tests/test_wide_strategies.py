"""Every strategy round-trips the wide edge rows exactly (checked by the server) or says why not."""

from __future__ import annotations

import pytest
from conftest import all_strategies

from bulkinsert.data import workloads
from bulkinsert.data.exact import NotExact, check_exact
from bulkinsert.data.workloads import WorkloadRows, wide
from bulkinsert.errors import InsertError, Unsupported
from bulkinsert.measure.runner import run_insert
from bulkinsert.pg.database import Database
from bulkinsert.registry import Strategy
from bulkinsert.strategies.wide import WIDE_PATHS, for_workload

STRATEGIES = all_strategies()
IDS = [s.name for s in STRATEGIES]
ROWS = wide.rows(1_200, seed=11)


def _skip_if_unsupported(strategy: Strategy) -> None:
    reason = strategy.unsupported_reason()
    if reason is not None:
        pytest.skip(f"{strategy.name}: {reason}")


def test_every_strategy_has_a_wide_path_or_a_reason() -> None:
    for strategy in STRATEGIES:
        assert (strategy.name in WIDE_PATHS) != ("wide" in strategy.unsupported), strategy.name
    with pytest.raises(Unsupported, match=r"server_generate: workload wide: the server can only generate"):
        for_workload(next(s for s in STRATEGIES if s.name == "server_generate"), wide)


@pytest.mark.parametrize("strategy", [s for s in STRATEGIES if s.name in WIDE_PATHS],
                         ids=[s.name for s in STRATEGIES if s.name in WIDE_PATHS])
def test_wide_rows_round_trip_exactly(strategy: Strategy, db: Database) -> None:
    """Through the runner (validation, warm-up, reset, setup, timed insert, row count), then checked."""
    _skip_if_unsupported(strategy)
    result = run_insert(strategy, ROWS, db=db)
    assert result.rows == len(ROWS) and result.seconds > 0
    check_exact(db, ROWS)


def test_unsupported_strategies_say_why_through_the_runner(db: Database) -> None:
    for strategy in STRATEGIES:
        if "wide" in strategy.unsupported and strategy.supported:
            with pytest.raises(Unsupported, match=f"{strategy.name}: workload wide: "):
                run_insert(strategy, ROWS, db=db)


@pytest.mark.parametrize("name", ["copy_binary", "execute_values", "core_executemany", "asyncpg_copy_records"])
def test_a_failed_wide_load_leaves_the_table_as_before(name: str, db: Database) -> None:
    """A duplicate key in the rows: one-line error, and no row of the load stays (one transaction)."""
    strategy = next(s for s in STRATEGIES if s.name == name)
    _skip_if_unsupported(strategy)
    doubled = WorkloadRows([*ROWS[:500], ROWS[20]], wide)
    with pytest.raises(InsertError, match="wide_big_key") as failure:
        run_insert(strategy, doubled, db=db)
    assert "\n" not in str(failure.value)
    assert wide.row_count(db) == 0


def test_invalid_rows_are_refused_before_anything_is_written(db: Database) -> None:
    run_insert("copy_binary", WorkloadRows(ROWS[:5], wide), db=db)
    naive = WorkloadRows([*ROWS[:10], (*ROWS[10][:5], ROWS[10][5].replace(tzinfo=None), *ROWS[10][6:])], wide)
    with pytest.raises(InsertError, match=r"wide\.created: row #10 .* naive datetime"):
        run_insert("copy_binary", naive, db=db, reset=False)
    assert wide.row_count(db) == 5


def test_populated_workload_through_the_runner(db: Database) -> None:
    populated = workloads.get("populated", present=3_000)
    new = populated.rows(500)
    for name in ("copy_text_stream", "copy_deferred_index", "server_generate"):
        result = run_insert(name, new, db=db)
        assert result.rows == 500
        assert db.row_count() == 3_500
        check_exact(db, new)
    with pytest.raises(InsertError, match="duplicate name"):
        run_insert("copy_text_fast", workloads.PopulatedNames(10, populated.with_present(3_005)), db=db,
                   reset=False)


def test_the_check_would_have_caught_psycopg2s_negative_zero(db: Database) -> None:
    """Without SignedZeroDouble, SQLAlchemy + psycopg2 stores -0.0 as 0: the check says so."""
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql

    columns = [
        sa.Column(name, postgresql.DOUBLE_PRECISION() if name == "ratio" else wide.table.c[name].type)
        for name in wide.column_names
    ]
    plain = sa.Table("wide", sa.MetaData(), *columns)
    db.use_engine({})
    wide.reset(db)
    with db.engine.begin() as conn:
        conn.execute(plain.insert(), [dict(zip(wide.column_names, row, strict=True)) for row in ROWS[:20]])
    with pytest.raises(NotExact, match=r"wide\.ratio: expected -0 got 0 "):
        check_exact(db, ROWS[:20], wide)




# The typed rows on the other drivers: each SQLAlchemy path with a wide path, on the other drivers
# in turn (every driver gets ORM and Core paths), exactly or refused before writing.
_ELSEWHERE = [s for s in STRATEGIES if s.name in WIDE_PATHS and any(s.with_driver(d).supported for d in s.drivers[1:])]
ON_DRIVERS = [s.with_driver(s.drivers[1 + k % (len(s.drivers) - 1)]) for k, s in enumerate(_ELSEWHERE)]


@pytest.mark.parametrize("strategy", ON_DRIVERS, ids=[s.label for s in ON_DRIVERS])
def test_wide_rows_on_other_drivers_exactly_or_refused(strategy: Strategy, db: Database) -> None:
    _skip_if_unsupported(strategy)
    present = WorkloadRows(ROWS[:7], wide)
    run_insert("copy_binary", present, db=db)
    try:
        run_insert(strategy, ROWS, db=db)
    except Unsupported as refusal:  # asyncpg: datetime/date min and max would become ±infinity
        assert strategy.driver == "asyncpg" and "±infinity" in str(refusal)
        check_exact(db, present)  # refused before the reset: the table as it was
        return
    check_exact(db, ROWS)
