"""One measurement at a time per server: a session-level advisory lock, waited for in turn.

Every timed insert (``run_insert``, the asv suite's samples) holds the turn from the table reset
to the row-count check, so two processes never time on a server the other is loading, nor
share the ``users`` table in between. The lock lives in the server's ``postgres`` database
(advisory locks are per database), so runs in different databases of one server queue too;
a role that may not connect there falls back to its own database. A process that dies loses
its connection, and the server releases its turn.

A second process waits and prints one line to stderr naming the holder: its
``application_name`` (command, process id, database) — never a DSN. ``BULKINSERT_TURNS=0``
switches turns off for a process (the test suite does).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .server import CONNECT_TIMEOUT_SECONDS, scrub

# pg_advisory_lock(int, int): "bulk" and 2 (1 is the schema lock), shown in pg_locks as
# classid / objid with objsubid = 2.
LOCK_CLASS = 0x62756C6B
LOCK_OBJECT = 2
_APPLICATION_NAME_MAX = 63  # NAMEDATALEN - 1: what PostgreSQL keeps
# BULKINSERT_TURNS=0 switches turns off for a process whose inserts are not measurements (the
# test suite checks correctness, and must not wait minutes behind a benchmark run).
TURNS_ENV = "BULKINSERT_TURNS"

_HOLDER_SQL = (
    "SELECT a.application_name, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s"
    " AND l.objsubid = 2 LIMIT 1"
)


# What this process is doing, shown to a process that waits for it (set by the CLI and the
# asv suite); the script name otherwise.
COMMAND: list[str] = []


def describe_process(command: str) -> None:
    """Name what this process measures (e.g. ``run copy_text``) for anyone waiting on it."""
    COMMAND[:] = [command]


def process_label(dsn: str) -> str:
    """``pid=<pid> db=<database> <command>``: who holds a turn, password-free.

    At most 63 bytes (what PostgreSQL keeps of an ``application_name``).
    """
    from psycopg2.extensions import parse_dsn

    script = sys.argv[0] or "python"
    if os.path.basename(script) == "__main__.py":  # python -m <package>
        script = os.path.dirname(script)
    what = COMMAND[0] if COMMAND else os.path.basename(script)
    database = parse_dsn(dsn).get("dbname", "?")
    text = f"pid={os.getpid()} db={database} {what}"
    return text.encode("utf-8")[:_APPLICATION_NAME_MAX].decode("utf-8", "ignore")


def _maintenance_dsn(dsn: str) -> str:
    """The same server's ``postgres`` database (URL or key=value form)."""
    if "://" in dsn:
        return urlunsplit(urlsplit(dsn)._replace(path="/postgres"))
    return f"{dsn} dbname=postgres"


class MeasuringTurn:
    """The advisory lock of one server, reentrant within the process."""

    def __init__(self, dsn: str, *, label: str | None = None, echo: Callable[[str], None] | None = None) -> None:
        self.dsn = dsn
        self.label = label or process_label(dsn)
        self._echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
        self._conn: Any = None
        self._depth = 0
        self._announced: str | None = None  # the holder last named: one line per holder

    def _connect(self) -> Any:
        import psycopg2

        if self._conn is not None and not self._conn.closed:
            return self._conn
        for target in (_maintenance_dsn(self.dsn), self.dsn):
            try:
                self._conn = psycopg2.connect(
                    target, connect_timeout=CONNECT_TIMEOUT_SECONDS, application_name=self.label
                )
                break
            except psycopg2.OperationalError:
                if target == self.dsn:
                    raise
        self._conn.autocommit = True
        return self._conn

    def acquire(self) -> None:
        """Take the turn, waiting (with one line naming the holder) if another process has it."""
        import psycopg2

        if self._depth:
            self._depth += 1
            return
        if os.environ.get(TURNS_ENV, "1") == "0":
            self._depth = 1  # turns switched off: nothing to wait for, nothing to release
            return
        try:
            self._take()
        except psycopg2.OperationalError:
            self.close()  # a connection the server dropped (restarted, killed): once more, afresh
            self._take()
        self._depth = 1

    def _take(self) -> None:
        import psycopg2

        try:
            conn = self._connect()
            with conn.cursor() as cur:
                cur.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, LOCK_OBJECT))
                taken = cur.fetchone()[0]
                if not taken:
                    cur.execute(_HOLDER_SQL, (LOCK_CLASS, LOCK_OBJECT))
                    holder = cur.fetchone()
                    who = (f"{holder[0] or 'a client'} (server pid {holder[1]})" if holder
                           else "another process")
                    holder_name = holder[0] if holder else None
                    if holder_name is None or holder_name != self._announced:
                        self._echo(scrub(f"waiting for the server: {who} is measuring on it"))
                        self._announced = holder_name
                    cur.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_CLASS, LOCK_OBJECT))
        except psycopg2.Error:
            self.close()
            raise

    def release(self) -> None:
        import psycopg2

        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth or self._conn is None:
            return
        try:
            with self._conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, LOCK_OBJECT))
        except psycopg2.Error:
            self.close()  # the connection is gone, and with it the server-side lock

    def __enter__(self) -> MeasuringTurn:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def close(self) -> None:
        self._depth = 0
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None


_TURNS: dict[str, MeasuringTurn] = {}


def turn_for(dsn: str) -> MeasuringTurn:
    """The process's one turn object for the server of ``dsn`` (shared by its Databases)."""
    key = _maintenance_dsn(dsn)
    if key not in _TURNS:
        _TURNS[key] = MeasuringTurn(dsn)
    return _TURNS[key]
