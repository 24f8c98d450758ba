"""Scale: the COPY-class, peer and floor strategies at 10,000, 100,000 and 1,000,000 rows.

Growth should be linear (rows/s flat across sizes). Besides wall time this tracks rows/s,
the ratio to the server's own COPY of the same rows measured in the same process
(``server_copy_file``, interleaved rounds, medians), and the client's peak memory during the insert
relative to the size of the input list, measured in a fresh process.

Also a command: ``python -m benchmarks.scale memory STRATEGY ROWS`` prints the peak-memory
measurement as JSON (what ``docs/performance.md`` quotes).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from bulkinsert import registry
from bulkinsert.analysis.metrics import unit_of

from .base import InsertBenchmark, MetricBenchmark, database
from .sizes import CHECKOUT, QUICK, QUICK_ROWS, ROUNDS, runnable

# A quick run (BULKINSERT_QUICK=1) measures every scale benchmark once, at the quick size.
SCALE_ROWS = [QUICK_ROWS] if QUICK else [10_000, 100_000, 1_000_000]
SCALE_STRATEGIES = list(registry.with_role("scale"))
FLOOR = registry.one_with_role("floor")
REFERENCE = registry.with_role("reference")
EVERYWHERE_ENV = "BULKINSERT_SCALE_EVERYWHERE"


def _newest_in_matrix() -> dict[str, str]:
    """The newest SQLAlchemy and psycopg2 releases of asv.conf.json's matrix (read without asv)."""
    from bulkinsert.measure import suiteconf

    pins = suiteconf.newest_pins(suiteconf.read_without_asv(CHECKOUT / "asv.conf.json"))
    return {"sqlalchemy": pins.get("SQLAlchemy", "?"), "psycopg2": pins.get("psycopg2-binary", "?")}


def scale_runnable(name: str, rows: int) -> Any:
    """Like ``runnable``, and only in the matrix's newest environment.

    The COPY, peer and floor paths do not go through SQLAlchemy; repeating 1,000,000-row loads
    in all eight environments would multiply the run time for no information. Set
    ``BULKINSERT_SCALE_EVERYWHERE=1`` to run them everywhere.
    """
    from bulkinsert import compat

    strategy = runnable(name, rows)
    if os.environ.get(EVERYWHERE_ENV) != "1":
        installed = compat.library_versions()
        newest = _newest_in_matrix()
        if any(installed[library] != newest[library] for library in newest):
            raise NotImplementedError(
                f"scale runs in the newest environment only (SQLAlchemy {newest['sqlalchemy']}, "
                f"psycopg2 {newest['psycopg2']}); set {EVERYWHERE_ENV}=1 to run it here"
            )
    return strategy


def peak_memory(strategy: str, rows: int, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Client peak RSS increase of one insert of ``rows`` names, in a fresh process (bulkinsert.measure.peakmem)."""
    from bulkinsert.measure import peakmem

    return peakmem.run(strategy, rows, env=env, timeout=600)


class _ScaleBase(InsertBenchmark):
    params = [SCALE_STRATEGIES, SCALE_ROWS]
    timeout = 900
    runnable = staticmethod(scale_runnable)


class ScaleTime(_ScaleBase):
    """Wall seconds of one insert (setup — names, TRUNCATE, connections, staging — untimed).

    Up to 100,000 rows: at 1,000,000 rows the wall time is tracked by ``ScaleTrack`` (rows/s and
    the ratio to the floor, interleaved), which keeps the default run inside its budget.
    """

    params = [SCALE_STRATEGIES, SCALE_ROWS[:-1] or SCALE_ROWS]
    number = 1
    rounds = ROUNDS
    warmup_time = 0.0  # the untimed warm-up insert runs in setup (asv's would insert twice)
    repeat = (2, 4, 10.0)

    def time_insert(self, strategy: str, rows: int) -> None:
        """``strategy`` inserts ``rows`` USER names into the emptied users table (teardown checks the count)."""
        self.insert(self.strategy, self.names)


# Interleaved rounds of the scale pass per row count: one fewer at the largest size (its
# budget), one in a quick run.
SCALE_ROUNDS = 3


def scale_rounds(rows: int) -> int:
    return 1 if QUICK else SCALE_ROUNDS if rows < SCALE_ROWS[-1] else SCALE_ROUNDS - 1


def measure_scale() -> dict[str, Any]:
    """Rows/s, client CPU and ratio to the floor for every strategy x rows, once per environment.

    Per row count, interleaved rounds through ``run_rounds`` (:func:`scale_rounds`): the floor
    and every strategy once per round, each warmed up first; medians kept — so a noisy minute
    hurts the floor and the strategies alike.
    """
    from statistics import median

    from bulkinsert import default_names
    from bulkinsert.measure.runner import Mode, run_rounds

    db = database(instrument=False)
    metrics: dict[str, Any] = {}
    for rows in SCALE_ROWS:
        runnable_here = []
        for name in SCALE_STRATEGIES:
            try:
                runnable_here.append(scale_runnable(name, rows))
            except NotImplementedError as exc:
                metrics[f"{name}/{rows}"] = {"skip": str(exc)}
        if not runnable_here:  # e.g. not the newest environment: do not load 1,000,000 rows for nothing
            continue
        contenders = [registry.get(FLOOR), *[s for s in runnable_here if s.name != FLOOR]]
        rounds = run_rounds(
            contenders, default_names(rows), [Mode("plain", db)],
            rounds=scale_rounds(rows), keep_going=True,
        )
        for name, reason in rounds.skipped.items():
            metrics[f"{name}/{rows}"] = {"skip": reason}
        for name, error in rounds.errors.items():
            metrics[f"{name}/{rows}"] = {"error": f"{name} at {rows} rows: {error}"}
        floor = rounds.of(FLOOR, "plain")
        floor_seconds = median(r.seconds for r in floor) if floor else None
        for strategy in runnable_here:
            results = rounds.of(strategy.name, "plain")
            if not results:
                continue
            seconds = median(r.seconds for r in results)
            metrics[f"{strategy.name}/{rows}"] = {
                "rows_per_second": rows / seconds,
                "cpu_seconds": median(r.cpu_seconds for r in results),
                "floor_ratio": seconds / floor_seconds if floor_seconds else float("nan"),
            }
    return metrics


class ScaleTrack(MetricBenchmark):
    """Rows/s, client CPU and the ratio to the server floor: medians of interleaved rounds.

    Its own ``setup_cache`` (asv keys the cache by where it is defined) measures everything
    once: asv runs each ``track_`` method of each parameter combination in a process of its
    own, which would otherwise repeat 1,000,000-row loads.
    """

    params = [SCALE_STRATEGIES, SCALE_ROWS]

    def setup_cache(self) -> dict[str, Any]:
        return measure_scale()

    def track_rows_per_second(self, metrics: dict[str, Any], strategy: str, rows: int) -> float:
        """``rows`` ÷ the median wall time of ``strategy`` inserting ``rows`` names (scale pass)."""
        return self.metric("rows_per_second")

    track_rows_per_second.unit = unit_of("track_rows_per_second")

    def track_cpu_seconds(self, metrics: dict[str, Any], strategy: str, rows: int) -> float:
        """Median client CPU seconds of ``strategy`` inserting ``rows`` names (scale pass)."""
        return self.metric("cpu_seconds")

    track_cpu_seconds.unit = unit_of("track_cpu_seconds")

    def track_floor_ratio(self, metrics: dict[str, Any], strategy: str, rows: int) -> float:
        """Median wall time of ``strategy``'s insert ÷ the floor's, same ``rows`` names, same rounds."""
        return self.metric("floor_ratio")

    track_floor_ratio.unit = f"x {FLOOR}"


class ScaleMemory:
    """Client peak memory of one insert ÷ size of the input names (fresh process each).

    At the largest size only: below it the interpreter's own baseline dominates the ratio.
    """

    # The reference floors load rows the server makes or reads itself: no client data to hold.
    params = [[name for name in SCALE_STRATEGIES if name not in REFERENCE], SCALE_ROWS[-1:]]
    param_names = ["strategy", "rows"]
    rounds = 1
    repeat = 1
    number = 1
    timeout = 900

    def setup(self, strategy: str, rows: int) -> None:
        scale_runnable(strategy, rows)

    def track_peak_memory_ratio(self, strategy: str, rows: int) -> float:
        """Peak RSS increase of ``strategy`` inserting ``rows`` names in a fresh process ÷ the names' size."""
        return float(peak_memory(strategy, rows)["ratio_to_input"])

    track_peak_memory_ratio.unit = unit_of("track_peak_memory_ratio")


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] != "memory":
        print("usage: python -m benchmarks.scale memory STRATEGY ROWS", file=sys.stderr)
        return 2
    print(json.dumps(peak_memory(argv[1], int(argv[2]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
