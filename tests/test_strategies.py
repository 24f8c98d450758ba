"""Every registered strategy stores exactly what it is given, or refuses before writing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
from conftest import BAD_NAMES, HELD_OUT_NAMES, all_strategies, assert_statements_counted, statement_counts_unavailable

from bulkinsert import GeneratedNames, InsertError, Unsupported, default_names, run_insert
from bulkinsert.pg.database import Database
from bulkinsert.registry import FAMILIES, Strategy

STRATEGIES = all_strategies()
IDS = [s.name for s in STRATEGIES]
# Every SQLAlchemy path on every other driver it declares (hostile names run on all of them) ...
ON_OTHER_DRIVERS = [s.with_driver(d) for s in STRATEGIES for d in s.drivers if d != s.driver]
# ... and a sample for the other tests: the paths that run on another driver take the other
# drivers in turn, so every such path runs on one of them and every driver on every family.
_RUNS_ELSEWHERE = [s for s in STRATEGIES if any(o.driver != s.driver and o.supported for o in ON_OTHER_DRIVERS
                                                 if o.name == s.name)]
SAMPLE = [
    s.with_driver([d for d in s.drivers if d != s.driver][k % (len(s.drivers) - 1)])
    for k, s in enumerate(_RUNS_ELSEWHERE)
]
GRID = STRATEGIES + SAMPLE
GRID_IDS = [s.label for s in GRID]


def _skip_if_unsupported(strategy: Strategy) -> None:
    reason = strategy.unsupported_reason()
    if reason is not None:
        pytest.skip(f"{strategy.name}: {reason}")


def _seed(db: Database, names: list[str]) -> None:
    run_insert("copy_text_fast", names, db=db)


def test_registry_has_the_talks_five_steps_in_order() -> None:
    steps = sorted((s.talk_step, s.name) for s in STRATEGIES if s.talk_step)
    assert [name for _, name in steps] == [
        "orm_basic", "orm_pk_preload", "core_executemany", "compiled_sql", "copy_text",
    ]


def test_metadata_is_complete() -> None:
    for s in STRATEGIES:
        assert s.family in FAMILIES
        assert s.description and "\n" not in s.description
        assert s.driver
        assert s.driver in s.drivers


def test_the_sample_covers_every_driver_and_family() -> None:
    covered = {(s.driver, s.family) for s in SAMPLE if s.supported}
    wanted = {(s.driver, s.family) for s in ON_OTHER_DRIVERS if s.supported}
    assert covered == wanted
    assert {s.name for s in SAMPLE} == {s.name for s in ON_OTHER_DRIVERS if s.supported}


@pytest.mark.parametrize("strategy", GRID, ids=GRID_IDS)
def test_default_names_round_trip(strategy: Strategy, db: Database) -> None:
    _skip_if_unsupported(strategy)
    names = default_names(1_500)
    result = run_insert(strategy, names, db=db)
    assert db.fetch_names() == list(names)
    assert result.rows == 1_500
    assert result.seconds > 0 and result.cpu_seconds >= 0
    assert 0 < result.dbapi_seconds <= result.seconds
    assert_statements_counted(db, result.statements)
    assert result.driver == strategy.driver


@pytest.mark.parametrize("strategy", STRATEGIES + ON_OTHER_DRIVERS, ids=IDS + [s.label for s in ON_OTHER_DRIVERS])
def test_bad_input_round_trips_exactly(strategy: Strategy, db: Database) -> None:
    _skip_if_unsupported(strategy)
    if strategy.name == "server_generate":
        with pytest.raises(Unsupported, match="only reproduce the generated"):
            run_insert(strategy, list(BAD_NAMES), db=db)
        assert db.row_count() == 0
        return
    run_insert(strategy, list(BAD_NAMES), db=db)
    assert db.fetch_names() == BAD_NAMES


@pytest.mark.parametrize("strategy", STRATEGIES + ON_OTHER_DRIVERS, ids=IDS + [s.label for s in ON_OTHER_DRIVERS])
def test_held_out_hostile_names_round_trip_exactly(strategy: Strategy, db: Database) -> None:
    """A second hostile set, of another style (conftest.HELD_OUT_NAMES), on every driver a path runs on."""
    _skip_if_unsupported(strategy)
    if strategy.name == "server_generate":
        with pytest.raises(Unsupported, match="only reproduce the generated"):
            run_insert(strategy, list(HELD_OUT_NAMES), db=db)
        return
    run_insert(strategy, list(HELD_OUT_NAMES), db=db)
    assert db.fetch_names() == HELD_OUT_NAMES


@pytest.mark.parametrize("strategy", GRID, ids=GRID_IDS)
def test_empty_input_is_called_and_inserts_nothing(strategy: Strategy, db: Database) -> None:
    """Every strategy is really called with zero rows (the runner does not skip it) and succeeds.

    On top of existing rows, so a path that sends an INSERT of defaults or truncates shows.
    """
    _skip_if_unsupported(strategy)
    existing = list(default_names(20, start=900))
    _seed(db, existing)
    calls = []

    def counted(database: Database, names: Sequence[str]) -> None:
        calls.append(len(names))
        strategy.function(database, names)

    result = run_insert(replace(strategy, function=counted), GeneratedNames(0), db=db, reset=False)
    assert calls == [0]
    assert result.rows == 0
    assert db.fetch_names() == existing


@pytest.mark.parametrize("strategy", GRID, ids=GRID_IDS)
def test_duplicates_fail_cleanly_and_leave_table_as_before(strategy: Strategy, db: Database) -> None:
    _skip_if_unsupported(strategy)
    if strategy.upserts:
        pytest.skip("an upsert keeps existing names once (tests/test_upsert.py)")
    existing = default_names(50, start=0)
    _seed(db, existing)
    # Names 40..89 collide with the existing 40..49; server_generate makes the same overlap.
    colliding = default_names(50, start=40)
    with pytest.raises(InsertError, match="duplicate name") as failure:
        run_insert(strategy, colliding, db=db, reset=False)
    assert "\n" not in str(failure.value)
    assert db.fetch_names() == list(existing)
    assert db.has_unique_constraint()
    # The table still accepts a clean insert afterwards: ids continue the sequence.
    run_insert("copy_text_fast", default_names(5, start=1000), db=db, reset=False)
    assert db.fetch_names() == list(existing) + list(default_names(5, start=1000))


@pytest.mark.parametrize("strategy", GRID, ids=GRID_IDS)
def test_duplicates_within_the_input_fail(strategy: Strategy, db: Database) -> None:
    _skip_if_unsupported(strategy)
    if strategy.upserts:
        pytest.skip("an upsert keeps a repeated name once (tests/test_upsert.py)")
    if strategy.name == "server_generate":
        pytest.skip("server_generate produces distinct names by construction")
    with pytest.raises(InsertError, match="duplicate name"):
        run_insert(strategy, ["a", "b", "a"], db=db)
    assert db.row_count() == 0


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (["ok", "nul\x00inside"], "NUL character"),
        (["ok", "\ud800 lone surrogate"], "lone surrogate"),
        (["ok", 42], "not str"),
        (["ok", None], "not str"),
    ],
)
@pytest.mark.parametrize("strategy", GRID, ids=GRID_IDS)
def test_unstorable_input_is_refused_before_writing(
    strategy: Strategy, db: Database, bad: list, message: str
) -> None:
    _skip_if_unsupported(strategy)
    _seed(db, ["keep me"])
    with pytest.raises(InsertError, match=message) as refusal:
        run_insert(strategy, bad, db=db, reset=False)
    assert "\n" not in str(refusal.value)
    assert db.fetch_names() == ["keep me"]


def test_too_large_for_the_unique_index_is_refused_cleanly(db: Database) -> None:
    import random

    rng = random.Random(7)
    incompressible = "".join(chr(rng.randrange(0x4E00, 0x9FFF)) for _ in range(40_000))
    _seed(db, ["keep me"])
    with pytest.raises(InsertError, match="too large for the unique index"):
        run_insert("copy_text_fast", ["fine", incompressible], db=db, reset=False)
    assert db.fetch_names() == ["keep me"]


def test_unsupported_strategies_raise_unsupported_and_write_nothing(db: Database) -> None:
    unsupported = [s for s in STRATEGIES if s.unsupported_reason() is not None]
    for strategy in unsupported:
        _seed(db, ["keep me"])
        with pytest.raises(Unsupported, match=strategy.name):
            run_insert(strategy, ["new"], db=db, reset=False)
        assert db.fetch_names() == ["keep me"]


def test_version_specific_support_matches_installed_sqlalchemy() -> None:
    from bulkinsert import compat, registry

    by_name = registry.load()
    assert by_name["orm_bulk_insert"].supported == compat.SA20_PLUS
    assert by_name["core_insertmanyvalues"].supported == compat.SA20_PLUS
    assert by_name["core_executemany_values"].supported == (not compat.SA20_PLUS)
    assert by_name["core_executemany_batch"].supported == (not compat.SA20_PLUS)
    for name in ("orm_basic", "core_executemany", "core_executemany_plain", "copy_text", "compiled_sql"):
        assert by_name[name].supported


def test_statement_counts_tell_the_talks_lesson(db: Database) -> None:
    if (reason := statement_counts_unavailable(db)) is not None:
        pytest.skip(reason)
    rows = 2_000
    counts = {
        name: run_insert(name, default_names(rows), db=db).statements
        for name in ("dbapi_executemany", "core_executemany_plain", "execute_values", "compiled_sql",
                     "copy_text", "copy_text_fast", "copy_binary", "unnest_array", "server_generate")
    }
    # psycopg2's executemany: one INSERT per row (plus BEGIN and COMMIT).
    assert counts["dbapi_executemany"] >= rows
    assert counts["core_executemany_plain"] >= rows
    # One statement (or one per 1,000-row page) plus the transaction: a handful.
    for name in ("compiled_sql", "copy_text", "copy_text_fast", "copy_binary", "unnest_array", "server_generate"):
        assert counts[name] <= 4, (name, counts[name])
    assert counts["execute_values"] <= rows // 1000 + 3


def test_dbapi_time_is_measured_not_estimated(db: Database) -> None:
    plain = Database(instrument=False)
    try:
        uninstrumented = run_insert("copy_text_fast", default_names(500), db=plain)
    finally:
        plain.close()
    instrumented = run_insert("orm_basic", default_names(500), db=db)
    assert uninstrumented.dbapi_seconds == 0.0
    # The ORM spends most of its time in Python, outside the driver.
    assert 0 < instrumented.dbapi_seconds < instrumented.seconds


def test_profile_capture(tmp_path, db: Database) -> None:
    import pstats

    path = tmp_path / "core.prof"
    result = run_insert("core_executemany", default_names(300), db=db, profile_path=path, count_calls=True)
    stats = pstats.Stats(str(path))
    assert stats.total_calls == result.function_calls > 100
    assert any("_core_insert" in func[2] for func in stats.stats)


def test_profile_this_decorator_and_context_manager(tmp_path, monkeypatch) -> None:
    import pstats

    from bulkinsert import profile_this, profiled

    monkeypatch.chdir(tmp_path)

    @profile_this
    def busy() -> int:
        return sum(i * i for i in range(10_000))

    assert busy() == sum(i * i for i in range(10_000))
    assert pstats.Stats(str(tmp_path / "busy.prof")).total_calls > 10_000
    with profiled(tmp_path / "block.prof") as profile:
        sorted(range(1000), key=lambda x: -x)
    assert profile is not None and (tmp_path / "block.prof").stat().st_size > 0
