"""The talk's scoresheets in one table: every strategy timed side by side in one run.

Rounds are interleaved (:func:`~bulkinsert.measure.runner.run_rounds`: every strategy once per round
in each mode) so that a noisy neighbour hurts all strategies alike; ratios are computed within
the run. Every column is the median of its samples, and every column of one mode comes from
the same samples: wall time, CPU and statements from plain runs; DB-API and encode time from
instrumented runs (whose own wall time is shown beside them); calls and overhead from
profiled runs. Garbage collector: :data:`~bulkinsert.measure.timing.GC_REGIME`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

from .. import registry
from ..data.schema import default_names
from ..data.workloads import Workload
from ..pg.database import Database
from ..registry import Strategy
from .cpuprobe import CpuSpeed
from .runner import Mode, run_rounds
from .timing import InsertResult


def _floors() -> tuple[str, ...]:
    """The ratio column divides by the first of these measured in the run: the floor (the server's
    own COPY), else a reference path (slower than COPY, so only the fallback)."""
    return tuple(dict.fromkeys([*registry.with_role("floor"), *registry.with_role("reference")]))


def _median(results: Sequence[InsertResult], attribute: str) -> float:
    return median(getattr(result, attribute) for result in results)


def overhead_text(overhead: float | None, noise: float | None) -> str | None:
    """The profiler overhead as a page or the console shows it; None when not measured.

    A profiler cannot make an insert faster, so a ratio that does not clear the plain timing's
    own relative spread (``noise``, e.g. 0.08 for 8 %; 0 when unknown) — in particular any
    ratio at or below 1 — is noise of two timings, not a figure: "within noise".
    """
    if overhead is None:
        return None
    if overhead <= 1.0 + max(noise or 0.0, 0.0):
        return "within noise"
    return f"{overhead:.2f}×" + (f" (noise ±{noise:.0%})" if noise else "")


@dataclass
class LadderRow:
    strategy: str  # the strategy's label: its name, with the driver when not its default
    family: str
    rows: int
    seconds: float  # median wall time of the plain samples
    cpu_seconds: float
    statements: int | None
    instrumented_seconds: float | None  # median wall time of the driver-instrumented samples
    dbapi_seconds: float | None  # median time inside driver calls, in those same samples
    encode_seconds: float | None  # median payload building inside driver calls, same samples
    dbapi_share: float | None  # median per-sample DB-API ÷ instrumented wall time
    profiled_seconds: float | None
    function_calls: int | None
    samples: list[float] = field(default_factory=list)
    speedup: float | None = None
    floor_ratio: float | None = None
    driver: str = "psycopg2"  # the DB-API driver the path ran on

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")

    @property
    def profiler_overhead(self) -> float | None:
        """Median profiled ÷ median plain wall time, both warm and from the same rounds."""
        if self.profiled_seconds is None or self.seconds <= 0:
            return None
        return self.profiled_seconds / self.seconds

    @property
    def overhead_text(self) -> str | None:
        """The overhead against the spread of the plain samples (max − min over the median)."""
        noise = (max(self.samples) - min(self.samples)) / self.seconds if self.samples and self.seconds > 0 else None
        return overhead_text(self.profiler_overhead, noise)

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["rows_per_second"] = round(self.rows_per_second, 1)
        data["profiler_overhead"] = self.profiler_overhead
        return data


def run_ladder(
    strategies: Sequence[Strategy],
    rows: int,
    *,
    repeat: int = 3,
    profile: bool = True,
    dbapi: bool = True,
    profile_dir: Path | None = None,
    dsn: str | None = None,
    on_step: Callable[[str], None] | None = None,
    workload: Workload | None = None,
    seed: int = 0,
) -> tuple[list[LadderRow], dict[str, str], CpuSpeed]:
    """Measure ``strategies`` on ``rows`` rows of ``workload`` (default: the talk's names).

    Returns the rows, the skipped strategies' reasons and how fast each CPU ran before each round.
    """
    names = workload.rows(rows, seed) if workload is not None else default_names(rows)
    with Database(dsn, instrument=False) as plain_db, Database(dsn, instrument=True) as driver_db:
        modes = [Mode("timing", plain_db)]
        if dbapi:
            modes.append(Mode("DB-API time", driver_db))
        if profile:
            modes.append(Mode(
                "cProfile", plain_db, count_calls=True,
                profile_path=(lambda name: profile_dir / f"{name}.prof") if profile_dir else None,
            ))
        rounds = run_rounds(strategies, names, modes, rounds=repeat, on_step=on_step, probe_cpus=True)
    results: list[LadderRow] = []
    for strategy in strategies:
        if strategy.label not in rounds.samples:
            continue
        plain = rounds.of(strategy.label, "timing")
        driver = rounds.of(strategy.label, "DB-API time")
        profiled = rounds.of(strategy.label, "cProfile")
        results.append(
            LadderRow(
                strategy=strategy.label,
                family=strategy.family,
                driver=strategy.driver,
                rows=rows,
                seconds=_median(plain, "seconds"),
                cpu_seconds=_median(plain, "cpu_seconds"),
                statements=plain[-1].statements,
                instrumented_seconds=_median(driver, "seconds") if driver else None,
                dbapi_seconds=_median(driver, "dbapi_seconds") if driver else None,
                encode_seconds=_median(driver, "encode_seconds") if driver else None,
                dbapi_share=median(r.dbapi_share for r in driver) if driver else None,
                profiled_seconds=_median(profiled, "seconds") if profiled else None,
                function_calls=profiled[-1].function_calls if profiled else None,
                samples=[r.seconds for r in plain],
            )
        )
    by_name = {row.strategy: row for row in results}
    floor = next((name for name in _floors() if name in by_name), None)
    baseline = registry.one_with_role("baseline")
    for row in results:
        if baseline in by_name:
            row.speedup = by_name[baseline].seconds / row.seconds
        if floor is not None:
            row.floor_ratio = row.seconds / by_name[floor].seconds
    return results, rounds.skipped, rounds.cpu_speed
