"""Deferred index on a populated table: ``copy_deferred_index`` against the indexed COPY paths.

Dropping ``users``' indexes for the load and rebuilding them afterwards wins on an empty table
(one sort instead of a B-tree descent per row), but the rebuild sorts *every* row of the table,
the ones already there included. This command measures both sides, side by side::

    flock /tmp/bulkinsert-heavy.lock .venv/bin/python -m benchmarks.populated_index \
        --present 0,1000000 --added 100000 --rounds 3

For each table state (``--present`` rows already there, ``USER%04d`` names) and round, every
strategy loads the same ``--added`` new names on top: the table is refilled, vacuumed and
checkpointed before each timed load (untimed), the strategies interleaved within a round.
Medians are printed, with each strategy's ratio to the ``populated_reference`` one,
``copy_text_stream`` (the same streamed COPY with the indexes kept). ``--json`` prints the samples too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from statistics import median
from typing import Any

CHECKOUT = Path(__file__).resolve().parents[1]



def _strategies() -> tuple[list[str], str]:
    """The strategies measured and the one they are divided by: their roles in the registry."""
    from bulkinsert.registry import one_with_role, with_role

    return list(with_role("populated_index")), one_with_role("populated_reference")


def _fill(db: Any, present: int) -> None:
    """``present`` rows in ``users`` (the populated workload's own fill, vacuumed), checkpointed: untimed."""
    from bulkinsert.data import workloads

    workloads.get("populated", present=present).reset(db)
    db.checkpoint()


def measure(present_sizes: list[int], added: int, rounds: int) -> dict[str, Any]:
    from bulkinsert import compat, default_names, run_insert
    from bulkinsert.measure.timing import GC_REGIME
    from bulkinsert.pg.database import Database

    strategies, _ = _strategies()
    names = default_names(added, start=max(present_sizes))  # never collide with present rows
    samples: dict[str, dict[str, list[float]]] = {}
    with Database(instrument=False) as db, db.turn:
        for name in strategies:  # first-use costs paid once, untimed
            run_insert(name, default_names(100), db=db)
        for present in present_sizes:
            per_strategy = samples.setdefault(str(present), {name: [] for name in strategies})
            for _ in range(rounds):
                for name in strategies:
                    _fill(db, present)
                    result = run_insert(name, names, db=db, reset=False)
                    assert db.row_count() == present + added
                    per_strategy[name].append(result.seconds)
    return {
        "added": added, "rounds": rounds, "statistic": "median", "gc": GC_REGIME,
        "versions": compat.library_versions(), "samples": samples,
        "median": {p: {n: median(s) for n, s in by.items()} for p, by in samples.items()},
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.populated_index", description=__doc__.split("\n")[0])
    parser.add_argument("--present", default="0,1000000", help="rows already in users, comma-separated")
    parser.add_argument("--added", type=int, default=100_000, help="rows each strategy loads on top")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    # Set here, not at import: asv imports every module of this directory into one process.
    os.environ.setdefault("BULKINSERT_DATA_DIR", str(CHECKOUT / ".pgdata"))
    os.environ.setdefault("BULKINSERT_DATABASE", f"bulkinsert_populated_run_{os.getpid()}")
    present = [int(part.replace("_", "")) for part in args.present.split(",") if part.strip()]
    data = measure(present, args.added, args.rounds)
    from bulkinsert.pg import server

    if not os.environ.get(server.DSN_ENV) and os.environ["BULKINSERT_DATABASE"].endswith(f"_run_{os.getpid()}"):
        server.drop_database(server.embedded_server().dsn("postgres"), os.environ["BULKINSERT_DATABASE"])
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    _, reference = _strategies()
    print(f"{data['added']:,} rows added, median of {data['rounds']} interleaved rounds; {data['gc']}")
    print(f"{'rows present':>12}  {'strategy':<20} {'median s':>9}  {'x ' + reference:>20}  samples")
    for present_text, medians in data["median"].items():
        for name, seconds in medians.items():
            ratio = seconds / medians[reference]
            shown = " ".join(f"{s:.3f}" for s in data["samples"][present_text][name])
            print(f"{int(present_text):>12,}  {name:<20} {seconds:>9.3f}  {ratio:>20.2f}  {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
