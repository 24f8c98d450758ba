"""Python work per insert under cProfile, as SQLAlchemy's own test/aaa_profiling counts it."""

from __future__ import annotations

from .common import PROFILE_LIMIT_ROWS, MetricBenchmark, unit_of


class CodePath(MetricBenchmark):
    """Function calls are deterministic for a code path; the overhead says how far to trust
    a profile of this strategy (a large ratio means the profile mostly measures itself)."""

    def setup(self, metrics: dict, strategy: str, rows: int) -> None:
        if rows > PROFILE_LIMIT_ROWS:
            raise NotImplementedError(
                f"{strategy} at {rows} rows: profiled up to {PROFILE_LIMIT_ROWS:,} rows only "
                "(call counts grow linearly with rows)"
            )
        super().setup(metrics, strategy, rows)

    def track_function_calls(self, metrics: dict, strategy: str, rows: int) -> float:
        return self.metric("function_calls")

    track_function_calls.unit = unit_of("track_function_calls")

    def track_profiler_overhead(self, metrics: dict, strategy: str, rows: int) -> float:
        return self.metric("profiler_overhead")

    track_profiler_overhead.unit = unit_of("track_profiler_overhead")
