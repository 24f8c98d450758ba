"""Wall time of one insert at 100,000 rows, every environment: ``make bench-large``.

The same measurement as InsertTime at a larger size, in a class of its own so that ``make bench``
(1,000 and 10,000 rows) stays within its budget and these results join the same commit's like
the scale suite's. Paths that send one statement per row are timed up to 10,000 rows only.
"""

from __future__ import annotations

from . import insert_time
from .sizes import LARGE_ROWS, STRATEGIES


class InsertTimeLarge(insert_time.InsertTime):
    """Seconds for one strategy to insert ``rows`` names (as InsertTime) at the large size."""

    params = [STRATEGIES, LARGE_ROWS]

    def time_insert(self, strategy: str, rows: int) -> None:
        """``strategy`` inserts ``rows`` USER names into the emptied users table and commits."""
        self.insert(self.strategy, self.names)
