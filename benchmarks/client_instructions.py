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

from .sizes import STRATEGIES, skip_reason
from .track_pass import cached_entry

INSTRUCTIONS = metric("instructions")
INSTRUCTION_ROWS = [int(part) for part in os.environ.get("BULKINSERT_INSTRUCTION_ROWS", "100").split(",")
                    if part.strip()]


def measure_instructions() -> dict[str, Any]:
    """``{"strategy/rows": {"instructions": n} | {"skip": why} | {"error": what}}``, one process."""
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
    figures, _ = measure_many(requests)
    for (name, rows, _driver), figure in figures.items():
        if figure.instructions is not None:
            entries[f"{name}/{rows}"] = {INSTRUCTIONS.attribute: figure.instructions}
        elif figure.skip is not None:
            entries[f"{name}/{rows}"] = {"skip": figure.skip}
        else:
            entries[f"{name}/{rows}"] = {"error": f"{name} at {rows} rows: {figure.error}"}
    return entries


class ClientInstructions:
    """Instructions the client executed for one insert (the insert call only)."""

    params = [STRATEGIES, INSTRUCTION_ROWS]
    param_names = ["strategy", "rows"]
    rounds = 1
    repeat = 1
    timeout = 1800

    def setup_cache(self) -> dict[str, Any]:
        return measure_instructions()

    def setup(self, entries: dict[str, Any], strategy: str, rows: int) -> None:
        # NotImplementedError (n/a, with its reason) or RuntimeError (failed), as the pass recorded it.
        self.entry = cached_entry(entries, strategy, rows)

    def track_instructions(self, entries: dict, strategy: str, rows: int) -> float:
        return float(self.entry[INSTRUCTIONS.attribute])

    track_instructions.unit = unit_of(INSTRUCTIONS.method)
