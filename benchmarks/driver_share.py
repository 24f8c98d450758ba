"""How much of an insert is spent inside psycopg2 (the talk's "DB API time" column)."""

from __future__ import annotations

from .common import MetricBenchmark


class DriverShare(MetricBenchmark):
    """Time inside driver calls divided by the insert's wall time (0..1)."""

    def track_dbapi_share(self, metrics: dict, strategy: str, rows: int) -> float:
        return self.metric("dbapi_share")

    track_dbapi_share.unit = "fraction of wall time"
