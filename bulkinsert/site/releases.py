"""The releases page: every measured release of a library on the x-axis, findings marked.

Two sources, both optional:

* asv result files of release sweeps (``bulkinsert releases sweep``): one environment per
  release, the requirements differing only in the swept library. Any set of environments that
  differ only in one library's release is drawn, so the asv matrix's own columns appear too;
* ``.asv/releases/findings.jsonl``, one JSON object per line, appended by ``releases bisect``
  and ``releases compare``: ``kind`` ("bisect" | "compare"), ``strategy``, ``library``,
  ``metric``, ``first_changed``/``last_unchanged`` (bisect) or ``old``/``new`` (compare),
  ``verdict``, ``ratio``, ``values``, ``notes_url``, ``machine``, ``commit``. A release whose
  data-exactness check failed is recorded as ``{"kind": "broken", "library", "release",
  "strategy", "error"}`` (or any record with ``"broken": true``) and drawn as *broken*.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from ..analysis.findingrecords import read_records
from ..analysis.results import Figure, version_key
from ..releases.findings import notes_url
from .charts import fmt_count
from .commits import commit_sections
from .data import SiteData
from .feed import FEED_FILE
from .headlines import headlines, release_verdicts
from .profiles import safe_name
from .release_charts import sweep_charts
from .render import render

FINDINGS_FILE = Path("releases") / "findings.jsonl"  # next to asv's results directory
AXES = ("sqlalchemy", "psycopg2", "psycopg2-binary")  # the project's libraries: always named when held equal


def _same_library(a: str, b: str) -> bool:
    """"SQLAlchemy" in asv's requirements is "sqlalchemy" on the command line (PEP 503 names)."""
    return canonicalize_name(a) == canonicalize_name(b)


@dataclass(frozen=True)
class ReleaseFinding:
    """One line of findings.jsonl, normalised for the page."""

    kind: str
    library: str
    strategy: str
    metric: str
    before: str | None  # the release compared against (old, last_unchanged)
    release: str | None  # the release the finding is about (new, first_changed, broken)
    verdict: str
    ratio: float | None
    notes_url: str | None
    machine: str
    commit: str
    broken: bool
    detail: str
    values: tuple[tuple[str, str], ...] = ()  # release -> figure measured by bisect, PEP 440 order

    @property
    def changed(self) -> bool:
        return self.broken or (self.release is not None and self.verdict not in ("same", "unchanged", ""))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _values(values: Any) -> tuple[tuple[str, str], ...]:
    """A bisect's ``values`` (release -> figure) in release order, numbers shown as counts."""
    if not isinstance(values, dict):
        return ()
    shown = []
    for release in sorted(values, key=version_key):
        value = values[release]
        shown.append((str(release), fmt_count(value) if isinstance(value, int | float) else _text(value)))
    return tuple(shown)


def read_findings(path: Path) -> tuple[list[ReleaseFinding], list[str]]:
    """The findings file's records (its one reader, ``analysis.findingrecords.read_records``), for the page.

    Malformed lines are skipped and reported, never fatal.
    """
    problems: list[str] = []
    findings = []
    for typed in read_records(path, problems):
        record = typed.to_dict()
        kind = _text(record.get("kind"))
        broken = kind == "broken" or bool(record.get("broken"))
        release = record.get("first_changed") or record.get("new") or record.get("release")
        before = record.get("last_unchanged") or record.get("old")
        ratio = record.get("ratio")
        if isinstance(ratio, dict):  # a ratio with its interval: {"value": .., "low": .., "high": ..}
            ratio = ratio.get("value")
        library, release = _text(record["library"]), _text(release) or None
        verdict = _text(record.get("verdict")) or ("broken" if broken else ("changed" if release else "unchanged"))
        findings.append(ReleaseFinding(
            kind=kind, library=library, strategy=_text(record.get("strategy")), metric=_text(record.get("metric")),
            before=_text(before) or None, release=release, verdict=verdict,
            ratio=float(ratio) if isinstance(ratio, int | float) else None,
            notes_url=record.get("notes_url") or (notes_url(library, release) if release else None),
            machine=_text(record.get("machine")), commit=_text(record.get("commit")), broken=broken,
            detail=_text(record.get("error") or record.get("note") or record.get("notes")),
            values=_values(record.get("values")),
        ))
    return findings, problems


@dataclass
class Sweep:
    """Environments of one machine that differ only in ``library``'s release."""

    library: str
    machine: str
    context: tuple[tuple[str, str], ...]
    releases: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return safe_name(f"{self.library}-{self.machine}-" + "-".join(f"{k}{v}" for k, v in self.context))


def find_sweeps(figures: Iterable[Figure], libraries: Sequence[str]) -> list[Sweep]:
    """For every library, the groups of environments with every other requirement equal."""
    sweeps: dict[tuple[str, str, tuple], Sweep] = {}
    figures = list(figures)
    for library in libraries:
        for figure in figures:
            versions = figure.versions
            if library not in versions:
                continue
            context = tuple((k, v) for k, v in figure.requirements if k != library)
            sweep = sweeps.setdefault((library, figure.machine, context), Sweep(library, figure.machine, context))
            sweep.figures.append(figure)
            if versions[library] not in sweep.releases:
                sweep.releases.append(versions[library])
    found = [s for s in sweeps.values() if len(s.releases) >= 2]
    for sweep in found:
        sweep.releases.sort(key=version_key)
    return sorted(found, key=lambda s: (s.library.lower(), -len(s.releases), s.machine, s.context))


def _rows_of(sweep: Sweep, preferred: int) -> int | None:
    counts: dict[int, int] = {}
    for figure in sweep.figures:
        if figure.rows is not None and figure.value is not None:
            counts[figure.rows] = counts.get(figure.rows, 0) + 1
    if not counts:
        return None
    return preferred if preferred in counts else max(counts, key=lambda r: (counts[r], r))


def releases_page(site: SiteData, findings_path: Path | None) -> str:
    """Latest verdicts per release first, then per library its sweeps' charts and the findings file."""
    sections, problems = release_sections(site, findings_path)
    return render("releases.html", current="releases.html", sections=sections, problems=problems,
                  commits=commit_sections(findings_path),
                  findings_file=str(FINDINGS_FILE), has_findings_file=bool(findings_path and findings_path.is_file()),
                  feed=FEED_FILE)


def release_sections(site: SiteData, findings_path: Path | None) -> tuple[list[dict[str, Any]], list[str]]:
    """What the releases page shows, per library: verdicts, sweeps with their charts, the recorded findings."""
    findings, problems = read_findings(findings_path) if findings_path is not None else ([], [])
    found, unconfirmed = headlines(site.findings, read_records(findings_path) if findings_path else [],
                                   site.figures)
    libraries = [lib for lib in site.libraries if lib != "python"]
    for finding in findings:
        if not any(_same_library(finding.library, lib) for lib in libraries):
            libraries.append(finding.library)
    order = site.strategy_order()
    sections = []
    for library in libraries:
        sweeps = []
        for sweep in find_sweeps(site.figures, [library]):
            rows = _rows_of(sweep, site.rows)
            if rows is None:
                continue
            held = [(k, v) for k, v in sweep.context if k in site.libraries or canonicalize_name(k) in AXES]
            mine = [f for f in findings if _same_library(f.library, library) and f.broken]
            charts, changes = sweep_charts(sweep, rows, order, found, mine, held)
            sweeps.append({"sweep": sweep, "rows": rows, "charts": charts, "changes": changes, "held": held,
                           "context": ", ".join(f"{k} {v}" for k, v in sweep.context)})
        mine = [f for f in findings if _same_library(f.library, library)]
        broken = sorted({f.release for f in mine if f.broken and f.release}, key=version_key)
        verdicts = release_verdicts(found, unconfirmed, library)
        if sweeps or mine or verdicts:
            sections.append({"library": library, "anchor": safe_name(library), "sweeps": sweeps,
                             "findings": mine, "broken": broken, "verdicts": verdicts})
    return sections, problems
