"""Wall time of one insert for the workloads beyond the talk's table: ``wide`` and ``populated``.

``wide``: eleven typed columns with edge values (``bulkinsert.data.workloads``), every strategy that
can express them (the others are n/a with their reason), in every environment of the matrix —
SQLAlchemy's and psycopg2's type handling is what differs between releases. ``populated``:
``users`` already holding ``POPULATED_PRESENT`` rows (refilled before every sample, untimed),
in the newest environment only (what it shows is the server's index work, not the libraries').

Sized for the budgets: the quick run (``BULKINSERT_QUICK=1``) measures ``wide`` at one row
count, 1,000, in the newest environment only, and skips ``populated``; ``make bench-workloads``
(not the full ``make bench``: its budget) measures both at 10,000 rows.
``BULKINSERT_WORKLOAD_ROWS`` and ``BULKINSERT_POPULATED_PRESENT`` widen them.
"""

from __future__ import annotations

import os
import sys

from bulkinsert.data import workloads

from .base import InsertBenchmark, database, ready, release
from .sizes import QUICK, rows_from_env, runnable

WORKLOAD_ROWS = rows_from_env("BULKINSERT_WORKLOAD_ROWS", [10_000])
USER_WORKLOADS = [name for name, w in workloads.WORKLOADS.items() if getattr(w, "strategies", ())]
POPULATED_PRESENT = int(os.environ.get("BULKINSERT_POPULATED_PRESENT", "100000").replace("_", ""))


def _in_newest_environment() -> bool:
    from bulkinsert import compat

    from .scale import _newest_in_matrix

    installed = compat.library_versions()
    return all(installed[library] == version for library, version in _newest_in_matrix().items())


class WorkloadInsertTime(InsertBenchmark):
    """Seconds for one strategy to insert ``rows`` rows of ``workload`` and commit."""

    # Quick runs leave populated out of the grid (not just n/a): every combination costs a process.
    # A user's strategy file (BULKINSERT_STRATEGIES_FROM) adds the workloads it registered.
    params = [InsertBenchmark.params[0], (["wide"] if QUICK else ["wide", "populated"]) + USER_WORKLOADS,
              WORKLOAD_ROWS]
    param_names = ["strategy", "workload", "rows"]

    def setup(self, strategy: str, workload: str, rows: int) -> None:  # type: ignore[override]
        from bulkinsert.data import workloads
        from bulkinsert.errors import Unsupported
        from bulkinsert.strategies.wide import for_workload

        if workload == "populated" and QUICK:
            raise NotImplementedError("populated is measured in full runs only (BULKINSERT_QUICK=1)")
        if (workload == "populated" or QUICK) and not _in_newest_environment():
            raise NotImplementedError(f"{workload} runs in the matrix's newest environment only here")
        self.workload = workloads.get(workload, present=POPULATED_PRESENT if workload == "populated" else None)
        registered = runnable(strategy, rows)
        try:  # the strategy's path for this workload: what insert() times
            self.strategy = for_workload(registered, self.workload)
        except Unsupported as exc:
            raise NotImplementedError(str(exc)) from None
        self.names = self.workload.rows(rows)
        self.db = database(instrument=False)
        ready(self.db, registered, self.names)
        self.inserted = False

    def time_insert(self, strategy: str, workload: str, rows: int) -> None:
        """``strategy``'s path for ``workload`` inserts ``rows`` of its rows into the emptied table and commits."""
        self.insert(self.strategy, self.names)

    def teardown(self, strategy: str, workload: str, rows: int) -> None:  # type: ignore[override]
        try:
            if getattr(self, "inserted", False):
                found = self.workload.row_count(self.db)
                expected = self.workload.present + rows
                if found != expected:
                    raise AssertionError(f"{strategy}: {found} rows in {self.workload.table.name}, expected {expected}")
        finally:
            if hasattr(self, "db"):
                release(self.db)


def main(argv: list[str]) -> int:
    """``memory STRATEGY ROWS``: peak client memory of one wide insert (bulkinsert.measure.peakmem), as JSON."""
    import json

    from bulkinsert.measure import peakmem

    if len(argv) != 3 or argv[0] != "memory":
        print("usage: python -m benchmarks.workload_time memory STRATEGY ROWS  (the wide workload)", file=sys.stderr)
        return 2
    try:
        print(json.dumps(peakmem.run(argv[1], int(argv[2]), "wide")))
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
