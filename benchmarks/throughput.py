"""Rows per second and the client CPU an insert costs (medians of warm, interleaved samples)."""

from __future__ import annotations

from .common import MetricBenchmark, unit_of


class Throughput(MetricBenchmark):
    """Medians of ``TRACK_ROUNDS`` warm, uninstrumented inserts per strategy x rows (gc off)."""

    def track_rows_per_second(self, metrics: dict, strategy: str, rows: int) -> float:
        return self.metric("rows_per_second")

    track_rows_per_second.unit = unit_of("track_rows_per_second")

    def track_cpu_seconds(self, metrics: dict, strategy: str, rows: int) -> float:
        return self.metric("cpu_seconds")

    track_cpu_seconds.unit = unit_of("track_cpu_seconds")
