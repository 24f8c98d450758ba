"""Wall time of one insert, the number the talk is about."""

from __future__ import annotations

from .common import InsertBenchmark


class InsertTime(InsertBenchmark):
    """Seconds for one strategy to insert ``rows`` names into an empty table and commit.

    Setup (engine, TRUNCATE, the strategy's own connection) runs before every sample and is
    not timed; ``number = 1`` so each timed insert starts from an empty table.
    """

    def time_insert(self, strategy: str, rows: int) -> None:
        self.insert()
