"""``releases watch``: the release-tracking loop as one idempotent command.

Per tracked library: list the releases, find those not measured yet, sweep them (with the
release before them as the comparison base), judge each new release against the one before it
with the rules of ``bulkinsert compare``, and let a paired side-by-side re-run on this machine
decide which changes are confirmed. The sweep's verdict is only a candidate: counts are
deterministic but are still repeated once side by side; timings are noisy and a rank test over a
handful of sweep samples is not evidence enough.

The state is the sweep machine's results (``<machine>-releases``, where every sweep files its
figures): a release with a figure there for one of the watched strategies at the watched size is
measured. There is no state file that could drift from what was measured; ``since`` overrides
the state. The first run (nothing measured) takes the newest release and the one before it only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from ..analysis import status as status_
from ..analysis.findingrecords import RecordedFinding, read_records
from ..analysis.findingtypes import Finding
from ..analysis.metrics import STATUS, metric_for
from ..analysis.results import Figure, load_figures, version_key
from . import envs
from .drivers import driver_mark
from .findings import notes_url, record
from .sweep import (
    count_creep,
    figures_of_sweep,
    project_commit,
    strategy_label,
    sweep,
    sweep_machine,
    work_tree_dirty,
)

FIRST_RUN_RELEASES = 2  # no state yet: the newest release and the one before it


def tracked_libraries() -> list[str]:
    """The default ``--library`` list: every library the release axis builds environments for."""
    return list(envs.RELEASE_LIBRARIES)


def strategies_for(library: str, chosen: Sequence[str] | None) -> list[str]:
    """The strategies watched for ``library``: those chosen, else the ones using its driver
    (psycopg, asyncpg), else the default set (SQLAlchemy and psycopg2 run every one of them)."""
    if chosen:
        return list(chosen)
    return envs.default_strategies(library) or list(default_watch_strategies())


def default_watch_strategies() -> tuple[str, ...]:
    """One strategy of every family the release tools measure (role ``watch_default``): ORM, Core,
    the driver's own call, COPY, and the upserts (the family a release changed before: SQLAlchemy 2.0.47)."""
    from ..registry import with_role

    return with_role("watch_default")


@dataclass
class Plan:
    """What one library's run measures: the new releases and the release they are compared with."""

    library: str
    base: str | None
    new: list[str]
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {"library": self.library, "base": self.base, "new": self.new, "why": self.why}


def measured_releases(library: str, figures: Iterable[Figure], strategies: Sequence[str], rows: int) -> set[str]:
    """Releases of ``library`` with a figure of a watched strategy at ``rows`` (the watch's state)."""
    name, wanted = canonicalize_name(library), set(strategies)
    found = set()
    for figure in figures:
        if figure.strategy in wanted and figure.rows == rows:
            found.update(v for k, v in figure.requirements if canonicalize_name(k) == name)
    return found


def plan_library(library: str, versions: Sequence[str], measured: set[str], *, since: str | None = None,
                 to: str | None = None) -> Plan:
    """The releases to measure (pure: the listing and the state in, the plan out)."""
    bound = [v for v in versions if to is None or Version(v) <= Version(to)]
    if since is not None:
        if since not in versions:
            raise LookupError(f"--since {since}: not a release of {library} that can be measured here")
        newer = [v for v in bound if Version(v) > Version(since)]
        return Plan(library, since, newer, f"--since {since}")
    before = [v for v in bound if v in measured]
    if before:
        last = before[-1]
        newer = [v for v in bound if Version(v) > Version(last)]
        return Plan(library, last, newer, f"newest measured before: {last}")
    if not bound:
        return Plan(library, None, [], "no release in range")
    first = bound[-FIRST_RUN_RELEASES:]
    return Plan(library, first[0] if len(first) > 1 else None, first[1:] if len(first) > 1 else first,
                f"first run: nothing measured yet, so only the newest release and the one before it "
                f"({' and '.join(reversed(first))}); --since V measures more")


def state_figures(results_dir: Path, machine: str) -> list[Figure]:
    """The sweep machine's figures (every commit's newest per environment): the state."""
    try:
        return load_figures(results_dir, machine=machine)
    except FileNotFoundError:
        return []


def plan(libraries: Sequence[str], chosen: Sequence[str] | None, *, rows: int, since: str | None, to: str | None,
         pre: bool, results_dir: Path, dirty: bool, driver: str | None = None) -> list[Plan]:
    """Every library's plan: the index listing and the results only (nothing built, no server).

    On ``driver`` a release is measured when it has a figure of the strategies on that driver
    (the sweep files them as ``name+driver``): the psycopg2 figures do not count for it.
    """
    from .index import list_releases

    figures = state_figures(results_dir, sweep_machine(dirty=dirty))
    plans = []
    for library in libraries:
        listing = list_releases(library, pre=pre)
        watched = [strategy_label(name, driver) for name in strategies_for(library, chosen)]
        measured = measured_releases(library, figures, watched, rows)
        plans.append(plan_library(library, listing.versions, measured, since=since, to=to))
    return plans


@dataclass
class WatchResult:
    """What one run measured and found."""

    plans: list[Plan]
    new_releases: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    not_applicable: list[dict[str, Any]] = field(default_factory=list)  # each n/a with its reason
    seconds: float = 0.0
    driver: str | None = None  # the SQLAlchemy paths' driver in every release (None: each strategy's own)

    @property
    def failing(self) -> list[dict[str, Any]]:
        """Confirmed regressions and broken paths: what makes the exit status 1."""
        return [f for f in self.findings if f["confirmed"] and f["verdict"] == "regression"]

    def as_dict(self) -> dict[str, Any]:
        return {"driver": self.driver, "new_releases": self.new_releases, "findings": self.findings,
                "not_applicable": self.not_applicable, "plans": [p.as_dict() for p in self.plans],
                "seconds": round(self.seconds, 1)}


def judge_sweep(figures: Sequence[Figure], *, dirty: bool = False,
                reruns: Iterable[RecordedFinding] | None = None) -> list[Finding]:
    """``bulkinsert compare``'s verdicts on one sweep's figures, by ``compare``'s own function:
    adjacent releases, controls, and the recorded side-by-side re-runs (findings.jsonl, read when
    ``reruns`` is None). A watch of a dirty tree judges its own figures with each other only, and
    no recorded re-run settles them: they are not the commit's.
    """
    from ..analysis.verdicts import compare_figures

    recorded = () if dirty else (read_records() if reruns is None else reruns)
    return compare_figures(figures, reruns=recorded, keep_dirty=dirty).findings


def not_applicable(figures: Sequence[Figure], library: str) -> list[dict[str, Any]]:
    """Every n/a of the sweep, one per release, strategy and reason (the metrics it covers named)."""
    grouped: dict[tuple, list[str]] = {}
    for figure in figures:
        if figure.status == status_.SKIPPED:
            key = (figure.versions.get(library, "?"), figure.strategy or "?", figure.reason or "reason not recorded")
            grouped.setdefault(key, []).append(metric_for(figure.benchmark).name)
    return [{"library": library, "release": release, "strategy": strategy, "metrics": metrics, "reason": reason}
            for (release, strategy, reason), metrics in sorted(grouped.items(), key=lambda item: (
                version_key(item[0][0]), item[0][1], item[0][2]))]


def is_candidate(finding: Finding) -> bool:
    """A change the side-by-side re-run must settle: counts that moved, timings beyond noise."""
    return finding.metric in ("statements", "calls", "instructions", "time") and finding.change != "same"


SideBySideCheck = Callable[[Finding, int], dict[str, Any]]


def side_by_side_check(rounds: int, driver: str | None = None) -> SideBySideCheck:
    """The confirming re-run: ``releases compare`` on this machine, in the environments the sweep used
    (on ``driver``: a finding's strategy is then the sweep's ``name+driver`` label)."""
    from .sidebyside import measure_side_by_side
    from .workers import Unmeasurable, WorkerError

    def check(finding: Finding, rows: int) -> dict[str, Any]:
        old_env = envs.release_env(finding.library, finding.old)
        new_env = envs.release_env(finding.library, finding.new)
        try:
            for env in (old_env, new_env):  # a creep's OLD may be a release an earlier run measured
                envs.build(env)
            name = (finding.strategy or "").partition("+")[0] if driver else finding.strategy or ""
            outcome = measure_side_by_side(old_env, new_env, name, metric=finding.metric,
                                           rounds=rounds, rows=rows, driver=driver)
        except (Unmeasurable, WorkerError, envs.EnvironmentError_) as exc:
            return {"verdict": "not measured", "error": str(exc), "context": new_env.context()}
        return {**outcome.as_dict(), "context": new_env.context()}

    return check


def settle(finding: Finding, check: dict[str, Any]) -> tuple[bool, str]:
    """Whether the re-run confirms the sweep's change, and how it reads."""
    agrees = check.get("verdict") == finding.change
    if finding.metric in ("statements", "calls", "instructions"):
        repeatable = bool(check.get("repeatable"))
        confirmed = agrees and repeatable
        seen = f"{check.get('old_value', '?'):g} -> {check.get('new_value', '?'):g}" if agrees else check.get("verdict")
        return confirmed, f"side by side: {seen}{'' if repeatable else ', not repeatable'}"
    if "ratio" not in check:
        return False, f"side by side: {check.get('verdict')} ({check.get('error', '')})"
    return agrees, (f"side by side: {check['verdict']} x{check['ratio']:.3f}, p={check.get('p_value', 1.0):.2g} "
                    f"({len(check.get('old_samples', []))} rounds)")


def finding_dict(finding: Finding, *, confirmed: bool, verdict: str, reason: str, check: dict[str, Any] | None,
                 base: str | None) -> dict[str, Any]:
    """The watch's finding: ``bulkinsert compare --json``'s fields, the side-by-side re-run beside them."""
    data = finding.as_dict()
    for name in ("params", "environment", "replicates", "rerun", "old_samples", "new_samples"):
        data.pop(name, None)
    data.update(confirmed=confirmed, verdict=verdict, reason=reason, base=base,
                notes_url=notes_url(finding.library, finding.new))
    if check is not None:
        data["side_by_side"] = {k: v for k, v in check.items() if k not in ("old_samples", "new_samples")}
        data["context"] = check.get("context") or data.get("context") or {}
        if finding.metric == "time" and "ratio" in check:
            data["ratio"], data["p_value"], data["ratio_ci"] = check["ratio"], check.get("p_value"), check.get(
                "ratio_ci")
    return data


def _verdict(finding: Finding, confirmed: bool) -> str:
    if finding.metric == STATUS:
        return finding.verdict
    if not confirmed:
        return "unconfirmed"
    return finding.verdict if finding.verdict in ("regression", "improvement", "changed") else (
        "regression" if finding.change in ("slower", "more") else "improvement")


def _record(data: Mapping[str, Any], dirty: bool, driver: str | None = None) -> None:
    """One ``watch`` record per settled finding (the releases page marks the changed ones)."""
    side = data.get("side_by_side") or {}
    # What the side-by-side re-run measured (when it measured): re-run evidence for compare and the site.
    measured = side.get("verdict") in ("slower", "faster", "same", "more", "fewer") and not dirty
    record({"kind": "watch", "library": data["library"], "strategy": data["strategy"], "metric": data["metric"],
            "rows": data["rows"], "old": data["old"], "new": data["new"],
            "verdict": side.get("verdict", data["change"]) if data["confirmed"] else "same",
            "ratio": data["ratio"], "p_value": data.get("p_value"), "confirmed": data["confirmed"],
            "watch_verdict": data["verdict"], "change": data["change"], "reason": data["reason"],
            "context": data.get("context") or {}, "notes_url": data.get("notes_url"),
            "values": {f"old:{data['old']}": data.get("old_value"), f"new:{data['new']}": data.get("new_value")},
            **({"rerun_verdict": side["verdict"]} if measured else {}),
            **driver_mark(driver), **({"dirty": True} if dirty else {})})


def run(plans: Sequence[Plan], chosen: Sequence[str] | None, *, rows: int, samples: int, rounds: int,
        results_dir: Path | None, allow_dirty: bool = False,
        progress: Callable[[str], None] | None = None, check: SideBySideCheck | None = None,
        driver: str | None = None, instructions: bool = False) -> WatchResult:
    """Sweep each plan's base and new releases, judge adjacent ones, settle candidates side by side.

    ``driver``: the SQLAlchemy paths run on it in every release (checked by the caller,
    ``drivers.check_driver``); findings and records carry it, their strategy is ``name+driver``.
    """
    started = time.monotonic()
    tell = progress or (lambda _text: None)
    checker = check or side_by_side_check(rounds, driver)
    dirty = work_tree_dirty() if allow_dirty else False
    result = WatchResult(list(plans), driver=driver)
    for item in plans:
        if not item.new:
            continue
        strategies = strategies_for(item.library, chosen)
        versions = ([item.base] if item.base else []) + item.new
        swept = sweep(item.library, versions, strategies, rows=rows, samples=samples, results_dir=results_dir,
                      allow_dirty=allow_dirty, driver=driver, instructions=instructions,
                      progress=lambda version, _index, _total, what, name=item.library:
                      tell(f"{name} {version}: {what}"))
        commit, date = project_commit()
        figures = figures_of_sweep(swept, machine=swept.machine, commit=commit, date=date)
        result.not_applicable.extend(not_applicable(figures, item.library))
        # Releases measured by earlier runs (same machine and commit) extend the lines creep is seen on.
        earlier = [f for f in (state_figures(results_dir, swept.machine) if results_dir else [])
                   if f.commit == commit and f.versions.get(item.library) not in versions]
        found: list[dict[str, Any]] = []
        statuses: set[tuple] = set()
        for finding in judge_sweep(figures, dirty=dirty) + count_creep(earlier + figures, item.library):
            if finding.new not in item.new:
                continue
            if finding.metric == STATUS:  # one per path and step, not one per benchmark of the path
                if (finding.strategy, finding.old, finding.new) in statuses:
                    continue
                statuses.add((finding.strategy, finding.old, finding.new))
            checked = None
            confirmed = finding.metric == STATUS  # a path that raises or loads wrong rows: established
            reason = finding.reason
            if is_candidate(finding):
                tell(f"{item.library} {finding.old} vs {finding.new}: {finding.strategy} {finding.metric} side by side")
                checked = checker(finding, rows)
                confirmed, seen = settle(finding, checked)
                reason = f"sweep: {finding.reason}; {seen}"
            elif finding.metric != STATUS:
                continue  # single measurements the sweep does not take
            data = finding_dict(finding, confirmed=confirmed, verdict=_verdict(finding, confirmed), reason=reason,
                                check=checked, base=item.base)
            data.update(driver_mark(driver))
            _record(data, dirty, driver)
            found.append(data)
        result.findings.extend(found)
        for version in item.new:
            mine = [f for f in found if f["new"] == version]
            entry: dict[str, Any] = {"library": item.library, "release": version, "compared_with": _before(
                version, versions, swept.failed), "confirmed": sum(f["confirmed"] for f in mine),
                "unconfirmed": sum(not f["confirmed"] for f in mine), "notes_url": notes_url(item.library, version)}
            if version in swept.failed:
                entry["not_measured"] = swept.failed[version]
            result.new_releases.append(entry)
    order = {"regression": 0, "changed": 1, "improvement": 2, "unconfirmed": 3}
    result.findings.sort(key=lambda f: (not f["confirmed"], order.get(f["verdict"], 9), f["library"],
                                        Version(f["new"]), f["strategy"] or "", f["metric"]))
    result.seconds = time.monotonic() - started
    return result


def _before(version: str, versions: Sequence[str], failed: Mapping[str, str]) -> str | None:
    """The measured release just before ``version`` (a release that failed to measure is passed over)."""
    earlier = [v for v in versions[: versions.index(version)] if v not in failed]
    return earlier[-1] if earlier else None
