"""Every strategy round-trips the wide edge rows exactly (checked by the server) or says why not."""

from __future__ import annotations

import pytest
from conftest import all_strategies

from bulkinsert.database import Database
from bulkinsert.errors import InsertError, Unsupported
from bulkinsert.exact import NotExact, check_exact
from bulkinsert.registry import Strategy
from bulkinsert.strategies.wide import UNSUPPORTED, WIDE_PATHS, for_workload
from bulkinsert.workloads import wide

STRATEGIES = all_strategies()
IDS = [s.name for s in STRATEGIES]
ROWS = wide.rows(1_200, seed=11)


def _load(strategy: Strategy, db: Database, rows: list) -> None:
    """The runner's order, without its timer: engine, reset, the path's setup, the insert."""
    reason = strategy.unsupported_reason()
    if reason is not None:
        pytest.skip(f"{strategy.name}: {reason}")
    typed = for_workload(strategy, wide)
    db.use_engine(strategy.engine_options() if strategy.engine_options is not None else {})
    wide.reset(db)
    if typed.setup is not None:
        typed.setup(db, rows)
    typed.function(db, rows)


def test_every_strategy_has_a_wide_path_or_a_reason() -> None:
    for strategy in STRATEGIES:
        assert (strategy.name in WIDE_PATHS) != (strategy.name in UNSUPPORTED), strategy.name
    with pytest.raises(Unsupported, match=r"server_generate: workload wide: the server can only generate"):
        for_workload(next(s for s in STRATEGIES if s.name == "server_generate"), wide)


@pytest.mark.parametrize("strategy", [s for s in STRATEGIES if s.name in WIDE_PATHS],
                         ids=[s.name for s in STRATEGIES if s.name in WIDE_PATHS])
def test_wide_rows_round_trip_exactly(strategy: Strategy, db: Database) -> None:
    _load(strategy, db, ROWS)
    check_exact(db, ROWS)


@pytest.mark.parametrize("name", ["copy_binary", "execute_values", "core_executemany", "asyncpg_copy_records"])
def test_a_failed_wide_load_leaves_the_table_as_before(name: str, db: Database) -> None:
    """A duplicate key in the rows: the load fails and no row of it stays (one transaction)."""
    strategy = next(s for s in STRATEGIES if s.name == name)
    doubled = [*ROWS[:500], ROWS[20]]
    with pytest.raises(Exception) as failure:  # noqa: PT011 - each driver raises its own error class
        _load(strategy, db, doubled)
    assert "wide_big_key" in str(failure.value) or "duplicate" in str(failure.value).lower()
    assert wide.row_count(db) == 0


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


def test_invalid_rows_are_refused_before_anything_is_written(db: Database) -> None:
    from bulkinsert.workloads import validate_rows

    bad = [*ROWS[:10], (1, 2, 3)]
    with pytest.raises(InsertError, match="row #10 is not a tuple of 11 values"):
        validate_rows(wide, bad)
