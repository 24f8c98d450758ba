"""A user's own strategy file: loaded by the CLI, the release worker and the registry, on the real server.

The example (examples/app_orders.py) is an application-like model with a foreign key, server
defaults and JSONB, with its own workload; every bad file is refused in one line, exit 2.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import registrations_restored

from bulkinsert import compat, user_strategies
from bulkinsert.cli.main import cli
from bulkinsert.data import workloads
from bulkinsert.pg.database import Database
from bulkinsert.registry import REGISTRY, load
from bulkinsert.user_strategies import ENV_VARIABLE

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "app_orders.py"
# The example is an application written for SQLAlchemy 2.x (its ORM bulk upsert needs 2.0).
needs_example = pytest.mark.skipif(not compat.SA20_PLUS, reason="examples/app_orders.py is written for SQLAlchemy 2.x")
ROWS = "300"


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts and ends with the built-in strategies only, and no variable set."""
    with registrations_restored(variable=False):  # monkeypatch restores the variable
        monkeypatch.setenv(ENV_VARIABLE, "")  # restored (unset) afterwards, whatever the CLI sets
        yield


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


# -- bad input: one line, exit 2 -----------------------------------------------------------------

GOOD_HEAD = "from bulkinsert import strategy\n\n"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (None, "no such file"),
        ("def broken(:\n", "syntax error"),
        (GOOD_HEAD + "@strategy(family='core')\ndef copy_text(db, names):\n    pass\n", "clashes with a built-in"),
        (GOOD_HEAD + "@strategy(family='core')\ndef mine(db):\n    pass\n", "two positional parameters"),
        (GOOD_HEAD + "@strategy(family='core')\ndef mine(db, names, extra):\n    pass\n", "two positional"),
        ("import no_such_module_anywhere\n", "import failed: ModuleNotFoundError"),
        (GOOD_HEAD + "@strategy(family='nonsense')\ndef mine(db, names):\n    pass\n", "unknown family"),
    ],
    ids=["missing", "syntax", "clash", "too-few", "too-many", "import-error", "bad-family"],
)
def test_a_bad_file_is_one_line_and_exit_2(tmp_path: Path, source: str | None, expected: str) -> None:
    path = tmp_path / "mine.py"
    if source is not None:
        path.write_text(source)
    code, out, err = invoke("list", "--strategies-from", str(path), "--json")
    assert code == 2, (out, err)
    assert err.startswith("error: ") and expected in err and err.count("\n") == 1, err
    assert "mine" not in REGISTRY  # nothing of a refused file stays registered


def test_a_module_that_is_not_importable_and_the_variable_path(monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = invoke("list", "--strategies-from", "no_such_module_anywhere")
    assert code == 2 and "no module 'no_such_module_anywhere'" in err and err.count("\n") == 1
    monkeypatch.setenv(ENV_VARIABLE, "/nonexistent/strategies.py")
    code, _, err = invoke("list")
    assert code == 2 and err == "error: --strategies-from /nonexistent/strategies.py: no such file\n"


def test_register_workload_refuses_what_it_cannot_check() -> None:
    import sqlalchemy as sa

    table = sa.Table("mine", sa.MetaData(), sa.Column("id", sa.BigInteger), sa.Column("doc", sa.Text))

    def rows(count: int, seed: int) -> list[tuple]:
        return [(i, str(i)) for i in range(count)]

    good = {"key": "id", "rows": rows, "strategies": ("mine_insert",)}
    cases = [
        (("users", table, [("id", "int8"), ("doc", "text")]), good, "already registered"),
        (("mine", table, [("id", "int8"), ("nope", "text")]), good, "has no column 'nope'"),
        (("mine", table, [("id", "int8"), ("doc", "xml")]), good, "unknown type 'xml'"),
        (("mine", table, [("id", "int8"), ("doc", "text")]), {**good, "key": "doc2"}, "key 'doc2'"),
        (("mine", table, [("id", "int8"), ("doc", "text")]), {**good, "rows": lambda n: []}, "rows(count, seed)"),
        (("mine", "mine", [("id", "int8"), ("doc", "text")]), good, "sqlalchemy Table"),
        (("mine", table, [("id", "int8"), ("doc", "text")]), {**good, "strategies": ()}, "name the strategies"),
    ]
    for args, options, expected in cases:
        with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            workloads.register_workload(*args, **options)
    assert "mine" not in workloads.WORKLOADS


# -- the example, end to end on the real server --------------------------------------------------


@needs_example
def test_list_shows_the_files_strategies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLE.parent))
    code, out, err = invoke("list", "--strategies-from", "app_orders", "--json")  # a module name
    assert code == 0, err
    mine = {s["name"]: s for s in json.loads(out) if s["from_file"]}
    assert set(mine) == {"app_orders_insert", "app_orders_upsert"}
    assert mine["app_orders_upsert"]["family"] == "upsert" and mine["app_orders_upsert"]["supported"]
    assert not any(s["from_file"] for s in json.loads(out) if s["name"] == "copy_text")


@needs_example
@pytest.mark.parametrize("name", ["app_orders_insert", "app_orders_upsert"])
def test_run_inserts_the_files_own_rows_exactly(db: Database, name: str) -> None:
    code, out, err = invoke("run", name, "--strategies-from", str(EXAMPLE), "--rows", ROWS, "--check", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["workload"] == "app_orders" and data["exact"] is True and data["rows"] == int(ROWS)
    assert data["statements"] >= 3  # BEGIN, at least one INSERT, COMMIT
    with db.dbapi() as conn, conn.cursor() as cur:  # the server filled what the rows left out
        cur.execute("SELECT count(*), count(DISTINCT customer_id), min(status), max(status),"
                    " bool_and(created_at IS NOT NULL) FROM app_orders")
        count, customers, low, high, stamped = cur.fetchone()
    assert count == int(ROWS) and customers > 1 and low == high == "new" and stamped


@needs_example
def test_the_files_strategies_run_their_own_workload_only() -> None:
    code, _, err = invoke("run", "app_orders_insert", "--strategies-from", str(EXAMPLE), "--workload", "users",
                          "--rows", "10")
    assert code == 2 and "written for workload app_orders, not users" in err
    code, _, err = invoke("run", "copy_text", "--strategies-from", str(EXAMPLE), "--rows", "10")
    assert code == 0, err  # a built-in strategy still inserts the talk's names
    from bulkinsert.errors import Unsupported
    from bulkinsert.strategies.wide import for_workload

    with pytest.raises(Unsupported, match="inserted by app_orders_insert, app_orders_upsert only"):
        for_workload(REGISTRY["copy_text"], workloads.get("app_orders"))  # its wide path would misread the rows


@needs_example
def test_the_worker_loads_the_file_from_the_variable(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The release worker's own code, in this process: the file comes through the variable only."""
    from bulkinsert.releases.worker import Measurer

    monkeypatch.setenv(ENV_VARIABLE, str(EXAMPLE))
    measurer = Measurer()
    try:
        answer = measurer.measure({"strategy": "app_orders_upsert", "rows": 200, "calls": True, "check": True})
    finally:
        measurer.close()
    assert answer["ok"] and "not_exact" not in answer, answer
    assert answer["statements"] >= 3 and answer["function_calls"] > 0


@needs_example
def test_compare_the_files_path_with_itself_in_a_release_environment(db: Database, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A release environment's worker (another Python) measures the file's upsert: same as itself."""
    monkeypatch.setenv("BULKINSERT_FINDINGS", str(tmp_path / "findings.jsonl"))
    release = "2.0.32"  # one of the environments tests/test_releases.py builds (cached)
    code, out, err = invoke("releases", "compare", "app_orders_upsert", release, release, "--metric", "statements",
                            "--rows", ROWS, "--strategies-from", str(EXAMPLE), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["verdict"] == "same" and data["old_value"] == data["new_value"] >= 3


@needs_example
def test_the_same_file_under_two_names_is_loaded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLE.parents[1])
    first = user_strategies.load("examples/app_orders.py")
    assert user_strategies.load(str(EXAMPLE)) == first == ("app_orders_insert", "app_orders_upsert")
    monkeypatch.setenv(ENV_VARIABLE, "./examples/app_orders.py")
    assert set(first) <= set(load())  # the variable names it a third way: no clash, nothing twice
