"""Bisect a library's commits, and go from a release into its commits: "which commit changed my insert".

The search is the release bisect's own (:func:`.bisection.bisect_releases`: OLD and NEW first,
then halving; the count rule for statements and calls, a paired side-by-side run against OLD
for time and CPU; a commit that does not build or import is skipped like a release that does
not install) over the commits of NEW's first-parent line after OLD, oldest first. First-parent
order keeps a merge as one step (a release branch's backport is its own commit there), so the
answer is the commit on the branch that brought the change.

With release bounds (``--from 2.0.40 --to 2.0.58``) the same search runs first over the tagged
releases in the range, built from their tags (the declared mapping of :mod:`.source`), and then
over the commits between the tag of the last unchanged release and that of the first changed
one: release, then commit, in one command. The two stages build the same kind of environment
(from the source, pure or with C extensions), so the tags measured in the first stage are the
second stage's OLD and NEW, already built.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..data.schema import DEFAULT_ROWS
from .bisection import BisectResult, bisect_releases
from .commits import CommitBuildError, CommitEnv, build_commit, commit_env
from .sidebyside import COUNTED, DEFAULT_ROUNDS, SideBySide, measure_side_by_side
from .source import Commit, Source
from .workers import Unmeasurable, Worker

Tell = Callable[[str, str], None]


@dataclass
class CommitSearch:
    """One search over commits (or tagged releases): the bisect, its commits and what building cost."""

    bisect: BisectResult
    labels: dict[str, str]  # what the search calls each point (a SHA, or a release) -> its SHA
    commits: dict[str, Commit] = field(default_factory=dict)  # facts of the points the answer names
    built_seconds: dict[str, float] = field(default_factory=dict)  # per SHA built now
    seconds: float = 0.0
    cext: bool = False

    def as_dict(self) -> dict[str, Any]:
        data = self.bisect.as_dict()
        data.pop("notes_url", None)
        first = self.commits.get(self.labels.get(self.bisect.first_changed or "", ""))
        return {**data, "cext": self.cext, "first_changed_commit": first.as_dict() if first else None,
                "skipped_commits": {label: {"reason": reason, **(self.commits[self.labels[label]].as_dict()
                                                                  if self.labels[label] in self.commits else {})}
                                    for label, reason in self.bisect.skipped.items()},
                "built_seconds": self.built_seconds, "seconds": round(self.seconds, 1)}


class CommitMeasurer:
    """Builds each point the search visits and measures it: counts in its own process, time side by side."""

    def __init__(self, source: Source, *, strategy: str, metric: str, rows: int, rounds: int, cext: bool,
                 driver: str | None, tell: Tell) -> None:
        self.source, self.strategy, self.metric, self.rows, self.rounds = source, strategy, metric, rows, rounds
        self.cext, self.driver, self.tell = cext, driver, tell
        self.built_seconds: dict[str, float] = {}
        self.built = 0
        self.used: set[str] = set()  # SHAs whose environment the current search used
        self.labels: dict[str, str] = {}

    def env(self, sha: str, label: str) -> CommitEnv:
        env = commit_env(self.source.recipe, sha, cext=self.cext)
        self.tell(label, "environment (building from the commit)" if not env.is_built else "environment")
        if build_commit(env, self.source):
            self.built += 1
            self.built_seconds[sha] = env.built_seconds or 0.0
        self.used.add(sha)
        return env

    def prepare(self, labels: Sequence[str]) -> None:
        """Build the search's two ends at once (its first two steps need both; 2 builds on 2 CPUs).

        A failure is left for the search to meet when it reaches that end.
        """
        from concurrent.futures import ThreadPoolExecutor

        def one(label: str) -> None:
            env = commit_env(self.source.recipe, self.labels[label], cext=self.cext)
            try:
                if build_commit(env, self.source):
                    self.built += 1
                    self.built_seconds[env.sha] = env.built_seconds or 0.0
            except CommitBuildError:
                pass

        with ThreadPoolExecutor(max_workers=len(labels)) as pool:
            list(pool.map(one, labels))

    def for_search(self, labels: dict[str, str], old: str) -> Callable[[str], Any]:
        """``measure(label)`` for :func:`bisect_releases`: a count, or a SideBySide against ``old``."""

        def counted(label: str) -> Any:
            env = self.env(labels[label], label)
            self.tell(label, f"measuring {self.metric}")
            with Worker(env) as worker:
                try:
                    answer = worker.measure(self.strategy, self.rows, calls=self.metric == "calls",
                                            driver=self.driver)
                except Unmeasurable as exc:
                    return f"unsupported: {exc}"
            return answer[COUNTED[self.metric]]

        def side_by_side(label: str) -> SideBySide | str:
            old_env = self.env(labels[old], old)
            new_env = self.env(labels[label], label)
            self.tell(label, f"side by side with {old}")
            try:
                return measure_side_by_side(old_env, new_env, self.strategy, metric=self.metric, rounds=self.rounds,
                                            rows=self.rows, driver=self.driver)
            except Unmeasurable as exc:
                return f"unsupported: {exc}"

        self.labels = labels
        return counted if self.metric in COUNTED else side_by_side


def search_points(measurer: CommitMeasurer, labels: dict[str, str], *, kind: str) -> CommitSearch:
    """Bisect ``labels`` (OLD first, in order) with ``measurer``; the facts of the commits it names."""
    started = time.monotonic()
    before_built, built_before = measurer.built, set(measurer.built_seconds)
    measurer.used = set()
    names = list(labels)
    measure = measurer.for_search(labels, names[0])
    measurer.prepare([names[0], names[-1]])
    result = bisect_releases(measurer.source.recipe.library, names, measurer.strategy, metric=measurer.metric,
                             rows=measurer.rows, rounds=measurer.rounds, driver=measurer.driver,
                             measure=measure)
    result.environments_built = measurer.built - before_built
    result.environments_used = len(measurer.used)
    named = [labels[n] for n in (result.first_changed, result.last_unchanged, *result.skipped) if n]
    found = CommitSearch(result, labels, measurer.source.describe(named),
                         {sha: s for sha, s in measurer.built_seconds.items() if sha not in built_before},
                         cext=measurer.cext)
    found.seconds = time.monotonic() - started
    found.bisect.steps = [{**s, "kind": kind} for s in found.bisect.steps]
    return found


def commit_range(source: Source, old: str, new: str) -> dict[str, str]:
    """The first-parent commits from OLD to NEW as search labels (short SHAs) -> full SHAs."""
    shas = source.first_parent(old, new)
    if len(shas) < 2:
        raise ValueError(f"--from {old} and --to {new} are the same commit: nothing to bisect")
    return {sha[:10]: sha for sha in shas}


def bisect_commits(source: Source, old: str, new: str, strategy: str, *, metric: str = "statements",
                   rows: int = DEFAULT_ROWS, rounds: int = DEFAULT_ROUNDS, cext: bool = False,
                   driver: str | None = None, tell: Tell | None = None) -> CommitSearch:
    """The first commit on NEW's first-parent line after OLD whose figure differs from OLD's."""
    measurer = CommitMeasurer(source, strategy=strategy, metric=metric, rows=rows, rounds=rounds, cext=cext,
                              driver=driver, tell=tell or (lambda *_: None))
    return search_points(measurer, commit_range(source, old, new), kind="commit")


@dataclass
class ReleaseThenCommit:
    """Both stages of one "which commit" question."""

    releases: CommitSearch
    commits: CommitSearch | None  # None when no release changed

    def as_dict(self) -> dict[str, Any]:
        return {"release": self.releases.as_dict(), "commit": self.commits.as_dict() if self.commits else None}


def bisect_release_then_commits(source: Source, low: str, high: str, strategy: str, *,
                                metric: str = "statements", rows: int = DEFAULT_ROWS, rounds: int = DEFAULT_ROUNDS,
                                cext: bool = False, driver: str | None = None,
                                tell: Tell | None = None) -> ReleaseThenCommit:
    """Bisect the tagged releases in [low, high], then the commits between the two releases found."""
    measurer = CommitMeasurer(source, strategy=strategy, metric=metric, rows=rows, rounds=rounds, cext=cext,
                              driver=driver, tell=tell or (lambda *_: None))
    versions = source.releases_between(low, high)
    if len(versions) < 2:
        raise ValueError(f"--from {low} must be an older tagged release than --to {high}")
    tags = source.release_tags()
    labels = {v: source.resolve(tags[v]) for v in versions}
    releases = search_points(measurer, labels, kind="release")
    first, last = releases.bisect.first_changed, releases.bisect.last_unchanged
    if first is None or last is None:
        return ReleaseThenCommit(releases, None)
    commits = search_points(measurer, commit_range(source, tags[last], tags[first]), kind="commit")
    return ReleaseThenCommit(releases, commits)


def looks_like_releases(source: Source, bounds: Sequence[str]) -> bool:
    """Both bounds are spelled as releases (``2.0.47``), not refs (``rel_2_0_47``, a branch, a SHA).

    A release whose tag is missing then fails with the tag it looked for, rather than as a ref.
    """
    recipe = source.recipe
    return all("." in b and recipe.version_of(recipe.tag_of(b)) == b for b in bounds)  # a SHA may be all digits
