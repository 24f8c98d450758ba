"""Side-by-side statistics: is NEW slower than OLD, by how much, and how sure are we?

One rule for every timing verdict in the project (``bulkinsert compare``, ``releases compare``,
``releases bisect --metric time``), so a verdict means the same thing everywhere:

* a rank test on the raw samples — Mann–Whitney U, two-sided, exact for small samples (the
  test asv itself applies when samples are recorded) — must reject "same distribution" at
  ``alpha``; and
* the effect — the Hodges–Lehmann estimate of NEW ÷ OLD (the median of all pairwise ratios,
  robust to the odd slow sample a shared machine produces) — must exceed ``min_effect``.

Both must agree; anything else is ``same``. The ratio's confidence interval is the
distribution-free one that belongs to the same test (order statistics of the pairwise log
ratios), so it is deterministic: the same samples always give the same verdict.

Samples taken in pairs (``releases compare``: one OLD and one NEW insert per round) are judged
by :func:`compare_paired` with the same rule, but the paired test: Wilcoxon signed-rank on the
per-round log ratios, and the ratio it tests (their Hodges–Lehmann pseudo-median). Everything
here is the standard library (``statistics.NormalDist``, exact null distributions by small
dynamic programs). The Mann–Whitney p-values equal scipy's ``mannwhitneyu(method="auto")``. The
signed-rank p-values equal scipy's ``wilcoxon`` with the same method: ``method="exact"``
without ties or zeros up to :data:`EXACT_PAIRS` pairs; with ties or zeros the exact law
conditional on the ranks, zeros dropped, which is ``wilcoxon(nonzero,
method=PermutationMethod(n_resamples=2**n))``; above :data:`EXACT_PAIRS` pairs
``method="approx", correction=True``. scipy's *default* (``method="auto"``, no continuity
correction) differs in three places: with ties or zeros among more than 13 differences it
takes the normal approximation, and from 31 to 50 pairs without ties it is exact where this is
the corrected approximation (``tests/test_paired_stats.py`` checks each case).

Samples taken in interleaved rounds (asv's ``--interleave-rounds``: every environment's round 1,
then every environment's round 2) are not independent: the samples of one round share the
machine's minute. When both sides carry the round of each sample, :func:`compare_samples` blocks
on the round — round ``r`` of OLD and round ``r`` of NEW were measured in the same pass over the
environments — and takes the van Elteren test (:func:`van_elteren_p`: Mann–Whitney within each
round, the rank sums combined with weights ``1 / (n_old + n_new + 1)``), exact conditional on the
within-round ranks while the law is small, else its normal approximation with ties. A drift
shared by both sides of a round then cancels; what differs between rounds does not enter. The
ratio is then the stratified Hodges–Lehmann estimate (median of the within-round pairwise
ratios). Without round labels it is the pooled Mann–Whitney test, and the verdict says which
(``SampleVerdict.test``).

Many pairs are judged at once (every strategy, size and release step of a run), so the level a
single p-value is held to is Benjamini–Hochberg's (:func:`benjamini_hochberg_level`): across a
family of pairs, the expected share of false "slower"/"faster" calls stays at ``alpha``.

Deterministic figures (server statements, function calls) are not sampled: they are compared
with :func:`compare_counts`, exactly or with a fixed per-insert tolerance.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

MANN_WHITNEY = "Mann-Whitney U"  # pooled samples: the test when no round labels were recorded
VAN_ELTEREN = "van Elteren"  # Mann-Whitney stratified by round
SIGNED_RANK = "Wilcoxon signed-rank"  # paired rounds (releases compare)

DEFAULT_ALPHA = 0.01
DEFAULT_MIN_EFFECT = 0.05  # 5 %: below this a timing difference is not reported on a shared machine
# Below this many samples per side no two-sided exact test can reach alpha = 0.01.
MIN_SAMPLES = 5
# Pairs the signed-rank test needs before a two-sided p can fall below 0.01 (2 / 2**8 < 0.01).
MIN_PAIRS = 8


@dataclass(frozen=True)
class SampleSummary:
    """What a reader needs to see of one side's samples."""

    n: int
    median: float
    minimum: float
    maximum: float
    q25: float
    q75: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> SampleSummary:
        ordered = sorted(samples)
        return cls(
            n=len(ordered),
            median=_quantile(ordered, 0.5),
            minimum=ordered[0],
            maximum=ordered[-1],
            q25=_quantile(ordered, 0.25),
            q75=_quantile(ordered, 0.75),
        )


@dataclass(frozen=True)
class SampleVerdict:
    """The verdict on NEW against OLD, with everything it was based on."""

    verdict: str  # "slower", "faster" or "same" (for "higher is better" figures: "worse"/"better" via lower_is_better)
    ratio: float  # Hodges–Lehmann estimate of NEW / OLD
    ratio_ci: tuple[float, float]  # confidence interval of the ratio at 1 - alpha
    p_value: float  # two-sided, of `test`
    alpha: float
    min_effect: float
    old: SampleSummary
    new: SampleSummary
    reason: str  # one line: why this verdict
    test: str = "Mann-Whitney U"  # the test behind p_value (MANN_WHITNEY, VAN_ELTEREN or SIGNED_RANK)

    @property
    def changed(self) -> bool:
        return self.verdict != "same"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio_ci"] = list(self.ratio_ci)
        return data


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of already sorted values."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Average ranks (1-based) of ``values`` in their order, and the size of every tie group."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties: list[int] = []
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        ties.append(end - start + 1)
        start = end + 1
    return ranks, ties


@functools.lru_cache(maxsize=256)
def _u_counts(m: int, n: int) -> tuple[int, ...]:
    """How many of the C(m+n, m) orderings give each U = 0 … m*n (no ties): the exact null law."""
    if m == 0 or n == 0:
        return (1,)
    # U(m, n) = U(m-1, n) + n when the largest value is in the first sample, else U(m, n-1).
    first, second = _u_counts(m - 1, n), _u_counts(m, n - 1)
    counts = [0] * (m * n + 1)
    for u, ways in enumerate(first):
        counts[u + n] += ways
    for u, ways in enumerate(second):
        counts[u] += ways
    return tuple(counts)


def mann_whitney_p(old: Sequence[float], new: Sequence[float]) -> float:
    """Two-sided Mann–Whitney U p-value: exact without ties when a side has at most 8 samples,
    else the normal approximation with tie and continuity corrections (scipy's ``method="auto"``,
    in the standard library so the runtime needs no scipy)."""
    if len(set(old) | set(new)) == 1:
        return 1.0  # identical constants: no evidence of any difference
    m, n = len(new), len(old)
    ranks, ties = _ranks(list(new) + list(old))
    u_new = sum(ranks[:m]) - m * (m + 1) / 2
    u = max(u_new, m * n - u_new)
    if (m > 8 and n > 8) or any(t > 1 for t in ties):
        total = m + n
        tie_term = sum(t**3 - t for t in ties)
        spread = math.sqrt(m * n / 12 * ((total + 1) - tie_term / (total * (total - 1))))
        p = 2 * NormalDist().cdf(-(u - m * n / 2 - 0.5) / spread)
    else:
        counts = _u_counts(min(m, n), max(m, n))
        p = 2 * sum(counts[int(u):]) / math.comb(m + n, m)
    return min(max(p, 0.0), 1.0)


def hodges_lehmann_ratio(old: Sequence[float], new: Sequence[float], alpha: float) -> tuple[float, float, float]:
    """(estimate, low, high) of NEW / OLD from the pairwise log ratios of positive samples."""
    diffs = sorted(math.log(n) - math.log(o) for o in old for n in new)
    total = len(diffs)
    estimate = _quantile(diffs, 0.5)
    m, k = len(old), len(new)
    # Index of the lower bound: the alpha/2 quantile of U under the null (normal approximation,
    # standard for the Hodges–Lehmann interval), clamped to the available order statistics.
    spread = math.sqrt(m * k * (m + k + 1) / 12.0)
    lower = math.floor(total / 2.0 - NormalDist().inv_cdf(1 - alpha / 2) * spread)
    lower = min(max(lower, 0), total - 1)
    upper = total - 1 - lower
    return math.exp(estimate), math.exp(diffs[lower]), math.exp(diffs[upper])


def compare_samples(
    old: Sequence[float],
    new: Sequence[float],
    *,
    alpha: float = DEFAULT_ALPHA,
    min_effect: float = DEFAULT_MIN_EFFECT,
    lower_is_better: bool = True,
    old_rounds: Sequence[int] | None = None,
    new_rounds: Sequence[int] | None = None,
) -> SampleVerdict:
    """The verdict on NEW's samples against OLD's (times, CPU seconds: positive numbers).

    ``slower`` needs both p < ``alpha`` and a ratio above ``1 + min_effect``; ``faster`` the
    mirror image. With ``lower_is_better=False`` (rows per second) the words follow the
    figure's meaning: a higher NEW is ``faster``.

    ``old_rounds``/``new_rounds``: the round of each sample (same order), when known. When both
    sides have them and measured the same rounds, the test is van Elteren's, blocked on the round
    (:func:`van_elteren_p`), and the ratio the stratified Hodges–Lehmann estimate
    (:func:`stratified_ratio`); otherwise the pooled Mann–Whitney test and the pooled estimate.
    """
    old_values, new_values = _positive(old), _positive(new)
    blocks = round_blocks(old_values, old_rounds, new_values, new_rounds)
    if blocks is None:
        p_value = mann_whitney_p(old_values, new_values)
        estimate = hodges_lehmann_ratio(old_values, new_values, alpha)
        test = MANN_WHITNEY
    else:
        p_value = van_elteren_p(blocks)
        estimate = stratified_ratio(blocks, alpha)
        test = f"{VAN_ELTEREN} over {len(blocks)} rounds"
    return _verdict(old_values, new_values, p_value, estimate, alpha, min_effect, lower_is_better, MIN_SAMPLES,
                    test)


def round_blocks(
    old: Sequence[float], old_rounds: Sequence[int] | None, new: Sequence[float], new_rounds: Sequence[int] | None
) -> list[tuple[list[float], list[float]]] | None:
    """(OLD, NEW) samples of each round both sides measured, or None when the rounds are unknown.

    None also when the labels do not fit the samples, when the two sides measured different
    rounds (then there are no common blocks to stand on), or when there is only one round (the
    blocked test is the pooled one).
    """
    if old_rounds is None or new_rounds is None:
        return None
    if len(old_rounds) != len(old) or len(new_rounds) != len(new) or set(old_rounds) != set(new_rounds):
        return None
    if len(set(old_rounds)) < 2:
        return None
    return [([v for v, r in zip(old, old_rounds, strict=True) if r == label],
             [v for v, r in zip(new, new_rounds, strict=True) if r == label])
            for label in sorted(set(old_rounds))]


# Up to this many distinct values of the weighted sum the van Elteren p-value is exact.
EXACT_STRATIFIED_SUPPORT = 200_000


def _rank_sum_counts(doubled: Sequence[int], chosen: int) -> dict[int, int]:
    """How many of the C(N, chosen) subsets of the (doubled, integer) ranks give each sum."""
    # ways[k][s]: subsets of k ranks among those seen so far that sum to s.
    ways: list[dict[int, int]] = [{0: 1}] + [{} for _ in range(chosen)]
    for rank in doubled:
        for k in range(chosen, 0, -1):
            for total, count in ways[k - 1].items():
                ways[k][total + rank] = ways[k].get(total + rank, 0) + count
    return ways[chosen]


def van_elteren_p(blocks: Sequence[tuple[Sequence[float], Sequence[float]]]) -> float:
    """Two-sided p-value of van Elteren's stratified rank test: OLD against NEW within each block.

    In block ``b`` (``m`` OLD and ``n`` NEW samples, ``N = m + n``) ``W_b`` is NEW's rank sum
    among the block's samples (average ranks for ties); the statistic is
    ``T = sum W_b / (N_b + 1)``, which weights every block's evidence alike, whatever its size.
    Under the null the samples of a block are exchangeable, each block independently, so the
    law of ``T`` is that of independent within-block permutations. It is computed exactly
    (per block the law of the rank sum, conditional on its ranks, then their weighted sum; twice
    the smaller tail, as :func:`mann_whitney_p`'s exact case) while it has at most
    :data:`EXACT_STRATIFIED_SUPPORT` distinct values; beyond that ``(T - E T) / sd T`` is
    standard normal, with the tie-corrected within-block variance
    ``m n / 12 (N + 1 - sum(t^3 - t) / (N (N - 1)))`` and no continuity correction (a weighted
    sum has no single lattice step). A block with one side empty carries no evidence and is left
    out; so is one whose samples are all equal.
    """
    used = [(list(o), list(n)) for o, n in blocks if o and n]
    if not used or all(len(set(o) | set(n)) == 1 for o, n in used):
        return 1.0
    scale = math.lcm(*(len(o) + len(n) + 1 for o, n in used))
    observed = expected = 0
    variance = 0.0
    law: dict[int, int] | None = {0: 1}
    for o, n in used:
        size = len(o) + len(n)
        weight = scale // (size + 1)  # integer weights: T is scaled by lcm(N_b + 1) and doubled
        ranks, ties = _ranks(n + o)
        doubled = [round(2 * r) for r in ranks]
        observed += weight * sum(doubled[: len(n)])
        expected += weight * len(n) * (size + 1)
        tie_term = sum(t**3 - t for t in ties) / (size * (size - 1)) if size > 1 else 0.0
        variance += weight**2 * 4 * len(o) * len(n) / 12 * ((size + 1) - tie_term)
        if law is not None:
            block = _rank_sum_counts(doubled, len(n))
            if len(law) * len(block) > EXACT_STRATIFIED_SUPPORT:
                law = None
            else:
                combined: dict[int, int] = {}
                for total, ways in law.items():
                    for value, count in block.items():
                        key = total + weight * value
                        combined[key] = combined.get(key, 0) + ways * count
                law = combined
    if law is not None:
        everything = sum(law.values())
        low = sum(c for t, c in law.items() if t <= observed)
        high = sum(c for t, c in law.items() if t >= observed)
        return min(1.0, 2 * min(low, high) / everything)
    if variance <= 0:
        return 1.0
    z = abs(observed - expected) / math.sqrt(variance)
    return min(1.0, 2 * NormalDist().cdf(-z))


def stratified_ratio(blocks: Sequence[tuple[Sequence[float], Sequence[float]]],
                     alpha: float) -> tuple[float, float, float]:
    """(estimate, low, high) of NEW / OLD from the pairwise log ratios *within* each block.

    The stratified Hodges–Lehmann estimate: the median of every within-block NEW/OLD log ratio,
    so a difference between rounds never enters. The interval takes the order statistics of the
    same ratios at the normal approximation of their count's null law (``sum m n / 2`` ±
    ``z sqrt(sum m n (N + 1) / 12)``), as :func:`hodges_lehmann_ratio` does for one block.
    """
    diffs = sorted(math.log(n) - math.log(o) for old, new in blocks for o in old for n in new)
    if not diffs:
        raise ValueError("no round has samples on both sides")
    total = len(diffs)
    spread = math.sqrt(sum(len(o) * len(n) * (len(o) + len(n) + 1) for o, n in blocks) / 12.0)
    lower = math.floor(total / 2.0 - NormalDist().inv_cdf(1 - alpha / 2) * spread)
    lower = min(max(lower, 0), total - 1)
    upper = total - 1 - lower
    return math.exp(_quantile(diffs, 0.5)), math.exp(diffs[lower]), math.exp(diffs[upper])


def _positive(samples: Sequence[float]) -> list[float]:
    values = [float(v) for v in samples]
    if not values:
        raise ValueError("both sides need at least one sample")
    if min(values) <= 0 or not all(math.isfinite(v) for v in values):
        raise ValueError("samples must be positive, finite numbers")
    return values


def _verdict(
    old_values: list[float],
    new_values: list[float],
    p_value: float,
    estimate: tuple[float, float, float],
    alpha: float,
    min_effect: float,
    lower_is_better: bool,
    minimum: int,
    test: str = MANN_WHITNEY,
) -> SampleVerdict:
    """The one rule: p < ``alpha`` and a ratio beyond ``min_effect``, else ``same`` (and why)."""
    ratio, low, high = estimate
    bigger = ratio >= 1 + min_effect
    smaller = ratio <= 1 / (1 + min_effect)
    significant = p_value < alpha
    if significant and (bigger or smaller):
        worse = bigger if lower_is_better else smaller
        verdict = "slower" if worse else "faster"
        reason = f"{test}: p={p_value:.3g} < {alpha:g} and x{ratio:.3f} beyond {min_effect:.0%}"
    else:
        verdict = "same"
        if min(len(old_values), len(new_values)) < minimum and not significant:
            reason = (
                f"{test}: p={p_value:.3g}: too few samples to tell ({len(old_values)} vs {len(new_values)}; "
                f"at least {minimum} per side can reach {alpha:g})"
            )
        elif not significant:
            reason = f"{test}: p={p_value:.3g} >= {alpha:g}: no difference beyond noise"
        else:
            reason = f"{test}: x{ratio:.3f} is within the minimum effect of {min_effect:.0%}"
    return SampleVerdict(
        verdict=verdict,
        ratio=ratio,
        ratio_ci=(low, high),
        p_value=p_value,
        alpha=alpha,
        min_effect=min_effect,
        old=SampleSummary.of(old_values),
        new=SampleSummary.of(new_values),
        reason=reason,
        test=test,
    )


# Up to this many non-zero pairs the signed-rank p-value is exact (a subset-sum table of the
# doubled ranks, at most n(n+1) + 1 entries); above it, the normal approximation.
EXACT_PAIRS = 30


def _signed_rank_counts(doubled: Sequence[int]) -> list[int]:
    """How many of the 2**n sign patterns give each sum of the positive (doubled) ranks."""
    counts = [1] + [0] * sum(doubled)
    for rank in doubled:
        for total in range(len(counts) - 1, rank - 1, -1):
            counts[total] += counts[total - rank]
    return counts


def wilcoxon_signed_rank_p(differences: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired differences (zeros dropped).

    Exact for up to :data:`EXACT_PAIRS` pairs — conditional on the ranks, so ties are exact too —
    else the normal approximation with tie and continuity corrections.
    """
    nonzero = [d for d in differences if d != 0]
    n = len(nonzero)
    if n == 0:
        return 1.0
    ranks, ties = _ranks([abs(d) for d in nonzero])
    positive = sum(r for r, d in zip(ranks, nonzero, strict=True) if d > 0)
    if n <= EXACT_PAIRS:
        doubled = [round(2 * r) for r in ranks]
        counts = _signed_rank_counts(doubled)
        w = round(2 * positive)
        low, high = sum(counts[: w + 1]), sum(counts[w:])
        return min(1.0, 2 * min(low, high) / 2**n)
    mean = n * (n + 1) / 4
    spread = math.sqrt(n * (n + 1) * (2 * n + 1) / 24 - sum(t**3 - t for t in ties) / 48)
    z = (abs(positive - mean) - 0.5) / spread
    return min(1.0, 2 * NormalDist().cdf(-max(z, 0.0)))


def paired_ratio(old: Sequence[float], new: Sequence[float], alpha: float) -> tuple[float, float, float]:
    """(estimate, low, high) of NEW / OLD from paired rounds: the Hodges–Lehmann pseudo-median of
    the per-round log ratios (median of their Walsh averages) and the interval that belongs to the
    signed-rank test (order statistics of the Walsh averages)."""
    logs = [math.log(n) - math.log(o) for o, n in zip(old, new, strict=True)]
    walsh = sorted((logs[i] + logs[j]) / 2 for i in range(len(logs)) for j in range(i, len(logs)))
    total, n = len(walsh), len(logs)
    if n <= EXACT_PAIRS:
        counts = _signed_rank_counts(range(1, n + 1))
        below, k = 0, 0
        while k < len(counts) and (below + counts[k]) / 2**n <= alpha / 2:
            below += counts[k]
            k += 1
        k -= 1  # k - 1 is the largest rejected T; the bound is the Walsh average just above it (0-based k - 1)
    else:
        spread = math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
        k = math.floor(n * (n + 1) / 4 - NormalDist().inv_cdf(1 - alpha / 2) * spread)
    lower = min(max(k, 0), total - 1)
    upper = total - 1 - lower
    return math.exp(_quantile(walsh, 0.5)), math.exp(walsh[lower]), math.exp(walsh[upper])


def compare_paired(
    old: Sequence[float],
    new: Sequence[float],
    *,
    alpha: float = DEFAULT_ALPHA,
    min_effect: float = DEFAULT_MIN_EFFECT,
) -> SampleVerdict:
    """The verdict on NEW against OLD when sample ``i`` of each side was taken in the same round.

    Side-by-side rounds share the machine's minute, so the per-round ratio NEW ÷ OLD cancels the
    load both saw; the test is the Wilcoxon signed-rank test of the per-round log ratios, and the
    ratio reported is the one it tests (:func:`paired_ratio`). The rule is
    :func:`compare_samples`'s: p < ``alpha`` and a ratio beyond ``min_effect``.
    """
    old_values, new_values = _positive(old), _positive(new)
    if len(old_values) != len(new_values):
        raise ValueError(f"paired samples need equal counts ({len(old_values)} vs {len(new_values)})")
    logs = [math.log(n) - math.log(o) for o, n in zip(old_values, new_values, strict=True)]
    p_value = wilcoxon_signed_rank_p(logs)
    ratio, low, high = paired_ratio(old_values, new_values, alpha)
    return _verdict(old_values, new_values, p_value, (ratio, low, high), alpha, min_effect, True,
                    MIN_PAIRS, SIGNED_RANK)


def benjamini_hochberg_level(p_values: Sequence[float], q: float) -> float:
    """The level at which each of a family's p-values is rejected (``p < level``) by the
    Benjamini–Hochberg step-up procedure at false-discovery rate ``q``.

    Sorted p(1) <= ... <= p(m): reject every p <= p(k) for the largest k with p(k) <= k*q/m.
    Returned as a strict level so that ``p < level`` is the same decision; when nothing is
    rejected it is q/m, the first step, which no p-value of the family reaches. The level is
    never below q/m (Bonferroni's) nor above ``q``.
    """
    if not 0 < q < 1:
        raise ValueError(f"the false-discovery rate must lie in (0, 1), not {q}")
    ordered = sorted(p_values)
    m = len(ordered)
    if m == 0:
        return q
    level = q / m
    for k, p in enumerate(ordered, start=1):
        if p <= k * q / m:
            level = max(level, math.nextafter(p, math.inf))
    return level


@dataclass(frozen=True)
class CountVerdict:
    """Deterministic figures: changed or not, with the size of the change."""

    verdict: str  # "more", "fewer" or "same"
    old: float
    new: float
    delta: float
    ratio: float
    tolerance: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare_counts(old: float, new: float, *, tolerance: float = 0.0) -> CountVerdict:
    """Compare two deterministic counts; a change within ``tolerance`` (absolute) is ``same``.

    The tolerance is a fixed number of units per insert (a pool checkout, an event hook), never
    a percentage: a percentage lets a per-row change hide in a large count.
    """
    delta = new - old
    ratio = new / old if old else (math.inf if new else 1.0)
    if abs(delta) <= tolerance:
        verdict = "same"
    else:
        verdict = "more" if delta > 0 else "fewer"
    return CountVerdict(verdict=verdict, old=old, new=new, delta=delta, ratio=ratio, tolerance=tolerance)
