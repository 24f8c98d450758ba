"""Where the client and the embedded server run: a CPU placement this project picks and pins.

A per-row insert path is one round trip per row: the client sends, the server backend wakes,
answers, the client wakes. Left to the scheduler, the same run was several times slower when
client and backend happened to sit on different CPUs (a cross-CPU wake-up per round trip), so
its timing measured scheduler luck (docs/explanation/methodology.md, "CPU placement"; records in
docs/results/). Every timed insert therefore runs under a
placement chosen here and applied by :func:`bulkinsert.measure.runner.before_timer`:

* ``same-cpu`` (the default): client and every server process on one CPU. A round trip hands
  off on one core; client and server never overlap (measured: the steadiest per-row figures).
* ``split``: client on one CPU, server on another. Client and server can overlap (COPY paths may
  gain); every per-row round trip pays a cross-CPU wake-up.
* ``none``: client and server may use every allowed CPU; the scheduler decides (today's luck).

The server is shared and may have been started (and pinned) by another process, so the
postmaster and all its current children are pinned each time (new backends inherit the
postmaster's affinity when it forks them); the client's every thread is pinned. The CPUs come
from ``os.sched_getaffinity(0)`` as first seen by the process (a cgroup cpuset or ``taskset``
narrows them); with one CPU ``split`` degrades to one CPU and says so. An external server
(``BULKINSERT_DSN``) is not pinned: only the client is, and the record says so.

Which CPU: the one the machine's other work leaves most idle, measured once per process over
50 ms of ``/proc/stat`` when it first applies a placement, and kept for the process's life (its
samples never move). Always taking the same CPU stacked every concurrent run of this project
(a test suite, a benchmark run) on that one CPU while another stood idle, and a whole
environment of a benchmark run then measured its neighbours.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import InsertError

PLACEMENT_ENV = "BULKINSERT_PLACEMENT"
SAME_CPU, SPLIT, NONE = "same-cpu", "split", "none"
CHOICES = (SAME_CPU, SPLIT, NONE)
DEFAULT = SAME_CPU
ALLOWED_ENV = "BULKINSERT_ALLOWED_CPUS"

_selected: str | None = None  # set by the CLI's --placement; wins over the environment
_allowed: tuple[int, ...] | None = None  # the CPUs this process was allowed when first asked
_last: Placement | None = None
_order: tuple[int, ...] | None = None  # the allowed CPUs, idlest first, as seen at the first placement
IDLE_WINDOW_SECONDS = 0.05


@dataclass(frozen=True)
class Placement:
    """What was applied before a timed insert (``None`` CPUs: not pinned, scheduler decides)."""

    mode: str  # what was asked for: same-cpu, split or none
    applied: str  # what happened: same-cpu, split or none (split degrades to same-cpu on 1 CPU)
    allowed_cpus: tuple[int, ...]
    client_cpus: tuple[int, ...] | None
    server_cpus: tuple[int, ...] | None
    server_processes: int  # server processes whose affinity was set (0: server not pinned)
    note: str | None = None  # why the placement is less than asked for

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("allowed_cpus", "client_cpus", "server_cpus"):
            data[key] = list(data[key]) if data[key] is not None else None
        return data

    def describe(self) -> str:
        """One line for people: ``same-cpu (client CPU 1, server CPU 1: 9 processes)``."""

        def cpus(value: tuple[int, ...] | None) -> str:
            if value is None:
                return "any allowed CPU"
            return ("CPU " if len(value) == 1 else "CPUs ") + ",".join(map(str, value))

        server = "server not pinned"
        if self.server_processes:
            server = f"server {cpus(self.server_cpus)}: {self.server_processes} processes"
        text = f"{self.applied} (client {cpus(self.client_cpus)}, {server})"
        return f"{text}; {self.note}" if self.note else text


def _check(mode: str, source: str) -> str:
    if mode not in CHOICES:
        raise InsertError(f"{source}={mode!r}: choose one of {', '.join(CHOICES)}")
    return mode


def select(mode: str | None) -> None:
    """Use ``mode`` for every later timed insert of this process (None: back to the environment)."""
    global _selected
    _selected = _check(mode, "--placement") if mode is not None else None


def current_mode() -> str:
    """The placement asked for: ``--placement``, else ``$BULKINSERT_PLACEMENT``, else the default."""
    if _selected is not None:
        return _selected
    value = os.environ.get(PLACEMENT_ENV, "").strip()
    return _check(value, PLACEMENT_ENV) if value else DEFAULT


def allowed_cpus() -> tuple[int, ...]:
    """The CPUs this process may use, as first seen (before it pinned itself).

    A child of a pinned process inherits its one CPU; ``$BULKINSERT_ALLOWED_CPUS`` (set here for
    children) gives it back the set its parent started with, when that set contains its own.
    """
    global _allowed
    if _allowed is None:
        own = set(os.sched_getaffinity(0))
        try:
            inherited = {int(cpu) for cpu in os.environ.get(ALLOWED_ENV, "").split(",") if cpu.strip()}
        except ValueError:
            inherited = set()
        _allowed = tuple(sorted(inherited if inherited > own else own))
        os.environ[ALLOWED_ENV] = ",".join(map(str, _allowed))
    return _allowed


def busy_shares(cpus: tuple[int, ...], window: float = IDLE_WINDOW_SECONDS) -> dict[int, float]:
    """Each CPU's busy share (0-1) over ``window`` seconds of ``/proc/stat``; {} where it cannot be read."""
    def read() -> dict[int, tuple[int, int]]:
        totals: dict[int, tuple[int, int]] = {}
        try:
            with open("/proc/stat") as stat:
                for line in stat:
                    name, *fields = line.split()
                    if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
                        ticks = [int(field) for field in fields[:8]]
                        totals[int(name[3:])] = (sum(ticks), ticks[3] + ticks[4])  # all, idle + iowait
        except OSError:
            return {}
        return totals

    import time

    before = read()
    time.sleep(window)
    after = read()
    shares = {}
    for cpu, (total, idle) in after.items():
        if cpu in before and total > before[cpu][0]:
            elapsed = total - before[cpu][0]
            shares[cpu] = 1 - (idle - before[cpu][1]) / elapsed
    return shares


def preferred_order(allowed: tuple[int, ...]) -> tuple[int, ...]:
    """The allowed CPUs, idlest first (decided once per process); ties go to the higher CPU.

    CPU 0 is where many machines route device interrupts, hence higher first on a tie; busy
    shares are compared to the nearest 10 %, so a tick of noise does not decide.
    """
    global _order
    if _order is None or set(_order) != set(allowed):
        shares = busy_shares(allowed) if len(allowed) > 1 else {}
        _order = tuple(sorted(allowed, key=lambda cpu: (round(shares.get(cpu, 0.0), 1), -cpu)))
    return _order


def plan(
    mode: str, allowed: tuple[int, ...], order: tuple[int, ...] | None = None,
) -> tuple[str, tuple[int, ...] | None, tuple[int, ...] | None, str | None]:
    """(applied mode, client CPUs, server CPUs, note) for ``mode`` on the ``allowed`` CPUs.

    ``order``: the allowed CPUs in order of preference (default: the last allowed CPU first).
    """
    order = order or tuple(reversed(allowed))
    if mode == NONE:
        return NONE, None, None, None
    if mode == SPLIT and len(allowed) < 2:
        only = order[0]
        return SAME_CPU, (only,), (only,), f"split needs 2 CPUs, only CPU {only} is allowed: client and server share it"
    if mode == SPLIT:
        return SPLIT, (order[0],), (order[1],), None
    return SAME_CPU, (order[0],), (order[0],), None


def pin_client(cpus: tuple[int, ...]) -> None:
    """Pin every thread of this process (``sched_setaffinity(0)`` alone sets the calling one)."""
    try:
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]
    for tid in threads:
        try:
            os.sched_setaffinity(tid, cpus)
        except ProcessLookupError:  # the thread ended meanwhile
            continue


def pin_server(postmaster_pid: int, cpus: tuple[int, ...]) -> tuple[int, str | None]:
    """Pin the postmaster and all its current children; (processes pinned, note if it failed).

    Empty ``cpus``: every CPU the machine has (psutil's meaning), i.e. unpinned.
    Backends forked later inherit the postmaster's affinity. Pinning another user's processes
    (the embedded server runs as a user of its own under root) needs root.
    """
    import psutil

    try:
        postmaster = psutil.Process(postmaster_pid)
        processes = [postmaster, *postmaster.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, "server not pinned: its postmaster is gone"
    pinned = 0
    for process in processes:
        try:
            process.cpu_affinity(list(cpus))
            pinned += 1
        except psutil.NoSuchProcess:  # a backend that exited meanwhile
            continue
        except psutil.AccessDenied:
            if process.pid == postmaster_pid:
                return 0, "server not pinned: no permission to set its processes' CPU affinity"
    return pinned, None


def apply(postmaster_pid: int | None, mode: str | None = None) -> Placement:
    """Pin the client (and the server whose postmaster is given) for ``mode``; remember it.

    ``postmaster_pid`` None: an external server, which is left alone and recorded as not pinned.
    ``none`` resets both to every CPU they may use, undoing an earlier run's pinning of the shared server.
    """
    global _last
    mode = mode or current_mode()
    allowed = allowed_cpus()
    applied, client, server, note = plan(mode, allowed, preferred_order(allowed) if mode != NONE else None)
    pin_client(client or allowed)
    pinned = 0
    if postmaster_pid is None:
        server = None
        note = "; ".join(filter(None, (note, "external server: not pinned")))
    else:
        pinned, failed = pin_server(postmaster_pid, server or ())  # (): every CPU of the machine
        if failed:
            server = None
            note = "; ".join(filter(None, (note, failed)))
    _last = Placement(mode, applied, allowed, client, server, pinned, note)
    return _last


def click_option() -> Any:
    """The ``--placement`` option of ``bulkinsert run`` and ``ladder`` (``$BULKINSERT_PLACEMENT``)."""
    import click

    return click.option(
        "--placement", type=click.Choice(CHOICES), envvar=PLACEMENT_ENV, default=DEFAULT,
        show_default=True, show_envvar=True,
        help="CPUs of client and embedded server: same-cpu (one CPU for both), split (one each), "
        "none (the scheduler decides).",
    )


def last_applied() -> Placement | None:
    """The placement of this process's latest timed insert (None before the first)."""
    return _last
