"""Client peak memory of one insert, measured in a fresh interpreter: ``python -m bulkinsert.measure.peakmem``.

``python -m bulkinsert.measure.peakmem STRATEGY ROWS [WORKLOAD]`` prints one JSON object; ``STRATEGY``
is a name or a label with its driver (``orm_bulk_insert+asyncpg``), run on that driver's engine
exactly as a timed insert runs it (:meth:`~bulkinsert.pg.database.Database.call`). A process of
its own, so nothing measured before inflates the high-water mark. The peak is the kernel's
(VmHWM, reset through /proc/self/clear_refs just before the insert), so memory the drivers
allocate in C (libpq buffers, Arrow arrays) counts, which tracemalloc would miss; where
clear_refs is unavailable, ru_maxrss (the process's lifetime peak) stands in and
``exact_peak`` says so. "Size of the input" is the rows' deep size (the list, its strings,
tuples and nested values): what the caller holds before the insert starts.

The scale suite (users at 1,000,000 rows) and the wide workload's command both run it. No
analysis import: it runs in the suite's lean environments.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Sequence
from typing import Any

_USAGE = "usage: python -m bulkinsert.measure.peakmem STRATEGY ROWS [WORKLOAD]"


def _status(field: str) -> int | None:
    """A /proc/self/status figure in bytes (None where there is no /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset the kernel's high-water mark to the current RSS; False when it cannot be reset."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


def deep_size(value: Any) -> int:
    """Bytes of ``value`` with what it holds (lists, tuples, dicts: the wide rows' JSON)."""
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        return size + sum(deep_size(k) + deep_size(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return size + sum(deep_size(v) for v in value)
    return size


def _input_rows(workload_name: str, count: int) -> Sequence[Any]:
    from ..data.schema import default_names
    from ..data.workloads import get

    workload = get(workload_name)
    if workload.single_column:
        return list(default_names(count))  # a plain list of str, as a caller would hold it
    return workload.rows(count)


def _on_its_driver(label: str) -> Any:
    """The strategy a label names: ``name`` on its own driver, ``name+driver`` on that one."""
    from .. import registry

    name, _, driver = label.partition("+")
    return registry.get(name).with_driver(driver or None)


def measure(strategy: str, count: int, workload_name: str = "users") -> dict[str, Any]:
    """Peak RSS increase of one insert of ``count`` rows, in this process (run it in a fresh one)."""
    import gc

    from ..data.workloads import workload_of
    from ..errors import InsertError
    from ..pg.database import Database
    from .runner import before_timer

    rows = _input_rows(workload_name, count)
    workload = workload_of(rows)
    input_bytes = deep_size(rows)
    with Database(instrument=False) as db, db.turn:
        path = before_timer(_on_its_driver(strategy), rows, db)
        exact = _reset_peak()
        before = _status("VmRSS") or 0
        gc.disable()
        started = time.perf_counter()
        try:
            # On the strategy's driver and engine, as every timed insert runs it (Database.call).
            db.call(path.function, rows)
        finally:
            seconds = time.perf_counter() - started
            gc.enable()
        peak = (_status("VmHWM") if exact else None) or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        inserted = workload.row_count(db) - workload.present
    if inserted != count:
        raise InsertError(f"{strategy}: {inserted} rows in {workload.table.name} after inserting {count} rows")
    increase = peak - before
    return {
        "strategy": strategy, "workload": workload.name, "rows": count, "input_bytes": input_bytes,
        "rss_before": before, "rss_peak": peak, "peak_increase": increase,
        "ratio_to_input": increase / input_bytes, "exact_peak": exact, "seconds": seconds,
    }


def run(strategy: str, rows: int, workload: str = "users", *, timeout: float = 1800,
        env: dict[str, str] | None = None) -> dict[str, Any]:
    """:func:`measure` in a fresh interpreter; its last error line when it fails."""
    import subprocess

    done = subprocess.run([sys.executable, "-m", f"{__package__}.peakmem", strategy, str(rows), workload],
                          capture_output=True, text=True, env=env,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"peak memory of {strategy} at {rows} rows ({workload}) failed: {tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: Sequence[str]) -> int:
    if len(argv) not in (2, 3) or not argv[1].replace("_", "").isdigit():
        print(_USAGE, file=sys.stderr)
        return 2
    try:
        print(json.dumps(measure(argv[0], int(argv[1].replace("_", "")), *argv[2:])))
    except Exception as exc:  # noqa: BLE001 - one line for the caller, whatever went wrong
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
