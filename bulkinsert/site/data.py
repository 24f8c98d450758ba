"""What the pages are made from: figures from :mod:`bulkinsert.analysis.results`, grouped by environment.

The site reads asv results only through ``bulkinsert.analysis.results`` (the same reader as ``compare``
and the release tools), so an environment here is keyed exactly as a finding is:
``results.environment_key(figure, varying_libraries)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..analysis import results
from ..analysis.metrics import METRICS, STATUS
from ..analysis.results import Figure
from ..analysis.status import NOT_WORKING
from .profiles import Capture, safe_name

# asv benchmark method -> the metric it measures on the pages (the key the suite measures it under).
METRIC_OF_METHOD = {metric.method: metric.attribute for metric in METRICS if metric.on_pages}
# asv modules whose benchmarks reuse the main suite's method names at other sizes: they fill
# gaps, never replace the main suite's figure.
SUPPLEMENTARY_MODULES = ("scale.",)


@dataclass(frozen=True)
class Spread:
    """How far a timing's samples spread: the interquartile range, else min–max of the samples."""

    low: float
    high: float
    kind: str  # "IQR" or "range"
    samples: int | None

    def describe(self, fmt: Any) -> str:
        count = f" of {self.samples} samples" if self.samples else ""
        return f"{self.kind}{count} {fmt(self.low)}–{fmt(self.high)}"


def sample_count(figure: Figure | None) -> int | None:
    """How many timed samples a figure is the median of (asv's ``repeat`` when samples were not kept)."""
    if figure is None:
        return None
    return len(figure.samples) if figure.samples else figure.repeat


def spread_of(figure: Figure | None) -> Spread | None:
    """The spread asv recorded for a figure; None for a single sample or a deterministic count."""
    if figure is None or figure.value is None:
        return None
    count = sample_count(figure)
    if count is not None and count < 2:
        return None
    if figure.iqr is not None and figure.iqr[1] >= figure.iqr[0]:
        return Spread(figure.iqr[0], figure.iqr[1], "IQR", count)
    if figure.samples and len(figure.samples) > 1:
        return Spread(min(figure.samples), max(figure.samples), "range", count)
    return None


@dataclass
class Environment:
    """The newest figures of one asv environment on one machine."""

    machine: str
    env_name: str
    commit: str
    date: int
    versions: dict[str, str]
    key: tuple[tuple[str, str], ...]
    order: tuple
    figures: dict[tuple[str, str, int], Figure] = field(default_factory=dict)

    @property
    def label(self) -> str:
        shown = self.key or tuple((n, v) for n, v in self.versions.items() if n in results.LIBRARY_ORDER[:3])
        return " · ".join(f"{name} {version}" for name, version in shown) or self.env_name

    @property
    def anchor(self) -> str:
        return safe_name(f"{self.machine}-{self.env_name}")

    def figure(self, metric: str, strategy: str, rows: int) -> Figure | None:
        """The figure of a metric, or None when it was not measured, was skipped or failed."""
        figure = self.figures.get((metric, strategy, rows))
        return figure if figure is not None and figure.value is not None else None

    def failure(self, metric: str, strategy: str, rows: int) -> Figure | None:
        """The figure of a metric that failed or broke (shown as ✗ with its reason), else None."""
        figure = self.figures.get((metric, strategy, rows))
        return figure if figure is not None and figure.status in NOT_WORKING else None

    def value(self, metric: str, strategy: str, rows: int) -> float | None:
        figure = self.figure(metric, strategy, rows)
        return None if figure is None or not math.isfinite(figure.value or math.nan) else figure.value

    def rows_measured(self) -> list[int]:
        return sorted({rows for _, _, rows in self.figures})

    def strategies(self) -> list[str]:
        return list(dict.fromkeys(strategy for _, strategy, _ in self.figures))


def on_main_table(figure: Figure) -> bool:
    """Whether a figure is one of the scoresheet's cells: the users workload, no driver axis."""
    return figure.param("driver") is None and figure.identity.workload == results.DEFAULT_WORKLOAD


def group_environments(figures: Iterable[Figure], libraries: Sequence[str]) -> list[Environment]:
    """Figures per (machine, environment), main-suite figures before supplementary ones."""
    environments: dict[tuple[str, tuple], Environment] = {}
    ordered = sorted(figures, key=lambda f: f.benchmark.startswith(SUPPLEMENTARY_MODULES))
    for figure in ordered:
        metric = METRIC_OF_METHOD.get(figure.method)
        # The driver axis (a "driver" parameter) has its own page, the workloads their own
        # benchmarks: neither is ever a cell of the psycopg2 series on the users table.
        if metric is None or figure.strategy is None or figure.rows is None or not on_main_table(figure):
            continue
        slot = (figure.machine, figure.requirements)
        env = environments.get(slot)
        if env is None:
            env = environments[slot] = Environment(
                figure.machine, figure.env_name, figure.commit, figure.date, figure.versions,
                results.environment_key(figure, libraries), results.environment_order(figure, libraries))
        cell = (metric, figure.strategy, figure.rows)
        current = env.figures.get(cell)
        if current is None or current.value is None:
            env.figures[cell] = figure
    return sorted(environments.values(), key=lambda e: (e.machine, e.order, e.env_name))


def in_matrix(env: Environment, matrix: Mapping[str, Sequence[str]]) -> bool:
    """Whether an environment is one of the asv matrix's (not a release sweep's)."""
    lowered = {name.lower(): version for name, version in env.versions.items()}
    for name, allowed in matrix.items():
        version = lowered.get(name.lower())
        if version is not None and str(version) not in {str(a) for a in allowed if a is not None}:
            return False
    return True


@dataclass(frozen=True)
class Mark:
    """A finding of ``bulkinsert compare`` shown on a cell: what moved, against which release."""

    metric: str
    strategy: str
    rows: int | None
    verdict: str  # "regression", "improvement", "changed" or "unconfirmed"
    confirmed: bool
    slower: bool  # slower, or more statements/calls
    text: str

    @property
    def symbol(self) -> str:
        if self.metric == STATUS:
            return "✗" if self.verdict == "regression" else "✓"
        if not self.confirmed:
            return "△" if self.slower else "▽"
        return {"regression": "▲", "improvement": "▼"}.get(self.verdict, "◆")

    @property
    def css(self) -> str:
        return {"regression": "reg", "improvement": "imp", "changed": "chg"}.get(self.verdict, "unconfirmed")


def marks_from_findings(findings: Iterable[Any]) -> dict[tuple[str, tuple, str], list[Mark]]:
    """compare's findings keyed as the environments are: (machine, environment key of NEW, strategy).

    Only findings of the cells' own figures (:func:`on_main_table`): a driver axis's or another
    workload's finding never marks the users table's row of its strategy.
    """
    marks: dict[tuple[str, tuple, str], list[Mark]] = {}
    for finding in findings:
        if finding.strategy is None or "driver" in finding.params or (
                getattr(finding, "workload", results.DEFAULT_WORKLOAD) != results.DEFAULT_WORKLOAD):
            continue
        size = f" ×{finding.ratio:.2f}" if finding.ratio is not None else ""
        text = (f"{finding.metric} {finding.change}{size}: {finding.library} {finding.old} → "
                f"{finding.new} — {finding.verdict}"
                f"{': ' + finding.reason if finding.reason else ''}")
        mark = Mark(finding.metric, finding.strategy, finding.rows, finding.verdict, bool(finding.confirmed),
                    finding.change in ("slower", "more", *NOT_WORKING), text)
        marks.setdefault((finding.machine, tuple(finding.environment), finding.strategy), []).append(mark)
    return marks


@dataclass
class SiteData:
    """Everything the scoresheet, the version matrix, the releases page and the profiles use."""

    environments: list[Environment]
    libraries: list[str]
    rows: int
    matrix: Mapping[str, Sequence[str]] = field(default_factory=dict)
    captures: dict[tuple[str, str], Capture] = field(default_factory=dict)
    # (machine, environment key, strategy) -> marks, from compare's findings
    marks: dict[tuple[str, tuple, str], list[Mark]] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    findings: list[Any] = field(default_factory=list)  # compare's findings (judge_results), for the feed

    @property
    def machines(self) -> list[str]:
        return sorted({env.machine for env in self.environments})

    @property
    def matrix_environments(self) -> list[Environment]:
        return [env for env in self.environments if not self.matrix or in_matrix(env, self.matrix)]

    def strategy_order(self) -> list[str]:
        """Registry order (the talk's order), then anything else measured, by name."""
        from .. import registry

        order = list(registry.load())
        seen = {s for env in self.environments for s in env.strategies()} | {s for _, s in self.captures}
        return [s for s in order if s in seen] + sorted(seen - set(order))

    def rows_for(self, env: Environment) -> int:
        """The site's row count, or the nearest one the environment measured."""
        measured = env.rows_measured()
        if not measured or self.rows in measured:
            return self.rows
        return min(measured, key=lambda r: abs(math.log(r / self.rows)))

    def marks_for(self, env: Environment, strategy: str) -> list[Mark]:
        return self.marks.get((env.machine, env.key, strategy), [])

    def capture(self, env: Environment, strategy: str) -> Capture | None:
        return self.captures.get((env.env_name, strategy))


def load_site_data(results_dir: Any, *, rows: int, matrix: Mapping[str, Sequence[str]] | None = None,
                   findings_file: Path | None = None) -> SiteData:
    """Figures of every machine's newest commit per environment; an empty site when there are none.

    The marks are ``compare``'s findings through the same function (``verdicts.judge_results``)
    with the same side-by-side re-runs (``findings_file``), so the pages and ``compare`` agree.
    """
    try:
        figures = results.load_figures(results_dir)
    except FileNotFoundError:
        figures = []
    libraries = results.varying_libraries(figures)
    site = SiteData(group_environments(figures, libraries), libraries, rows, dict(matrix or {}), figures=figures)
    if figures:
        from ..analysis.verdicts import judge_results

        comparison = judge_results(figures, findings_file=findings_file)
        if comparison.libraries != libraries:  # keys would not match: say so rather than drop marks silently
            site.notes.append(f"compare varied {comparison.libraries}, the site {libraries}: marks may be missing")
        site.marks = marks_from_findings(comparison.findings)
        site.findings = list(comparison.findings)
        if comparison.skipped_commit_pairs:
            site.notes.append(f"{comparison.skipped_commit_pairs} environment pairs were measured at different "
                              "commits and are not compared (run them at one commit to compare them).")
    return site
