"""How much of an insert is spent inside psycopg2 (the talk's "DB API time" column)."""

from __future__ import annotations

from bulkinsert.analysis.metrics import unit_of

from .base import MetricBenchmark


class DriverShare(MetricBenchmark):
    """Time inside driver calls ÷ the wall time of the same instrumented insert (0..1).

    Medians of warm samples. Payload building done inside a driver call (streamed COPY chunks,
    psycopg 3's ``write_row`` loop) is not driver time: it is ``track_encode_share``.
    """

    def track_dbapi_share(self, metrics: dict, strategy: str, rows: int) -> float:
        """Driver-call time ÷ wall time of one insert of ``rows`` names by ``strategy``, calls wrapped (track pass)."""
        return self.metric("dbapi_share")

    track_dbapi_share.unit = unit_of("track_dbapi_share")

    def track_encode_share(self, metrics: dict, strategy: str, rows: int) -> float:
        """Payload-encoding time inside driver calls ÷ wall time of that same instrumented insert (track pass)."""
        return self.metric("encode_share")

    track_encode_share.unit = unit_of("track_encode_share")
