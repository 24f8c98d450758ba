"""Planted faults, and the notes that say why a benchmark has no figure.

Measuring how often `bulkinsert compare` is wrong, and that it speaks when a path breaks
(docs/benchmarks.md): a strategy's timed insert is stretched by a factor (a sleep proportional
to its own measured time), or made to raise or to load one row too few. One parser for both
hooks, the release worker's too: :mod:`bulkinsert.measure.planted`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bulkinsert.analysis.status import installed_versions, record_note
from bulkinsert.measure.planted import PlantedError, planted_from_environment
from bulkinsert.pg.database import Database

from .sizes import CHECKOUT

PLANTED = planted_from_environment()
# Where the suite notes why a benchmark failed or broke (asv keeps no error text): next to the
# results asv writes (asv.conf.json's results_dir).
RESULTS_DIR = Path(os.environ.get("ASV_CONF_DIR", CHECKOUT)) / ".asv" / "results"


def note_status(benchmark: object, strategy: str, rows: int, status: str, reason: object) -> None:
    """Record why this combination has no figure (best effort: a note never fails a benchmark)."""
    try:
        record_note(RESULTS_DIR, commit=os.environ.get("ASV_COMMIT", ""), env_name=os.environ.get("ASV_ENV_NAME", ""),
                    versions=installed_versions(), benchmark_class=type(benchmark).__name__,
                    params={"strategy": strategy, "rows": str(rows)}, status=status, reason=reason)
    except OSError:
        pass


def note_sample(benchmark: object, strategy: str, rows: int) -> None:
    """Note one sample just taken, with this process's token (one process, one round): asv keeps
    no round boundaries, and the blocked timing test needs them (bulkinsert.analysis.roundnotes).
    Best effort, after the timed insert: a note never fails a benchmark. Older commits' packages
    (asv runs this suite against them) have no round notes; outside asv (a test calling the
    suite) there is no round to note."""
    if "ASV_ENV_NAME" not in os.environ:
        return
    try:
        from bulkinsert.analysis.roundnotes import record_sample
    except ImportError:
        return
    try:
        record_sample(RESULTS_DIR, benchmark_class=type(benchmark).__name__,
                      params={"strategy": strategy, "rows": str(rows)}, commit=os.environ.get("ASV_COMMIT", ""),
                      env_name=os.environ.get("ASV_ENV_NAME", ""))
    except OSError:
        pass


def plant_fault(db: Database, name: str) -> None:
    """The planted fault of a strategy, after its insert: raise, or delete one loaded row."""
    fault = PLANTED.faults.get(name)
    if fault == "raise":
        raise PlantedError(f"{name}: planted fault (BULKINSERT_PLANT_FAULT)")
    if fault == "wrong-rows":
        with db.dbapi() as conn, conn.cursor() as cur:
            cur.execute("DELETE FROM users WHERE id = (SELECT min(id) FROM users)")


def plant_slowdown(name: str, started: float) -> None:
    """A known regression, to check that `bulkinsert compare` confirms it: sleep (factor - 1) x the insert."""
    factor = PLANTED.slowdowns.get(name)
    if factor:
        time.sleep((factor - 1) * (time.perf_counter() - started))
