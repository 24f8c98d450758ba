"""The version matrix: strategies x library releases of the asv matrix, marks from compare.

A cell is coloured only where ``bulkinsert compare`` confirmed a change; everything else shows
its median with its spread and no colour, because a difference of single samples on a shared
machine is noise until a rank test says otherwise.
"""

from __future__ import annotations

from typing import Any

from ..analysis.results import version_key
from .charts import Datum, line_chart
from .data import Environment, SiteData, sample_count, spread_of
from .render import render


def _cell(site: SiteData, env: Environment, name: str) -> dict[str, Any]:
    rows = site.rows_for(env)
    figure = env.figure("seconds", name, rows)
    # A cell carries confirmed findings only; unconfirmed ones are listed below the matrix.
    marks = [m for m in site.marks_for(env, name) if m.rows in (None, rows) and m.confirmed]
    # Colour follows confirmed findings on the time shown; other metrics' findings are marks only.
    verdicts = {m.verdict for m in marks if m.confirmed and m.metric == "time"}
    state = next((state for verdict, state in (("regression", "slower"), ("improvement", "faster"),
                                               ("changed", "changed")) if verdict in verdicts), "")
    spread = spread_of(figure)
    failure = env.failure("seconds", name, rows)
    return {"env": env, "value": figure.value if figure is not None else None, "failure": failure,
            "spread": spread, "samples": sample_count(figure),
            "marks": marks, "state": state, "capture": site.capture(env, name)}


def _charts(site: SiteData, environments: list[Environment]) -> tuple[str, list[dict[str, Any]]]:
    """One chart per strategy: x = releases of the first varying library, a line per the rest."""
    libraries = [lib for lib in site.libraries if lib != "python"] or site.libraries
    if not libraries:
        return "", []
    x_lib = libraries[0]
    releases = sorted({env.versions.get(x_lib, "?") for env in environments}, key=version_key)
    position = {release: float(index) for index, release in enumerate(releases)}
    labels = {float(index): release for index, release in enumerate(releases)}
    charts = []
    for name in site.strategy_order():
        series: dict[str, list[Datum]] = {}
        for env in environments:
            figure = env.figure("seconds", name, site.rows_for(env))
            if figure is None or not figure.value:
                continue
            spread = spread_of(figure)
            others = [f"{lib} {version}" for lib, version in env.key if lib != x_lib]
            if len(site.machines) > 1:
                others.append(f"on {env.machine}")
            series.setdefault(", ".join(others) or "median", []).append(Datum(
                position[env.versions.get(x_lib, "?")], figure.value,
                spread.low if spread else None, spread.high if spread else None))
        chart = line_chart(series, title=f"{name}: median seconds by {x_lib} release", x_title=f"{x_lib} release",
                           y_title="seconds", x_labels=labels, width=560)
        if chart is not None:
            charts.append({"name": name, "chart": chart})
    return x_lib, charts


def versions_page(site: SiteData) -> str:
    environments = site.matrix_environments
    table = []
    for name in site.strategy_order():
        cells = [_cell(site, env, name) for env in environments]
        if any(c["value"] is not None or c["failure"] or c["capture"] is not None for c in cells):
            table.append({"name": name, "cells": cells})
    marks = [(env, name, m) for env in environments for name in site.strategy_order()
             for m in site.marks_for(env, name)]
    confirmed = [item for item in marks if item[2].confirmed]
    unconfirmed = [item for item in marks if not item[2].confirmed]
    x_lib, charts = _charts(site, environments)
    return render("versions.html", current="versions.html", environments=environments, table=table,
                  confirmed=confirmed, unconfirmed=unconfirmed, charts=charts, x_lib=x_lib, rows=site.rows,
                  measured_rows=sorted({site.rows_for(env) for env in site.environments}) or [site.rows],
                  notes=site.notes, several_machines=len(site.machines) > 1)
