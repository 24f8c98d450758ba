"""The paired test of side-by-side rounds, and the rank tests in the standard library."""

from __future__ import annotations

import itertools
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


def _average_ranks(values: list[float]) -> list[float]:
    ordered = sorted(values)
    return [ordered.index(v) + (ordered.count(v) + 1) / 2 for v in values]


def _exact_signed_rank_law(differences: list[float]) -> tuple[float, dict[float, int]]:
    """The observed sum of positive ranks and the count of sign patterns giving each sum, zeros dropped,
    ties at their average rank: the exact law conditional on the ranks, by enumerating the patterns."""
    nonzero = [d for d in differences if d != 0]
    ranks = _average_ranks([abs(d) for d in nonzero])
    observed = sum(r for r, d in zip(ranks, nonzero, strict=True) if d > 0)
    law: dict[float, int] = {}
    for signs in itertools.product((0, 1), repeat=len(ranks)):
        total = sum(r for r, s in zip(ranks, signs, strict=True) if s)
        law[total] = law.get(total, 0) + 1
    return observed, law


def _exact_two_sided(differences: list[float]) -> float:
    observed, law = _exact_signed_rank_law(differences)
    patterns = sum(law.values())
    low = sum(c for t, c in law.items() if t <= observed + 1e-9) / patterns
    high = sum(c for t, c in law.items() if t >= observed - 1e-9) / patterns
    return min(1.0, 2 * min(low, high))


def test_signed_rank_p_is_the_exact_law_with_ties_and_zeros() -> None:
    rng = random.Random(5)
    for _ in range(120):
        differences = [float(rng.randint(-3, 5)) for _ in range(rng.randint(1, 12))]  # ties and zeros
        if not any(differences):
            continue
        assert wilcoxon_signed_rank_p(differences) == pytest.approx(_exact_two_sided(differences), abs=1e-12)


def test_signed_rank_normal_approximation_above_30_pairs_is_close_to_the_exact_law() -> None:
    """34 pairs, tied ranks: the exact conditional law by a table of the doubled rank sums (2**34 patterns)."""
    differences = [(-1) ** i * (i + 1) for i in range(31)] + [5.5, 6.5, 7.5, -5.5]
    ranks = _average_ranks([abs(d) for d in differences])
    doubled = [round(2 * r) for r in ranks]
    law = [1] + [0] * sum(doubled)
    for rank in doubled:
        law = [law[t] + (law[t - rank] if t >= rank else 0) for t in range(len(law))]
    observed = round(2 * sum(r for r, d in zip(ranks, differences, strict=True) if d > 0))
    exact = min(1.0, 2 * min(sum(law[: observed + 1]), sum(law[observed:])) / 2 ** len(differences))
    approximate = wilcoxon_signed_rank_p(differences)
    assert 0.05 < exact < 0.95  # a p-value where the approximation matters
    assert approximate == pytest.approx(exact, abs=0.005)


def test_mann_whitney_exact_p_is_the_exact_law() -> None:
    """No ties, up to 8 per side: the share of all C(m+n, m) splits with a U as extreme."""
    rng = random.Random(9)
    for _ in range(25):
        m, n = rng.randint(2, 6), rng.randint(2, 6)
        values = rng.sample(range(1000), m + n)
        old, new = values[:n], values[n:]

        def u_of(sample: tuple[int, ...], pool: list[int] = values) -> float:
            return sum(1 for a in sample for b in pool if b not in sample and a > b)

        observed = u_of(tuple(new))
        extreme = max(observed, m * n - observed)
        splits = list(itertools.combinations(values, m))
        as_extreme = sum(1 for split in splits if max(u_of(split), m * n - u_of(split)) >= extreme)
        assert mann_whitney_p(old, new) == pytest.approx(min(1.0, as_extreme / len(splits)), abs=1e-12)


def test_p_values_equal_scipys_with_the_same_method() -> None:
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
    for _ in range(30):  # ties and zeros: scipy's exact permutation law over the non-zero differences
        differences = [float(rng.randint(-2, 4)) for _ in range(rng.randint(2, 10))]
        nonzero = [d for d in differences if d]
        if len(nonzero) < 2:  # scipy's permutation test needs two
            continue
        expected = stats.wilcoxon(nonzero, method=stats.PermutationMethod(n_resamples=2 ** len(nonzero))).pvalue
        assert wilcoxon_signed_rank_p(differences) == pytest.approx(expected, abs=1e-12)


def test_where_scipys_default_differs_it_takes_the_normal_approximation() -> None:
    """Ties among more than 13 differences: scipy's default (method="auto") is the normal approximation
    without continuity correction; this module keeps the exact law."""
    stats = pytest.importorskip("scipy.stats")
    differences = [0.0, 1.0, 1.0, 0.0, 0.0, -1.0, 2.0, 2.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]  # 6 of 14 non-zero
    ours = wilcoxon_signed_rank_p(differences)
    assert ours == pytest.approx(_exact_two_sided(differences), abs=1e-12)
    default = stats.wilcoxon(differences).pvalue
    assert default == pytest.approx(stats.wilcoxon(differences, method="approx", correction=False).pvalue, abs=1e-12)
    assert ours == pytest.approx(0.15625) and default == pytest.approx(0.0836, abs=1e-4)  # 2 x 5 of 2**6 sign patterns


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
