"""False alarms: Benjamini-Hochberg across a family of pairs, and the A/A rate on recorded identical runs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bulkinsert.analysis import aa
from bulkinsert.analysis.results import Figure, load_figures
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
    last = capsys.readouterr().out.strip().splitlines()[-3:]
    assert last[2].startswith("calibration over the 48 distinct pairs of runs: p < 0.01 in ")
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


def _figure(benchmark: str, strategy: str, sqlalchemy: str, value: float, seed: int, jitter: float = 0.02,
            driver: str | None = None) -> Figure:
    rng = random.Random(seed)
    samples = tuple(value * (1 + rng.uniform(-jitter, jitter)) for _ in range(10))
    params = (("strategy", strategy), ("rows", "1000")) + ((("driver", driver),) if driver else ())
    requirements = (("SQLAlchemy", sqlalchemy), ("psycopg2-binary", "2.9.13"), ("python", "3.11"))
    return Figure(machine="m", benchmark=benchmark, env_name=f"env-{sqlalchemy}", commit="c", date=1, params=params,
                  requirements=requirements, value=sorted(samples)[5], samples=samples, number=1)


def test_another_drivers_figures_never_move_a_familys_level() -> None:
    """A family is one benchmark and its parameters other than strategy and rows. core_executemany's x1.06
    (p = 0.0046) is no discovery among its family of three (level 0.01 / 3); the asyncpg axis, whose every
    path moved (p = 0.00018), would have lifted a shared level above it. It leaves the verdicts as they were."""
    time, by_driver = "insert_time.InsertTime.time_insert", "insert_time.InsertTimeByDriver.time_insert"
    base = [_figure(time, "core_executemany", "2.0.58", 0.1, 22, 0.05),
            _figure(time, "core_executemany", "2.1.9", 0.106, 1022, 0.05)]
    base += [_figure(time, name, release, 0.1, seed * 10 + index, 0.05)
             for seed, name in enumerate(("orm_basic", "execute_values")) for index, release in enumerate(("2.0.58",
                                                                                                          "2.1.9"))]
    axis = [_figure(by_driver, name, release, 0.1 * (1.5 if release == "2.1.9" else 1.0), 100 + seed, driver="asyncpg")
            for seed, name in enumerate(("orm_basic", "core_executemany", "orm_bulk_insert", "core_upsert_do_nothing"))
            for release in ("2.0.58", "2.1.9")]

    def psycopg2_findings(figures: list[Figure]) -> list[tuple]:
        found = compare_figures(figures, threshold=0.01).findings  # listed from 1 %, tested or not
        return sorted((f.strategy, f.change, f.p_value, f.reason) for f in found if f.benchmark == time)

    alone = psycopg2_findings(base)
    assert [(s, p) for s, _, p, _ in alone if p is not None and p < 0.01] == [("core_executemany", pytest.approx(0.0046,
                                                                                                              abs=1e-4))]
    assert "Benjamini-Hochberg level" in alone[0][3]
    assert alone == psycopg2_findings(base + axis)
    assert any(f.benchmark == by_driver for f in compare_figures(base + axis).findings)
