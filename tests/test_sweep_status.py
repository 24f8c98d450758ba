"""A release that breaks a path in a sweep is a status finding, as in the asv matrix.

The sweep's figures go through the same writer, reader and verdicts as asv's: the test writes
them as asv result files and reads them back, so nothing here stands in for the database.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bulkinsert.analysis import status
from bulkinsert.analysis.results import load_figures, write_figures
from bulkinsert.analysis.verdicts import compare_figures
from bulkinsert.releases.envs import ReleaseEnv
from bulkinsert.releases.sweep import ReleaseFigures, StrategyFigures, SweepResult, figures_of_sweep

PINS = (("psycopg2-binary", "2.9.13"),)
# The suite's benchmarks.json (parameter names), as a sweep finds it beside asv's results.
SUITE = Path(__file__).parent / "data" / "asv_results" / "benchmarks.json"


def _release(version: str, figures: StrategyFigures, tmp_path: Path) -> ReleaseFigures:
    env = ReleaseEnv("SQLAlchemy", version, (("SQLAlchemy", version), *PINS), tmp_path / version)
    return ReleaseFigures(version, env, built=False, strategies={"copy_text": figures})


def _works() -> StrategyFigures:
    return StrategyFigures(seconds=[0.010, 0.011, 0.010], cpu_seconds=[0.004] * 3, statements=3, function_calls=120)


@pytest.mark.parametrize("newer, expected", [
    (StrategyFigures(error="InsertError: relation users does not exist"), status.FAILED),
    (StrategyFigures(seconds=[0.010] * 3, cpu_seconds=[0.004] * 3, statements=3, function_calls=120,
                     broken="users.name: expected 'a' got 'b'"), status.BROKEN),
])
def test_a_release_that_breaks_a_path_is_a_confirmed_status_finding(
    tmp_path: Path, newer: StrategyFigures, expected: str
) -> None:
    result = SweepResult("SQLAlchemy", 1000, [_release("2.0.40", _works(), tmp_path),
                                              _release("2.0.41", newer, tmp_path)])
    figures = figures_of_sweep(result, machine="box-releases", commit="a" * 40, date=1)
    (tmp_path / "results").mkdir()
    shutil.copy(SUITE, tmp_path / "results" / "benchmarks.json")
    write_figures(tmp_path / "results", figures)
    read = load_figures(tmp_path / "results")
    broken = [f for f in read if dict(f.requirements).get("SQLAlchemy") == "2.0.41"]
    assert broken and all(f.status == expected and f.value is None for f in broken)
    findings = [f for f in compare_figures(read).findings if f.metric == "status"]
    assert findings  # one per benchmark of the path: time, statements, calls
    for finding in findings:
        assert (finding.old, finding.new, finding.new_status, finding.confirmed, finding.verdict) == (
            "2.0.40", "2.0.41", expected, True, "regression")
        assert (newer.error or newer.broken) in finding.reason
