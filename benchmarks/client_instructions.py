"""Client instructions of every strategy's insert, counted by valgrind (callgrind) in one process.

Deterministic like the statement counts, but weighing work done in C (driver adaptation, the
COPY encoders, compiled SQLAlchemy extensions) that call counts miss. One measuring process under
callgrind per environment (:mod:`bulkinsert.measure.instructions`): start-up, imports, connection
and the warm-ups are paid once and never counted. Where valgrind is missing every figure is n/a,
with the one line saying what to install.

Measured at ``BULKINSERT_INSTRUCTION_ROWS`` (100 by default, quick and full runs alike): a count
needs no repetition and no size to rise above noise, and instrumented execution is ~50x slower
than native, so a larger size would only cost time (docs/explanation/instructions.md).
"""

from __future__ import annotations

import os
from typing import Any

from bulkinsert import registry
from bulkinsert.analysis.metrics import metric, unit_of

from .insert_time import DRIVER_AXIS_ELSEWHERE, DRIVERS, SQLALCHEMY_PATHS
from .sizes import QUICK, STRATEGIES, skip_reason
from .track_pass import cached_entry

INSTRUCTIONS = metric("instructions")
INSTRUCTION_ROWS = [int(part) for part in os.environ.get("BULKINSERT_INSTRUCTION_ROWS", "100").split(",")
                    if part.strip()]
# The driver axis doubles an environment's measuring process (docs/explanation/instructions.md):
# quick runs count every strategy on its own driver, full runs the axis too.
AXIS_IN_QUICK_RUNS = "the driver axis's instructions are counted in full runs only (the quick run's time budget)"


def measure_instructions() -> dict[str, Any]:
    """``{"strategy/rows[/driver]": {"instructions": n} | {"skip": why} | {"error": what}}``, one process.

    The driver axis (SQLAlchemy's paths on the other drivers, ``strategy/rows/driver``) is counted
    in the same process, after every strategy on its own driver, where the environment measures
    the axis at all (``DRIVER_AXIS_ELSEWHERE``, as DriverCounts), and in full runs only.
    """
    from bulkinsert.measure.instructions import measure_many

    entries: dict[str, Any] = {}
    requests = []
    for rows in INSTRUCTION_ROWS:
        for name in STRATEGIES:
            reason = skip_reason(registry.get(name), rows)
            if reason is not None:
                entries[f"{name}/{rows}"] = {"skip": f"{name} at {rows} rows: {reason}"}
            else:
                requests.append((name, rows, None))
    for rows in INSTRUCTION_ROWS:
        for name in SQLALCHEMY_PATHS:
            for driver in DRIVERS:
                strategy = registry.get(name).with_driver(driver)
                reason = DRIVER_AXIS_ELSEWHERE or (AXIS_IN_QUICK_RUNS if QUICK else None) or skip_reason(strategy, rows)
                if reason is not None:
                    entries[f"{name}/{rows}/{driver}"] = {"skip": f"{strategy.label} at {rows} rows: {reason}"}
                else:
                    requests.append((name, rows, driver))
    figures = measure_many(requests)[0] if requests else {}
    for (name, rows, driver), figure in figures.items():
        key, label = (f"{name}/{rows}/{driver}", f"{name}+{driver}") if driver else (f"{name}/{rows}", name)
        if figure.instructions is not None:
            entries[key] = {INSTRUCTIONS.attribute: figure.instructions}
        elif figure.skip is not None:
            entries[key] = {"skip": figure.skip}
        else:
            entries[key] = {"error": f"{label} at {rows} rows: {figure.error}"}
    return entries


class InstructionsPass:
    """Base of the instructions benchmarks: one shared ``setup_cache`` (asv keys the cache by
    where it is defined), so one measuring process per environment counts both classes' figures."""

    rounds = 1
    repeat = 1
    timeout = 1800

    def setup_cache(self) -> dict[str, Any]:
        return measure_instructions()


class ClientInstructions(InstructionsPass):
    """Instructions the client executed for one insert (the insert call only)."""

    params = [STRATEGIES, INSTRUCTION_ROWS]
    param_names = ["strategy", "rows"]

    def setup(self, entries: dict[str, Any], strategy: str, rows: int) -> None:
        # NotImplementedError (n/a, with its reason) or RuntimeError (failed), as the pass recorded it.
        self.entry = cached_entry(entries, strategy, rows)

    def track_instructions(self, entries: dict, strategy: str, rows: int) -> float:
        return float(self.entry[INSTRUCTIONS.attribute])

    track_instructions.unit = unit_of(INSTRUCTIONS.method)


class ClientInstructionsByDriver(InstructionsPass):
    """The same count for SQLAlchemy's paths on the other drivers (the drivers page)."""

    params = [SQLALCHEMY_PATHS, INSTRUCTION_ROWS, DRIVERS]
    param_names = ["strategy", "rows", "driver"]

    def setup(self, entries: dict[str, Any], strategy: str, rows: int, driver: str) -> None:
        key = f"{strategy}/{rows}/{driver}"
        self.entry = cached_entry({f"{strategy}/{rows}": entries[key]} if key in entries else {}, strategy, rows)

    def track_instructions(self, entries: dict, strategy: str, rows: int, driver: str) -> float:
        return float(self.entry[INSTRUCTIONS.attribute])

    track_instructions.unit = unit_of(INSTRUCTIONS.method)
