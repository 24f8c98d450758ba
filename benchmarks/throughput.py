"""Rows per second and the client CPU an insert costs (medians of warm, interleaved samples)."""

from __future__ import annotations

from bulkinsert.analysis.metrics import unit_of

from .base import MetricBenchmark


class Throughput(MetricBenchmark):
    """Medians of ``TRACK_ROUNDS`` warm, uninstrumented inserts per strategy x rows (gc off)."""

    def track_rows_per_second(self, metrics: dict, strategy: str, rows: int) -> float:
        """``rows`` ÷ the median wall time of ``strategy`` inserting ``rows`` names, uninstrumented (track pass)."""
        return self.metric("rows_per_second")

    track_rows_per_second.unit = unit_of("track_rows_per_second")

    def track_cpu_seconds(self, metrics: dict, strategy: str, rows: int) -> float:
        """Median client CPU seconds of ``strategy`` inserting ``rows`` names, uninstrumented (track pass)."""
        return self.metric("cpu_seconds")

    track_cpu_seconds.unit = unit_of("track_cpu_seconds")
