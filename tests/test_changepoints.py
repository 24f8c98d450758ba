"""Change points of release series: E-divisive means on planted timing series, counts step by step."""

from __future__ import annotations

import math
import random

import pytest

from bulkinsert.analysis.changepoints import count_change_points, e_divisive, timing_change_points
from bulkinsert.analysis.metrics import CALLS_PER_INSERT, CALLS_PER_ROW


def _noisy(levels: list[tuple[int, float]], seed: int, noise: float = 0.03) -> list[float]:
    """Planted levels (length, seconds) with multiplicative noise of about ``noise``."""
    rng = random.Random(seed)
    return [level * (1 + rng.gauss(0, noise)) for length, level in levels for _ in range(length)]


def _releases(n: int) -> list[str]:
    return [f"2.0.{i}" for i in range(n)]


def _found(values: list[float]) -> list[int]:
    return [s.index for s in e_divisive(values)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_step_up_is_found_at_its_release(seed: int) -> None:
    values = _noisy([(12, 0.100), (12, 0.150)], seed)
    points = list(zip(_releases(24), values, strict=True))
    found = timing_change_points("core_upsert", "seconds", points)
    assert [(c.before, c.release) for c in found] == [("2.0.11", "2.0.12")]
    change = found[0]
    assert change.up and not change.confirmed and change.p_value is not None and change.p_value <= 0.01
    assert 1.4 < change.ratio < 1.6  # type: ignore[operator]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_step_up_then_back_down_gives_two_change_points(seed: int) -> None:
    values = _noisy([(10, 0.1), (8, 0.2), (10, 0.1)], seed)
    found = timing_change_points("orm_bulk", "seconds", list(zip(_releases(28), values, strict=True)))
    assert [c.release for c in found] == ["2.0.10", "2.0.18"]
    assert found[0].up and not found[1].up


def test_two_steps_up_are_both_found() -> None:
    values = _noisy([(10, 0.1), (10, 0.13), (10, 0.17)], seed=5, noise=0.02)
    assert _found([math.log(v) for v in values]) == [10, 20]


@pytest.mark.parametrize("seed", range(6))
def test_noise_alone_has_no_change_point(seed: int) -> None:
    values = _noisy([(30, 0.1)], seed, noise=0.05)
    assert timing_change_points("copy_text", "seconds", list(zip(_releases(30), values, strict=True))) == []


def test_the_detector_is_seeded_and_too_short_a_series_has_nothing() -> None:
    values = _noisy([(8, 1.0), (8, 2.0)], 7)
    assert e_divisive(values) == e_divisive(values)
    assert e_divisive([1.0, 1.0, 5.0, 5.0, 5.0]) == []  # fewer than min_size points on one side
    with pytest.raises(ValueError, match="alpha"):
        e_divisive(values, alpha=1.5)


def test_counts_are_judged_step_by_step_with_the_one_rule() -> None:
    # 3 statements, up to 1,002 in 2.0.3, back to 3 in 2.0.6: two changes, both exact.
    series = [3, 3, 3, 1002, 1002, 1002, 3, 3]
    found = count_change_points("core_upsert_do_nothing", "statements", list(zip(_releases(8), series,
                                                                                  strict=True)), 1000)
    assert [(c.before, c.release, c.old, c.new) for c in found] == [("2.0.2", "2.0.3", 3, 1002),
                                                                   ("2.0.5", "2.0.6", 1002, 3)]
    assert all(c.confirmed for c in found)


def test_call_counts_within_the_per_insert_allowance_are_not_change_points() -> None:
    """20 rows per insert: the per-row term (0.5 x 20 = 10 calls) is below the floor; the floor decides."""
    rows = 20
    assert CALLS_PER_ROW * rows < CALLS_PER_INSERT - 1
    series = [3_000, 3_000 + CALLS_PER_INSERT, 3_000 + CALLS_PER_INSERT, 3_000 + CALLS_PER_INSERT + 30]
    found = count_change_points("orm_basic", "function_calls", list(zip(_releases(4), series, strict=True)), rows)
    # 2.0.1 and 2.0.2 are within the floor of 2.0.0; 2.0.3 is within it of 2.0.2 but not of 2.0.0: a creep.
    assert [(c.before, c.release, c.creep) for c in found] == [("2.0.0", "2.0.3", True)]
    with pytest.raises(ValueError, match="not a count"):
        count_change_points("orm_basic", "seconds", [], 10)


def test_every_statement_change_is_found_also_one_that_goes_back_over_unmeasured_releases() -> None:
    """3 -> 1,002 (a release unmeasured between) -> 3 again: both steps, one up and one down."""
    series = [3, None, 1002, 1002, None, 3, 3]
    found = count_change_points("orm_basic", "statements", list(zip(_releases(7), series, strict=True)), 1000)
    assert [(c.before, c.release, c.up, c.creep) for c in found] == [("2.0.0", "2.0.2", True, False),
                                                                    ("2.0.3", "2.0.5", False, False)]
    # Up by one and straight back: statements are exact, so both are changes.
    found = count_change_points("orm_basic", "statements", list(zip(_releases(3), [12, 13, 12], strict=True)), 1000)
    assert [(c.old, c.new) for c in found] == [(12, 13), (13, 12)]


def _brute_q(values: list[float], t: int, end: int) -> float:
    """Q(t, end) written out from the paper's definition, pair by pair."""
    x, y = values[:t], values[t:end]
    between = sum(abs(a - b) for a in x for b in y) / (len(x) * len(y))
    within_x = sum(abs(a - b) for i, a in enumerate(x) for b in x[i + 1:]) / (len(x) * (len(x) - 1) / 2)
    within_y = sum(abs(a - b) for i, a in enumerate(y) for b in y[i + 1:]) / (len(y) * (len(y) - 1) / 2)
    return len(x) * len(y) / (len(x) + len(y)) * (2 * between - within_x - within_y)


def test_the_fast_statistic_is_the_papers() -> None:
    from bulkinsert.analysis.changepoints import _best_split

    values = _noisy([(5, 1.0), (4, 1.6), (5, 1.1)], seed=11, noise=0.1)
    best = max(((t, e) for t in range(3, len(values) - 2) for e in range(t + 3, len(values) + 1)),
               key=lambda te: _brute_q(values, *te))
    where, q = _best_split(values, 3)
    assert where == best[0] and q == pytest.approx(_brute_q(values, *best))
