"""The releases page's charts: small multiples per strategy family, findings and change points on their lines.

One chart of 31 strategies needs a legend of 31 colours nobody can tell apart. Each metric is
drawn as one small chart per family of the registry (orm, core, dbapi, copy, upsert, peer,
reference; at most :data:`MAX_LINES` lines each), and every mark sits on its own strategy's
point: a confirmed finding (▲ ▼ ◆ ✓) and each change point of the series (↑ ↓ with a ring;
:mod:`bulkinsert.analysis.changepoints`: counts step by step, exact; timings by E-divisive means, a
candidate until confirmed side by side). A broken release stays a vertical rule (✗): there is
no figure for it to sit on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.utils import canonicalize_name

from .. import registry
from ..analysis.changepoints import ChangePoint, count_change_points, timing_change_points
from ..analysis.results import DEFAULT_WORKLOAD, Figure, Identity
from ..releases.findings import notes_url
from .charts import Datum, fmt_count, fmt_count_short, fmt_seconds, fmt_seconds_short, line_chart
from .data import METRIC_OF_METHOD, SUPPLEMENTARY_MODULES, spread_of
from .headlines import Headline

MAX_LINES = 8  # lines per chart: more and the colours cannot be told apart
# (metric on the pages, chart's y title, number format, axis format); log scales: the strategies
# differ by orders of magnitude (3 statements against 10,002), a release's change by less.
CHARTS = (
    ("statements", "server statements", fmt_count, fmt_count_short),
    ("function_calls", "Python function calls", fmt_count, fmt_count_short),
    ("instructions", "client instructions (valgrind)", fmt_count, fmt_count_short),
    ("seconds", "median seconds", fmt_seconds, fmt_seconds_short),
)
CHART_OF_FINDING = {"statements": "statements", "calls": "function_calls", "function_calls": "function_calls",
                    "instructions": "instructions", "time": "seconds"}


@dataclass(frozen=True)
class ChangeRow:
    """A change point as the page lists it."""

    point: ChangePoint
    metric_title: str
    text: str  # "12 → 13" or "142.8 ms → 289.3 ms (×2.03)"
    confirm: str | None  # the side-by-side command that confirms a timing candidate


def family_groups(names: Sequence[str], strategy_of: Mapping[str, str] | None = None) -> list[tuple[str, list[str]]]:
    """The strategies (or the lines named in ``strategy_of``, by their strategy) by registry family,
    in the registry's family order, at most MAX_LINES per group."""
    known = registry.load()
    families: dict[str, list[str]] = {}
    for name in names:
        strategy = (strategy_of or {}).get(name, name)
        families.setdefault(known[strategy].family if strategy in known else "other", []).append(name)
    rank = {family: index for index, family in enumerate(registry.FAMILIES)}
    groups = []
    for family in sorted(families, key=lambda f: rank.get(f, len(rank))):
        members = families[family]
        chunks = [members[i:i + MAX_LINES] for i in range(0, len(members), MAX_LINES)]
        for index, chunk in enumerate(chunks):
            groups.append((family if len(chunks) == 1 else f"{family} ({index + 1}/{len(chunks)})", chunk))
    return groups


def _confirm_command(library: str, point: ChangePoint, rows: int, held: Sequence[tuple[str, str]],
                     identity: Identity | None = None) -> str:
    """``releases compare`` of the line's whole identity: its strategy, driver, workload and held releases."""
    pins = "".join(f" --with {name}=={version}" for name, version in held)
    strategy = identity.strategy if identity is not None else point.strategy
    driver = f" --driver {identity.named_driver}" if identity is not None and identity.named_driver else ""
    workload = (f" --workload {identity.workload}"
                if identity is not None and identity.workload != DEFAULT_WORKLOAD else "")
    return (f"bulkinsert releases compare {strategy} {point.before} {point.release} --library {library} "
            f"--metric time --rows {rows}{driver}{workload}{pins}")


def _change_rows(library: str, metric: str, title: str, points: dict[str, list[tuple[str, float]]], rows: int,
                 held: Sequence[tuple[str, str]], identities: Mapping[str, Identity] | None = None) -> list[ChangeRow]:
    found = []
    for strategy, series in points.items():
        if metric == "seconds":
            for point in timing_change_points(strategy, metric, series):
                text = (f"{fmt_seconds(point.old)} → {fmt_seconds(point.new)} "
                        f"(×{point.ratio:.2f}, p={point.p_value:.2g})")
                found.append(ChangeRow(point, title, text, _confirm_command(
                    library, point, rows, held, (identities or {}).get(strategy))))
        else:
            for point in count_change_points(strategy, metric, series, rows):
                found.append(ChangeRow(point, title, f"{fmt_count(point.old)} → {fmt_count(point.new)}", None))
    return found


def _change_mark(row: ChangeRow, x: float) -> tuple[str, float, str, str, str]:
    point = row.point
    state = "exact (the count rule)" if point.confirmed else f"candidate, confirm with: {row.confirm}"
    title = (f"change point: {point.strategy} {row.metric_title} {row.text} from {point.before} to "
             f"{point.release}; {state}")
    kind = f"changepoint {'exact' if point.confirmed else 'candidate'} {'up' if point.up else 'down'}"
    return (point.strategy, x, "↑" if point.up else "↓", title, kind)


def chart_figures(figures: Iterable[Figure], metric: str, rows: int) -> list[Figure]:
    """The figures a chart of ``metric`` at ``rows`` draws, the one each line takes first first: the
    main suite's before the driver axis's (which measures the strategy's own driver again) before
    the supplementary suites'."""
    chosen = [f for f in figures if METRIC_OF_METHOD.get(f.method) == metric and f.rows == rows
              and f.value is not None]
    return sorted(chosen, key=lambda f: (f.benchmark.startswith(SUPPLEMENTARY_MODULES), f.param("driver") is not None))


def sweep_charts(sweep: Any, rows: int, order: Sequence[str], found: Sequence[Headline],
                 broken: Sequence[Any], held: Sequence[tuple[str, str]]) -> tuple[list[dict], list[ChangeRow]]:
    """Per metric, one chart per family; and every change point of every series of the sweep."""
    position = {release: float(index) for index, release in enumerate(sweep.releases)}
    labels = {p: r for r, p in position.items()}
    links = {p: url for r, p in position.items() if (url := notes_url(sweep.library, r))}
    library = canonicalize_name(sweep.library)
    mine = [h for h in found if canonicalize_name(h.library) == library and h.release in position
            and (h.source != "compare" or h.machine == sweep.machine)]
    rank = {name: index for index, name in enumerate(order)}
    charts, changes = [], []
    for metric, y_title, fmt, fmt_tick in CHARTS:
        points: dict[str, dict[float, Datum]] = {}
        identities: dict[str, Identity] = {}
        for figure in chart_figures(sweep.figures, metric, rows):
            identity = figure.identity
            spread = spread_of(figure) if metric == "seconds" else None
            x = position[figure.versions[sweep.library]]
            # One line per path (strategy, driver, workload), named by it: a driver's figures are
            # never drawn as another driver's.
            identities.setdefault(identity.label, identity)
            points.setdefault(identity.label, {}).setdefault(x, Datum(
                x, figure.value, spread.low if spread else None, spread.high if spread else None))
        strategy_of = {label: identity.strategy or label for label, identity in identities.items()}
        names = sorted(points, key=lambda name: (rank.get(strategy_of[name], len(rank)), name))
        series = {name: [(labels[x], points[name][x].value) for x in sorted(points[name])] for name in names}
        rows_found = _change_rows(sweep.library, metric, y_title, series, rows, held, identities)
        changes.extend(rows_found)
        marks = [_change_mark(row, position[row.point.release]) for row in rows_found]
        marks += [(h.label, position[h.release], h.symbol, f"{h.title()} ({h.source})", f"finding {h.verdict}")
                  for h in mine if CHART_OF_FINDING.get(h.metric) == metric]
        panels = []
        for family, members in family_groups(names, strategy_of):
            rules = [(position[b.release], "✗", f"{b.release}: broken ({b.strategy}: {b.detail})", "broken")
                     for b in broken if (b.strategy in members or b.strategy not in names) and b.release in position]
            chart = line_chart({name: list(points[name].values()) for name in members},
                               title=f"{y_title} by {sweep.library} release: {family}",
                               x_title=f"{sweep.library} release", y_title=y_title, fmt_y=fmt, fmt_tick=fmt_tick,
                               x_labels=labels, x_links=links, markers=rules,
                               point_marks=[m for m in marks if m[0] in members],
                               width=max(480, 260 + 22 * len(sweep.releases)))
            if chart is not None:
                # What was drawn, by line and release: the figures the chart plots, for checking.
                lines = {name: {labels[x]: datum.value for x, datum in points[name].items()} for name in members}
                panels.append({"family": family, "chart": chart, "lines": lines,
                               "identities": {name: identities[name] for name in members}})
        if panels:
            charts.append({"metric": metric, "title": y_title, "panels": panels})
    return charts, changes
