"""Python work per insert under cProfile, as SQLAlchemy's own test/aaa_profiling counts it."""

from __future__ import annotations

from bulkinsert.analysis.metrics import unit_of

from .base import MetricBenchmark
from .sizes import PROFILE_LIMIT_ROWS


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
        """Python function calls cProfile counted in one insert of ``rows`` names by ``strategy`` (track pass)."""
        return self.metric("function_calls")

    track_function_calls.unit = unit_of("track_function_calls")

    def track_profiler_overhead(self, metrics: dict, strategy: str, rows: int) -> float:
        """Wall time of that profiled insert ÷ the wall time of the same insert unprofiled (track pass medians)."""
        return self.metric("profiler_overhead")

    track_profiler_overhead.unit = unit_of("track_profiler_overhead")
