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

from bulkinsert.cli import cli
from bulkinsert.database import Database
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
