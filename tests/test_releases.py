"""Release tools on a small real range: three adjacent SQLAlchemy 2.0.x releases from the index.

The environments are built once (about 5 s each with uv) under ``.asv/release-envs`` and reused
by every later run; the measuring processes run on the real embedded server.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from bulkinsert.analysis.results import load_figures
from bulkinsert.cli.main import cli
from bulkinsert.pg.database import Database
from bulkinsert.releases.envs import build, release_env
from bulkinsert.releases.findings import notes_url, read_findings
from bulkinsert.releases.index import list_releases
from bulkinsert.releases.sweep import machine_name, sweep_machine

LIBRARY = "SQLAlchemy"
RANGE = ("2.0.30", "2.0.31", "2.0.32")
ROWS = "1000"


@pytest.fixture(autouse=True)
def own_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "findings.jsonl"
    monkeypatch.setenv("BULKINSERT_FINDINGS", str(path))
    return path


@pytest.fixture(scope="module")
def environments(db: Database) -> list:
    """The range's environments, built (or found cached); ``db`` makes the run's database."""
    envs = [release_env(LIBRARY, v) for v in RANGE]
    for env in envs:
        build(env)
    return envs


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["releases", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


# -- the release list ------------------------------------------------------------------------


def test_release_list_from_the_index_in_pep440_order() -> None:
    listing = list_releases(LIBRARY)
    versions = listing.versions
    series = listing.between("2.0.0", "2.0.99")
    assert series.index("2.0.9") < series.index("2.0.10")
    assert "2.0.5.post1" in series and "2.0.5" not in series
    assert "2.0.5" in listing.yanked
    assert not any("b" in v or "rc" in v for v in versions)
    with_pre = list_releases(LIBRARY, pre=True).versions
    assert with_pre.index("2.1.0b1") < with_pre.index("2.1.0")


def _write_index(root: Path) -> str:
    """A PEP 503 index on disk: one good release, one yanked, one for another platform only."""
    page = root / "demo-lib"
    page.mkdir(parents=True)
    page.joinpath("index.html").write_text(
        "<html><body>\n"
        '<a href="../files/demo_lib-1.0.tar.gz">demo_lib-1.0.tar.gz</a>\n'
        '<a href="../files/demo_lib-1.0.post1-py3-none-any.whl" data-requires-python="&gt;=3.8">'
        "demo_lib-1.0.post1-py3-none-any.whl</a>\n"
        '<a href="../files/demo_lib-1.1.tar.gz" data-yanked="broken">demo_lib-1.1.tar.gz</a>\n'
        '<a href="../files/demo_lib-1.2-cp27-cp27m-win32.whl">demo_lib-1.2-cp27-cp27m-win32.whl</a>\n'
        '<a href="../files/demo_lib-1.3.tar.gz" data-requires-python="&lt;3">demo_lib-1.3.tar.gz</a>\n'
        '<a href="../files/demo_lib-2.0rc1.tar.gz">demo_lib-2.0rc1.tar.gz</a>\n'
        "</body></html>\n"
    )
    return root.as_uri()


def test_yanked_and_uninstallable_releases_are_reported_not_fatal(tmp_path: Path) -> None:
    listing = list_releases("Demo_Lib", indexes=[_write_index(tmp_path)])
    assert listing.versions == ["1.0", "1.0.post1"]
    assert listing.yanked == ["1.1"]
    assert set(listing.uninstallable) == {"1.2", "1.3"}
    assert "no wheel" in listing.uninstallable["1.2"] and "requires Python" in listing.uninstallable["1.3"]
    assert listing.prereleases_left_out == ["2.0rc1"]
    assert list_releases("demo-lib", pre=True, indexes=[tmp_path.as_uri()]).versions[-1] == "2.0rc1"


def test_list_command_and_its_errors() -> None:
    code, out, err = invoke("list", "--from", "2.0.4", "--to", "2.0.6", "--json")
    assert code == 0
    assert json.loads(out)["releases"] == ["2.0.4", "2.0.5.post1", "2.0.6"]
    code, _, err = invoke("compare", "core_executemany", "2.0.5", "2.0.6", "--metric", "statements")
    assert code == 1 and err.startswith("error: ") and "yanked" in err and err.count("\n") == 1
    code, _, err = invoke("bisect", "no_such_strategy", "--from", "2.0.30", "--to", "2.0.32")
    assert code == 1 and "unknown strategy" in err


def test_release_notes_links() -> None:
    assert notes_url("SQLAlchemy", "2.0.30") == (
        "https://docs.sqlalchemy.org/en/20/changelog/changelog_20.html#change-2.0.30"
    )
    assert notes_url("psycopg2-binary", "2.9.10").endswith("news.html#what-s-new-in-psycopg-2-9-10")


# -- environments ----------------------------------------------------------------------------


def test_environments_are_cached_and_pin_the_newest_matrix_environment(environments: list) -> None:
    import subprocess

    for env, version in zip(environments, RANGE, strict=True):
        assert env.is_built and build(env) is False  # a second time installs nothing
        pins = dict(env.requirements)
        assert pins["SQLAlchemy"] == version and pins["psycopg2-binary"] == "2.9.13"
    probe = "import sqlalchemy, bulkinsert; print(sqlalchemy.__version__, bulkinsert.__file__)"
    found = subprocess.run(
        [str(environments[0].python), "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert found[0] == RANGE[0]
    assert Path(found[1]).resolve().parent == Path(__file__).resolve().parents[1] / "bulkinsert"


# -- sweep, bisect, compare --------------------------------------------------------------------


def test_sweep_writes_asv_results_that_asv_publish_reads(environments: list, tmp_path: Path) -> None:
    results = tmp_path / "results"
    code, out, err = invoke("sweep", "--from", RANGE[0], "--to", RANGE[-1], "--strategies",
                            "core_executemany,copy_upsert", "--rows", ROWS, "--samples", "2",
                            "--results-dir", str(results), "--json", "--allow-dirty")
    assert code == 0, err
    data = json.loads(out)
    assert list(data["releases"]) == list(RANGE) and data["environments_built"] == 0
    assert data["machine"] == sweep_machine(dirty=data["dirty"]) != machine_name()
    assert [p.name for p in results.iterdir() if p.is_dir()] == [data["machine"]]
    for figures in data["releases"].values():
        assert figures["core_executemany"]["statements"] == 3  # BEGIN, one batched INSERT, COMMIT
        assert figures["copy_upsert"]["statements"] == 5
        assert len(figures["core_executemany"]["samples"]["seconds"]) == 2
    loaded = [f for f in load_figures(results) if f.strategy == "core_executemany"]
    versions = {f.versions["SQLAlchemy"] for f in loaded}
    assert versions == set(RANGE)
    timing = [f for f in loaded if f.benchmark.endswith("time_insert")]
    assert all(f.samples and len(f.samples) == 2 for f in timing)
    _asv_publish(results, tmp_path)
    _compare_never_pairs_sweep_and_matrix(results, loaded_all=load_figures(results))


def _compare_never_pairs_sweep_and_matrix(results: Path, loaded_all: list) -> None:
    """The matrix's own figures of RANGE[1] — the same pins as the sweep's RANGE[1] environment,
    ten times slower, on ``make bench``'s machine, same commit — next to the sweep: ``bulkinsert
    compare`` must judge neither a release against itself nor a sweep figure against a matrix one
    (either would show as a finding with a ratio near 10 or 1/10)."""
    import dataclasses

    from bulkinsert.analysis.results import write_figures

    matrix = [dataclasses.replace(f, machine=machine_name(), env_name=f"matrix-{f.env_name}",
                                  samples=tuple(10 * s for s in f.samples) if f.samples else None,
                                  value=10 * f.value if f.value is not None else None)
              for f in loaded_all if f.versions["SQLAlchemy"] == RANGE[1]]
    assert matrix
    write_figures(results, matrix)
    done = CliRunner().invoke(cli, ["compare", "--results-dir", str(results), "--json", "--verbose"])
    findings = json.loads(done.stdout)["findings"]
    # Known outcome, exit 0: two samples per timing can never be confirmed (the rank test needs more),
    # every path works in every release, and the sweep's counts do not move across the range.
    calls = {(f.strategy, f.value) for f in loaded_all if f.method == "track_function_calls"}
    assert len(calls) == len({strategy for strategy, _ in calls}), calls
    assert done.exit_code == 0 and not [f for f in findings if f["confirmed"]], done.output
    assert all(f["old"] != f["new"] for f in findings), findings
    assert all(f["machine"] == sweep_machine(dirty=True) or f["machine"] == sweep_machine() for f in findings)
    # No finding holds a matrix figure (each ten times a sweep figure). Not a bound on the ratio:
    # two sweep releases with two samples each may differ by more than 5x on a loaded machine.
    matrix_values = {f.value for f in matrix if f.value is not None}
    assert not any(f["old_value"] in matrix_values or f["new_value"] in matrix_values for f in findings), findings


def test_a_dirty_work_tree_is_refused_unless_allowed(tmp_path: Path) -> None:
    import subprocess

    from bulkinsert.releases.sweep import DirtyWorkTree, refuse_dirty

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", "code.py")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    (tmp_path / "untracked.txt").write_text("not code\n")
    assert refuse_dirty(False, tmp_path) is False  # untracked files do not make it dirty
    (tmp_path / "code.py").write_text("x = 2\n")
    with pytest.raises(DirtyWorkTree, match="uncommitted changes.*--allow-dirty"):
        refuse_dirty(False, tmp_path)
    assert refuse_dirty(True, tmp_path) is True


def test_a_held_context_gets_its_own_environment() -> None:
    from bulkinsert.releases.envs import parse_held

    default = release_env(LIBRARY, RANGE[0])
    held = release_env(LIBRARY, RANGE[0], held=parse_held(["psycopg2==2.9.10"]))
    assert dict(held.requirements)["psycopg2-binary"] == "2.9.10" and held.path != default.path
    assert held.path.name == f"SQLAlchemy-{RANGE[0]}+psycopg2-binary-2.9.10"
    assert held.context() == {"psycopg2-binary": "2.9.10"} and default.context() == {"psycopg2-binary": "2.9.13"}
    assert release_env(LIBRARY, RANGE[0], held={"psycopg2-binary": "2.9.13"}).path == default.path
    for bad, message in ((["psycopg2-binary"], "NAME==VERSION"), (["nosuch==1.0"], "not a requirement"),
                         (["SQLAlchemy==2.0.1"], "whose releases vary")):
        with pytest.raises(ValueError, match=message):
            release_env(LIBRARY, RANGE[0], held=parse_held(bad))


def _asv_publish(results: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    from asv.util import load_json

    checkout = Path(__file__).resolve().parents[1]
    conf = load_json(str(checkout / "asv.conf.json"), js_comments=True)
    # asv publishes the commits of its branches: the checkout's own branch holds the sweep's commit.
    branch = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--abbrev-ref", "HEAD"],
                            capture_output=True, text=True, check=True).stdout.strip()
    conf.update(repo=str(checkout), results_dir=str(results), html_dir=str(tmp_path / "html"),
                env_dir=str(tmp_path / "env"), benchmark_dir=str(checkout / "benchmarks"), plugins=[],
                branches=[branch] if branch != "HEAD" else conf.get("branches", ["main"]))
    config = tmp_path / "asv.conf.json"
    config.write_text(json.dumps(conf))
    asv = Path(sys.executable).parent / "asv"
    done = subprocess.run([str(asv), "publish", "--config", str(config)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    graphs = list((tmp_path / "html" / "graphs").rglob("server_statements.ServerStatements.track_statements.json"))
    assert any(f"SQLAlchemy-{RANGE[0]}" in str(p) for p in graphs)


def test_bisect_on_statements_builds_at_most_log2_plus_two(environments: list, own_findings: Path) -> None:
    code, out, err = invoke("bisect", "core_executemany", "--from", RANGE[0], "--to", RANGE[-1],
                            "--metric", "statements", "--rows", ROWS, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["first_changed"] is None and data["last_unchanged"] == RANGE[-1]
    assert set(data["values"]) <= set(RANGE) and RANGE[0] in data["values"]
    assert len(set(data["values"].values())) == 1
    assert data["environments_used"] <= math.ceil(math.log2(len(RANGE))) + 2
    finding = read_findings(own_findings)[-1]
    assert finding["kind"] == "bisect" and finding["first_changed"] is None and finding["verdict"] == "same"
    assert {"machine", "commit", "timestamp", "strategy", "library", "metric", "values"} <= set(finding)


def test_compare_a_release_with_itself_is_same(environments: list, own_findings: Path) -> None:
    code, out, err = invoke("compare", "copy_upsert", RANGE[1], RANGE[1], "--rounds", "8", "--rows", ROWS, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["verdict"] == "same" and data["test"].startswith("wilcoxon signed-rank")
    assert len(data["old_samples"]) == len(data["new_samples"]) == 8
    assert data["context"] == {"psycopg2-binary": "2.9.13"}
    assert 0 <= data["p_value"] <= 1 and data["ratio_ci"][0] <= data["ratio"] <= data["ratio_ci"][1]
    finding = read_findings(own_findings)[-1]
    assert finding["kind"] == "compare" and finding["old"] == finding["new"] == RANGE[1]
    assert finding["context"] == {"psycopg2-binary": "2.9.13"}


def test_compare_counts_and_a_planted_slowdown(environments: list) -> None:
    code, out, err = invoke("compare", "core_executemany", RANGE[0], RANGE[-1], "--metric", "calls",
                            "--rows", ROWS, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["verdict"] == "same" and data["repeatable"] and data["old_value"] == data["new_value"] > 1000
    # The test hook doubles NEW's insert time (a busy wait, so client CPU too): the rank test
    # must see it. Client CPU, because wall time on a loaded 2-core machine can hide even 2x.
    # Tripled, over 10 rounds: a busy wait preempted on a loaded machine adds less CPU than wall
    # time, and the test must not depend on how busy the machine is.
    code, out, err = invoke("compare", "core_executemany", RANGE[0], RANGE[0], "--rounds", "10", "--rows", ROWS,
                            "--metric", "cpu", "--plant-slowdown", "3.0", "--json")
    assert code == 0, err
    planted = json.loads(out)
    assert planted["verdict"] == "slower", planted
    assert planted["ratio"] > 1.5 and planted["planted_slowdown"] == 3.0


# -- exactness: a release that corrupts data is broken, not just slow --------------------------


def _drops_first_character(db: Database, names: list) -> None:
    """Inserts every name with its first character lost: a path that corrupts data."""
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO users (name) VALUES (%s)", [(name[1:],) for name in names])


class InProcessWorker:
    """The measuring process's own code (:class:`Measurer`) run in this process, for one release."""

    def __init__(self, env: object, measurer: object) -> None:
        self.env, self.measurer, self.process, self.placement = env, measurer, None, None

    def ready(self) -> InProcessWorker:
        return self

    def __enter__(self) -> InProcessWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def measure(self, strategy: str, rows: int, *, calls: bool = False, check: bool = False) -> dict:
        from bulkinsert.releases.workers import Unmeasurable

        answer = self.measurer.measure({"strategy": strategy, "rows": rows, "calls": calls, "check": check})
        if "unsupported" in answer:
            raise Unmeasurable(answer["unsupported"])
        assert answer["ok"], answer
        return answer


def test_sweep_marks_a_release_that_loses_data_broken(
    db: Database, own_findings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bulkinsert.registry import REGISTRY, Strategy, load
    from bulkinsert.releases.sweep import measure_with_retry, record_confirmed_broken
    from bulkinsert.releases.worker import Measurer
    from bulkinsert.site.releases import read_findings as read_site_findings

    load()
    monkeypatch.setitem(REGISTRY, "drops_first_character", Strategy(
        name="drops_first_character", description="loses data", family="dbapi", driver="psycopg2",
        function=_drops_first_character))
    measurer = Measurer()
    try:
        answer = measurer.measure({"strategy": "drops_first_character", "rows": 50, "calls": True, "check": True})
        assert answer["ok"] and answer["statements"] >= 1, answer
        assert answer["not_exact"].startswith("users.name: expected ")
        assert "\n" not in answer["not_exact"]
        exact = measurer.measure({"strategy": "execute_values", "rows": 50, "calls": True, "check": True})
        assert "not_exact" not in exact

        env = release_env(LIBRARY, RANGE[-1])
        started: list[InProcessWorker] = []

        def start() -> InProcessWorker:
            started.append(InProcessWorker(env, measurer))
            return started[-1]

        found = measure_with_retry(start, ["execute_values", "drops_first_character"], 50, 1, lambda _what: None)
        assert not read_findings(own_findings)  # nothing is a finding before the sweep confirms it
        record_confirmed_broken(env, found, 50)
    finally:
        measurer.close()
    assert len(started) == 2  # the broken path was measured again, in a second process, before it stood
    assert found["execute_values"].broken is None and found["execute_values"].attempts == 1
    assert found["drops_first_character"].broken.startswith("users.name: expected ")
    assert found["drops_first_character"].broken.endswith("(in both attempts)")
    assert found["drops_first_character"].attempts == 2
    assert found["drops_first_character"].first_attempt.startswith("users.name: expected ")
    assert len(found["drops_first_character"].seconds) == 1  # still measured: broken, not unmeasurable
    assert found["drops_first_character"].as_dict()["broken"] == found["drops_first_character"].broken

    records = read_findings(own_findings)
    assert [(r["kind"], r["library"], r["release"], r["strategy"], r["rows"], r["workload"]) for r in records] == [
        ("broken", env.library, RANGE[-1], "drops_first_character", 50, "users")]
    assert records[0]["error"] == found["drops_first_character"].broken
    assert records[0]["machine"] and records[0]["commit"] and records[0]["timestamp"]
    marks, problems = read_site_findings(own_findings)
    assert not problems and [(m.broken, m.release, m.strategy) for m in marks] == [
        (True, RANGE[-1], "drops_first_character")]


def test_compare_holds_the_context_it_is_given(environments: list, own_findings: Path) -> None:
    """A re-run of a finding measured with psycopg2-binary 2.9.10 runs with 2.9.10, and says so."""
    code, out, err = invoke("compare", "core_executemany", RANGE[0], RANGE[1], "--metric", "statements",
                            "--rows", ROWS, "--with", "psycopg2-binary==2.9.10", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["context"] == {"psycopg2-binary": "2.9.10"} and data["verdict"] == "same"
    assert read_findings(own_findings)[-1]["context"] == {"psycopg2-binary": "2.9.10"}
    import subprocess

    held = release_env(LIBRARY, RANGE[1], held={"psycopg2-binary": "2.9.10"})
    found = subprocess.run([str(held.python), "-c", "import psycopg2; print(psycopg2.__version__)"],
                           capture_output=True, text=True, check=True).stdout
    assert found.startswith("2.9.10")


def test_bisect_on_a_server_without_statement_counts_says_why_in_one_line(
        environments: list, monkeypatch: pytest.MonkeyPatch) -> None:
    from planted_releases import no_statement_counts

    with no_statement_counts(monkeypatch):
        code, out, err = invoke("bisect", "core_executemany", "--from", RANGE[0], "--to", RANGE[1],
                                "--metric", "statements", "--rows", "100")
    assert code == 1 and not out and err.count("\n") == 1, err
    assert err.startswith(f"error: statements n/a in {LIBRARY} {RANGE[0]}: server statement counts unavailable")


def test_compare_measures_the_workload_it_is_given(environments: list, own_findings: Path) -> None:
    """A re-run of a ``wide`` finding inserts the wide rows (eleven typed columns), and records that workload."""
    code, out, err = invoke("compare", "core_executemany", RANGE[0], RANGE[1], "--metric", "calls",
                            "--rows", ROWS, "--workload", "wide", "--json")
    assert code == 0, err
    wide = json.loads(out)
    code, out, err = invoke("compare", "core_executemany", RANGE[0], RANGE[1], "--metric", "calls",
                            "--rows", ROWS, "--json")
    assert code == 0, err
    users = json.loads(out)
    assert wide["workload"] == "wide" and "workload" not in users
    assert wide["verdict"] == users["verdict"] == "same"
    # Eleven typed columns per row take more Python calls to bind than one name.
    assert wide["old_value"] > users["old_value"] > 0
    records = read_findings(own_findings)
    assert [r.get("workload") for r in records[-2:]] == ["wide", None]


def test_compare_refuses_a_workload_the_strategy_cannot_insert_before_building() -> None:
    code, _, err = invoke("compare", "copy_upsert", "2.0.5", "2.0.6", "--workload", "wide")
    assert code == 2 and err.startswith("error: ") and "workload wide" in err and err.count("\n") == 1
