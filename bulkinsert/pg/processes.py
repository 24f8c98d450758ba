"""Who uses the shared embedded server, and the reaper that stops it after the last of them.

Every process that uses the server adds its pid to ``<pgdata>/.handle_pids.json``
(:class:`ServerUsers`). A small detached reaper (:func:`ensure_reaper`, running :func:`reap`)
stops the server once no registered process has been alive for ``BULKINSERT_SERVER_LINGER``
seconds. The linger lets ``asv`` (one process per benchmark) reuse one server for a whole run;
the reaper — not ``atexit`` — is what makes a killed run leave no server behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

LINGER_ENV = "BULKINSERT_SERVER_LINGER"
DEFAULT_LINGER_SECONDS = 20.0


def linger_seconds() -> float:
    try:
        return float(os.environ.get(LINGER_ENV, DEFAULT_LINGER_SECONDS))
    except ValueError:
        return DEFAULT_LINGER_SECONDS


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie — exited, not yet reaped by its parent — does not)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class ServerUsers:
    """The pids registered as users of the server in ``pgdata``; call under the server's lock."""

    def __init__(self, pgdata: Path) -> None:
        self.path = pgdata / ".handle_pids.json"

    def prune(self) -> list[int]:
        """Forget users that are gone; return those still alive."""
        if not self.path.exists():
            return []
        try:
            pids = [pid for pid in json.loads(self.path.read_text()) if pid_alive(pid)]
        except (ValueError, TypeError):
            pids = []
        self.path.write_text(json.dumps(pids))
        return pids

    def register(self, pid: int) -> None:
        users = self.prune()
        if pid not in users:
            self.path.write_text(json.dumps([*users, pid]))

    def clear(self) -> None:
        if self.path.exists():
            self.path.write_text("[]")


def ensure_reaper(pgdata: Path, command: list[str]) -> None:
    """Start ``command`` (which runs :func:`reap`) detached, unless a reaper already watches."""
    reaper_pid_file = pgdata / ".reaper.pid"
    if reaper_pid_file.exists():
        try:
            if pid_alive(int(reaper_pid_file.read_text().strip())):
                return
        except ValueError:
            pass
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )
    reaper_pid_file.write_text(str(proc.pid))


class ReapableServer(Protocol):
    """What the reaper needs of a server (:class:`bulkinsert.pg.server.EmbeddedServer`)."""

    pgdata: Path

    def lock(self) -> AbstractContextManager[Any]: ...

    def is_running(self) -> bool: ...

    def stop(self) -> bool: ...


def reap(server: ReapableServer, poll_seconds: float = 1.0) -> None:
    """Run until the server is down: stop it once no user has been alive for the linger."""
    users = ServerUsers(server.pgdata)
    idle_since: float | None = None
    while True:
        time.sleep(poll_seconds)
        with server.lock():
            if not server.is_running():
                return
            alive = users.prune()
        if alive:
            idle_since = None
            continue
        idle_since = idle_since or time.monotonic()
        if time.monotonic() - idle_since >= linger_seconds():
            with server.lock():
                if users.prune():
                    idle_since = None
                    continue
            server.stop()
            return
