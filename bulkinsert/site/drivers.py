"""The driver page: the same SQLAlchemy code on psycopg2, psycopg 3, asyncpg and pg8000, per environment.

Built from ``InsertTimeByDriver`` (median seconds), ``DriverCounts`` (server statements,
cProfile calls) and ``ClientInstructionsByDriver`` (client instructions, at their own rows): the
figures carrying a ``driver`` parameter; psycopg2's column from the psycopg2 series of the same
run (``InsertTime``, ``ServerStatements``, ``CodePath``, ``ClientInstructions``), which the
driver benchmarks do not measure twice. Every table holds one environment's
newest run only (``results.load_figures`` keeps one commit per environment), so its figures were
measured side by side; ratios are to psycopg2 on the same path. A cell without a figure says why.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import compat, registry
from ..analysis import results
from ..analysis.results import Figure
from ..analysis.status import NOT_WORKING
from ..measure import suiteconf
from .data import SiteData, in_matrix, sample_count, spread_of
from .profiles import safe_name
from .render import render

REFERENCE = "psycopg2"
# asv method -> what the driver table shows (keys of the metric table's attributes).
DRIVER_METHODS = {"time_insert": "seconds", "track_statements": "statements", "track_function_calls": "function_calls",
                  "track_instructions": "instructions"}
INSTRUCTIONS = "instructions"  # counted at their own size (100 rows), not the timings' rows
NO_REASON = "not measured here (asv keeps no reason for an n/a figure)"


# The psycopg2 series' benchmarks that give the psycopg2 column (asv class names).
REFERENCE_SERIES = {"InsertTime", "ServerStatements", "CodePath", "ClientInstructions"}


def is_driver_figure(figure: Figure) -> bool:
    """A figure of the driver axis (it names its driver): never one of the psycopg2 series' cells."""
    return figure.param("driver") is not None


def driver_of(figure: Figure) -> str | None:
    """The driver a figure was measured on, for the drivers page (None: not one of its figures)."""
    if figure.method not in DRIVER_METHODS:
        return None
    if is_driver_figure(figure):
        return str(figure.param("driver"))
    parts = figure.benchmark.split(".")
    if len(parts) < 2 or parts[-2] not in REFERENCE_SERIES:
        return None
    # The series' own driver (results.Identity): the strategy's, never assumed to be psycopg2.
    return figure.identity.driver or REFERENCE


@dataclass
class DriverCell:
    driver: str
    seconds: Figure | None = None
    ratio: float | None = None  # seconds / psycopg2's seconds on the same path
    statements: float | None = None
    calls: float | None = None
    instructions: float | None = None  # at the table's instruction_rows
    failure: Figure | None = None  # a figure that failed or broke: ✗ with its reason
    reason: str | None = None  # why there is no time figure (n/a)
    note: int | None = None  # the number of its reason in the notes under the table (failed or n/a)

    @property
    def spread(self) -> Any:
        return spread_of(self.seconds)

    @property
    def samples(self) -> int | None:
        return sample_count(self.seconds)


@dataclass
class DriverTable:
    """One environment's paths x drivers."""

    machine: str
    env_name: str
    commit: str
    label: str
    versions: dict[str, str]
    rows: int
    count_rows: int | None
    drivers: list[str]
    instruction_rows: int | None = None
    paths: list[tuple[str, list[DriverCell]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # the reasons of failed and n/a cells, each once

    @property
    def anchor(self) -> str:
        return safe_name(f"drivers-{self.machine}-{self.env_name}")

    @property
    def ran(self) -> bool:
        """Whether any driver but psycopg2 has a figure or a failure here."""
        return any(c.driver != REFERENCE and (c.seconds is not None or c.failure is not None)
                   for _, cells in self.paths for c in cells)


def _value(figure: Figure | None) -> float | None:
    if figure is None or figure.value is None or not math.isfinite(figure.value):
        return None
    return figure.value


def _na_reason(name: str, driver: str, versions: dict[str, str], matrix: Mapping[str, Sequence[str]] | None) -> str:
    """Why a path has no figure on ``driver`` in an environment with these requirements."""
    reason = suiteconf.driver_axis_elsewhere({"matrix": {"req": dict(matrix)}}, versions) if matrix else None
    if reason is not None:
        return reason
    reason = compat.driver_refusal_in(driver, versions)
    if reason is not None:
        return reason
    release = next((v for k, v in versions.items() if k.lower() == "sqlalchemy"), "")
    # The strategy's own refusal (e.g. executemany_mode is psycopg2's) holds for this SQLAlchemy
    # series when it is the installed one and the driver is installed here too.
    same_series = release.split(".")[:2] == compat.sqlalchemy.__version__.split(".")[:2]
    if same_series and compat.driver_unsupported_reason(driver) is None:
        try:
            reason = registry.get(name).with_driver(driver).unsupported_reason()
        except KeyError:
            reason = None
        if reason is not None:
            return reason
    return NO_REASON


def _table(figures: Sequence[Figure], libraries: Sequence[str], site_rows: int,
           matrix: Mapping[str, Sequence[str]] | None = None) -> DriverTable:
    first = figures[0]
    cells: dict[tuple[str, str, str, int], Figure] = {}
    on_axis = {figure.strategy for figure in figures if is_driver_figure(figure)}
    # The psycopg2 series first: a driver-axis psycopg2 figure (older runs measured it) wins.
    for figure in sorted(figures, key=is_driver_figure):
        metric = DRIVER_METHODS.get(figure.method)
        if metric is not None and figure.strategy in on_axis and figure.rows is not None:
            cells[(metric, figure.strategy, str(driver_of(figure)), figure.rows)] = figure
    time_rows = sorted({rows for metric, _, _, rows in cells if metric == "seconds"})
    rows = site_rows if site_rows in time_rows or not time_rows else time_rows[-1]
    count_rows_all = sorted({rows_ for metric, _, _, rows_ in cells if metric not in ("seconds", INSTRUCTIONS)})
    instruction_rows = max((rows_ for metric, _, _, rows_ in cells if metric == INSTRUCTIONS), default=None)
    count_rows = rows if rows in count_rows_all or not count_rows_all else count_rows_all[-1]
    present = {driver for _, _, driver, _ in cells}
    drivers = [d for d in compat.SQLALCHEMY_DRIVERS if d in present] + sorted(present - set(compat.SQLALCHEMY_DRIVERS))
    label = " · ".join(f"{lib} {version}" for lib, version in results.environment_key(first, libraries)) \
        or first.env_name
    table = DriverTable(first.machine, first.env_name, first.commit, label, first.versions, rows,
                        count_rows if count_rows_all else None, drivers, instruction_rows)
    order = list(registry.load())
    names = {name for _, name, _, _ in cells}
    for name in [n for n in order if n in names] + sorted(names - set(order)):
        reference = _value(cells.get(("seconds", name, REFERENCE, rows)))
        row = []
        for driver in drivers:
            timing = cells.get(("seconds", name, driver, rows))
            seconds = timing if _value(timing) is not None else None
            cell = DriverCell(driver, seconds=seconds,
                              statements=_value(cells.get(("statements", name, driver, count_rows))),
                              calls=_value(cells.get(("function_calls", name, driver, count_rows))),
                              instructions=_value(cells.get((INSTRUCTIONS, name, driver, instruction_rows))))
            if seconds is not None and reference:
                cell.ratio = seconds.value / reference  # type: ignore[operator]
            if seconds is None:
                failed = next((f for f in (timing, cells.get(("statements", name, driver, count_rows)))
                               if f is not None and f.status in NOT_WORKING), None)
                cell.failure = failed
                if failed is None:
                    cell.reason = _na_reason(name, driver, first.versions, matrix)
            row.append(cell)
        table.paths.append((name, row))
    number_notes(table)
    return table


def cell_reason(cell: DriverCell) -> str | None:
    """What a cell without a timing says: the failure and its reason, or why it is n/a."""
    if cell.failure is not None:
        return f"{cell.failure.status}: {cell.failure.reason or 'reason not recorded'}"
    return cell.reason


def number_notes(table: DriverTable) -> None:
    """Each distinct reason once, numbered, under the table: a cell shows its number, not the text,
    so every driver's column stays narrow enough for all of them to fit side by side."""
    numbers: dict[str, int] = {}
    for _, cells in table.paths:
        for cell in cells:
            reason = cell_reason(cell)
            if cell.seconds is None and reason is not None:
                cell.note = numbers.setdefault(reason, len(numbers) + 1)
    table.notes = list(numbers)


def driver_tables(site: SiteData) -> list[DriverTable]:
    """One table per asv-matrix environment whose results hold the driver axis, in matrix order."""
    groups: dict[tuple[str, tuple], list[Figure]] = {}
    for figure in site.figures:
        if driver_of(figure) is not None:
            if not site.matrix or in_matrix(figure, site.matrix):  # type: ignore[arg-type]
                groups.setdefault((figure.machine, figure.requirements), []).append(figure)
    axis = [figures for figures in groups.values() if any(is_driver_figure(f) for f in figures)]
    ordered = sorted(axis, key=lambda fs: (fs[0].machine, results.environment_order(fs[0], site.libraries),
                                                       fs[0].env_name))
    return [_table(figures, site.libraries, site.rows, site.matrix) for figures in ordered]


def drivers_page(site: SiteData) -> str:
    tables = driver_tables(site)
    shown = [t for t in tables if t.ran]
    quiet = [t for t in tables if not t.ran]
    return render("drivers.html", current="drivers.html", tables=shown, quiet=quiet, reference=REFERENCE,
                  several_machines=len(site.machines) > 1, quiet_reasons=_quiet_reasons(quiet))


def _quiet_reasons(tables: Iterable[DriverTable]) -> dict[str, str]:
    """Why an environment ran no driver but psycopg2: each driver's most frequent reason."""
    from collections import Counter

    reasons = {}
    for table in tables:
        per_driver = {}
        for driver in table.drivers:
            if driver == REFERENCE:
                continue
            found = Counter(c.reason for _, cells in table.paths for c in cells if c.driver == driver and c.reason)
            per_driver[driver] = found.most_common(1)[0][0] if found else NO_REASON
        if len(set(per_driver.values())) == 1:  # one reason for every driver (the axis measured elsewhere): once
            reasons[table.anchor] = next(iter(per_driver.values()))
        else:
            reasons[table.anchor] = "; ".join(f"{driver}: {why}" for driver, why in per_driver.items()) or NO_REASON
    return reasons
