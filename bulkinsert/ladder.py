"""The talk's scoresheets in one table: every strategy timed side by side in one run.

Rounds are interleaved (every strategy once per round, best of ``repeat`` kept) so that a
noisy neighbour hurts all strategies alike; ratios are computed within the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .database import Database
from .measure import InsertResult
from .registry import Strategy, Unsupported
from .runner import run_insert
from .schema import default_names

BASELINE = "orm_basic"
# The ratio column divides by the first of these measured in the run: server_copy_file is the
# server's own COPY limit; server_generate is slower than COPY, so only the fallback.
FLOORS = ("server_copy_file", "server_generate")


@dataclass
class LadderRow:
    strategy: str
    family: str
    rows: int
    seconds: float
    cpu_seconds: float
    dbapi_seconds: float
    dbapi_share: float
    statements: int | None
    profiled_seconds: float | None
    function_calls: int | None
    samples: list[float] = field(default_factory=list)
    speedup: float | None = None
    floor_ratio: float | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")

    @property
    def profiler_overhead(self) -> float | None:
        if self.profiled_seconds is None or self.seconds <= 0:
            return None
        return self.profiled_seconds / self.seconds

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
    profile_dir: Path | None = None,
    dsn: str | None = None,
    on_step: Callable[[str], None] | None = None,
) -> tuple[list[LadderRow], dict[str, str]]:
    """Measure ``strategies`` on ``rows`` default names; returns rows and skipped reasons."""
    names = default_names(rows)
    skipped = {s.name: reason for s in strategies if (reason := s.unsupported_reason())}
    runnable = [s for s in strategies if s.name not in skipped]
    plain: dict[str, list[InsertResult]] = {s.name: [] for s in runnable}
    step = on_step or (lambda _label: None)
    with Database(dsn, instrument=False) as fast_db, Database(dsn, instrument=True) as instrumented_db:
        for round_number in range(repeat):
            for strategy in list(runnable):
                step(f"{strategy.name} (timing {round_number + 1}/{repeat})")
                try:
                    plain[strategy.name].append(run_insert(strategy, names, db=fast_db))
                except Unsupported as exc:  # found out by the strategy's prepare step
                    skipped[strategy.name] = str(exc)
                    runnable.remove(strategy)
                    del plain[strategy.name]
        results: list[LadderRow] = []
        for strategy in runnable:
            step(f"{strategy.name} (DB-API time)")
            driver = run_insert(strategy, names, db=instrumented_db)
            profiled = None
            if profile:
                step(f"{strategy.name} (cProfile)")
                path = profile_dir / f"{strategy.name}.prof" if profile_dir else None
                profiled = run_insert(strategy, names, db=fast_db, profile_path=path, count_calls=True)
            best = min(plain[strategy.name], key=lambda r: r.seconds)
            results.append(
                LadderRow(
                    strategy=strategy.name,
                    family=strategy.family,
                    rows=rows,
                    seconds=best.seconds,
                    cpu_seconds=min(r.cpu_seconds for r in plain[strategy.name]),
                    # The share comes from a separate instrumented run; applied to the best
                    # plain time so the columns of one row describe the same insert.
                    dbapi_seconds=min(driver.dbapi_share, 1.0) * best.seconds,
                    dbapi_share=min(driver.dbapi_share, 1.0),
                    statements=best.statements,
                    profiled_seconds=profiled.seconds if profiled else None,
                    function_calls=profiled.function_calls if profiled else None,
                    samples=[r.seconds for r in plain[strategy.name]],
                )
            )
            step("")
    by_name = {row.strategy: row for row in results}
    floor = next((name for name in FLOORS if name in by_name), None)
    for row in results:
        if BASELINE in by_name:
            row.speedup = by_name[BASELINE].seconds / row.seconds
        if floor is not None:
            row.floor_ratio = row.seconds / by_name[floor].seconds
    return results, skipped
