"""How much back-to-back runs vary under each CPU placement: ``python -m bulkinsert.measure.placement_check``.

Runs ``bulkinsert run STRATEGY --rows N --json --placement P`` RUNS times back to back (a new
process each time, as a user runs it) for every strategy and placement, and prints the spread
(max ÷ min) of the wall time and of the client CPU time. ``make placement-check`` runs the
per-row paths and COPY at 10,000 rows; the goal under the default placement is a spread of at
most 1.15 for both. Exit status 1 when a figure of the default placement misses that goal.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from statistics import median
from typing import Any

from ..data.schema import DEFAULT_ROWS
from ..pg.placement import CHOICES, DEFAULT
from ..pg.server import held_server
from ..registry import with_role

GOAL = 1.15


def one_run(strategy: str, rows: int, placement: str) -> dict[str, Any]:
    """One ``bulkinsert run --json`` in a process of its own."""
    command = [sys.executable, "-m", "bulkinsert", "run", strategy, "--rows", str(rows), "--json",
               "--placement", placement]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"error: {' '.join(command[2:])}: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout)


def spread(values: list[float]) -> float:
    return max(values) / min(values) if min(values) > 0 else float("inf")


def measure(strategy: str, rows: int, placement: str, runs: int) -> dict[str, Any]:
    """The runs' wall and CPU seconds, their spreads and the placement the first run recorded.

    One more run goes first and is not counted: the first insert after the server started, or
    after the placement moved its processes to other CPUs, ran 1.2-1.6x slower than the runs
    after it (cold shared buffers, relation caches and CPU caches), a first-use cost, not spread.
    """
    one_run(strategy, rows, placement)
    results = [one_run(strategy, rows, placement) for _ in range(runs)]
    wall = [r["seconds"] for r in results]
    cpu = [r["cpu_seconds"] for r in results]
    return {
        "strategy": strategy, "rows": rows, "placement": placement, "runs": runs,
        "seconds": wall, "cpu_seconds": cpu,
        "median_seconds": median(wall), "wall_spread": spread(wall),
        "median_cpu_seconds": median(cpu), "cpu_spread": spread(cpu),
        "applied": results[0].get("placement"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bulkinsert.measure.placement_check",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("strategies", nargs="*", default=list(with_role("placement_check")))
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--placements", default=",".join(CHOICES), help="comma-separated [%(default)s]")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)
    placements = [p.strip() for p in args.placements.split(",") if p.strip()]
    unknown = [p for p in placements if p not in CHOICES]
    if unknown or args.runs < 2 or args.rows < 1:
        parser.error(f"placements are {', '.join(CHOICES)}; --runs >= 2; --rows >= 1")
    with held_server():  # one server for every run: none of them pays for its start
        missed = _report(args.strategies, placements, args.rows, args.runs, json_lines=args.json)
    return 1 if missed else 0


def _report(strategies: list[str], placements: list[str], rows: int, runs: int, *, json_lines: bool) -> bool:
    """Measure and print every strategy under every placement; whether the default missed the goal."""
    missed = False
    if not json_lines:
        print(f"{'strategy':<24} {'placement':<9} {'rows':>8} {'median s':>9} {'max/min':>8} "
              f"{'CPU s':>7} {'max/min':>8}  applied")
    for strategy in strategies:
        for placement in placements:
            row = measure(strategy, rows, placement, runs)
            missed |= placement == DEFAULT and max(row["wall_spread"], row["cpu_spread"]) > GOAL
            if json_lines:
                print(json.dumps(row), flush=True)
                continue
            applied = row["applied"] or {}
            print(f"{strategy:<24} {placement:<9} {rows:>8,} {row['median_seconds']:>9.4f} "
                  f"{row['wall_spread']:>8.2f} {row['median_cpu_seconds']:>7.4f} {row['cpu_spread']:>8.2f}  "
                  f"{applied.get('applied', '?')}{'; ' + applied['note'] if applied.get('note') else ''}",
                  flush=True)
    return missed


if __name__ == "__main__":
    sys.exit(main())
