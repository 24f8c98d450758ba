"""Every change point of a release series, not only the one a bisection finds.

A sweep over many releases can hold several changes, and one that comes back later; bisect
finds a single release where a figure differs from the first. Two detectors, one per kind of
figure:

* **counts** (statements, function calls) are deterministic: every step between adjacent
  measured releases is judged with the one count rule, :func:`bulkinsert.analysis.metrics.count_verdict`,
  so each change is exact;
* **timings** are noisy: E-divisive means (Matteson & James, "A Nonparametric Approach for
  Multiple Change Point Analysis of Multivariate Data", JASA 2014), the detector Apache Otava
  and MongoDB's continuous performance testing use. A split maximises the energy-distance
  statistic between the two sides; it is kept only when a permutation test (seeded, so a page
  is rebuilt the same) finds it significant; then each side is searched again. A timing change
  point is a *candidate* until ``bulkinsert releases compare`` confirms it side by side.

Why not Otava itself: ``apache-otava`` pins numpy and scipy and pulls in google-cloud-bigquery,
slack-sdk, pg8000 and more, far past the ``analysis`` extra's budget (click, rich, asv,
packaging, uv). The algorithm is small; it is written here with the standard library only.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from .metrics import COUNTS, count_verdict, creep_points, figure_driver

DEFAULT_ALPHA = 0.01  # significance of a timing change point (permutation p-value)
DEFAULT_PERMUTATIONS = 199  # the smallest p-value is 1/200: below DEFAULT_ALPHA only if no permutation ties
DEFAULT_MIN_SIZE = 3  # releases on each side of a timing split: fewer cannot tell a change from noise
SEED = 20140101


@dataclass(frozen=True)
class Split:
    """A timing change point: ``index`` is the first point after the change."""

    index: int
    p_value: float


@dataclass(frozen=True)
class ChangePoint:
    """A change between two measured releases of one strategy's series."""

    strategy: str
    metric: str  # "statements", "function_calls" or "seconds"
    before: str  # the last release of the previous level
    release: str  # the first release of the new level
    old: float  # the figure (counts) or the mean of the level (timings) before ...
    new: float  # ... and after
    confirmed: bool  # counts: exact; timings: a candidate until confirmed side by side
    p_value: float | None = None
    creep: bool = False  # counts: ``before`` is the first of a run of "same" steps, not the neighbour

    @property
    def ratio(self) -> float | None:
        return self.new / self.old if self.old else None

    @property
    def up(self) -> bool:
        return self.new > self.old


def _best_split(values: Sequence[float], min_size: int) -> tuple[int, float]:
    """The split of ``values`` that maximises the energy statistic Q (exponent 1), and Q.

    As in the paper, the left side X = [0, t) is compared with Y = [t, k) for every end k, not
    only the rest of the segment: a change that comes back later (up, then down) would
    otherwise hide behind its own return. Q(t, k) = t(k-t)/k * (2B/(t(k-t)) - L/C(t,2) -
    R/C(k-t,2)), B the distances between X and Y, L and R those within them; prefix sums of
    the distances give each Q in O(1), so O(m^2) for a segment of m points.
    """
    m = len(values)
    if m < 2 * min_size:
        return -1, 0.0
    # above[c][r]: the distances from point c to the points before r (r <= c)
    above = []
    for c in range(m):
        vc, run, row = values[c], 0.0, [0.0]
        for i in range(c):
            run += abs(values[i] - vc)
            row.append(run)
        above.append(row)
    best, best_q = -1, -math.inf
    left = sum(above[c][c] for c in range(min_size))
    for t in range(min_size, m - min_size + 1):
        if t > min_size:
            left += above[t - 1][t - 1]
        between = right = 0.0
        for end in range(t + 1, m + 1):
            new = above[end - 1]
            between += new[t]
            right += new[end - 1] - new[t]
            k = end - t
            if k < min_size:
                continue
            q = (t * k / end) * (2 * between / (t * k) - left / (t * (t - 1) / 2) - right / (k * (k - 1) / 2))
            if q > best_q:
                best, best_q = t, q
    return best, best_q


def _segments_best(values: Sequence[float], bounds: Sequence[int], min_size: int) -> tuple[int, float]:
    """The best split over every segment between ``bounds``, as an index into ``values``."""
    best, best_q = -1, -math.inf
    for start, end in zip(bounds, bounds[1:], strict=False):
        where, q = _best_split(values[start:end], min_size)
        if where >= 0 and q > best_q:
            best, best_q = start + where, q
    return best, best_q


def e_divisive(
    values: Sequence[float],
    *,
    alpha: float = DEFAULT_ALPHA,
    permutations: int = DEFAULT_PERMUTATIONS,
    min_size: int = DEFAULT_MIN_SIZE,
    seed: int = SEED,
) -> list[Split]:
    """Significant change points of a series (E-divisive means), in index order.

    Each round takes the best split over the current segments and tests it: the segments are
    shuffled independently ``permutations`` times and the split is kept when the observed
    statistic is rarely reached (p = (1 + reached) / (1 + permutations) <= ``alpha``).
    """
    if not 0 < alpha < 1 or permutations < 1 or min_size < 2:
        raise ValueError("alpha must lie in (0, 1), permutations >= 1, min_size >= 2")
    rng = random.Random(seed)
    bounds = [0, len(values)]
    found: list[Split] = []
    while True:
        where, q = _segments_best(values, bounds, min_size)
        if where < 0:
            return found
        reached = 0
        limit = alpha * (permutations + 1) - 1  # more reached permutations than this: not significant
        for _ in range(permutations):
            shuffled: list[float] = []
            for start, end in zip(bounds, bounds[1:], strict=False):
                part = list(values[start:end])
                rng.shuffle(part)
                shuffled.extend(part)
            if _segments_best(shuffled, bounds, min_size)[1] >= q:
                reached += 1
                if reached > limit:
                    return found
        p_value = (1 + reached) / (1 + permutations)
        if p_value > alpha:
            return found
        found.append(Split(where, p_value))
        found.sort(key=lambda s: s.index)
        bounds = sorted([*bounds, where])


def timing_change_points(strategy: str, metric: str, points: Sequence[tuple[str, float]],
                         **options: float) -> list[ChangePoint]:
    """Candidate change points of a timing series (release, seconds) in release order.

    The detector sees log times, so a change is judged by its ratio whatever the path's speed.
    """
    measured = [(release, value) for release, value in points if value > 0]
    logs = [math.log(value) for _, value in measured]
    splits = e_divisive(logs, **options)  # type: ignore[arg-type]
    edges = [0, *(s.index for s in splits), len(measured)]
    levels = [sum(v for _, v in measured[a:b]) / (b - a) for a, b in zip(edges, edges[1:], strict=False)]
    return [ChangePoint(strategy, metric, measured[s.index - 1][0], measured[s.index][0], levels[n], levels[n + 1],
                        False, s.p_value) for n, s in enumerate(splits)]


def count_change_points(strategy: str, metric: str, points: Sequence[tuple[str, float | None]],
                        rows: int | None, driver: str | None = None) -> list[ChangePoint]:
    """Every change of a count series, in release order: each step between adjacent measured
    releases that the one count rule calls a change (up or down, so a change that goes back is
    two), and each creep that crosses the rule against the first release of a run of "same"
    steps (:func:`bulkinsert.analysis.metrics.creep_points`). Unmeasured releases (None) are passed over."""
    if metric not in COUNTS:
        raise ValueError(f"{metric!r} is not a count; expected one of {sorted(COUNTS)}")
    measured = [(release, value) for release, value in points if value is not None]
    order = {release: index for index, (release, _) in enumerate(measured)}
    found = []
    driver = figure_driver(strategy, driver)
    for (old_release, old), (new_release, new) in zip(measured, measured[1:], strict=False):
        if count_verdict(COUNTS[metric], old, new, rows, driver).verdict != "same":
            found.append(ChangePoint(strategy, metric, old_release, new_release, old, new, True))
    for creep in creep_points(measured, COUNTS[metric], rows, driver):
        found.append(ChangePoint(strategy, metric, creep.reference, creep.release, creep.old, creep.new, True,
                                 creep=True))
    return sorted(found, key=lambda point: order[point.release])
