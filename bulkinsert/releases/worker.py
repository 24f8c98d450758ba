"""The measuring process inside one release's environment: JSON lines in, JSON lines out.

Started once per environment and kept alive, so every insert after the first is measured warm
(imports, mapper configuration and connections are paid once, outside the samples). The first
line out is ``{"ok": true, "ready": true, "versions"}``, written after the imports and before
any connection; the first request connects (``{"connect": true}`` does only that, answered
``{"ok": true, "connected": true}``). Each request line is
``{"strategy": ..., "rows": ..., "calls": bool, "check": bool}`` (plus
``"driver"`` to run the SQLAlchemy paths on another driver than the strategy's own, ``"workload"`` to
insert another workload's rows than the strategy's own); each answer line is
``{"ok": true, "seconds", "cpu_seconds", "statements", "function_calls", "versions", "placement"}``
(the CPU placement of :mod:`bulkinsert.pg.placement`, from ``$BULKINSERT_PLACEMENT``; on a server
without pg_stat_statements ``"statements"`` is null and ``"statements_unavailable"`` says why), or
``{"ok": false, "unsupported"|"error": "one line"}``. With ``"check": true`` the loaded table is
compared with the inserted rows by :func:`bulkinsert.data.exact.check_exact` after the timer stops
(the same check the tests make); a difference adds ``"not_exact": "one line"`` to the answer,
whose figures still stand, since a release that corrupts data is broken, not unmeasurable.
Anything else the process prints goes to stderr, so stdout carries only answers.
A user's strategy file reaches the worker through ``BULKINSERT_STRATEGIES_FROM`` (an absolute
path, inherited from the parent; :func:`bulkinsert.registry.load` reads it); a strategy written
for a workload of its own (:func:`bulkinsert.data.workloads.register_workload`) inserts those rows.

Test hook: ``BULKINSERT_PLANT_SLOWDOWN=STRATEGY:FACTOR[,…]`` (e.g. ``core_executemany:1.10``;
the asv suite reads the same variable) makes every timed insert of that strategy in this
process take FACTOR times as long, by busy-waiting inside the timed region after the insert
(wall and client CPU time alike, where the suite sleeps; never under cProfile, so call counts
stay true). It exists to measure how small a slowdown ``releases compare`` detects. The
variable is parsed by :mod:`bulkinsert.measure.planted`, the asv suite's parser too.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import sys
import time
from typing import Any

PLANT_VARIABLE = "BULKINSERT_PLANT_SLOWDOWN"


def planted_slowdown() -> dict[str, float]:
    """``copy_text:1.3,core_executemany:1.1`` -> {strategy: factor}: the asv suite's parser."""
    from ..measure.planted import parse_planted

    return parse_planted(os.environ.get(PLANT_VARIABLE, "")).slowdowns


def _slowed(function: Any, factor: float) -> Any:
    def slowed(db: Any, names: Any) -> None:
        started = time.perf_counter()
        function(db, names)
        until = time.perf_counter() + (time.perf_counter() - started) * (factor - 1.0)
        while time.perf_counter() < until:
            pass

    return slowed


class Measurer:
    """One plain and one profiling Database, reused for every request of the process."""

    def __init__(self) -> None:
        from ..pg.database import Database

        self.plain = Database(instrument=False)
        self.plant = planted_slowdown()

    def measure(self, request: dict[str, Any]) -> dict[str, Any]:
        from ..compat import library_versions
        from ..data.exact import NotExact, check_exact
        from ..data.schema import default_names
        from ..data.workloads import get as get_workload
        from ..data.workloads import workload_for
        from ..errors import InsertError, Unsupported
        from ..measure.runner import run_insert
        from ..registry import get

        # a user's strategy file too ($BULKINSERT_STRATEGIES_FROM); on the requested driver, if any
        strategy = get(request["strategy"]).with_driver(request.get("driver"))
        # the requested workload, else its own table and rows when it declared them, else users
        own = get_workload(request["workload"]) if request.get("workload") else workload_for(strategy.name)
        names = own.rows(int(request["rows"])) if own else default_names(int(request["rows"]))
        not_exact = None
        try:
            # The turn is held from the insert through the check, so nothing resets the table between.
            with self.plain.turn:
                if request.get("calls"):
                    result = run_insert(strategy, names, db=self.plain, count_calls=True)
                else:
                    factor = self.plant.get(strategy.name)
                    if factor:
                        strategy = dataclasses.replace(strategy, function=_slowed(strategy.function, factor))
                    result = run_insert(strategy, names, db=self.plain)
                if request.get("check"):
                    try:
                        check_exact(self.plain, names, own)
                    except NotExact as exc:
                        not_exact = str(exc)
        except Unsupported as exc:
            return {"ok": False, "unsupported": str(exc)}
        except InsertError as exc:
            return {"ok": False, "error": str(exc)}
        answer = {
            "ok": True,
            "seconds": result.seconds,
            "cpu_seconds": result.cpu_seconds,
            "statements": result.statements,
            "function_calls": result.function_calls,
            "versions": library_versions(),
            "placement": result.placement,  # $BULKINSERT_PLACEMENT, applied before the timer
        }
        if not_exact is not None:
            answer["not_exact"] = not_exact
        if result.statements is None:  # never a made-up count: null, and the server's reason
            answer["statements_unavailable"] = self.plain.statements_unavailable or "statement count not recorded"
        return answer

    def close(self) -> None:
        self.plain.close()


def _import_measuring_code() -> None:
    """Import what a measurement needs (the release's library with it) before any connection."""
    import importlib

    for name in ("pg.database", "data.exact", "measure.runner", "registry", "strategies", "data.workloads"):
        importlib.import_module(f"{__package__.rpartition('.')[0]}.{name}")


def main() -> None:
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr  # nothing but answers on the protocol stream
    os.dup2(sys.stderr.fileno(), 1)
    measurer = None
    try:
        from ..compat import library_versions

        _import_measuring_code()
        # What was imported lives as long as the process: out of the collector's sight, so the
        # full collection before each timed insert (the GC regime) scans what the inserts made,
        # not SQLAlchemy again; nothing timed changes (docs/results/2026-12-03-sweep-built-ahead.md).
        gc.collect()
        gc.freeze()

        # Hello after the imports, before connecting: a process started ahead of its turn (on a CPU
        # the measurement does not use) pays its imports there and touches the server only later.
        answers.write(json.dumps({"ok": True, "ready": True, "versions": library_versions()}) + "\n")
        for line in sys.stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            if measurer is None:
                measurer = Measurer()  # a failure here ends the process with one error line
            if request.get("connect"):
                answers.write(json.dumps({"ok": True, "connected": True}) + "\n")
                continue
            try:
                answer = measurer.measure(request)
            except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
                message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                answer = {"ok": False, "error": f"{type(exc).__name__}: {message}"}
            answers.write(json.dumps(answer) + "\n")
    except Exception as exc:  # noqa: BLE001 - start-up failure, told to the parent
        answers.write(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}) + "\n")
    finally:
        if measurer is not None:
            measurer.close()


if __name__ == "__main__":
    main()
