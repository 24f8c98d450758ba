"""Statements the server executed per insert: deterministic, so any change is a changed path."""

from __future__ import annotations

from bulkinsert.analysis.metrics import unit_of

from .base import MetricBenchmark


class ServerStatements(MetricBenchmark):
    """pg_stat_statements calls during one insert (one per row means a per-row round trip)."""

    def track_statements(self, metrics: dict, strategy: str, rows: int) -> float:
        """Statements the server ran for one insert of ``rows`` names by ``strategy`` (track pass, plain run)."""
        return self.metric("statements")

    track_statements.unit = unit_of("track_statements")
