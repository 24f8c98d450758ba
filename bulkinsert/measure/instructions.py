"""Client instructions of the timed insert, counted by valgrind's callgrind.

Wall and CPU seconds move with the machine; the instructions a client executes for one insert
hardly do. They are counted like this (the method, and why, in ``docs/explanation/instructions.md``):

* one measuring process per environment runs under ``valgrind --tool=callgrind`` with
  instrumentation and collection off from the start (``--instr-atstart=no --collect-atstart=no``):
  start-up, imports, connections and every strategy's warm-up insert (``{"warm": [...]}``) run
  at valgrind's uninstrumented speed and are never counted;
* a tiny compiled helper issues callgrind's client requests: START_INSTRUMENTATION once, at the
  first region (never stopped again: callgrind 3.19 corrupts the counts after a stop), then
  TOGGLE_COLLECT around the strategy call only and DUMP_STATS_AT after it. The dump (the
  region's ``Ir``) is read back by the same process, so one process measures every figure of
  its environment in turn; the resets between figures run instrumented but uncollected;
* the cost of an empty region (the helper's own calls) is measured in the same process and
  subtracted, so a figure is the insert's own instructions.

What could move a count is fixed and recorded with every figure (:data:`CONDITIONS`): the hash
seed, address-space randomisation (off: ``setarch -R``), the collector (collected before the
region, disabled in it), the valgrind version, one process per environment, and its variables
and working directory (:func:`measuring_environment`). Between figures the process does as
little as it can: what it allocates there moves the addresses the counted code hashes by.

Where valgrind (or a C compiler, or valgrind's headers) is missing every figure is n/a, with
the one line of :func:`unavailable_reason` saying what to install.

The measuring process speaks JSON lines (``python -m bulkinsert.measure.instructions``): first
``{"ok": true, "ready": true, "versions"}``; then ``{"warm": [request, ...]}`` is answered
``{"ok": true, "warmed": n}``, and each request ``{"strategy", "rows", "driver"?, "workload"?,
"present"?, "seed"?}`` ``{"ok": true, "instructions", "empty_region"}`` or
``{"ok": false, "unsupported"|"error": "one line"}``.
"""

from __future__ import annotations

import ctypes
import dataclasses
import gc
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

INSTALL_HINT = "install valgrind and a C compiler (apt-get install valgrind gcc) to count instructions"
HELPER_VARIABLE = "BULKINSERT_CALLGRIND_HELPER"  # the compiled helper, for the measuring process
OUT_VARIABLE = "BULKINSERT_CALLGRIND_OUT"  # callgrind's dump file base (--callgrind-out-file)
HASH_SEED = "0"
# Everything that is fixed for a count, recorded with each figure.
CONDITIONS = {
    "tool": "valgrind --tool=callgrind, Ir of the insert call only (client requests around it)",
    "PYTHONHASHSEED": HASH_SEED,
    "address_randomisation": "off (setarch -R)",
    "gc": "collected before the counted region, disabled in it",
    "process": "one per environment; imports, connection, warm-up and reset uncounted",
    "environment": "a fixed, minimal set of variables padded to a fixed size; an empty working directory",
}

# The helper: callgrind's client requests behind three C functions ctypes can call. Client
# requests are special no-op instruction sequences that only valgrind reacts to, so they
# need compiled code; natively they cost a few instructions and do nothing.
_HELPER_SOURCE = r"""
#include <valgrind/callgrind.h>
int bulkinsert_on_valgrind(void) { return RUNNING_ON_VALGRIND; }
void bulkinsert_instrument(void) { CALLGRIND_START_INSTRUMENTATION; }
void bulkinsert_region_start(void) { CALLGRIND_TOGGLE_COLLECT; }
void bulkinsert_region_stop(const char *label) { CALLGRIND_TOGGLE_COLLECT; CALLGRIND_DUMP_STATS_AT(label); }
"""


class InstructionsUnavailable(RuntimeError):
    """Instructions cannot be counted here; the message is the one line saying why."""


def valgrind_version(valgrind: str = "valgrind") -> str:
    try:
        out = subprocess.run([valgrind, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return "unknown"
    return out.stdout.strip().removeprefix("valgrind-") or "unknown"


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bulkinsert"


def build_helper(cache_dir: Path | None = None) -> Path:
    """The compiled helper (built once per source and machine, then cached); or
    :class:`InstructionsUnavailable` with what to install."""
    digest = hashlib.sha256((_HELPER_SOURCE + platform.machine()).encode()).hexdigest()[:16]
    target = (cache_dir or _cache_dir()) / f"callgrind-requests-{digest}.so"
    if target.exists():
        return target
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise InstructionsUnavailable(f"instructions n/a: no C compiler found; {INSTALL_HINT}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        source = Path(work) / "requests.c"
        source.write_text(_HELPER_SOURCE)
        built = Path(work) / target.name
        result = subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(built), str(source)],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            missing = "callgrind.h" in result.stderr
            why = "valgrind's headers (valgrind/callgrind.h) not found" if missing else "the helper did not compile"
            raise InstructionsUnavailable(f"instructions n/a: {why}; {INSTALL_HINT} (or valgrind-devel)")
        os.replace(built, target)  # atomic: two processes building at once both end with a whole file
    return target


def unavailable_reason() -> str | None:
    """None when instructions can be counted here, else one line saying what to install."""
    if shutil.which("valgrind") is None:
        return f"instructions n/a: valgrind not found; {INSTALL_HINT}"
    if shutil.which("setarch") is None:
        return "instructions n/a: setarch not found (util-linux), needed to fix the address layout"
    try:
        build_helper()
    except InstructionsUnavailable as exc:
        return str(exc)
    except OSError as exc:
        return f"instructions n/a: cannot build the callgrind helper ({exc})"
    return None


def conditions(valgrind_version: str) -> dict[str, str]:
    """:data:`CONDITIONS` with the valgrind version: recorded with every figure."""
    return {**CONDITIONS, "valgrind": valgrind_version}


# The only variables the measuring process gets (plus every ``BULKINSERT_*`` and libpq's ``PG*``):
# what it needs to run and to find its server, nothing that differs from shell to shell.
KEPT_VARIABLES = ("PATH", "HOME", "USER", "LOGNAME", "LD_LIBRARY_PATH", "PYTHONPATH", "XDG_CACHE_HOME", "TMPDIR")
FIXED_VARIABLES = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TZ": "UTC", "PYTHONHASHSEED": HASH_SEED}
ENVIRONMENT_SIZE = 8192  # bytes of variables, padded up to: the initial stack starts at the same address
PAD_VARIABLE = "BULKINSERT_ENVIRONMENT_PAD"


def measuring_environment(given: Mapping[str, str], *, helper: str | os.PathLike[str], out_file: Path,
                          cwd: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """The measuring process's variables: a fixed, minimal set, padded to a fixed size.

    The size of the environment moves the initial stack, and every variable is an object made
    at start-up, so a shell's other variables would shift what the counted code does. The
    server's data directory is resolved here (from ``cwd``'s checkout) unless the
    variables name a server already.
    """
    variables = {name: value for name, value in given.items()
                 if name in KEPT_VARIABLES or name.startswith(("BULKINSERT_", "PG"))}
    variables.pop(PAD_VARIABLE, None)
    if not variables.get("BULKINSERT_DSN") and not variables.get("BULKINSERT_DATA_DIR"):
        from ..pg import server

        checkout = server.find_checkout(Path(cwd) if cwd is not None else None)
        variables["BULKINSERT_DATA_DIR"] = str(checkout / ".pgdata" if checkout is not None else server.data_dir())
    variables.update(FIXED_VARIABLES)
    variables.update({HELPER_VARIABLE: str(helper), OUT_VARIABLE: str(out_file)})
    used = sum(len(name.encode()) + len(value.encode()) + 2 for name, value in variables.items())
    pad = ENVIRONMENT_SIZE - used - len(PAD_VARIABLE) - 2
    if pad > 0:
        variables[PAD_VARIABLE] = "x" * pad
    return variables


def command(python: str | os.PathLike[str], out_file: Path) -> list[str]:
    """The command line of a measuring process: ``python -m bulkinsert.measure.instructions`` under
    callgrind, instrumentation and collection off until a region starts, address layout fixed."""
    valgrind = shutil.which("valgrind") or "valgrind"
    return [
        "setarch", platform.machine(), "-R",
        valgrind, "--tool=callgrind", "--quiet", "--instr-atstart=no", "--collect-atstart=no",
        f"--callgrind-out-file={out_file}", "--dump-line=no",
        str(python), "-m", "bulkinsert.measure.instructions",
    ]


def read_dump(path: Path) -> int:
    """The instructions (``Ir``) of one callgrind dump: its ``summary:`` (or ``totals:``) line."""
    totals = None
    with open(path) as dump:
        for line in dump:
            if line.startswith("summary:"):
                return int(line.split()[1])
            if line.startswith("totals:"):
                totals = int(line.split()[1])
    if totals is None:
        raise ValueError(f"{path}: no summary line in the callgrind dump")
    return totals


class Regions:
    """In the measuring process: count the instructions of a block (callgrind client requests)."""

    def __init__(self, helper: str | os.PathLike[str], out_file: str | os.PathLike[str]) -> None:
        self._lib = ctypes.CDLL(str(helper))
        if not self._lib.bulkinsert_on_valgrind():
            raise InstructionsUnavailable("instructions n/a: this process does not run under valgrind")
        self._start = self._lib.bulkinsert_region_start
        self._stop = self._lib.bulkinsert_region_stop
        self._stop.argtypes = [ctypes.c_char_p]
        self._out_file = str(out_file)
        self._dumps = 0
        self.empty: int | None = None

    def _instrument(self) -> None:
        """Instrumentation on, from the first region on, never switched off again: callgrind 3.19
        corrupts the next dump's counts after a STOP_INSTRUMENTATION (they wrap below zero).
        Then the cost of an empty region (constant once ctypes' first calls are paid)."""
        self._lib.bulkinsert_instrument()
        for _ in range(3):
            self.empty = self._region(lambda: None)

    def _region(self, block: Callable[[], Any]) -> int:
        self._start()
        try:
            block()
        finally:
            self._stop(b"bulkinsert")
            self._dumps += 1
        return read_dump(Path(f"{self._out_file}.{self._dumps}"))

    def count(self, block: Callable[[], Any]) -> int:
        """The instructions ``block()`` executed, less an empty region's."""
        if self.empty is None:
            self._instrument()
        assert self.empty is not None
        return self._region(block) - self.empty


def _plant_sleep(function: Callable[[Any, Any], Any], factor: float) -> Callable[[Any, Any], Any]:
    """``function`` stretched to ``factor`` times its wall time by a sleep, as the asv suite plants it."""
    def with_sleep(db: Any, rows: Any) -> Any:
        started = time.perf_counter()
        result = function(db, rows)
        time.sleep((factor - 1) * (time.perf_counter() - started))
        return result

    return with_sleep


def _plant_work(function: Callable[[Any, Any], Any], units_per_row: int) -> Callable[[Any, Any], Any]:
    """``function`` followed by a fixed amount of pure-Python CPU work per row (never a sleep)."""
    def with_work(db: Any, rows: Any) -> Any:
        result = function(db, rows)
        total = 0
        for i in range(units_per_row * len(rows)):
            total += i & 7
        return result

    return with_work


def get_strategy(request: Mapping[str, Any]) -> Any:
    """The requested strategy, on the requested driver (None: its own)."""
    from ..registry import get

    return get(request["strategy"]).with_driver(request.get("driver"))


def rows_of(request: Mapping[str, Any], strategy: Any, count: int) -> Any:
    """The rows a request inserts: the strategy's own workload's, else the requested workload's
    (``workload``, ``present``, ``seed``; the talk's names by default)."""
    from ..data import workloads

    own = workloads.workload_for(strategy.name)
    if own is not None:
        return own.rows(count)
    workload = workloads.get(request.get("workload") or "users", present=request.get("present"))
    return workload.rows(count, int(request.get("seed") or 0))


class _Measurer:
    """In the measuring process: one Database, every requested figure in turn."""

    def __init__(self, regions: Regions) -> None:
        from ..pg.database import Database
        from .planted import planted_from_environment

        self.regions = regions
        self.db = Database(instrument=False)
        planted = planted_from_environment()
        self.work, self.slowdowns = planted.work, planted.slowdowns

    def warm(self, requests: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Every strategy's warm-up insert (imports, mappers, connections), before instrumentation
        starts: at valgrind's uninstrumented speed. A failure here is left to its figure to report."""
        from .runner import WARM_UP_ROWS, before_timer

        warmed = 0
        for request in requests:
            try:
                strategy = get_strategy(request)
                with self.db.turn:
                    before_timer(strategy, rows_of(request, strategy, WARM_UP_ROWS), self.db)
                warmed += 1
            except Exception:  # noqa: BLE001, S112 - the figure's own request reports it
                continue
        # What the warm-ups made (mappers, caches, compiled statements) out of the collector's
        # sight: the collection before each region then scans only what the last insert left.
        gc.collect()
        gc.freeze()
        return {"ok": True, "warmed": warmed}

    def measure(self, request: Mapping[str, Any]) -> dict[str, Any]:
        from ..data.workloads import workload_of
        from ..errors import InsertError, Unsupported
        from .failures import describe_failure, is_database_error
        from .runner import before_timer, refuse

        strategy = get_strategy(request)
        rows = int(request["rows"])
        names = rows_of(request, strategy, rows)
        units, factor = self.work.get(strategy.name), self.slowdowns.get(strategy.name)
        try:
            with self.db.turn:
                workload = workload_of(names)
                key = strategy.label if workload.single_column else f"{strategy.label}:{workload.name}"
                if key in self.db.warmed:
                    # What a warmed strategy still needs, and no more: the steps between figures run
                    # instrumented (~50x slower). The CPU placement was applied by its warm-up (it
                    # reads /proc: ~6 M instructions a figure); the CHECKPOINT a timing needs is
                    # left out, since the server's work is not counted.
                    strategy, workload = refuse(strategy, names)
                    self.db.use_engine(strategy.engine_kwargs(), strategy.engine_driver)
                    if strategy.setup is not None:
                        strategy.setup(self.db, names)
                    workload.reset(self.db)
                else:  # its warm-up failed before: the whole sequence (it raises what failed)
                    strategy = before_timer(strategy, names, self.db, collect_garbage=False)
                if units:
                    strategy = dataclasses.replace(strategy, function=_plant_work(strategy.function, units))
                if factor:  # a sleep: it must change no count
                    strategy = dataclasses.replace(strategy, function=_plant_sleep(strategy.function, factor))
                gc.collect()
                gc.disable()
                try:
                    instructions = self.regions.count(lambda: self.db.call(strategy.function, names))
                finally:
                    gc.enable()
                inserted = workload.row_count(self.db)
        except Unsupported as exc:
            return {"ok": False, "unsupported": str(exc)}
        except InsertError as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:
            if not is_database_error(exc):
                raise
            return {"ok": False, "error": f"{strategy.label}: {describe_failure(exc)}"}
        if inserted != rows:
            return {"ok": False, "error": f"{strategy.label}: {inserted} rows after inserting {rows}"}
        return {"ok": True, "instructions": instructions, "empty_region": self.regions.empty}

    def close(self) -> None:
        self.db.close()


def main() -> None:
    """The measuring process (under callgrind): JSON lines in on stdin, answers out on stdout."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr  # nothing but answers on the protocol stream
    os.dup2(sys.stderr.fileno(), 1)
    measurer = None
    try:
        from ..compat import library_versions

        for name in ("pg.database", "measure.runner", "registry", "strategies", "data.workloads"):
            __import__(f"bulkinsert.{name}")
        gc.collect()
        gc.freeze()  # what the imports made is out of the collector's sight, as in every measuring process
        regions = Regions(os.environ[HELPER_VARIABLE], os.environ[OUT_VARIABLE])
        answers.write(json.dumps({"ok": True, "ready": True, "versions": library_versions()}) + "\n")
        for line in sys.stdin:
            if not line.strip():
                continue
            if measurer is None:
                measurer = _Measurer(regions)
            request = json.loads(line)
            try:
                answer = measurer.warm(request["warm"]) if "warm" in request else measurer.measure(request)
            except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
                text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                answer = {"ok": False, "error": f"{type(exc).__name__}: {text}"}
            answers.write(json.dumps(answer) + "\n")
    except Exception as exc:  # noqa: BLE001 - start-up failure, told to the parent
        answers.write(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}) + "\n")
    finally:
        if measurer is not None:
            measurer.close()


@dataclasses.dataclass
class Figure:
    """One instructions figure: the count, or why there is none (``skip``: n/a; ``error``: failed)."""

    instructions: int | None = None
    skip: str | None = None
    error: str | None = None


class Counter:
    """A measuring process under callgrind, started once, asked for one figure at a time.

    ``python`` is the interpreter of the environment to measure (this one by default), ``cwd`` and
    ``environ`` its working directory and variables. Raises :class:`InstructionsUnavailable`
    (one line: what to install) where valgrind is missing.
    """

    def __init__(self, python: str | os.PathLike[str] | None = None, *, cwd: str | os.PathLike[str] | None = None,
                 environ: Mapping[str, str] | None = None, dsn: str | None = None, log: Path | None = None) -> None:
        reason = unavailable_reason()
        if reason is not None:
            raise InstructionsUnavailable(reason)
        self._dir = tempfile.TemporaryDirectory(prefix="bulkinsert-callgrind-")
        out_file = Path(self._dir.name) / "callgrind.out"
        given = dict(os.environ if environ is None else environ)
        if dsn is not None:
            given["BULKINSERT_DSN"] = dsn
        variables = measuring_environment(given, helper=build_helper(), out_file=out_file, cwd=cwd)
        self._log = open(log or Path(self._dir.name) / "log", "a")  # noqa: SIM115 - closed in close()
        # Its working directory is its own empty directory (a name of fixed length), whatever
        # ``cwd`` was: nothing there shadows the environment's installed package either.
        self.process = subprocess.Popen(
            command(python or sys.executable, out_file), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._log, text=True, env=variables, cwd=self._dir.name,
        )
        try:
            hello = self._answer()
            if not hello.get("ok"):
                raise RuntimeError(f"instructions: the measuring process failed to start: {hello.get('error')}")
        except BaseException:
            self.close()
            raise
        self.versions: dict[str, str] = hello.get("versions", {})
        self.empty_region: int | None = None  # an empty region's instructions, subtracted from each figure
        self.conditions = conditions(valgrind_version())

    def _answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            self._log.flush()
            tail = Path(self._log.name).read_text(errors="replace").strip().splitlines()[-1:] or [""]
            raise RuntimeError(f"instructions: the measuring process exited ({code}): {tail[0]}")
        return json.loads(line)

    def _request(self, request: Mapping[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # gone: its exit is reported by _answer
        return self._answer()

    def warm(self, strategies: Sequence[tuple[str, str | None]], workload: Mapping[str, Any] | None = None) -> None:
        """Pay every ``(strategy, driver)``'s first-use costs before the first counted region (faster)."""
        self._request({"warm": [{"strategy": name, "driver": driver, **(workload or {})}
                                for name, driver in strategies]})

    def measure(self, strategy: str, rows: int, *, driver: str | None = None,
                workload: Mapping[str, Any] | None = None) -> Figure:
        """One figure: the instructions of one insert of ``rows`` rows with ``strategy``.

        ``workload``: ``{"workload": name, "present": n, "seed": s}`` (the talk's names by default).
        """
        request: dict[str, Any] = {"strategy": strategy, "rows": rows, **(workload or {})}
        if driver is not None:
            request["driver"] = driver
        answer = self._request(request)
        if answer.get("ok"):
            self.empty_region = answer.get("empty_region", self.empty_region)
            return Figure(instructions=int(answer["instructions"]))
        if "unsupported" in answer:
            return Figure(skip=answer["unsupported"])
        return Figure(error=answer.get("error", "unknown error"))

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.close()
                self.process.wait(timeout=120)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self._log.close()
        self._dir.cleanup()

    def __enter__(self) -> Counter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def counter_or_reason(**kwargs: Any) -> Iterator[Counter | str]:
    """A :class:`Counter`, or the one line saying why instructions are n/a here (never raises that)."""
    try:
        counter = Counter(**kwargs)
    except InstructionsUnavailable as exc:
        yield str(exc)
        return
    try:
        yield counter
    finally:
        counter.close()


Request = tuple[str, int, "str | None"]  # (strategy, rows, driver)


def measure_many(requests: Sequence[Request], *, workload: Mapping[str, Any] | None = None,
                 **kwargs: Any) -> tuple[dict[Request, Figure], str | None]:
    """Every ``(strategy, rows, driver)`` in one measuring process: ``({request: Figure}, reason)``.

    ``reason`` is None, or the one line saying why every figure is n/a (valgrind missing).
    A measuring process that dies marks the figures it had not measured as errors. ``kwargs``
    go to :class:`Counter` (``python``, ``cwd``, ``environ``).
    """
    try:
        with counter_or_reason(**kwargs) as counter:
            if isinstance(counter, str):
                return {request: Figure(skip=counter) for request in requests}, counter
            return _measure_with(counter, requests, workload), None
    except RuntimeError as exc:  # the measuring process did not start
        return {request: Figure(error=str(exc)) for request in requests}, None


def _measure_with(counter: Counter, requests: Sequence[Request],
                  workload: Mapping[str, Any] | None) -> dict[Request, Figure]:
    figures: dict[Request, Figure] = {}
    counter.warm(list(dict.fromkeys((strategy, driver) for strategy, _rows, driver in requests)), workload)
    for index, (strategy, rows, driver) in enumerate(requests):
        try:
            figures[(strategy, rows, driver)] = counter.measure(strategy, rows, driver=driver, workload=workload)
        except RuntimeError as exc:  # it died: what it had not measured failed with it
            for rest in requests[index:]:
                figures[rest] = Figure(error=str(exc))
            break
    return figures

if __name__ == "__main__":
    main()
