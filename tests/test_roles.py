"""Strategy roles: declared once on the strategy, read by the ladder, the site, the suite and the sweep."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import statement_counts_unavailable

from bulkinsert import compat, registry
from bulkinsert.data.schema import default_names
from bulkinsert.measure.runner import run_insert
from bulkinsert.pg.database import Database


def test_every_role_is_held_and_the_singular_ones_once() -> None:
    for role in registry.ROLES:
        assert registry.with_role(role), role
    assert registry.one_with_role("baseline") == "orm_basic"
    assert registry.one_with_role("floor") == "server_copy_file"
    # A reference path is a yardstick for the scale suite, so it is measured there too.
    assert set(registry.with_role("reference")) <= set(registry.with_role("scale"))


def test_an_unknown_role_is_an_error_not_an_empty_list() -> None:
    with pytest.raises(ValueError, match="unknown role 'flor'"):
        registry.with_role("flor")
    with pytest.raises(ValueError, match="exactly one strategy"):
        registry.one_with_role("per_row")
    def fastest(db: Database, names: object) -> None:
        """A declaration with a role nobody reads."""

    with pytest.raises(ValueError, match="unknown role 'fastest'"):
        registry.strategy(family="orm", roles=("fastest",))(fastest)
    assert "fastest" not in registry.load()


def test_family_roles_reach_every_member() -> None:
    for strategy in registry.load().values():
        assert registry.FAMILY_ROLES.get(strategy.family, frozenset()) <= strategy.roles, strategy.name


def test_the_readers_follow_the_declaration() -> None:
    from benchmarks import scale
    from bulkinsert.releases.cli import DEFAULT_SWEEP_STRATEGIES

    assert scale.SCALE_STRATEGIES == list(registry.with_role("scale"))
    assert scale.FLOOR == "server_copy_file"
    assert "server_generate" in scale.REFERENCE and "copy_text" not in scale.REFERENCE
    assert DEFAULT_SWEEP_STRATEGIES[0] == "core_executemany"
    assert {"copy_upsert", "orm_upsert"} <= set(DEFAULT_SWEEP_STRATEGIES)


def test_per_row_strategies_send_one_insert_per_row(db: Database) -> None:
    """The role that keeps a path out of the 100,000-row runs is true of what the server sees."""
    if (reason := statement_counts_unavailable(db)) is not None:
        pytest.skip(reason)
    rows = 300
    per_row = set(registry.with_role("per_row"))
    if compat.SA13:
        per_row |= set(registry.with_role("per_row_sa13"))
    for name in sorted(per_row):
        if registry.get(name).family == "orm" and not compat.SA13:
            continue  # the ORM's per-row cost is its objects; 1.4+ batches their INSERTs
        counts = run_insert(name, default_names(rows), db=db).statements
        assert counts is not None and counts >= rows, (name, counts)
    if not compat.SA13:
        for name in registry.with_role("per_row_sa13"):
            strategy = registry.get(name)
            if strategy.supported:
                counts = run_insert(strategy, default_names(rows), db=db).statements
                assert counts is not None and counts < rows, (name, counts)


def test_the_release_and_check_tools_read_their_defaults_from_the_roles() -> None:
    from benchmarks import populated_index
    from bulkinsert.releases import watch

    assert watch.default_watch_strategies() == registry.with_role("watch_default")
    assert {"orm_bulk_insert", "copy_text", "orm_upsert"} <= set(watch.default_watch_strategies())
    assert "copy_text" in registry.with_role("placement_check")
    strategies, reference = populated_index._strategies()
    assert reference == "copy_text_stream" and "copy_deferred_index" in strategies and reference in strategies


def _literals_naming_strategies(path: Path, names: set[str]) -> list[str]:
    """String constants equal to a strategy name, docstrings left out (they explain, they do not choose)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        f"{path}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in names and id(node) not in docstrings
    ]


def test_no_module_outside_the_strategies_names_a_built_in_strategy() -> None:
    """Which strategies a tool measures is a role of their declaration, never a list kept elsewhere."""
    checkout = Path(__file__).resolve().parents[1]
    names = {name for name, registered in registry.load().items()
             if registered.function.__module__.startswith("bulkinsert.strategies.")}
    assert {"copy_text", "orm_basic"} <= names
    found = [
        hit
        for top in ("bulkinsert", "benchmarks")
        for path in sorted((checkout / top).rglob("*.py"))
        if "strategies" not in path.relative_to(checkout).parts
        for hit in _literals_naming_strategies(path, names)
    ]
    assert not found, "a strategy list outside its declaration (use a role):\n" + "\n".join(found)


def test_the_literal_check_catches_a_list(tmp_path: Path) -> None:
    module = tmp_path / "tool.py"
    module.write_text('"""Measures ``copy_text``."""\nDEFAULT = ("copy_text", "other")\n', encoding="utf-8")
    assert _literals_naming_strategies(module, {"copy_text"}) == [f"{module}:2: 'copy_text'"]
