"""The landing page (the site's ``index.html``): the answers first, asv's grid one click away.

Per environment of the asv matrix: the fastest correct path (a time figure that ran and inserted
exactly; the server's own reference paths are yardsticks, not contenders), and compare's latest
confirmed findings that land on that environment, each naming its driver. Then what
``releases watch`` watches, and since when (its records in the findings file), and the release
tools' latest confirmed headlines. Everything comes from :class:`.data.SiteData` and
:mod:`.headlines`, the sources of the other pages, so the landing never disagrees with them.

asv writes its own ``index.html``; the publisher moves it to :data:`ASV_PAGE` (see
:mod:`.asv_index`) and this page takes the root. A link into asv's page (``index.html#<benchmark>``,
as asv's ``regressions.xml`` writes them) is forwarded to :data:`ASV_PAGE` with its fragment.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .. import registry
from ..analysis.findingrecords import RecordedFinding, read_records
from ..analysis.findingtypes import RUN, Finding
from ..analysis.metrics import STATUS
from .charts import fmt_count, fmt_seconds
from .data import Environment, SiteData, spread_of
from .headlines import Headline, headlines, release_anchor
from .render import ASV_PAGE, render

DOCS_HREF = "docs/"  # the MkDocs site, published under /docs/ of the same site
DEFAULT_DRIVER = "psycopg2"
FINDINGS_SHOWN = 2  # per environment, one line each, so every environment fits the first screen
CONTENDERS = 3  # the fastest path and the runners-up shown beside it
HEADLINES_SHOWN = 6
WATCH_KIND = "watch"


@dataclass(frozen=True)
class Contender:
    """One correct path's median time in one environment."""

    strategy: str
    driver: str
    seconds: float
    low: float | None  # the spread (IQR, else min–max of the samples), when there are several samples
    high: float | None

    def overlaps(self, other: Contender) -> bool:
        """Whether the two spreads touch: the order of the two is not established by this run."""
        if None in (self.low, self.high, other.low, other.high):
            return False
        return self.low <= other.high and other.low <= self.high  # type: ignore[operator]


@dataclass(frozen=True)
class FindingLine:
    """A confirmed finding of compare, as the landing tells it."""

    symbol: str
    css: str
    strategy: str
    driver: str
    text: str
    against: str  # "SQLAlchemy 1.4.54 → 2.0.58"


@dataclass
class EnvironmentSummary:
    env: Environment
    rows: int
    contenders: list[Contender]
    baseline: float | None
    findings: list[FindingLine] = field(default_factory=list)
    more_findings: int = 0
    steps: list[str] = field(default_factory=list)  # the release steps of all its findings, shown or not

    @property
    def fastest(self) -> Contender | None:
        return self.contenders[0] if self.contenders else None

    def tied(self, runner: Contender) -> bool:
        """Whether a runner-up's spread touches the fastest's: this run does not order the two."""
        first = self.fastest
        return first is not None and first.overlaps(runner)

    @property
    def speedup(self) -> float | None:
        first = self.fastest
        return self.baseline / first.seconds if first is not None and self.baseline else None


@dataclass(frozen=True)
class Watched:
    """What ``releases watch`` has recorded for one library (and driver): since when, up to which release."""

    library: str
    driver: str
    strategies: list[str]
    since: str
    last: str
    newest_release: str
    confirmed: int
    records: int


def strategy_driver(strategy: str) -> str:
    """A strategy's own driver (``name+driver`` labels name another); psycopg2 when unknown."""
    name, _, driver = strategy.partition("+")
    if driver:
        return driver
    known = registry.load().get(name)
    return known.driver if known is not None else DEFAULT_DRIVER


def finding_driver(finding: Finding) -> str:
    """The driver a finding was measured on: its own field or parameter, else its strategy's driver."""
    named = getattr(finding, "driver", None) or finding.params.get("driver")
    return str(named) if named else strategy_driver(finding.strategy or "")


def headline_driver(headline: Headline) -> str:
    named = getattr(headline, "driver", None)
    return str(named) if named else strategy_driver(headline.strategy)


def contenders(site: SiteData, env: Environment, rows: int) -> list[Contender]:
    """The environment's correct paths at ``rows``, fastest first (reference paths left out)."""
    yardsticks = set(registry.with_role("reference"))
    found = []
    for name in env.strategies():
        if name in yardsticks or env.failure("seconds", name, rows) is not None:
            continue
        seconds = env.value("seconds", name, rows)
        if seconds is None or seconds <= 0:
            continue
        spread = spread_of(env.figure("seconds", name, rows))
        found.append(Contender(name, strategy_driver(name), seconds, spread.low if spread else None,
                               spread.high if spread else None))
    return sorted(found, key=lambda c: (c.seconds, c.strategy))


def _finding_line(finding: Finding) -> FindingLine:
    if finding.metric == STATUS:
        symbol, css = ("✓", "imp") if finding.change == "fixed" else ("✗", "reg")
        text = f"{finding.change}" + (f": {finding.reason}" if finding.reason and finding.change != "fixed" else "")
    else:
        symbol = {"regression": "▲", "improvement": "▼"}.get(finding.verdict, "◆")
        css = {"regression": "reg", "improvement": "imp"}.get(finding.verdict, "chg")
        if finding.old_value is not None and finding.new_value is not None and finding.metric != "time":
            text = f"{finding.metric} {fmt_count(finding.old_value)} → {fmt_count(finding.new_value)}"
        elif finding.old_value is not None and finding.new_value is not None:
            size = f" (×{finding.ratio:.2f})" if finding.ratio is not None else ""
            text = f"time {fmt_seconds(finding.old_value)} → {fmt_seconds(finding.new_value)}{size}"
        else:
            text = f"{finding.metric} {finding.change}"
    return FindingLine(symbol, css, finding.strategy or "?", finding_driver(finding), text,
                       f"{finding.library} {finding.old} → {finding.new}")


def _importance(finding: Finding) -> tuple:
    order = {"failed": 0, "broken": 0, "regression": 1, "changed": 2, "improvement": 3}
    kind = finding.change if finding.metric == STATUS else finding.verdict
    return (order.get(kind, 4), finding.strategy or "", finding.metric, finding.library)


def environment_findings(site: SiteData, env: Environment) -> list[Finding]:
    """compare's confirmed findings whose newer side is this environment, most important first."""
    mine = [f for f in site.findings if f.confirmed and f.library != RUN and f.strategy is not None
            and f.machine == env.machine and tuple(f.environment) == env.key]
    return sorted(mine, key=_importance)


def summarise_environment(site: SiteData, env: Environment) -> EnvironmentSummary:
    rows = site.rows_for(env)
    baseline = env.value("seconds", registry.one_with_role("baseline"), rows)
    found = environment_findings(site, env)
    summary = EnvironmentSummary(env, rows, contenders(site, env, rows)[:CONTENDERS], baseline)
    lines = [_finding_line(f) for f in found]
    summary.findings = lines[:FINDINGS_SHOWN]
    summary.more_findings = max(0, len(found) - FINDINGS_SHOWN)
    summary.steps = list(dict.fromkeys(line.against for line in lines))
    return summary


def _day(timestamp: str | None) -> str:
    try:
        return datetime.datetime.fromisoformat(timestamp or "").date().isoformat()
    except ValueError:
        return "date not recorded"


def watched(records: Iterable[RecordedFinding]) -> list[Watched]:
    """One line per library and driver that ``releases watch`` recorded, oldest watch first."""
    from ..analysis.results import version_key

    groups: dict[tuple[str, str], list[RecordedFinding]] = {}
    for record in records:
        if record.kind == WATCH_KIND and not record.extra.get("dirty"):
            driver = str(record.extra.get("driver") or "")
            groups.setdefault((record.library, driver), []).append(record)
    shown = []
    for (library, driver), members in groups.items():
        stamps = sorted(r.timestamp for r in members if r.timestamp)
        releases = sorted({r.new for r in members if r.new}, key=version_key)
        shown.append(Watched(library, driver or "each path's own", sorted({r.strategy for r in members if r.strategy}),
                             _day(stamps[0] if stamps else None), _day(stamps[-1] if stamps else None),
                             releases[-1] if releases else "?",
                             sum(bool(r.extra.get("confirmed")) for r in members), len(members)))
    return sorted(shown, key=lambda w: (w.since, w.library.lower(), w.driver))


def landing_page(site: SiteData, findings_file: Path, *, asv_page: bool) -> str:
    """The site's first page; ``asv_page``: asv's own page is there to link to."""
    records = read_records(findings_file, [])  # a damaged line: the releases page reports it
    found, _unconfirmed = headlines(site.findings, records, site.figures)
    latest = sorted(found, key=lambda h: h.updated, reverse=True)[:HEADLINES_SHOWN]
    environments = [summarise_environment(site, env) for env in site.matrix_environments]
    dates = [env.date for env in site.matrix_environments if env.date]
    newest = (datetime.datetime.fromtimestamp(max(dates) / 1000, datetime.UTC).date().isoformat()
              if dates else None)
    shown = [(h, headline_driver(h), release_anchor(h.library, h.release)) for h in latest]
    return render("index.html", current="index.html", environments=environments, watched=watched(records),
                  headlines=shown, asv_page=ASV_PAGE if asv_page else None,
                  docs=DOCS_HREF, baseline=registry.one_with_role("baseline"), newest=newest,
                  several_machines=len(site.machines) > 1)
