"""The upsert family ends with exactly the union of what was there and what was given."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import BAD_NAMES, assert_statements_counted

from bulkinsert import InsertError, default_names, run_insert
from bulkinsert.cli.main import cli
from bulkinsert.measure.runner import before_timer
from bulkinsert.pg.database import Database
from bulkinsert.registry import Strategy, load

UPSERTS = [s for s in load().values() if s.upserts]
IDS = [s.name for s in UPSERTS]


def _skip_if_unsupported(strategy: Strategy) -> None:
    reason = strategy.unsupported_reason()
    if reason is not None:
        pytest.skip(f"{strategy.name}: {reason}")


def _upsert_on_top(strategy: Strategy, db: Database, names: list[str]) -> None:
    """The strategy's insert on top of what the table holds (run_insert counts plain inserts)."""
    before_timer(strategy, names, db, reset=False)
    strategy.function(db, names)


def test_the_family_has_the_five_upserts() -> None:
    assert sorted(IDS) == sorted(
        ["core_upsert_do_nothing", "core_upsert_do_update", "orm_upsert", "execute_values_upsert", "copy_upsert"]
    )


@pytest.mark.parametrize("strategy", UPSERTS, ids=IDS)
def test_into_an_empty_table_exactly_the_names(strategy: Strategy, db: Database) -> None:
    _skip_if_unsupported(strategy)
    names = default_names(2_500)
    result = run_insert(strategy, names, db=db)
    assert db.fetch_names() == list(names)
    assert_statements_counted(db, result.statements)


@pytest.mark.parametrize("strategy", UPSERTS, ids=IDS)
def test_hostile_names_round_trip_exactly(strategy: Strategy, db: Database) -> None:
    _skip_if_unsupported(strategy)
    run_insert(strategy, list(BAD_NAMES), db=db)
    assert db.fetch_names() == BAD_NAMES


@pytest.mark.parametrize("strategy", UPSERTS, ids=IDS)
def test_into_a_partly_filled_table_exactly_the_union(strategy: Strategy, db: Database) -> None:
    _skip_if_unsupported(strategy)
    existing = list(default_names(300)) + BAD_NAMES[:12]
    run_insert("copy_text_fast", existing, db=db)
    # Half of the new names are already there (among them hostile ones), half are new.
    given = list(default_names(300, start=150)) + BAD_NAMES[6:20]
    _upsert_on_top(strategy, db, given)
    stored = db.fetch_names()
    assert len(stored) == len(set(stored)), "a name was doubled"
    assert stored[: len(existing)] == existing, "an existing row was lost or rewritten"
    assert set(stored) == set(existing) | set(given)
    assert stored[len(existing):] == [name for name in given if name not in set(existing)]


@pytest.mark.parametrize("strategy", UPSERTS, ids=IDS)
def test_every_name_already_there_changes_nothing(strategy: Strategy, db: Database) -> None:
    _skip_if_unsupported(strategy)
    existing = list(default_names(200))
    run_insert("copy_text_fast", existing, db=db)
    _upsert_on_top(strategy, db, existing)
    assert db.fetch_names() == existing


@pytest.mark.parametrize("strategy", UPSERTS, ids=IDS)
def test_a_repeated_name_in_the_input_is_refused_before_writing(strategy: Strategy, db: Database) -> None:
    """One documented outcome in every release: refused with one line, the table untouched."""
    _skip_if_unsupported(strategy)
    run_insert("copy_text_fast", ["kept"], db=db)
    with pytest.raises(InsertError, match=r"^name #2 'a' repeats name #0: .*nothing was inserted$"):
        run_insert(strategy, ["a", "b", "a"], db=db, reset=False)
    with pytest.raises(InsertError, match="repeats name #0"):
        _upsert_on_top(strategy, db, ["kept", "c", "kept"])
    assert db.fetch_names() == ["kept"]


@pytest.mark.parametrize("strategy", UPSERTS, ids=IDS)
def test_the_cli_refuses_repeated_names_with_one_line(strategy: Strategy, db: Database, tmp_path: Path) -> None:
    _skip_if_unsupported(strategy)
    run_insert("copy_text_fast", ["kept"], db=db)
    given = tmp_path / "names.json"
    given.write_text(json.dumps(["a", "b", "a"]))
    result = CliRunner().invoke(cli, ["run", strategy.name, "--names-json", str(given)])
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and "repeats name #0" in result.stderr
    assert db.fetch_names() == ["kept"]


@pytest.mark.parametrize("strategy", UPSERTS, ids=IDS)
def test_unstorable_input_is_refused_before_writing(strategy: Strategy, db: Database) -> None:
    _skip_if_unsupported(strategy)
    run_insert("copy_text_fast", ["keep me"], db=db)
    with pytest.raises(InsertError, match="NUL character"):
        run_insert(strategy, ["ok", "nul\x00inside"], db=db, reset=False)
    assert db.fetch_names() == ["keep me"]
