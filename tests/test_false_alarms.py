"""False alarms: Benjamini-Hochberg across a family of pairs, and the A/A rate on recorded identical runs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bulkinsert.analysis import aa
from bulkinsert.analysis.results import load_figures
from bulkinsert.analysis.stats import benjamini_hochberg_level
from bulkinsert.analysis.verdicts import compare_figures

SAMPLES = Path(__file__).parent / "data" / "asv_samples"


def test_the_level_rejects_what_benjamini_hochberg_rejects() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(3)
    for _ in range(300):
        p_values = [rng.random() ** rng.choice((1, 3, 6)) for _ in range(rng.randint(1, 40))]
        q = rng.choice((0.01, 0.05, 0.1))
        level = benjamini_hochberg_level(p_values, q)
        adjusted = stats.false_discovery_control(p_values, method="bh")
        assert [p < level for p in p_values] == [a <= q for a in adjusted]
        assert q / len(p_values) <= level <= q * (1 + 1e-12)


def test_the_level_by_hand() -> None:
    # 4 pairs at q = 0.01: steps 0.0025, 0.005, 0.0075, 0.01; the largest p(k) below its step is p(3).
    level = benjamini_hochberg_level([0.02, 0.004, 0.001, 0.007], 0.01)
    assert 0.007 < level < 0.0071
    assert benjamini_hochberg_level([0.5, 0.2], 0.01) == 0.005  # nothing rejected: the first step
    with pytest.raises(ValueError, match="false-discovery rate"):
        benjamini_hochberg_level([0.1], 1.5)


def test_identical_runs_give_no_false_alarm_at_the_family_level(capsys: pytest.CaptureFixture[str]) -> None:
    """Three recorded runs of four identical environments (copy_text is planted x1.3 in one: left out),
    every ordered pair of runs and 24 resampled: 30 A/A comparisons."""
    runs = [str(SAMPLES / name) for name in ("first", "second", "planted")]
    assert aa.main([*runs, "--ignore", "copy_text", "--resamples", "24"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-2:]
    assert last[0].startswith("30 A/A comparisons, 480 timing pairs, alpha 0.01")
    assert "at the family's Benjamini-Hochberg level: 0 slower" in last[1]
    assert last[1].endswith("confirmed regressions: 0")
    rank = int(last[1].split("rank test alone: ")[1].split(" ")[0])
    assert rank > 480 * 0.01  # the rank test alone is far above its nominal rate: rounds are not independent


def test_the_planted_slowdown_is_still_confirmed_at_the_family_level() -> None:
    first, planted = load_figures(SAMPLES / "first"), load_figures(SAMPLES / "planted")
    found = compare_figures(planted, baseline=first).findings
    confirmed = {(f.strategy, f.verdict) for f in found if f.confirmed and f.metric == "time"}
    assert confirmed == {("copy_text", "regression")}


def test_bad_input_is_one_line() -> None:
    with pytest.raises(SystemExit):
        aa.main([str(SAMPLES / "first")])
    with pytest.raises(SystemExit):
        aa.main([str(SAMPLES / "first"), str(SAMPLES / "no_such_run")])
