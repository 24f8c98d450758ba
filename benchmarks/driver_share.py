"""How much of an insert is spent inside psycopg2 (the talk's "DB API time" column)."""

from __future__ import annotations

from .common import MetricBenchmark, unit_of


class DriverShare(MetricBenchmark):
    """Time inside driver calls ÷ the wall time of the same instrumented insert (0..1).

    Medians of warm samples. Payload building done inside a driver call (streamed COPY chunks,
    psycopg 3's ``write_row`` loop) is not driver time: it is ``track_encode_share``.
    """

    def track_dbapi_share(self, metrics: dict, strategy: str, rows: int) -> float:
        return self.metric("dbapi_share")

    track_dbapi_share.unit = unit_of("track_dbapi_share")

    def track_encode_share(self, metrics: dict, strategy: str, rows: int) -> float:
        return self.metric("encode_share")

    track_encode_share.unit = unit_of("track_encode_share")
