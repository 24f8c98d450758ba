"""The sweep's table for people: one row per release, a mark where a count changed."""

from __future__ import annotations

from typing import Any


def print_sweep(result: Any, names: list[str]) -> None:
    """The table, then every changed count, slow creep, n/a, failure, broken case and release not measured,
    one line each (with its reason)."""
    from rich.console import Console
    from rich.table import Table

    from .findings import notes_url

    table = Table(title=f"{result.library}, {result.rows:,} rows", caption="statements / function calls / median ms")
    table.add_column("release")
    for name in names:
        table.add_column(name, justify="right")
    previous: dict[str, tuple] = {}
    changes: list[str] = []
    broken: list[str] = []
    reasons: list[str] = []
    for release in result.releases:
        cells = []
        for name in names:
            figures = release.strategies[name]
            if figures.broken:
                broken.append(f"BROKEN: {result.library} {release.version} {name}: {figures.broken}")
            if figures.unsupported or figures.error:
                cells.append("n/a" if figures.unsupported else "failed")
                reasons.append(f"{'n/a' if figures.unsupported else 'failed'}: {result.library} {release.version} "
                               f"{name}: {figures.unsupported or figures.error}")
                continue
            if figures.statements_unavailable:
                reasons.append(f"n/a: {result.library} {release.version} {name} statements: "
                               f"{figures.statements_unavailable}")
            if figures.attempts > 1:
                reasons.append(f"retried: {result.library} {release.version} {name}: first attempt: "
                               f"{figures.first_attempt}")
            key = (figures.statements, figures.function_calls)
            ms = f"{1000 * sorted(figures.seconds)[len(figures.seconds) // 2]:.1f}" if figures.seconds else "-"
            mark = " *" if name in previous and previous[name] != key else ""
            if mark:
                changes.append(f"{name}: {previous[name][0]}/{previous[name][1]} -> {key[0]}/{key[1]} "
                               f"in {release.version} {notes_url(result.library, release.version) or ''}")
            previous[name] = key
            counts = " / ".join("n/a" if value is None else f"{value:,}" for value in key)
            cells.append(f"{counts} / {ms}{mark}" + (" BROKEN" if figures.broken else ""))
        table.add_row(release.version, *cells)
    console = Console(width=max(120, 24 * (len(names) + 1)))
    console.print(table)
    for change in changes:
        console.print(f"changed: {change}", markup=False, highlight=False)
    for crept in result.creep():
        console.print(f"creep: {crept.strategy} {crept.metric} {crept.old_value:,.0f} in {crept.old} -> "
                      f"{crept.new_value:,.0f} in {crept.new}: {crept.reason}", markup=False, highlight=False)
    for line in reasons:
        console.print(line, markup=False, highlight=False)
    for line in broken:
        console.print(line, markup=False, highlight=False)
    for version, reason in result.failed.items():
        console.print(f"not measured {version}: {reason}", markup=False, highlight=False)
    built = result.environments_built
    console.print(f"{len(result.releases)} releases in {result.seconds:.0f} s, {built} environments built; "
                  f"results: {len(result.written)} asv result files on the machine {result.machine}"
                  + (" (dirty work tree)" if result.dirty else ""), markup=False, highlight=False)
