"""Chart geometry for the site's static SVG charts.

The charts are drawn by hand rather than by a plotting library so that they stay small, come
out byte-for-byte the same from the same numbers, and need no JavaScript: they work from
``file://``. This module only computes positions; ``templates/_charts.html`` writes the SVG
(autoescaped like every other page).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
           "#e6550d", "#31a354", "#756bb1", "#636363", "#9c9ede", "#cedb9c", "#e7ba52", "#ad494a")


def fmt_seconds(value: float) -> str:
    """A duration in the unit that keeps three significant digits readable."""
    if value >= 10:
        return f"{value:.0f} s"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 0.001:
        return f"{value * 1000:.1f} ms"
    return f"{value * 1e6:.0f} µs"


def fmt_seconds_short(value: float) -> str:
    """An axis label: 2 s, 500 ms, 20 µs."""
    if value >= 1:
        return f"{value:.3g} s"
    if value >= 0.001:
        return f"{value * 1000:.3g} ms"
    return f"{value * 1e6:.3g} µs"


def fmt_count(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def fmt_count_short(value: float) -> str:
    """An axis label: 1.2M, 350k, 12."""
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def nice_ticks(low: float, high: float, log: bool) -> list[float]:
    """Round tick values (1-2-5 steps) inside [low, high], in data units."""
    if log:
        candidates = [m * 10.0**e for e in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1)
                      for m in (1, 2, 5)]
        ticks = [c for c in candidates if low <= c <= high]
        if len(ticks) > 6:
            ticks = [c for c in ticks if f"{c:e}".startswith("1")]
        if len(ticks) >= 3:
            return ticks
        # less than a decade: evenly spaced round values read better than two odd ones
        return [t for t in nice_ticks(low, high, False) if t > 0] or [low, high]
    raw = (high - low) / 4 or 1.0
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


@dataclass(frozen=True)
class Datum:
    """One measured point: ``x`` in data units, ``low``/``high`` its spread when known."""

    x: float
    value: float
    low: float | None = None
    high: float | None = None
    note: str = ""


@dataclass
class Dot:
    x: float
    y: float
    title: str
    y_low: float | None = None
    y_high: float | None = None


@dataclass
class Line:
    name: str
    colour: str
    segments: list[str]  # polyline point lists: a line breaks where an x in between was not measured
    dots: list[Dot]
    legend_y: float | None
    href: str | None = None


@dataclass
class Tick:
    pos: float
    label: str
    href: str | None = None


@dataclass
class Marker:
    """A vertical rule at one x position (a release where a figure changed, or a broken one)."""

    x: float
    label: str
    title: str
    kind: str  # "change" or "broken"


@dataclass
class PointMark:
    """A symbol on one series' point: a finding or a change point of that strategy at that release."""

    series: str
    x: float
    y: float
    symbol: str
    title: str
    kind: str  # css classes: "finding regression", "changepoint candidate", ...


@dataclass
class LineChart:
    title: str
    width: int
    height: int
    left: int
    top: int
    plot_width: float
    plot_height: float
    x_title: str
    y_title: str
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    lines: list[Line]
    markers: list[Marker] = field(default_factory=list)
    rotate_x_labels: bool = False
    marks: list[PointMark] = field(default_factory=list)


def _scale(values: Sequence[float], log: bool) -> tuple[float, float]:
    ts = [math.log10(v) if log else v for v in values]
    low, high = min(ts), max(ts)
    if high == low:
        low, high = (low - 0.5, high + 0.5) if log else (low * 0.9 - 1e-9, high * 1.1 + 1e-9)
    return low, high


def line_chart(
    series: Mapping[str, Sequence[Datum]],
    *,
    title: str,
    x_title: str,
    y_title: str,
    fmt_y: Callable[[float], str] = fmt_seconds,
    fmt_tick: Callable[[float], str] | None = None,
    x_labels: Mapping[float, str] | None = None,
    x_links: Mapping[float, str] | None = None,
    markers: Sequence[tuple[float, str, str, str]] = (),
    log_x: bool = False,
    log_y: bool = True,
    width: int = 640,
    legend_links: Mapping[str, str] | None = None,
    point_marks: Sequence[tuple[str, float, str, str, str]] = (),
) -> LineChart | None:
    """One line per series, spread drawn as a vertical bar; None when there is nothing to draw.

    ``point_marks`` (series, x, symbol, title, kind) sit on their series' point at x; a mark
    whose series has no point there is not drawn (there is nothing it could sit on).
    """
    good = {name: [d for d in data if d.value > 0 or not log_y] for name, data in series.items()}
    good = {name: data for name, data in good.items() if data}
    if not good:
        return None
    all_data = [d for data in good.values() for d in data]
    rotate = bool(x_labels) and len(x_labels) > 8
    height = max(240, 60 + 14 * len(good)) + (40 if rotate else 0)
    left, right, top, bottom = 72, 210, 24, 40 + (40 if rotate else 0)
    pw, ph = width - left - right, height - top - bottom
    x_positions = list(x_labels) if x_labels else [d.x for d in all_data]
    x0, x1 = _scale(x_positions, log_x)
    y_values = [v for d in all_data for v in (d.value, d.low, d.high) if v is not None and (v > 0 or not log_y)]
    y0, y1 = _scale(y_values, log_y)
    pad = (y1 - y0) * 0.08
    y0, y1 = y0 - pad, y1 + pad

    def px(x: float) -> float:
        t = math.log10(x) if log_x else x
        return round(left + (t - x0) / (x1 - x0) * pw, 1)

    def py(y: float) -> float:
        t = math.log10(y) if log_y else y
        return round(top + ph - (t - y0) / (y1 - y0) * ph, 1)

    raw = nice_ticks(10**y0, 10**y1, True) if log_y else nice_ticks(y0, y1, False)
    tick_format = fmt_tick or (fmt_seconds_short if fmt_y is fmt_seconds else fmt_y)
    y_ticks = [Tick(py(t), tick_format(t)) for t in raw]
    xs = sorted(x_labels) if x_labels else sorted({d.x for d in all_data})
    x_ticks = [Tick(px(x), x_labels[x] if x_labels else f"{x:,.0f}", (x_links or {}).get(x)) for x in xs]
    lines = []
    for index, (name, data) in enumerate(good.items()):
        ordered = sorted(data, key=lambda d: d.x)
        dots = []
        for d in ordered:
            where = x_labels.get(d.x, f"{d.x:,.0f}") if x_labels else f"{d.x:,.0f}"
            spread = f" ({fmt_y(d.low)}–{fmt_y(d.high)})" if d.low is not None and d.high is not None else ""
            dots.append(Dot(px(d.x), py(d.value), f"{name} @ {where}: {fmt_y(d.value)}{spread}{d.note}",
                            py(d.low) if d.low is not None and (d.low > 0 or not log_y) else None,
                            py(d.high) if d.high is not None else None))
        legend_y = top + 12 + index * 14
        lines.append(Line(name, PALETTE[index % len(PALETTE)], _segments(ordered, dots, xs), dots,
                          legend_y if legend_y < height - 8 else None, (legend_links or {}).get(name)))
    chart_markers = [Marker(px(x), label, note, kind) for x, label, note, kind in markers]
    values = {(name, d.x): d.value for name, data in good.items() for d in data}
    marks = [PointMark(name, px(x), py(values[(name, x)]), symbol, note, kind)
             for name, x, symbol, note, kind in point_marks if (name, x) in values]
    return LineChart(title, width, height, left, top, pw, ph, x_title, y_title, x_ticks, y_ticks, lines,
                     chart_markers, rotate, marks)


def _segments(ordered: Sequence[Datum], dots: Sequence[Dot], xs: Sequence[float]) -> list[str]:
    """Point lists of the runs of adjacent x positions, so no line is drawn across a gap.

    A line from one measured release to another across unmeasured ones would claim the figure
    moved smoothly between them; a break says nothing was measured there.
    """
    position = {x: i for i, x in enumerate(xs)}
    runs: list[list[Dot]] = []
    previous: int | None = None
    for datum, dot in zip(ordered, dots, strict=True):
        here = position.get(datum.x)
        if runs and previous is not None and here is not None and here == previous + 1:
            runs[-1].append(dot)
        else:
            runs.append([dot])
        previous = here
    return [" ".join(f"{d.x},{d.y}" for d in run) for run in runs if len(run) > 1]


@dataclass
class ShareBar:
    name: str
    y: float
    full: float
    driver: float
    title: str
    share: str
    href: str | None


@dataclass
class ShareChart:
    title: str
    width: int
    height: int
    left: int
    bar_height: int
    bars: list[ShareBar]


def share_chart(shares: Sequence[tuple[str, float, float]], title: str,
                links: Mapping[str, str]) -> ShareChart | None:
    """Horizontal bars: each strategy's median time split into its DB-API share and the rest."""
    if not shares:
        return None
    width, bar_height, left, right = 720, 18, 190, 70
    height = 30 + len(shares) * (bar_height + 6)
    longest = max(seconds for _, seconds, _ in shares) or 1.0
    bars = []
    for index, (name, seconds, share) in enumerate(shares):
        full = round((width - left - right) * seconds / longest, 1)
        bars.append(ShareBar(name, 26 + index * (bar_height + 6), full, round(full * share, 1),
                             f"{name}: {fmt_seconds(seconds)} median, DB-API {share:.0%}", f"{share:.0%}",
                             links.get(name)))
    return ShareChart(title, width, height, left, bar_height, bars)
