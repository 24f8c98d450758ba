"""The scoresheet: the talk's table per environment, every timing with its spread."""

from __future__ import annotations

import math
from typing import Any

from .. import registry
from ..analysis.results import Figure
from ..measure.ladder import overhead_text
from .charts import Datum, fmt_seconds, line_chart, share_chart
from .data import Environment, SiteData, sample_count, spread_of
from .render import render

# The columns of the track pass (benchmarks/track_pass.py measure_all): all taken at one row count,
# which a quick run, or BULKINSERT_TRACK_ROWS, can set apart from the timings' row count.
TRACK_METRICS = ("dbapi_share", "statements", "profiler_overhead", "function_calls", "rows_per_second")


def _nearest(measured: list[int], rows: int) -> int | None:
    """``rows`` when measured, else the measured row count nearest to it (None when there is none)."""
    if not measured or rows in measured:
        return rows if measured else None
    return min(measured, key=lambda r: abs(math.log(r / rows)))


def _track_rows(env: Environment, rows: int) -> int:
    """The row count of the track columns: the table's, or the nearest one the track pass measured."""
    measured = sorted({r for metric, _, r in env.figures if metric in TRACK_METRICS})
    return _nearest(measured, rows) or rows


def _noise(figure: Figure | None) -> float | None:
    """A timing's relative spread (spread width ÷ median), None when it has no spread."""
    spread = spread_of(figure)
    if spread is None or figure is None or not figure.value:
        return None
    return (spread.high - spread.low) / figure.value


def _instruction_rows(env: Environment, rows: int) -> int:
    """The row count of the instructions column: the measured one nearest to the table's."""
    measured = sorted({r for metric, _, r in env.figures if metric == "instructions"})
    return _nearest(measured, rows) or rows


def _row(site: SiteData, env: Environment, name: str, rows: int, track_rows: int, base: float | None,
         floor: float | None) -> dict[str, Any] | None:
    time_figure = env.figure("seconds", name, rows)
    seconds = env.value("seconds", name, rows)
    share = env.value("dbapi_share", name, track_rows)
    rows_per_second = env.value("rows_per_second", name, track_rows)
    capture = site.capture(env, name)
    if seconds is None and share is None and capture is None:
        return None
    strategy = registry.load().get(name)
    spread = spread_of(time_figure)
    samples = sample_count(time_figure)
    # DB-API seconds = share x a wall time of the same row count: the timing when the track
    # pass ran at the table's size, else the track pass's own median (rows / rows per second).
    if track_rows == rows:
        wall = seconds
    else:
        wall = track_rows / rows_per_second if rows_per_second else None
    overhead = env.value("profiler_overhead", name, track_rows)
    return {
        "name": name,
        "family": strategy.family if strategy is not None else "",
        "seconds": seconds,
        "spread": spread.describe(fmt_seconds) if spread else ("1 sample, no spread" if samples == 1 else ""),
        "wall": wall,
        "dbapi": wall * share if wall is not None and share is not None else None,
        "share": share,
        "statements": env.value("statements", name, track_rows),
        "speedup": base / seconds if base and seconds else None,
        "floor_ratio": seconds / floor if floor and seconds else None,
        "overhead": overhead,
        "overhead_text": overhead_text(overhead, _noise(env.figure("seconds", name, track_rows))),
        "calls": env.value("function_calls", name, track_rows),
        "instructions": env.value("instructions", name, _instruction_rows(env, rows)),
        "rows_per_second": rows_per_second,
        "capture": capture,
        "marks": [m for m in site.marks_for(env, name) if m.rows in (None, rows, track_rows) and m.confirmed],
    }


def _section(site: SiteData, env: Environment) -> dict[str, Any]:
    rows = site.rows_for(env)
    track_rows = _track_rows(env, rows)
    base = env.value("seconds", registry.one_with_role("baseline"), rows)
    floor = env.value("seconds", registry.one_with_role("floor"), rows)
    table = [r for name in site.strategy_order()
             if (r := _row(site, env, name, rows, track_rows, base, floor)) is not None]
    links = {name: f"{c.stem}.html" for name in site.strategy_order() if (c := site.capture(env, name))}
    # Each bar: a wall time and the share of the same row count.
    shares = [(r["name"], r["wall"], r["share"]) for r in table if r["wall"] is not None and r["share"] is not None]
    series = {}
    for name in site.strategy_order():
        points = []
        for measured_rows in env.rows_measured():
            figure = env.figure("seconds", name, measured_rows)
            if figure is not None and figure.value:
                spread = spread_of(figure)
                points.append(Datum(float(measured_rows), figure.value, spread.low if spread else None,
                                    spread.high if spread else None))
        if points:
            series[name] = points
    return {
        "env": env,
        "rows": rows,
        "track_rows": track_rows,
        "instruction_rows": _instruction_rows(env, rows),
        "floor_measured": floor is not None,
        "table": table,
        "share_chart": share_chart(shares, "DB-API share", links),
        "rows_chart": line_chart(series, title="median seconds by rows", x_title="rows", y_title="seconds",
                                 log_x=True, width=760, legend_links=links),
    }


def scoresheet_page(site: SiteData) -> str:
    sections = [_section(site, env) for env in site.matrix_environments]
    return render("scoresheet.html", current="scoresheet.html", sections=sections, rows=site.rows,
                  baseline=registry.one_with_role("baseline"), floor=registry.one_with_role("floor"),
                  scripts=["table.js"])
