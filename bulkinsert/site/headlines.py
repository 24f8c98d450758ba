"""Confirmed findings as headlines: one per library release, path (strategy, and its driver and
workload when not the strategy's own), metric and machine.

The releases page opens with them and ``releases.xml`` (the Atom feed) has one entry each. Two
sources, the same two every page uses: ``verdicts.judge_results`` (compare's findings, with the
recorded side-by-side re-runs applied) and ``analysis.findingrecords.read_records`` (bisect, side by
side and broken records). Whatever appends to the findings file appears here without wiring.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from packaging.utils import canonicalize_name

from .. import registry
from ..analysis.findingrecords import RecordedFinding
from ..analysis.findingtypes import RUN, Finding
from ..analysis.metrics import STATUS
from ..analysis.results import DEFAULT_WORKLOAD, Figure, default_driver, version_key
from ..releases.findings import notes_url
from .charts import fmt_count, fmt_seconds
from .profiles import safe_name

COUNTS = ("statements", "calls", "function_calls")
TIMINGS = ("time", "cpu")
EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)  # a finding whose time is unknown
# a recorded verdict that reports a change, and what it is on the page
CHANGE_WORDS = {"slower": "regression", "more": "regression", "regression": "regression", "faster": "improvement",
                "fewer": "improvement", "improvement": "improvement", "failed": "failed", "broken": "broken",
                "fixed": "fixed"}


@dataclass
class Headline:
    """One confirmed change of one path in one release, as the page and the feed tell it."""

    library: str
    release: str
    before: str | None
    strategy: str
    metric: str
    machine: str
    verdict: str  # "regression", "improvement", "changed", "broken", "fixed"
    old: float | None
    new: float | None
    rows: int | None
    ratio: float | None
    reason: str
    source: str  # "compare" (judge_results), "side by side", "bisect", "broken"
    updated: datetime.datetime
    replicates: int = 1
    contexts: list[str] = field(default_factory=list)
    driver: str | None = None  # the driver, when not the strategy's own (results.Identity.named_driver)
    workload: str = DEFAULT_WORKLOAD

    @property
    def key(self) -> tuple[str, ...]:
        """Library, release, strategy, metric and machine; and the driver and workload when not the
        path's own (so a default path's key, and its feed entry's id, read as before)."""
        key: tuple[str, ...] = (str(canonicalize_name(self.library)), self.release, self.strategy, self.metric,
                                self.machine)
        if self.driver:
            key += (f"driver={self.driver}",)
        if self.workload != DEFAULT_WORKLOAD:
            key += (f"workload={self.workload}",)
        return key

    @property
    def label(self) -> str:
        """The path as the charts name their lines: ``orm_basic``, ``orm_basic on asyncpg``."""
        text = self.strategy + (f" on {self.driver}" if self.driver else "")
        return text if self.workload == DEFAULT_WORKLOAD else f"{text} ({self.workload})"

    def _where(self) -> str:
        """``on asyncpg — `` before the change, when the path is not the strategy's own."""
        parts = ([f"on {self.driver}"] if self.driver else []) + (
            [f"workload {self.workload}"] if self.workload != DEFAULT_WORKLOAD else [])
        return f"{', '.join(parts)} — " if parts else ""

    @property
    def broken(self) -> bool:
        return self.verdict in ("broken", "failed")

    @property
    def slower(self) -> bool:
        return self.broken or self.verdict == "regression"

    @property
    def notes_url(self) -> str | None:
        return notes_url(self.library, self.release)

    @property
    def symbol(self) -> str:
        if self.broken:
            return "✗"
        return {"regression": "▲", "improvement": "▼", "fixed": "✓"}.get(self.verdict, "◆")

    def change_text(self) -> str:
        """``statements 3 → 1,002 per 1,000 rows``, ``time 1.2 ms → 2.4 ms (×2.00)``, ``broken: why``;
        led by ``on asyncpg — `` when the path runs on another driver than the strategy's own."""
        return self._where() + self._change()

    def _change(self) -> str:
        if self.broken:
            return f"{self.verdict}: {self.reason}" if self.reason else self.verdict
        if self.verdict == "fixed":
            return f"works again ({self.reason})" if self.reason else "works again"
        rows = f" per {self.rows:,} rows" if self.rows else ""
        at = f" at {self.rows:,} rows" if self.rows else ""
        if self.metric in COUNTS and self.old is not None and self.new is not None:
            return f"{_metric_word(self.metric)} {fmt_count(self.old)} → {fmt_count(self.new)}{rows}"
        size = f" (×{self.ratio:.2f})" if self.ratio is not None else ""
        if self.metric in TIMINGS and self.old is not None and self.new is not None:
            return f"{self.metric} {fmt_seconds(self.old)} → {fmt_seconds(self.new)}{size}{at}"
        return f"{self.metric} {self.verdict}{size}{at}"

    def title(self) -> str:
        return f"{self.library} {self.release}: {self.strategy} {self.change_text()}"


def _metric_word(metric: str) -> str:
    return "function calls" if metric in ("calls", "function_calls") else metric


def release_anchor(library: str, release: str) -> str:
    """The id of a release's verdicts on the releases page (the feed links to it)."""
    return safe_name(f"release-{canonicalize_name(library)}-{release}")


def _dates(figures: Iterable[Figure]) -> dict[tuple[str, str], datetime.datetime]:
    """The date of each machine's commit (asv stores it in ms): a finding's time, stable across publishes."""
    found: dict[tuple[str, str], datetime.datetime] = {}
    for figure in figures:
        if figure.date:
            when = datetime.datetime.fromtimestamp(figure.date / 1000, datetime.UTC).replace(microsecond=0)
            key = (figure.machine, figure.commit)
            found[key] = max(found.get(key, when), when)
    return found


def _from_finding(finding: Finding, dates: dict[tuple[str, str], datetime.datetime]) -> Headline:
    verdict = finding.change if finding.metric == STATUS and finding.change != "fixed" else finding.verdict
    if finding.metric == STATUS and finding.change == "fixed":
        verdict = "fixed"
    return Headline(finding.library, finding.new, finding.old, _strategy(finding.strategy), finding.metric,
                    finding.machine, verdict, finding.old_value, finding.new_value, finding.rows, finding.ratio,
                    finding.reason, "compare", dates.get((finding.machine, finding.commit), EPOCH),
                    contexts=[", ".join(f"{k} {v}" for k, v in finding.context.items() if k != "python")],
                    driver=_named(finding.strategy, finding.driver), workload=finding.workload)


def _strategy(strategy: str | None) -> str:
    """The strategy's name without a sweep's ``+driver`` (the driver is the headline's own field)."""
    return (strategy or "").partition("+")[0] or "?"


def _named(strategy: str | None, driver: Any) -> str | None:
    """The driver when it is not the strategy's own (a sweep's ``name+driver`` label names it too)."""
    name, _, labelled = (strategy or "").partition("+")
    driver = driver or labelled or None
    return str(driver) if driver and driver != default_driver(name) else None


def _when(record: RecordedFinding) -> datetime.datetime:
    try:
        when = datetime.datetime.fromisoformat(record.timestamp or "")
    except ValueError:
        return EPOCH
    return when if when.tzinfo else when.replace(tzinfo=datetime.UTC)


def _from_record(record: RecordedFinding) -> Headline | None:
    """A recorded bisect, side-by-side or broken record that reports a change; None otherwise."""
    extra: dict[str, Any] = record.extra
    if extra.get("dirty") or not record.strategy:
        return None
    common = {"library": record.library, "strategy": _strategy(record.strategy), "machine": record.machine or "?",
              "rows": record.rows, "updated": _when(record), "driver": _named(record.strategy, extra.get("driver")),
              "workload": str(extra.get("workload") or DEFAULT_WORKLOAD)}
    if record.kind == "broken" or extra.get("broken"):
        release = str(extra.get("release") or record.new or "")
        if not release:
            return None
        return Headline(release=release, before=None, metric=STATUS, verdict="broken", old=None, new=None,
                        ratio=None, reason=str(extra.get("error") or ""), source="broken", **common)
    if record.kind == "bisect":
        return _from_bisect(record, common)
    # side by side ("compare"), or any other tool's record of a change (e.g. a watch)
    release = record.new or extra.get("release") or extra.get("first_changed")
    if release and record.verdict in CHANGE_WORDS:
        verdict = CHANGE_WORDS[record.verdict]
        detail = f", p={record.p_value:.2g}" if record.p_value is not None else ""
        source = "side by side" if record.kind == "compare" else record.kind
        return Headline(release=str(release), before=record.old or extra.get("last_unchanged"),
                        metric=STATUS if verdict in ("broken", "failed", "fixed") else record.metric or "?",
                        verdict=verdict, old=None, new=None, ratio=record.ratio,
                        reason=str(extra.get("error") or f"{source}: {record.verdict}{detail}"), source=source,
                        **common)
    return None


def _from_bisect(record: RecordedFinding, common: dict[str, Any]) -> Headline | None:
    """Bisect's first changed release; a timing only when its side-by-side test found the change."""
    extra = record.extra
    first, last = extra.get("first_changed"), extra.get("last_unchanged")
    timing = record.metric in TIMINGS
    if not first or (timing and record.verdict not in ("slower", "faster")):
        return None
    values = extra.get("values") if isinstance(extra.get("values"), dict) else {}
    old, new = values.get(last), values.get(first)
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (old, new))
    up = record.verdict == "slower" if timing else numeric and new > old  # type: ignore[operator]
    return Headline(release=str(first), before=str(last) if last else None, metric=record.metric or "?",
                    verdict="regression" if up else ("improvement" if numeric or timing else "changed"),
                    old=float(old) if numeric else None, new=float(new) if numeric else None,
                    ratio=record.ratio, reason=f"bisect: first changed in {first}", source="bisect", **common)


def headlines(findings: Sequence[Finding], records: Sequence[RecordedFinding],
              figures: Iterable[Figure] = ()) -> tuple[list[Headline], dict[tuple[str, str], int]]:
    """Confirmed headlines (one per key, replicates counted) and unconfirmed findings per (library, release)."""
    dates = _dates(figures)
    merged: dict[tuple, Headline] = {}
    unconfirmed: dict[tuple[str, str], int] = {}
    candidates: list[Headline] = []
    for finding in findings:
        if finding.library == RUN or finding.strategy is None:
            continue
        if not finding.confirmed:
            key = (str(canonicalize_name(finding.library)), finding.new)
            unconfirmed[key] = unconfirmed.get(key, 0) + 1
            continue
        candidates.append(_from_finding(finding, dates))
    candidates.extend(h for h in map(_from_record, records) if h is not None)
    for headline in candidates:
        kept = merged.get(headline.key)
        if kept is None:
            merged[headline.key] = headline
        elif headline.source == kept.source == "compare":  # the same step in another held-equal context
            kept.replicates += 1
            kept.contexts.extend(headline.contexts)
        else:
            kept.updated = max(kept.updated, headline.updated)
    return sort_headlines(merged.values()), unconfirmed


def sort_headlines(found: Iterable[Headline]) -> list[Headline]:
    """Per library, newest release first; within a release broken paths first, then regressions."""
    order = {"broken": 0, "failed": 0, "regression": 1, "changed": 2, "improvement": 3, "fixed": 4}
    ordered = sorted(found, key=lambda h: (order.get(h.verdict, 5), h.strategy, h.metric, h.machine))
    ordered = sorted(ordered, key=lambda h: version_key(h.release), reverse=True)
    return sorted(ordered, key=lambda h: h.library.lower())


def _paths(found: Sequence[Headline]) -> str:
    """``execute_values``, ``orm_basic on asyncpg``, ``3 upsert paths`` or ``4 paths``."""
    names = sorted({h.label for h in found})
    if len(names) == 1:
        return names[0]
    known = registry.load()
    families = {known[n].family if n in known else "" for n in {h.strategy.partition("+")[0] for h in found}}
    family = f"{families.pop()} " if len(families) == 1 and "" not in families else ""
    return f"{len(names)} {family}paths"


def summarise(found: Sequence[Headline]) -> str:
    """One line for one release: broken paths first, then timings by size, then each count's step."""
    parts: list[str] = []
    groups: dict[tuple, list[Headline]] = {}
    for headline in found:
        if headline.broken or headline.verdict == "fixed":
            key: tuple = (0 if headline.broken else 1, headline.verdict)
        elif headline.metric in COUNTS and headline.old is not None and headline.new is not None:
            key = (3, headline.metric, headline.old, headline.new, headline.rows, headline.driver or "",
                   headline.workload)
        else:
            key = (2, headline.metric, headline.verdict)
        groups.setdefault(key, []).append(headline)
    for key in sorted(groups, key=lambda k: (k[0], str(k[1:]))):
        members = groups[key]
        if key[0] == 0:
            parts.append(f"✗ {_paths(members)} {key[1]}")
        elif key[0] == 1:
            parts.append(f"✓ {_paths(members)} works again")
        elif key[0] == 2:
            ratios = sorted(h.ratio for h in members if h.ratio)
            size = ""
            if ratios:
                size = f" ×{ratios[0]:.3g}" if ratios[0] == ratios[-1] else \
                    f" ×{ratios[0]:.3g}–{ratios[-1]:.3g}"
            word = {"regression": "slower", "improvement": "faster"}.get(key[2], key[2])
            parts.append(f"{_paths(members)}{size} {word}{'' if key[1] == 'time' else f' ({key[1]})'}")
        else:
            parts.append(f"{members[0].change_text()} ({_paths(members)})")
    return "; ".join(parts)


def release_verdicts(found: Sequence[Headline], unconfirmed: dict[tuple[str, str], int],
                     library: str) -> list[dict[str, Any]]:
    """The releases of ``library`` with findings, newest first: summary line, headlines, unconfirmed count."""
    name = str(canonicalize_name(library))
    releases: dict[str, list[Headline]] = {}
    for headline in found:
        if canonicalize_name(headline.library) == name:
            releases.setdefault(headline.release, []).append(headline)
    for lib, release in unconfirmed:
        if lib == name:
            releases.setdefault(release, [])
    shown = []
    for release in sorted(releases, key=version_key, reverse=True):
        members = sort_headlines(releases[release])
        before = sorted({h.before for h in members if h.before}, key=version_key)
        shown.append({"release": release, "anchor": release_anchor(library, release), "headlines": members,
                      "summary": summarise(members), "unconfirmed": unconfirmed.get((name, release), 0),
                      "before": before, "notes_url": notes_url(library, release),
                      "broken": any(h.broken for h in members)})
    return shown
