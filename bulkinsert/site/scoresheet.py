"""The scoresheet: the talk's table per environment, every timing with its spread."""

from __future__ import annotations

from typing import Any

from .. import registry
from ..ladder import BASELINE
from .charts import Datum, fmt_seconds, line_chart, share_chart
from .data import Environment, SiteData, sample_count, spread_of
from .render import render

# The floor: the server copying a file it reads itself, no client involved. server_generate
# (rows the server makes up) is slower than COPY, so it is a reference, never a floor.
FLOOR = "server_copy_file"


def _row(site: SiteData, env: Environment, name: str, rows: int, base: float | None,
         floor: float | None) -> dict[str, Any] | None:
    time_figure = env.figure("seconds", name, rows)
    seconds = env.value("seconds", name, rows)
    share = env.value("dbapi_share", name, rows)
    capture = site.capture(env, name)
    if seconds is None and share is None and capture is None:
        return None
    strategy = registry.load().get(name)
    spread = spread_of(time_figure)
    samples = sample_count(time_figure)
    return {
        "name": name,
        "family": strategy.family if strategy is not None else "",
        "seconds": seconds,
        "spread": spread.describe(fmt_seconds) if spread else ("1 sample, no spread" if samples == 1 else ""),
        "dbapi": seconds * share if seconds is not None and share is not None else None,
        "share": share,
        "statements": env.value("statements", name, rows),
        "speedup": base / seconds if base and seconds else None,
        "floor_ratio": seconds / floor if floor and seconds else None,
        "overhead": env.value("profiler_overhead", name, rows),
        "calls": env.value("function_calls", name, rows),
        "rows_per_second": env.value("rows_per_second", name, rows),
        "capture": capture,
        "marks": [m for m in site.marks_for(env, name) if m.rows in (None, rows) and m.confirmed],
    }


def _section(site: SiteData, env: Environment) -> dict[str, Any]:
    rows = site.rows_for(env)
    base = env.value("seconds", BASELINE, rows)
    floor = env.value("seconds", FLOOR, rows)
    table = [r for name in site.strategy_order() if (r := _row(site, env, name, rows, base, floor)) is not None]
    links = {name: f"{c.stem}.html" for name in site.strategy_order() if (c := site.capture(env, name))}
    shares = [(r["name"], r["seconds"], r["share"]) for r in table
              if r["seconds"] is not None and r["share"] is not None]
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
        "floor_measured": floor is not None,
        "table": table,
        "share_chart": share_chart(shares, "DB-API share", links),
        "rows_chart": line_chart(series, title="median seconds by rows", x_title="rows", y_title="seconds",
                                 log_x=True, width=760, legend_links=links),
    }


def scoresheet_page(site: SiteData) -> str:
    sections = [_section(site, env) for env in site.matrix_environments]
    return render("scoresheet.html", current="scoresheet.html", sections=sections, rows=site.rows,
                  baseline=BASELINE, floor=FLOOR, scripts=["table.js"])
