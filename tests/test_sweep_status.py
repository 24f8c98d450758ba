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


def _judged(tmp_path: Path, *releases: StrategyFigures, strategy: str = "copy_text") -> list:
    """``releases watch``'s judgement of a sweep of 2.0.40, 2.0.41, ... with these figures."""
    from bulkinsert.releases.watch import judge_sweep

    result = SweepResult("SQLAlchemy", 1000, [
        ReleaseFigures(f"2.0.{40 + i}", _release(f"2.0.{40 + i}", figures, tmp_path).env, False, {strategy: figures})
        for i, figures in enumerate(releases)])
    return judge_sweep(figures_of_sweep(result, machine="box-releases", commit="a" * 40, date=1), reruns=[])


@pytest.mark.parametrize("old, new, verdict", [
    (StrategyFigures(error="InsertError: boom"), StrategyFigures(broken="users.name: expected 'a' got 'b'"),
     "regression"),  # it now loads wrong rows silently, where it raised
    (StrategyFigures(broken="users.name: expected 'a' got 'b'"), StrategyFigures(error="InsertError: boom"),
     "changed"),  # still not working, but no longer silently
])
def test_failed_to_broken_and_back_is_reported(tmp_path: Path, old: StrategyFigures, new: StrategyFigures,
                                               verdict: str) -> None:
    findings = [f for f in _judged(tmp_path, old, new) if f.metric == "status"]
    assert findings and {(f.old_status, f.new_status, f.verdict, f.confirmed) for f in findings} == {
        (status.FAILED if old.error else status.BROKEN, status.BROKEN if new.broken else status.FAILED, verdict, True)}
    assert all((old.error or old.broken) in f.reason and (new.error or new.broken) in f.reason for f in findings)


def test_n_a_figures_are_skips_with_their_reason_and_judge_nothing(tmp_path: Path) -> None:
    """An unsupported strategy and a server without statement counts: skipped figures with the reason,
    no pair, no crash (``verdicts.judge`` once asserted on a value-less figure of status ok)."""
    from bulkinsert.releases.watch import not_applicable

    unsupported = StrategyFigures(unsupported="copy_text: not on this release")
    no_counts = StrategyFigures(seconds=[0.01] * 3, cpu_seconds=[0.004] * 3, function_calls=120,
                                statements_unavailable="server statement counts unavailable (permission denied)")
    result = SweepResult("SQLAlchemy", 1000, [_release("2.0.40", _works(), tmp_path),
                                              _release("2.0.41", unsupported, tmp_path),
                                              _release("2.0.42", no_counts, tmp_path)])
    figures = figures_of_sweep(result, machine="box-releases", commit="a" * 40, date=1)
    skipped = [f for f in figures if f.status == status.SKIPPED]
    assert all(f.value is None and f.reason for f in skipped)
    assert not [f for f in figures if f.value is None and f.status == status.OK]
    assert [(n["release"], n["metrics"], n["reason"]) for n in not_applicable(figures, "SQLAlchemy")] == [
        ("2.0.41", ["time", "statements", "calls"], unsupported.unsupported),
        ("2.0.42", ["statements"], no_counts.statements_unavailable)]
    assert _judged(tmp_path, _works(), unsupported, no_counts) == []  # 2.0.40 -> 2.0.42 is not a pair: n/a between


def test_a_measured_figure_without_a_value_is_not_judged() -> None:
    from bulkinsert.analysis.findingtypes import Pair
    from bulkinsert.analysis.metrics import metric
    from bulkinsert.analysis.results import Figure
    from bulkinsert.analysis.verdicts import judge

    def figure(version: str, value: float | None) -> Figure:
        return Figure("box", "code_path.CodePath.track_function_calls", version, "a" * 40, 1,
                      (("strategy", "copy_text"), ("rows", "1000")), (("SQLAlchemy", version),), value)

    pair = Pair("SQLAlchemy", "2.0.40", "2.0.41", (), figure("2.0.40", 100.0), figure("2.0.41", None), ())
    judge(pair, metric("calls"), threshold=0.1, alpha=0.01, min_effect=0.02)
    assert pair.change == "same" and not pair.tested


def test_slow_creep_is_flagged_where_it_crosses_the_count_rule(tmp_path: Path) -> None:
    """+0.4 calls per row per release: every adjacent step within the rule, the run flagged against its
    first release where the total crosses the rule (and the run starts again there)."""
    from bulkinsert.analysis.metrics import count_verdict
    from bulkinsert.releases.sweep import count_creep

    rows, calls = 1000, [20_000 + 400 * step for step in range(6)]
    assert all(count_verdict("calls", a, b, rows).verdict == "same" for a, b in zip(calls, calls[1:], strict=False))
    releases = [StrategyFigures(statements=3, function_calls=value) for value in calls]
    result = SweepResult("SQLAlchemy", rows, [_release(f"2.0.{40 + i}", f, tmp_path) for i, f in enumerate(releases)])
    figures = figures_of_sweep(result, machine="box-releases", commit="a" * 40, date=1)
    expected, anchor = [], 0
    for index in range(1, len(calls)):
        if count_verdict("calls", calls[anchor], calls[index], rows).verdict != "same":
            expected.append((f"2.0.{40 + anchor}", f"2.0.{40 + index}"))
            anchor = index
    assert expected, "the count rule never sees +2,000 calls at 1,000 rows"
    found = count_creep(figures, "SQLAlchemy")
    assert [(f.old, f.new) for f in found] == expected
    assert all(f.metric == "calls" and f.verdict == "regression" and f.confirmed and "crept since" in f.reason
               for f in found)
    assert _judged(tmp_path, *releases) == []  # compare's adjacent pairs alone never see it


def test_a_watch_record_settles_a_timing_as_a_side_by_side_rerun() -> None:
    """A watch's side-by-side re-run (its ``rerun_verdict``) is re-run evidence for ``compare``; a watch
    record without one (the re-run did not measure) settles nothing."""
    from bulkinsert.analysis.verdicts import compare_figures

    old = StrategyFigures(seconds=[0.0100, 0.0101, 0.0099, 0.0102, 0.0100, 0.0098, 0.0101, 0.0100, 0.0099, 0.0101],
                          cpu_seconds=[0.004] * 10, statements=3, function_calls=120)
    new = StrategyFigures(seconds=[s * 1.3 for s in old.seconds], cpu_seconds=[0.004] * 10, statements=3,
                          function_calls=120)
    envs = Path("/nonexistent")
    result = SweepResult("SQLAlchemy", 1000, [_release("2.0.40", old, envs), _release("2.0.41", new, envs)])
    figures = figures_of_sweep(result, machine="box-releases", commit="a" * 40, date=1)

    def timing(reruns: list[dict]) -> object:
        (finding,) = [f for f in compare_figures(figures, reruns=reruns).findings if f.metric == "time"]
        return finding

    assert not timing([]).confirmed  # tested, but no replicate
    record = {"kind": "watch", "library": "SQLAlchemy", "strategy": "copy_text", "metric": "time", "rows": 1000,
              "old": "2.0.40", "new": "2.0.41", "verdict": "slower", "ratio": 1.3, "p_value": 0.0001,
              "machine": "box", "commit": "a" * 40, "context": {}}
    assert not timing([record]).confirmed  # no side-by-side measurement in it
    settled = timing([{**record, "rerun_verdict": "slower"}])
    assert settled.confirmed and settled.verdict == "regression" and "confirmed side by side" in settled.reason


def test_the_sweep_report_names_creep_n_a_failures_and_retries(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from bulkinsert.releases.report import print_sweep

    rows, calls = 1000, [20_000 + 400 * step for step in range(6)]
    releases = [StrategyFigures(statements=3, function_calls=value) for value in calls]
    releases[1] = StrategyFigures(statements=None, function_calls=calls[1], statements_unavailable="no counts here")
    releases[2].attempts, releases[2].first_attempt = 2, "measuring process exited (-9)"
    failing = [StrategyFigures(unsupported="copy_text: not here"), StrategyFigures(error="InsertError: boom")]
    result = SweepResult("SQLAlchemy", rows, [_release(f"2.0.{40 + i}", f, tmp_path)
                                              for i, f in enumerate(releases + failing)])
    print_sweep(result, ["copy_text"])
    out = capsys.readouterr().out
    crept = result.as_dict()["creep"]
    assert crept and all(f"creep: copy_text calls {c['old_value']:,.0f} in {c['old']} -> {c['new_value']:,.0f} in "
                         f"{c['new']}" in out for c in crept)
    for line in ("n/a: SQLAlchemy 2.0.41 copy_text statements: no counts here",
                 "retried: SQLAlchemy 2.0.42 copy_text: first attempt: measuring process exited (-9)",
                 "n/a: SQLAlchemy 2.0.46 copy_text: copy_text: not here",
                 "failed: SQLAlchemy 2.0.47 copy_text: InsertError: boom"):
        assert line in out, out
