"""The track pass: every ``track_`` metric of every strategy, measured once per environment.

``MetricBenchmark.setup_cache`` (benchmarks/base.py) runs :func:`measure_all`; each ``track_``
method then reads its key from the strategy's entry (the keys of the metric table,
``bulkinsert.analysis.metrics``). The published site shows one cProfile capture per strategy and
environment, at the track size (:func:`profile_path`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from statistics import median
from typing import Any

from bulkinsert import registry
from bulkinsert.data.schema import default_names
from bulkinsert.pg.database import Database

from .sizes import CHECKOUT, PROFILE_LIMIT_ROWS, STRATEGIES, TRACK_ROUNDS, TRACK_ROWS, skip_reason

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


def median_of(values: Iterable[float]) -> float:
    return float(median(list(values)))


def measure_all() -> dict[str, Any]:
    """Every track metric for every strategy x rows: ``{"strategy/rows": entry | {"skip"} | {"error"}}``.

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
                seconds = median_of(r.seconds for r in plain)
                entry = {
                    "seconds": seconds,
                    "cpu_seconds": median_of(r.cpu_seconds for r in plain),
                    "rows_per_second": rows / seconds if seconds > 0 else float("nan"),
                    "statements": plain[-1].statements,
                    "dbapi_share": median_of(r.dbapi_share for r in driver),
                    "encode_share": median_of(r.encode_seconds / r.seconds for r in driver),
                }
                profiled = rounds.of(name, "profiled")
                if profiled and seconds > 0:
                    entry["function_calls"] = profiled[-1].function_calls
                    entry["profiler_overhead"] = median_of(r.seconds for r in profiled) / seconds
                metrics[f"{name}/{rows}"] = entry
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
