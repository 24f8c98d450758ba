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

Deterministic figures (server statements, function calls) are not sampled: they are compared
with :func:`compare_counts`, exactly or with a fixed per-insert tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

DEFAULT_ALPHA = 0.01
DEFAULT_MIN_EFFECT = 0.05  # 5 %: below this a timing difference is not reported on a shared machine
# Below this many samples per side no two-sided exact test can reach alpha = 0.01.
MIN_SAMPLES = 5


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
    p_value: float  # two-sided Mann–Whitney U
    alpha: float
    min_effect: float
    old: SampleSummary
    new: SampleSummary
    reason: str  # one line: why this verdict

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


def mann_whitney_p(old: Sequence[float], new: Sequence[float]) -> float:
    """Two-sided Mann–Whitney U p-value (exact without ties for small samples, else asymptotic)."""
    from scipy.stats import mannwhitneyu

    if len(set(old) | set(new)) == 1:
        return 1.0  # identical constants: no evidence of any difference
    return float(mannwhitneyu(new, old, alternative="two-sided", method="auto").pvalue)


def hodges_lehmann_ratio(old: Sequence[float], new: Sequence[float], alpha: float) -> tuple[float, float, float]:
    """(estimate, low, high) of NEW / OLD from the pairwise log ratios of positive samples."""
    from scipy.stats import norm

    diffs = sorted(math.log(n) - math.log(o) for o in old for n in new)
    total = len(diffs)
    estimate = _quantile(diffs, 0.5)
    m, k = len(old), len(new)
    # Index of the lower bound: the alpha/2 quantile of U under the null (normal approximation,
    # standard for the Hodges–Lehmann interval), clamped to the available order statistics.
    spread = math.sqrt(m * k * (m + k + 1) / 12.0)
    lower = math.floor(total / 2.0 - norm.ppf(1 - alpha / 2) * spread)
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
) -> SampleVerdict:
    """The verdict on NEW's samples against OLD's (times, CPU seconds: positive numbers).

    ``slower`` needs both p < ``alpha`` and a ratio above ``1 + min_effect``; ``faster`` the
    mirror image. With ``lower_is_better=False`` (rows per second) the words follow the
    figure's meaning: a higher NEW is ``faster``.
    """
    old_values = [float(v) for v in old]
    new_values = [float(v) for v in new]
    if not old_values or not new_values:
        raise ValueError("both sides need at least one sample")
    if min(old_values + new_values) <= 0 or not all(math.isfinite(v) for v in old_values + new_values):
        raise ValueError("samples must be positive, finite numbers")
    p_value = mann_whitney_p(old_values, new_values)
    ratio, low, high = hodges_lehmann_ratio(old_values, new_values, alpha)
    bigger = ratio >= 1 + min_effect
    smaller = ratio <= 1 / (1 + min_effect)
    significant = p_value < alpha
    if significant and (bigger or smaller):
        worse = bigger if lower_is_better else smaller
        verdict = "slower" if worse else "faster"
        reason = f"p={p_value:.3g} < {alpha:g} and x{ratio:.3f} beyond {min_effect:.0%}"
    else:
        verdict = "same"
        if min(len(old_values), len(new_values)) < MIN_SAMPLES and not significant:
            reason = (
                f"p={p_value:.3g}: too few samples to tell ({len(old_values)} vs {len(new_values)}; "
                f"at least {MIN_SAMPLES} per side can reach {alpha:g})"
            )
        elif not significant:
            reason = f"p={p_value:.3g} >= {alpha:g}: no difference beyond noise"
        else:
            reason = f"x{ratio:.3f} is within the minimum effect of {min_effect:.0%}"
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
    )


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
