"""Two releases measured side by side: ``asv continuous`` for releases instead of commits.

One measuring process per release stays alive for the whole comparison. Each round measures
both sides, and the order within a round alternates (OLD, NEW / NEW, OLD / …: ABBA), so neither
side always runs second, in the minute the other just warmed or loaded; every sample is a warm
insert. Round ``i`` of each side shares the machine's load, so timing verdicts come from the
paired test, :func:`bulkinsert.analysis.stats.compare_paired` (Wilcoxon signed-rank on the per-round
log ratios, plus the minimum effect); statements and calls by the one count rule,
:func:`bulkinsert.analysis.metrics.count_verdict` (as ``compare`` and the site judge them). A release
compared with itself runs two separate processes of the same environment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..analysis.metrics import COUNTED as COUNTED_KIND
from ..analysis.metrics import METRICS as METRIC_TABLE
from ..analysis.metrics import count_verdict, figure_driver
from ..analysis.stats import MIN_PAIRS, compare_paired
from ..data.schema import DEFAULT_ROWS
from .envs import ReleaseEnv
from .workers import Unmeasurable, worker_for

T = TypeVar("T")
# What a side-by-side run can measure (metric -> the worker's answer key): sampled, or counted.
SAMPLED = {m.name: m.attribute for m in METRIC_TABLE if m.side_by_side and m.kind != COUNTED_KIND}
COUNTED = {m.name: m.attribute for m in METRIC_TABLE if m.side_by_side and m.kind == COUNTED_KIND}
METRICS = tuple(SAMPLED) + tuple(COUNTED)
DEFAULT_ROUNDS = 15
# The fewest rounds with which the paired test can reach p < 0.01 (stats.MIN_PAIRS).
MIN_ROUNDS = MIN_PAIRS
PAIRED_TEST = "wilcoxon signed-rank on per-round log ratios (rounds alternate old,new / new,old)"


@dataclass
class SideBySide:
    """The outcome: the verdict, its statistics, and every sample of both sides."""

    metric: str
    verdict: str  # slower / faster / same for time and cpu; more / fewer / same for counts
    old_samples: list[float]
    new_samples: list[float]
    detail: dict[str, Any]

    @property
    def changed(self) -> bool:
        return self.verdict != "same"

    def as_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "verdict": self.verdict, **self.detail,
                "old_samples": self.old_samples, "new_samples": self.new_samples}


def _figure(answer: dict[str, Any], metric: str) -> float:
    key = SAMPLED.get(metric) or COUNTED[metric]
    value = answer.get(key)
    if value is None:
        raise Unmeasurable(f"{metric} not available from this server (pg_stat_statements missing?)")
    return float(value)


def measure_side_by_side(
    old_env: ReleaseEnv,
    new_env: ReleaseEnv,
    strategy: str,
    *,
    metric: str = "time",
    rounds: int = DEFAULT_ROUNDS,
    rows: int = DEFAULT_ROWS,
    plant_new: str | None = None,
    driver: str | None = None,
    workload: str | None = None,
    step: Callable[[int, int], None] | None = None,
) -> SideBySide:
    """Measure ``strategy`` in both environments, interleaved, and judge NEW against OLD.

    Deterministic metrics need one insert per side (a second is taken to show the figure
    repeats); sampled ones take ``rounds`` per side. ``plant_new`` is the slowdown test hook
    (``STRATEGY:FACTOR``) set in NEW's process only; ``driver`` the SQLAlchemy paths' driver
    (None: the strategy's own), ``workload`` the rows it inserts (None: the strategy's own, else
    users). Raises :class:`Unmeasurable` when either
    release cannot run the strategy.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")
    counted = metric in COUNTED
    total = 2 if counted else rounds
    old_samples: list[float] = []
    new_samples: list[float] = []
    make = worker_for(metric)
    with make(old_env) as old, make(new_env, plant=plant_new) as new:
        for number in range(total):
            if step is not None:
                step(number, total)
            for worker, samples in round_order(number, (old, old_samples), (new, new_samples)):
                answer = worker.measure(strategy, rows, calls=metric == "calls", driver=driver, workload=workload)
                samples.append(_figure(answer, metric))
    if counted:
        ran_on = figure_driver(strategy, driver)
        verdict = count_verdict(metric, old_samples[0], new_samples[0], rows, ran_on)
        # Repeatable: each side's inserts agree by the count rule itself (exact for statements; within
        # the rule's allowance for calls, whose count an event loop or a network read can move, and
        # for instructions, with the driver's measured share).
        repeat = all(count_verdict(metric, side[0], value, rows, ran_on).verdict == "same"
                     for side in (old_samples, new_samples) for value in side)
        detail = _renamed(verdict.as_dict(), "value")
        detail["repeatable"] = repeat
        return SideBySide(metric, verdict.verdict, old_samples, new_samples, detail)
    judged = compare_paired(old_samples, new_samples)
    detail = _renamed(judged.as_dict(), "summary")
    detail["test"] = PAIRED_TEST
    return SideBySide(metric, judged.verdict, old_samples, new_samples, detail)


def round_order(number: int, old: T, new: T) -> tuple[T, T]:
    """Round ``number``'s order: OLD first in even rounds, NEW first in odd ones (ABBA)."""
    return (old, new) if number % 2 == 0 else (new, old)


def _renamed(verdict: dict[str, Any], suffix: str) -> dict[str, Any]:
    """The statistics without the verdict, ``old``/``new`` renamed: those words name the releases."""
    detail = {k: v for k, v in verdict.items() if k not in ("verdict", "old", "new")}
    detail[f"old_{suffix}"], detail[f"new_{suffix}"] = verdict["old"], verdict["new"]
    return detail
