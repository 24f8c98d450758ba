"""Statements and function calls of every SQLAlchemy path on every driver (the site's driver table).

Counts are deterministic, so one profiled insert per combination (after the untimed warm-up)
gives both; the keys are those of the metric table (``bulkinsert.analysis.metrics``), so ``compare``
judges them as it judges the psycopg2 series' counts. Times are InsertTimeByDriver's.
"""

from __future__ import annotations

from typing import Any

from bulkinsert import registry
from bulkinsert.analysis.metrics import metric, unit_of
from bulkinsert.data.schema import default_names
from bulkinsert.pg.database import Database

from .insert_time import DRIVER_AXIS_ELSEWHERE, DRIVERS, SQLALCHEMY_PATHS
from .sizes import PROFILE_LIMIT_ROWS, TRACK_ROWS, skip_reason
from .track_pass import cached_entry

STATEMENTS = metric("statements")
CALLS = metric("calls")


def measure_driver_counts() -> dict[str, Any]:
    """``{"strategy/rows/driver": {statements, function_calls} | {"skip": why} | {"error": what}}``."""
    from bulkinsert.measure.runner import Mode, run_rounds

    counts: dict[str, Any] = {}
    if DRIVER_AXIS_ELSEWHERE is not None:  # not this environment's to measure (benchmarks/sizes.py)
        return {f"{name}/{rows}/{driver}": {"skip": f"{name} on {driver}: {DRIVER_AXIS_ELSEWHERE}"}
                for rows in TRACK_ROWS for name in SQLALCHEMY_PATHS for driver in DRIVERS}
    db = Database(instrument=False)
    try:
        for rows in TRACK_ROWS:
            strategies = []
            for name in SQLALCHEMY_PATHS:
                for driver in DRIVERS:
                    strategy = registry.get(name).with_driver(driver)
                    reason = skip_reason(strategy, rows)
                    if reason is not None:
                        counts[f"{name}/{rows}/{driver}"] = {"skip": f"{strategy.label} at {rows} rows: {reason}"}
                    else:
                        strategies.append(strategy)
            # One insert per combination: statements do not depend on the profiler, so the profiled
            # run gives both counts (beyond the profiling limit, a plain run gives statements only).
            profiled = rows <= PROFILE_LIMIT_ROWS
            modes = [Mode("counted", db, count_calls=profiled)]
            rounds = run_rounds(strategies, default_names(rows), modes, rounds=1, keep_going=True)
            for strategy in strategies:
                key = f"{strategy.name}/{rows}/{strategy.driver}"
                if strategy.label in rounds.skipped:
                    counts[key] = {"skip": f"{strategy.label} at {rows} rows: {rounds.skipped[strategy.label]}"}
                elif strategy.label in rounds.errors:
                    counts[key] = {"error": f"{strategy.label} at {rows} rows: {rounds.errors[strategy.label]}"}
                else:
                    sample = rounds.of(strategy.label, "counted")[-1]
                    counts[key] = {STATEMENTS.attribute: sample.statements, CALLS.attribute: sample.function_calls}
    finally:
        db.close()
    return counts


class DriverCounts:
    """Server statements and cProfile calls of one SQLAlchemy path on one driver, per insert."""

    params = [SQLALCHEMY_PATHS, TRACK_ROWS, DRIVERS]
    param_names = ["strategy", "rows", "driver"]
    rounds = 1
    repeat = 1
    timeout = 1800

    def setup_cache(self) -> dict[str, Any]:
        return measure_driver_counts()

    def setup(self, counts: dict[str, Any], strategy: str, rows: int, driver: str) -> None:
        # cached_entry raises NotImplementedError (n/a) or RuntimeError (failed) as the pass recorded it.
        key = f"{strategy}/{rows}/{driver}"
        self.entry = cached_entry({f"{strategy}/{rows}": counts[key]} if key in counts else {}, strategy, rows)

    def _value(self, attribute: str) -> float:
        value = self.entry.get(attribute)
        return float("nan") if value is None else float(value)  # None: no pg_stat_statements / not profiled

    def track_statements(self, counts: dict, strategy: str, rows: int, driver: str) -> float:
        """Statements the server ran for one insert of ``rows`` names by ``strategy`` on ``driver`` (one pass)."""
        return self._value(STATEMENTS.attribute)

    track_statements.unit = unit_of(STATEMENTS.method)

    def track_function_calls(self, counts: dict, strategy: str, rows: int, driver: str) -> float:
        """Python function calls cProfile counted in that same insert on ``driver`` (one pass)."""
        return self._value(CALLS.attribute)

    track_function_calls.unit = unit_of(CALLS.method)

