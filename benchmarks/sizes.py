"""Where the suite runs, at which sizes, and which strategy runs at which size.

Every benchmark is parametrized over ``strategy x rows`` (the registry's strategies) and inserts
the talk's ``USER%04d`` names into an emptied ``users`` table, so every strategy does identical
work. The row counts are knobs: ``BULKINSERT_TIME_ROWS``, ``BULKINSERT_LARGE_ROWS``,
``BULKINSERT_MEMORY_ROWS``, ``BULKINSERT_TRACK_ROWS`` (comma-separated; the same value for the
whole asv run). ``BULKINSERT_QUICK=1`` (``make bench ASV_ARGS=--quick``, and CI's run of every
benchmark) puts every benchmark at one size, ``QUICK_ROWS``.
"""

from __future__ import annotations

import os
from pathlib import Path

# asv installs the package (not editable) into its environments and runs benchmarks from a
# temporary directory, so the package cannot find the checkout's ``.pgdata`` by itself: point
# it there from this file, before ``bulkinsert`` is imported (which reads it lazily anyway).
CHECKOUT = Path(__file__).resolve().parents[1]
os.environ.setdefault("BULKINSERT_DATA_DIR", str(CHECKOUT / ".pgdata"))
# A database of the suite's own on the shared server, so `bulkinsert run` or the tests running
# at the same time neither collide with its tables nor pollute its statement counts.
os.environ.setdefault("BULKINSERT_DATABASE", "bulkinsert_asv")

from bulkinsert import compat, registry  # noqa: E402
from bulkinsert.analysis.status import installed_versions  # noqa: E402
from bulkinsert.measure import runner, suiteconf  # noqa: E402
from bulkinsert.registry import Strategy  # noqa: E402

# Every figure of a quick run at this row count — wall time, the track metrics, memory and the
# scale suite alike — so the scoresheet never sets figures of two row counts side by side, and
# a quick run of every benchmark stays cheap. Each figure is still measured the same way
# (warm-up, gc off, row count checked).
QUICK = os.environ.get("BULKINSERT_QUICK") == "1"
QUICK_ROWS = 1_000


def rows_from_env(variable: str, default: list[int]) -> list[int]:
    """Row counts from ``$variable`` (comma-separated), else ``default`` (``[QUICK_ROWS]`` in a quick run)."""
    text = os.environ.get(variable, "").strip()
    if text:
        return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    return [QUICK_ROWS] if QUICK else default


# asv runs every parameter combination in a process of its own, so the grid, not the inserts,
# dominates a run over 8 environments: wall time at every size, memory where it can differ,
# the per-insert metrics at one reference size.
ROWS = rows_from_env("BULKINSERT_TIME_ROWS", [1_000, 10_000])
# The 100,000-row figures of every environment (insert_large.py, insert_memory.py) are
# `make bench-large`'s, outside make bench's budget.
LARGE_ROWS = rows_from_env("BULKINSERT_LARGE_ROWS", [100_000])
MEMORY_ROWS = rows_from_env("BULKINSERT_MEMORY_ROWS", LARGE_ROWS)
TRACK_ROWS = rows_from_env("BULKINSERT_TRACK_ROWS", [10_000])
STRATEGIES = list(registry.load())

# Interleaved rounds: asv runs the whole grid once per round, in new processes, so a noisy
# minute hurts all strategies alike; `make bench` passes --interleave-rounds, so round 2 starts
# only after every environment's round 1.
ROUNDS = 2
# Samples per round of a timing: (at least, at most, while within seconds). Over the two rounds
# that is what a rank test needs to confirm a x1.2 change between two environments (at least 5
# per side); a full run gives a slow path more time per round.
REPEAT = (3, 5, 1.0) if QUICK else (3, 5, 2.0)
# Rounds of the track metrics' pass: each value is the median of this many warm samples.
# Statements and calls are deterministic; the shares, rows/s, CPU and the profiler overhead are
# descriptive (timings are confirmed with time_insert's samples).
TRACK_ROUNDS = int(os.environ.get("BULKINSERT_TRACK_ROUNDS", "1" if QUICK else "2"))

# Paths that send one INSERT per row are timed up to this size only. Known by role ("per_row";
# "per_row_sa13": plain executemany on 1.3), and by what the server counted in a path's warm-up
# here (InsertBenchmark.setup: e.g. upserts on 1.4).
SLOW_LIMIT_ROWS = 10_000
SENDS_A_STATEMENT_PER_ROW = getattr(runner, "sends_a_statement_per_row", lambda *_: False)  # older commits: none
# Python call counts grow linearly with rows: the code-path metrics stop at this size.
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


def runnable(name: str, rows: int) -> Strategy:
    """The strategy, or NotImplementedError with the reason (asv then records n/a)."""
    strategy = registry.get(name)
    reason = skip_reason(strategy, rows)
    if reason is not None:
        raise NotImplementedError(f"{name} at {rows} rows: {reason}")
    return strategy


def driver_axis_elsewhere() -> str | None:
    """Why this environment does not measure the driver axis, or None (it does).

    SQLAlchemy's paths on psycopg 3, asyncpg and pg8000 (InsertTimeByDriver, DriverCounts) never
    load psycopg2: measured only where psycopg2 is the matrix's newest. InsertTime's paths on
    other drivers stay in every environment: they are a psycopg2 step's controls.
    """
    try:
        conf = suiteconf.read_without_asv(CHECKOUT / "asv.conf.json")
    except (OSError, ValueError):
        return None
    return suiteconf.driver_axis_elsewhere(conf, installed_versions())
