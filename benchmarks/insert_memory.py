"""Client peak memory of one insert: a path that materialises every row twice shows here."""

from __future__ import annotations

from .common import MEMORY_ROWS, STRATEGIES, InsertBenchmark


class InsertMemory(InsertBenchmark):
    """Peak resident memory of the benchmark process through one insert (names list included).

    Not at 1,000 rows by default: there the peak is the interpreter's own baseline.
    """

    params = [STRATEGIES, MEMORY_ROWS]

    def peakmem_insert(self, strategy: str, rows: int) -> None:
        self.insert()
