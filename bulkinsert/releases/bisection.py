"""The first release whose figure differs from an older one's, building only what the search visits.

Binary search over the releases in (OLD, NEW]: OLD and NEW are measured first (if NEW equals
OLD, nothing changed), then the middle of the remaining range, halving it each step — at
most ``ceil(log2(n)) + 2`` environments for ``n`` releases. Deterministic metrics (server
statements, function calls) are compared exactly; for time every step is a side-by-side
comparison of that release with OLD (:mod:`.sidebyside`).

The search assumes one change point in the range. With several (a figure that went up and
back down, or up twice) it returns *a* release where the figure differs from OLD's and the
one before it does not; ``values`` shows every release it measured, and ``releases sweep``
over the range shows them all.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..metrics import count_verdict
from .envs import EnvironmentError_, build, release_env
from .findings import notes_url
from .sidebyside import COUNTED, DEFAULT_ROUNDS, measure_side_by_side
from .workers import Unmeasurable, Worker

SEVERAL_CHANGES_HINT = (
    "binary search assumes one change in the range; with several it finds one of them "
    "(values shows what was measured). To see every release: bulkinsert releases sweep"
)


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
    skipped: dict[str, str] = field(default_factory=dict)  # releases that did not install
    environments_built: int = 0
    environments_used: int = 0

    @property
    def bound(self) -> int:
        """The most environments the search may use for this range: ceil(log2(n)) + 2."""
        return math.ceil(math.log2(max(len(self.releases), 2))) + 2

    @property
    def verdict(self) -> str:
        """``same``, or how the first changed release differs: more/fewer (counts), slower/faster (time)."""
        if self.first_changed is None:
            return "same"
        step = next((s for s in self.steps if s["release"] == self.first_changed), {})
        if "verdict" in step:
            return step["verdict"]
        old, new = self.values.get(self.last_unchanged), self.values.get(self.first_changed)
        if isinstance(old, (int, float)) and isinstance(new, (int, float)):
            return count_verdict(self.metric, old, new, self.rows).verdict
        return "changed"

    @property
    def ratio(self) -> float | None:
        """The first changed release's figure over the last unchanged one's (None when not numbers)."""
        if self.first_changed is None:
            return 1.0
        old, new = self.values.get(self.last_unchanged), self.values.get(self.first_changed)
        if isinstance(old, (int, float)) and isinstance(new, (int, float)) and old:
            return new / old
        return None

    def as_dict(self) -> dict[str, Any]:
        ordered = {v: self.values[v] for v in self.releases if v in self.values}
        return {
            "strategy": self.strategy,
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
            "notes_url": notes_url(self.library, self.first_changed) if self.first_changed else None,
            "values": ordered,
            "steps": self.steps,
            "skipped": self.skipped,
            "environments_built": self.environments_built,
            "environments_used": self.environments_used,
            "environments_bound": self.bound,
            "note": SEVERAL_CHANGES_HINT,
        }


def bisect_releases(
    library: str,
    releases: Sequence[str],
    strategy: str,
    *,
    metric: str = "statements",
    rows: int = 10_000,
    rounds: int = DEFAULT_ROUNDS,
    progress: Callable[[str, str], None] | None = None,
) -> BisectResult:
    """Search ``releases`` (OLD first, NEW last, PEP 440 order) for the first changed figure."""
    if len(releases) < 2:
        raise ValueError("bisect needs at least two releases (OLD < NEW)")
    tell = progress or (lambda *_: None)
    result = BisectResult(strategy, library, metric, rows, list(releases))
    envs = {v: release_env(library, v) for v in releases}

    def ready(version: str) -> None:
        tell(version, "environment")
        result.environments_built += build(envs[version])
        result.environments_used += 1

    def deterministic(version: str) -> Any:
        ready(version)
        tell(version, f"measuring {metric}")
        with Worker(envs[version]) as worker:
            try:
                answer = worker.measure(strategy, rows, calls=metric == "calls")
            except Unmeasurable as exc:
                return f"unsupported: {exc}"
        return answer[COUNTED[metric]]

    old = releases[0]
    if metric in COUNTED:
        result.values[old] = baseline = deterministic(old)

        def unchanged(version: str) -> bool:
            value = result.values[version] = deterministic(version)
            if isinstance(value, str) or isinstance(baseline, str):
                same = value == baseline
            else:
                same = count_verdict(metric, baseline, value, rows).verdict == "same"
            result.steps.append({"release": version, "value": value, "same_as_old": same})
            return same
    else:
        ready(old)

        def unchanged(version: str) -> bool:
            ready(version)
            tell(version, f"side by side with {old}")
            try:
                outcome = measure_side_by_side(envs[old], envs[version], strategy, metric=metric,
                                               rounds=rounds, rows=rows)
            except Unmeasurable as exc:
                result.values[version] = f"unsupported: {exc}"
                result.steps.append({"release": version, "verdict": "unsupported", "same_as_old": False})
                return False
            result.values.setdefault(old, statistics.median(outcome.old_samples))
            result.values[version] = statistics.median(outcome.new_samples)
            result.steps.append({"release": version, "verdict": outcome.verdict, "ratio": outcome.detail["ratio"],
                                 "p_value": outcome.detail["p_value"], "same_as_old": not outcome.changed})
            return not outcome.changed

    candidates = list(releases)
    low, high = 0, len(candidates) - 1
    if unchanged(candidates[high]):
        result.last_unchanged = candidates[high]
        return result
    while high - low > 1:
        middle = (low + high) // 2
        version = candidates[middle]
        try:
            same = unchanged(version)
        except EnvironmentError_ as exc:  # a release that does not install leaves the range
            result.skipped[version] = str(exc)
            del candidates[middle]
            high -= 1
            continue
        if same:
            low = middle
        else:
            high = middle
    result.first_changed, result.last_unchanged = candidates[high], candidates[low]
    return result
