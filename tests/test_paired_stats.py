"""The paired test of side-by-side rounds, and the rank tests in the standard library."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from bulkinsert.analysis.stats import (
    compare_paired,
    compare_samples,
    mann_whitney_p,
    paired_ratio,
    wilcoxon_signed_rank_p,
)


def test_signed_rank_exact_values() -> None:
    # Every one of 10 pairs positive: one pattern of 2**10 gives the largest sum; two-sided doubles it.
    assert wilcoxon_signed_rank_p([0.1 * (i + 1) for i in range(10)]) == pytest.approx(2 / 2**10)
    assert wilcoxon_signed_rank_p([0.0, 0.0]) == 1.0
    # Symmetric differences: no evidence either way.
    assert wilcoxon_signed_rank_p([1.0, -1.0, 2.0, -2.0]) == 1.0


def test_signed_rank_normal_approximation_above_30_pairs_is_close_to_exact_law() -> None:
    differences = [(-1) ** i * (i + 1) for i in range(31)] + [5.5, 6.5, 7.5]
    p = wilcoxon_signed_rank_p(differences)
    assert 0.3 < p <= 1.0


def test_p_values_equal_scipys() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(7)
    for _ in range(300):
        m, n = rng.randint(2, 20), rng.randint(2, 20)
        tied = rng.random() < 0.3
        old = [round(rng.uniform(1, 3), 1 if tied else 6) for _ in range(m)]
        new = [round(rng.uniform(1, 3.5), 1 if tied else 6) for _ in range(n)]
        if len(set(old) | set(new)) > 1:
            expected = stats.mannwhitneyu(new, old, alternative="two-sided", method="auto").pvalue
            assert mann_whitney_p(old, new) == pytest.approx(expected, abs=1e-12)
        pairs = [rng.gauss(0.05, 0.1) for _ in range(rng.randint(1, 40))]
        method = "exact" if len(pairs) <= 30 else "approx"
        expected = stats.wilcoxon(pairs, method=method, correction=True).pvalue
        assert wilcoxon_signed_rank_p(pairs) == pytest.approx(expected, abs=1e-12)


def _drifting(factor: float, rounds: int = 15, seed: int = 3) -> tuple[list[float], list[float]]:
    """A machine whose load drifts round to round; NEW is ``factor`` x OLD within each round, +-2 %."""
    rng = random.Random(seed)
    old = [0.1 * (1 + 0.6 * math.sin(i)) * rng.uniform(0.98, 1.02) for i in range(rounds)]
    return old, [o * factor * rng.uniform(0.98, 1.02) for o in old]


def test_pairing_sees_what_drifting_load_hides_from_the_unpaired_test() -> None:
    old, new = _drifting(1.10)
    assert compare_samples(old, new).verdict == "same"
    paired = compare_paired(old, new)
    assert paired.verdict == "slower" and paired.p_value < 0.001
    low, high = paired.ratio_ci
    assert low <= 1.10 <= high and low <= paired.ratio <= high and 1.07 < paired.ratio < 1.13


def test_a_release_against_itself_is_same_and_the_interval_holds_one() -> None:
    old, new = _drifting(1.0, seed=11)
    verdict = compare_paired(old, new)
    assert verdict.verdict == "same" and verdict.ratio_ci[0] <= 1.0 <= verdict.ratio_ci[1]


def test_the_reported_ratio_is_the_pseudo_median_of_round_ratios() -> None:
    old = [1.0, 1.0, 1.0]
    new = [1.1, 1.2, 1.6]
    ratio, low, high = paired_ratio(old, new, 0.01)
    logs = sorted(math.log(v) for v in new)
    walsh = sorted((a + b) / 2 for i, a in enumerate(logs) for b in logs[i:])
    assert ratio == pytest.approx(math.exp(statistics.median(walsh)))
    assert low == pytest.approx(1.1) and high == pytest.approx(1.6)  # 3 pairs: the whole range


def test_too_few_rounds_and_bad_input() -> None:
    old, new = _drifting(2.0, rounds=7)
    verdict = compare_paired(old, new)
    assert verdict.verdict == "same" and "too few samples" in verdict.reason
    with pytest.raises(ValueError, match="equal counts"):
        compare_paired([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="positive"):
        compare_paired([1.0, 0.0], [1.0, 1.0])
