"""Client peak memory of one insert: a path that materialises every row twice shows here."""

from __future__ import annotations

from .common import MEMORY_ROWS, QUICK, STRATEGIES, InsertBenchmark


class InsertMemory(InsertBenchmark):
    """Peak resident memory of the benchmark process through one insert (names list included).

    At 100,000 rows by default: at 10,000 and below the peak is the interpreter's own
    baseline (measured: 46-51 MB for every strategy at 10,000 rows).
    """

    params = [STRATEGIES, MEMORY_ROWS]

    def setup(self, strategy: str, rows: int) -> None:
        if QUICK:  # a fresh 100,000-row insert per strategy: left out of the quick run
            raise NotImplementedError("peak memory is measured in full runs (BULKINSERT_QUICK=1)")
        super().setup(strategy, rows)

    def peakmem_insert(self, strategy: str, rows: int) -> None:
        self.insert()
