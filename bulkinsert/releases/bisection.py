"""The first release whose figure differs from an older one's, building only what the search visits.

Binary search over the releases in (OLD, NEW]: OLD and NEW are measured first (if NEW equals
OLD, nothing changed), then the middle of the remaining range, halving it each step — at
most ``ceil(log2(n)) + 2`` environments for ``n`` releases. Deterministic metrics (server
statements, function calls) are compared exactly; for time every step is a side-by-side
comparison of that release with OLD (:mod:`.sidebyside`), and the ratio reported is the one
that step tested (NEW ÷ OLD, paired rounds), never medians of different sessions divided.

A middle release that does not install, or whose measuring process fails, is skipped as
``git bisect skip`` does: it leaves the range, the search measures a neighbour, and the
result lists it in ``skipped`` (with ``untested_between`` when a skipped release lies between
the last unchanged and the first changed release, so the change may be in it). OLD and NEW
must measure.

The search assumes one change point in the range. With several (a figure that went up and
back down, or up twice) it returns *a* release where the figure differs from OLD's and the
one before it (as measured) does not: an adjacent pair the search visited that straddles a
change from OLD's figure. If the figure came back to OLD's by NEW, NEW equals OLD and bisect
reports no change. ``values`` shows every release it measured, and ``releases sweep`` over the
range shows them all.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..analysis.metrics import count_verdict, figure_driver
from ..data.schema import DEFAULT_ROWS
from .envs import EnvironmentError_, build, release_env
from .findings import notes_url
from .sidebyside import COUNTED, DEFAULT_ROUNDS, SideBySide, measure_side_by_side
from .workers import Unmeasurable, WorkerError, worker_for

SEVERAL_CHANGES_HINT = (
    "binary search assumes one change in the range; with several it finds one of them "
    "(values shows what was measured). To see every release: bulkinsert releases sweep"
)
# What makes a middle release leave the range instead of ending the search.
SKIPPED_FAILURES = (EnvironmentError_, WorkerError)

# measure(version): for statements/calls the release's count (or an "unsupported: …" text);
# for time a SideBySide of the release against OLD (OLD itself is never asked for time).
Measure = Callable[[str], Any]


@dataclass
class BisectResult:
    strategy: str
    library: str
    metric: str
    rows: int
    releases: list[str]  # the range searched, OLD first
    first_changed: str | None = None
    last_unchanged: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # releases that did not install or run
    held: dict[str, str] = field(default_factory=dict)  # other distributions pinned (--with)
    driver: str | None = None  # the SQLAlchemy paths' driver (None: the strategy's own)
    environments_built: int = 0
    environments_used: int = 0

    @property
    def bound(self) -> int:
        """The most environments the search may use for this range: ceil(log2(n)) + 2."""
        return math.ceil(math.log2(max(len(self.releases), 2))) + 2

    def _tested(self) -> dict[str, Any]:
        return next((s for s in self.steps if s["release"] == self.first_changed), {})

    @property
    def verdict(self) -> str:
        """``same``, or how the first changed release differs: more/fewer (counts), slower/faster (time)."""
        if self.first_changed is None:
            return "same"
        step = self._tested()
        if "verdict" in step:
            return step["verdict"]
        old, new = self.values.get(self.releases[0]), self.values.get(self.first_changed)
        if isinstance(old, (int, float)) and isinstance(new, (int, float)):
            return count_verdict(self.metric, old, new, self.rows, figure_driver(self.strategy, self.driver)).verdict
        return "changed"

    @property
    def ratio(self) -> float | None:
        """The tested ratio: the first changed release's figure over OLD's (what its step compared)."""
        if self.first_changed is None:
            return 1.0
        step = self._tested()
        if "ratio" in step:
            return step["ratio"]
        old, new = self.values.get(self.releases[0]), self.values.get(self.first_changed)
        if isinstance(old, (int, float)) and isinstance(new, (int, float)) and old:
            return new / old
        return None

    @property
    def untested_between(self) -> list[str]:
        """Skipped releases between the last unchanged and the first changed one: the change may be there."""
        if self.first_changed is None or self.last_unchanged is None:
            return []
        low, high = self.releases.index(self.last_unchanged), self.releases.index(self.first_changed)
        return [v for v in self.releases[low + 1:high] if v in self.skipped]

    def as_dict(self) -> dict[str, Any]:
        ordered = {v: self.values[v] for v in self.releases if v in self.values}
        step = self._tested()
        return {
            "strategy": self.strategy,
            "driver": self.driver,
            "library": self.library,
            "metric": self.metric,
            "rows": self.rows,
            "from": self.releases[0],
            "to": self.releases[-1],
            "releases_in_range": len(self.releases),
            "first_changed": self.first_changed,
            "last_unchanged": self.last_unchanged,
            "verdict": self.verdict,
            "ratio": self.ratio,
            "ratio_against": self.releases[0],
            "ratio_ci": step.get("ratio_ci"),
            "p_value": step.get("p_value"),
            "notes_url": notes_url(self.library, self.first_changed) if self.first_changed else None,
            "values": ordered,
            "steps": self.steps,
            "skipped": self.skipped,
            "untested_between": self.untested_between,
            "context": self.held,
            "environments_built": self.environments_built,
            "environments_used": self.environments_used,
            "environments_bound": self.bound,
            "note": SEVERAL_CHANGES_HINT,
        }


def search(
    releases: Sequence[str], unchanged: Callable[[str], bool], skipped: dict[str, str]
) -> tuple[str | None, str]:
    """(first changed, last unchanged) of ``releases`` by binary search; OLD (index 0) is the reference.

    ``unchanged(version)`` judges one release against OLD; a :data:`SKIPPED_FAILURES` raised
    for a middle release puts it in ``skipped`` and the search goes on with its neighbours.
    NEW is judged first: unchanged means no change (first changed None, last unchanged NEW).
    """
    candidates = list(releases)
    low, high = 0, len(candidates) - 1
    if unchanged(candidates[high]):
        return None, candidates[high]
    while high - low > 1:
        middle = (low + high) // 2
        version = candidates[middle]
        try:
            same = unchanged(version)
        except SKIPPED_FAILURES as exc:
            skipped[version] = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            del candidates[middle]
            high -= 1
            continue
        if same:
            low = middle
        else:
            high = middle
    return candidates[high], candidates[low]


def bisect_releases(
    library: str,
    releases: Sequence[str],
    strategy: str,
    *,
    metric: str = "statements",
    rows: int = DEFAULT_ROWS,
    rounds: int = DEFAULT_ROUNDS,
    held: dict[str, str] | None = None,
    driver: str | None = None,
    progress: Callable[[str, str], None] | None = None,
    measure: Measure | None = None,
) -> BisectResult:
    """Search ``releases`` (OLD first, NEW last, PEP 440 order) for the first changed figure.

    ``measure`` replaces the real measuring (environments, processes, the server) — the seam
    the search's own tests use; by default each visited release is built and measured.
    """
    if len(releases) < 2:
        raise ValueError("bisect needs at least two releases (OLD < NEW)")
    result = BisectResult(strategy, library, metric, rows, list(releases), held=dict(held or {}),
                          driver=driver)
    measure = measure or _real_measure(result, rounds, progress or (lambda *_: None))
    old = releases[0]
    if metric in COUNTED:
        result.values[old] = baseline = measure(old)

        def unchanged(version: str) -> bool:
            value = result.values[version] = measure(version)
            if isinstance(value, str) or isinstance(baseline, str):
                same = value == baseline
            else:
                same = count_verdict(metric, baseline, value, rows, figure_driver(strategy, driver)).verdict == "same"
            result.steps.append({"release": version, "value": value, "same_as_old": same})
            return same
    else:

        def unchanged(version: str) -> bool:
            outcome = measure(version)
            if isinstance(outcome, str):
                result.values[version] = outcome
                result.steps.append({"release": version, "verdict": "unsupported", "same_as_old": False})
                return False
            result.values.setdefault(old, statistics.median(outcome.old_samples))
            result.values[version] = statistics.median(outcome.new_samples)
            result.steps.append({"release": version, "verdict": outcome.verdict, "ratio": outcome.detail["ratio"],
                                 "ratio_ci": outcome.detail["ratio_ci"], "p_value": outcome.detail["p_value"],
                                 "against": old, "same_as_old": not outcome.changed})
            return not outcome.changed

    result.first_changed, result.last_unchanged = search(releases, unchanged, result.skipped)
    return result


def _real_measure(result: BisectResult, rounds: int, tell: Callable[[str, str], None]) -> Measure:
    """Build each visited release's environment and measure it in its own process."""
    envs = {v: release_env(result.library, v, held=result.held) for v in result.releases}
    old = result.releases[0]

    def ready(version: str) -> None:
        tell(version, "environment")
        result.environments_built += build(envs[version])
        result.environments_used += 1

    def counted(version: str) -> Any:
        ready(version)
        tell(version, f"measuring {result.metric}")
        with worker_for(result.metric)(envs[version]) as worker:
            try:
                answer = worker.measure(result.strategy, result.rows, calls=result.metric == "calls",
                                        driver=result.driver)
            except Unmeasurable as exc:
                return f"unsupported: {exc}"
        value = answer[COUNTED[result.metric]]
        if value is None:  # a server without pg_stat_statements: nothing to bisect on, and why
            raise Unmeasurable(f"{result.metric} n/a in {result.library} {version}: "
                               f"{answer.get('statements_unavailable') or 'not recorded'}")
        return value

    def side_by_side(version: str) -> SideBySide | str:
        if not result.environments_used:
            ready(old)
        ready(version)
        tell(version, f"side by side with {old}")
        try:
            return measure_side_by_side(envs[old], envs[version], result.strategy, metric=result.metric,
                                        rounds=rounds, rows=result.rows, driver=result.driver)
        except Unmeasurable as exc:
            return f"unsupported: {exc}"

    return counted if result.metric in COUNTED else side_by_side
