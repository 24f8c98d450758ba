"""``--driver`` on the release tools: the request carries it, bad drivers are refused, figures are labelled.

The end-to-end test builds (or reuses) one SQLAlchemy 2.0 release environment under
``.asv/release-envs`` and measures on the real embedded server: psycopg 3 sends one INSERT per
row for a plain executemany in SQLAlchemy 2.x where psycopg2 batches, so the counts differ.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from planted_releases import planted_paths

from bulkinsert.analysis.metrics import CALLS_PER_INSERT
from bulkinsert.cli.main import cli
from bulkinsert.pg.database import Database
from bulkinsert.registry import get
from bulkinsert.releases.envs import release_env
from bulkinsert.releases.findings import read_findings
from bulkinsert.releases.sweep import ReleaseFigures, StrategyFigures, SweepResult, figures_of_sweep
from bulkinsert.releases.worker import Measurer

RELEASE = "2.0.40"
ROWS = 200


@pytest.fixture(autouse=True)
def own_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "findings.jsonl"
    monkeypatch.setenv("BULKINSERT_FINDINGS", str(path))
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["releases", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_the_worker_request_runs_the_strategy_on_its_driver(db: Database) -> None:
    """The worker's own measure, in this process: ``"driver"`` in the request changes what reaches the server."""
    reason = get("core_executemany").with_driver("psycopg").unsupported_reason()
    if reason is not None:
        pytest.skip(reason)
    measurer = Measurer()
    try:
        own = measurer.measure({"strategy": "core_executemany", "rows": 50})
        on_psycopg = measurer.measure({"strategy": "core_executemany", "rows": 50, "driver": "psycopg"})
        refused = measurer.measure({"strategy": "copy_text", "rows": 50, "driver": "psycopg"})
    finally:
        measurer.close()
    assert own["ok"] and on_psycopg["ok"], (own, on_psycopg)
    assert own["statements"] < 50 <= on_psycopg["statements"]
    assert refused == {"ok": False, "unsupported": refused["unsupported"]} and "psycopg" in refused["unsupported"]


@pytest.mark.parametrize(("args", "fragment"), [
    (["compare", "copy_text", RELEASE, RELEASE, "--driver", "psycopg"], "runs on driver"),
    (["bisect", "core_executemany", "--from", "2.0.0", "--to", "2.0.1", "--driver", "pg8000"], "pg8000"),
    (["sweep", "--strategies", "copy_text", "--from", RELEASE, "--to", RELEASE, "--driver", "asyncpg",
      "--allow-dirty"], "runs on driver"),
])
def test_a_driver_that_cannot_run_is_one_line_and_exit_2(args: list[str], fragment: str) -> None:
    code, out, err = invoke(*args)
    assert code == 2 and not out
    assert err.count("\n") == 1 and fragment in err, err


def test_unknown_driver_is_refused_before_anything_is_built() -> None:
    code, _, err = invoke("compare", "core_executemany", RELEASE, RELEASE, "--driver", "nosuch")
    assert code == 1 and "unknown driver 'nosuch'" in err and err.count("\n") == 1


def test_sweep_figures_carry_the_strategy_label() -> None:
    """A sweep on psycopg files under ``core_executemany+psycopg``: never paired with psycopg2's figures."""
    env = release_env("SQLAlchemy", RELEASE)
    figures = StrategyFigures(statements=200, function_calls=1000)
    for driver, label in ((None, "core_executemany"), ("psycopg2", "core_executemany"),
                          ("psycopg", "core_executemany+psycopg")):
        result = SweepResult("SQLAlchemy", ROWS, driver=driver,
                             releases=[ReleaseFigures(RELEASE, env, False, {"core_executemany": figures})])
        made = figures_of_sweep(result, machine="m", commit="c" * 40, date=0)
        assert made and {dict(f.params)["strategy"] for f in made} == {label}
        assert result.as_dict()["driver"] == driver


def test_compare_on_psycopg_reports_the_driver_and_its_own_count(db: Database, own_findings: Path) -> None:
    counts = {}
    for driver in ("psycopg2", "psycopg"):
        code, out, err = invoke("compare", "core_executemany", RELEASE, RELEASE, "--driver", driver,
                                "--metric", "statements", "--rows", str(ROWS), "--json")
        assert code == 0, err
        data = json.loads(out)
        assert data["driver"] == driver and data["verdict"] == "same" and data["repeatable"]
        counts[driver] = data["old_value"]
        assert read_findings(own_findings)[-1]["driver"] == driver
    assert counts["psycopg2"] < ROWS <= counts["psycopg"], counts


# -- releases watch --driver ------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "fragment"), [
    (["--strategies", "copy_text", "--driver", "psycopg"], "runs on driver"),
    (["--strategies", "core_executemany", "--driver", "pg8000"], "do not install pg8000"),
])
def test_watch_refuses_a_driver_as_sweep_does(args: list[str], fragment: str) -> None:
    code, out, err = invoke("watch", "--library", "SQLAlchemy", *args)
    assert code == 2 and not out
    assert err.count("\n") == 1 and fragment in err, err


def test_watch_runs_sweep_and_side_by_side_on_the_driver_and_records_it(
        own_findings: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The loop's wiring: the sweep gets the driver, the confirming re-run the bare strategy and the driver,
    the finding, its record and its feed entry name the driver. (The sweep's figures here are given;
    test_watch_on_psycopg_measures_the_driver_in_each_release measures them.)"""
    from bulkinsert.releases import sidebyside, watch
    from bulkinsert.site.data import SiteData
    from bulkinsert.site.feed import releases_feed

    old, new = "2.0.30", "2.0.31"
    swept_on: list[str | None] = []

    def given_sweep(library: str, versions: list[str], strategies: list[str], **options: object) -> SweepResult:
        swept_on.append(options["driver"])  # type: ignore[arg-type]
        return SweepResult(library, ROWS, driver=options["driver"], machine="m", releases=[  # type: ignore[arg-type]
            ReleaseFigures(v, release_env(library, v), False, {name: StrategyFigures(
                statements=3 if v == old else ROWS + 2, function_calls=1000) for name in strategies})
            for v in versions])

    asked: list[tuple[str, str | None]] = []

    class Outcome:
        def as_dict(self) -> dict:
            return {"verdict": "more", "repeatable": True, "old_value": 3, "new_value": ROWS + 2}

    def side_by_side(_old: object, _new: object, strategy: str, **options: object) -> Outcome:
        asked.append((strategy, options.get("driver")))  # type: ignore[arg-type]
        return Outcome()

    monkeypatch.setattr(watch, "sweep", given_sweep)
    monkeypatch.setattr(sidebyside, "measure_side_by_side", side_by_side)
    plans = [watch.Plan("SQLAlchemy", old, [new], "test")]
    result = watch.run(plans, ["core_executemany"], rows=ROWS, samples=0, rounds=2, results_dir=tmp_path,
                       allow_dirty=False, driver="psycopg")  # a dirty record would stay out of the feed
    assert swept_on == ["psycopg"] and asked == [("core_executemany", "psycopg")]
    (finding,) = [f for f in result.findings if f["metric"] == "statements"]
    assert finding["confirmed"] and finding["driver"] == "psycopg" and finding["strategy"] == "core_executemany+psycopg"
    assert result.as_dict()["driver"] == "psycopg"
    (recorded,) = [r for r in read_findings(own_findings) if r.get("metric") == "statements"]
    assert recorded["kind"] == "watch" and recorded["driver"] == "psycopg"
    feed = releases_feed(SiteData([], [], ROWS), own_findings)
    assert "core_executemany on psycopg — statements" in feed and "driver%3Dpsycopg" in feed


def test_watch_on_psycopg_measures_the_driver_in_each_release(
        db: Database, own_findings: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Two releases from a local index, measured for real on psycopg: the state is the driver's figures."""
    from bulkinsert.analysis.results import load_figures
    from bulkinsert.releases import watch
    from bulkinsert.releases.envs import EnvironmentError_, build

    releases = ("2.0.30", "2.0.31")  # the environments tests/test_watch.py builds
    try:
        for version in releases:
            build(release_env("SQLAlchemy", version))
    except EnvironmentError_ as exc:
        pytest.skip(f"release environments cannot be built here: {exc}")
    page = tmp_path / "simple" / "sqlalchemy"
    page.mkdir(parents=True)
    page.joinpath("index.html").write_text("".join(
        f'<a href="SQLAlchemy-{v}-py3-none-any.whl">SQLAlchemy-{v}-py3-none-any.whl</a>\n' for v in releases))
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", (tmp_path / "simple").as_uri())
    results = tmp_path / "results"
    # Counts only (--samples 0): the planted +2 calls per row in the newer release is the one change,
    # so the run must confirm exactly that regression, on psycopg, and exit 1.
    with planted_paths(monkeypatch, BULKINSERT_TEST_EXTRA_CALLS=f"{releases[1]}:2"):
        code, out, err = invoke("watch", "--library", "SQLAlchemy", "--strategies",
                                "core_executemany,counted_by_release", "--driver", "psycopg", "--rows", str(ROWS),
                                "--samples", "0", "--rounds", "8", "--results-dir", str(results), "--allow-dirty",
                                "--json")
    assert code == 1, err
    data = json.loads(out)
    assert data["driver"] == "psycopg" and [e["release"] for e in data["new_releases"]] == [releases[1]]
    assert [(f["strategy"], f["metric"], f["verdict"], f["confirmed"]) for f in data["findings"]] == [
        ("counted_by_release+psycopg", "calls", "regression", True)]
    # The planted 2 calls per row, give or take the few calls psycopg's network reads can move a count
    # between two identical inserts (within the count rule's floor per insert).
    (delta,) = [f["new_value"] - f["old_value"] for f in data["findings"]]
    assert abs(delta - 2 * ROWS) < CALLS_PER_INSERT, delta
    assert all(f["driver"] == "psycopg" for f in data["findings"])
    assert all(r.get("driver") == "psycopg" for r in read_findings(own_findings))
    everything = load_figures(results)
    assert {f.strategy for f in everything} == {"core_executemany+psycopg", "counted_by_release+psycopg"}
    figures = [f for f in everything if f.strategy == "core_executemany+psycopg"]
    statements = {f.versions["SQLAlchemy"]: f.value for f in figures if f.method == "track_statements"}
    assert set(statements) == set(releases) and all(v >= ROWS for v in statements.values()), statements  # per row
    assert watch.measured_releases("SQLAlchemy", figures, ["core_executemany"], ROWS) == set()
    assert watch.measured_releases("SQLAlchemy", figures, ["core_executemany+psycopg"], ROWS) == set(releases)
