"""Client peak memory of one insert: a path that materialises every row twice shows here."""

from __future__ import annotations

from .base import InsertBenchmark
from .sizes import MEMORY_ROWS, STRATEGIES


class InsertMemory(InsertBenchmark):
    """Peak resident memory of the benchmark process through one insert (names list included).

    At 100,000 rows by default: at smaller sizes the interpreter's own baseline dominates the
    peak (a quick run measures it at its one size all the same: it checks the path runs).
    """

    params = [STRATEGIES, MEMORY_ROWS]

    def peakmem_insert(self, strategy: str, rows: int) -> None:
        """``strategy`` inserts ``rows`` USER names into the emptied users table and commits."""
        self.insert(self.strategy, self.names)
