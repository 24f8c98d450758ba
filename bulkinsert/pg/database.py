"""Connections to the benchmark database, prepared outside the timed region."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from .. import compat
from ..data import schema
from ..data.workloads import DEFAULT_WORKLOAD, WORKLOADS
from . import server
from .dbapitimer import TimedConnection, time_dialect_calls
from .turns import turn_for


def sqlalchemy_url(dsn: str) -> str:
    """The SQLAlchemy URL (psycopg2 dialect) for a libpq URL or key=value DSN."""
    if dsn.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg2://" + dsn.split("://", 1)[1]
    if "://" in dsn:
        return dsn
    return "postgresql+psycopg2://"  # key=value DSN: handed to psycopg2 as keyword arguments


# Statements executed in this database so far. ``pg_stat_statements(false)`` does not read the
# query texts (a file shared by every database of the server, so reading it costs more the
# busier the server is). The snapshot's own statement is left out by its queryid, which
# one lookup by text finds once (only what runs between two snapshots changes their difference).
_THIS_DATABASE = "(SELECT oid FROM pg_database WHERE datname = current_database())"
_STATEMENTS_MARK = "/* bulkinsert statement count */"
_STATEMENTS_SQL = (
    "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements(false)"
    f" WHERE dbid = {_THIS_DATABASE} AND queryid <> %s::bigint {_STATEMENTS_MARK}"
)
_OWN_QUERYID_SQL = (
    f"SELECT queryid FROM pg_stat_statements WHERE dbid = {_THIS_DATABASE} AND query LIKE %s LIMIT 1"
)
# Advisory lock key (any bigint unique to this project) serialising CREATE TABLE users.
SCHEMA_LOCK_KEY = 0x62756C6B_0001


class Database:
    """The ``users`` table on one server, with an engine configured for one strategy.

    ``instrument`` wraps the psycopg2 connection and cursors (other drivers: the dialect's
    calls into them) so that time spent inside driver calls is measured (the talk's "DB API
    time"); timing benchmarks turn it off.

    Bookkeeping (reset, counts, the ``dbapi()`` connection) always runs on psycopg2. A strategy
    on another driver (:meth:`use_engine`) sees that driver's engine as ``self.engine`` only
    while :meth:`call` runs it; on asyncpg, inside ``greenlet_spawn`` on this object's loop.
    """

    def __init__(self, dsn: str | None = None, *, instrument: bool = True) -> None:
        self.dsn = server.resolve_dsn(dsn)
        self.instrument = instrument
        self._engines: dict[tuple, sa.engine.Engine] = {}
        self._async_engines: list[Any] = []
        self._loop: Any = None  # asyncpg's event loop, made with its engine (before any timer)
        self.driver = compat.DEFAULT_DRIVER
        self.engine = self.engine_with()
        self._driver_engine: sa.engine.Engine | None = None
        self._observer: Any = None
        self._statements_error: str | None = None
        self._own_queryid: int | None = None
        # Connections of other drivers a strategy's setup hook opened, keyed by their class;
        # closed with this Database.
        self.extras: dict[type, Any] = {}
        self.warmed: set[str] = set()  # strategies whose first-use costs were paid on this object
        self.warm_up_statements: dict[str, int] = {}  # server statements of each warm-up insert
        # This server's measuring turn: held from a timed insert's reset to its row count.
        self.turn = turn_for(self.dsn)  # shared by every Database of this process on this server
        with self.engine.begin() as conn:
            # Two processes creating the table at once would race on the catalog's unique
            # indexes: a transaction-scoped advisory lock makes the second wait, then see it.
            compat.exec_driver_sql(conn, "SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
            schema.Base.metadata.create_all(conn)

    # -- engines and connections -------------------------------------------------------
    def engine_with(self, driver: str = compat.DEFAULT_DRIVER, **options: Any) -> sa.engine.Engine:
        key = (driver, *sorted(options.items()))
        if key not in self._engines:
            if driver == compat.DEFAULT_DRIVER:
                connect_args: dict[str, Any] = {"connect_timeout": server.CONNECT_TIMEOUT_SECONDS}
                if "://" not in self.dsn:  # key=value: its settings as libpq reads them (SQLAlchemy 2 passes dsn="")
                    connect_args.update(server.parse_dsn(self.dsn))
                if self.instrument:
                    connect_args["connection_factory"] = TimedConnection
                engine = sa.create_engine(
                    sqlalchemy_url(self.dsn), connect_args=connect_args, pool_size=2, **options
                )
            else:
                engine, async_engine = compat.create_driver_engine(
                    self.dsn, driver, server.CONNECT_TIMEOUT_SECONDS, pool_size=2, **options
                )
                if async_engine is not None:
                    self._async_engines.append(async_engine)
                if self.instrument:
                    time_dialect_calls(engine.dialect)
            # Dialect initialisation queries happen here, not timed.
            self._in_driver(driver, lambda: engine.connect().close())
            self._engines[key] = engine
        return self._engines[key]

    def _in_driver(self, driver: str, function: Any, *args: Any) -> Any:
        if driver != "asyncpg":
            return function(*args)
        if self._loop is None:
            import asyncio

            self._loop = asyncio.new_event_loop()
        return compat.run_in_greenlet(self._loop, function, *args)

    def use_engine(self, options: dict[str, Any], driver: str = compat.DEFAULT_DRIVER) -> None:
        """Make the engine a strategy asked for, on ``driver``, current (created and warmed up now)."""
        self.driver = driver
        if driver == compat.DEFAULT_DRIVER:
            self.engine = self.engine_with(**options)
            self._driver_engine = None
        else:
            self.engine = self.engine_with()
            self._driver_engine = self.engine_with(driver, **options)

    def call(self, function: Any, rows: Any) -> Any:
        """``function(self, rows)`` on the current driver: its engine as ``self.engine`` meanwhile."""
        if self._driver_engine is None:
            return function(self, rows)
        home, self.engine = self.engine, self._driver_engine
        try:
            return self._in_driver(self.driver, function, self, rows)
        finally:
            self.engine = home

    @contextmanager
    def session(self) -> Iterator[Any]:
        """An ORM Session on the strategy's engine, closed (rolled back if uncommitted) after."""
        session = sessionmaker(bind=self.engine)()
        try:
            yield session
        finally:
            session.close()

    @contextmanager
    def dbapi(self) -> Iterator[Any]:
        """The pooled psycopg2 connection: committed on success, rolled back on error."""
        import psycopg2

        raw = self.engine.raw_connection()
        try:
            conn = getattr(raw, "dbapi_connection", None) or raw.connection
            try:
                yield conn
                conn.commit()
            except BaseException:
                try:
                    conn.rollback()
                except psycopg2.Error:
                    pass  # the connection is gone; the original error is the one to report
                if conn.closed:
                    raw.invalidate()
                raise
        finally:
            raw.close()

    # -- table state -------------------------------------------------------------------
    def reset(self) -> None:
        """``users`` emptied, its unique constraint restored: the users workload's reset."""
        WORKLOADS[DEFAULT_WORKLOAD].reset(self)

    def checkpoint(self) -> None:
        """Flush dirty buffers now, so a checkpoint does not land inside the timed insert.

        Best effort: a role without the privilege (on a ``BULKINSERT_DSN`` server) skips it.
        """
        import psycopg2

        try:
            with self.dbapi() as conn, conn.cursor() as cur:
                cur.execute("CHECKPOINT")
        except psycopg2.Error:
            pass

    def fetch_names(self) -> list[str]:
        with self.engine.connect() as conn:
            rows = compat.exec_driver_sql(conn, "SELECT name FROM users ORDER BY id").fetchall()
        return [row[0] for row in rows]

    def row_count(self) -> int:
        """Rows in ``users`` (the users workload's count)."""
        return WORKLOADS[DEFAULT_WORKLOAD].row_count(self)

    def has_unique_constraint(self) -> bool:
        with self.engine.connect() as conn:
            found = compat.exec_driver_sql(
                conn,
                "SELECT count(*) FROM pg_constraint WHERE conname = %s AND conrelid = 'users'::regclass",
                (schema.UNIQUE_NAME_CONSTRAINT,),
            ).scalar()
        return bool(found)

    # -- what the server saw -------------------------------------------------------------
    def statements_executed(self) -> int | None:
        """Statements the server has executed in this database so far (pg_stat_statements).

        None when the server lacks pg_stat_statements; :attr:`statements_unavailable` says why.
        """
        import psycopg2

        if self._statements_error is not None:
            return None
        try:
            if self._observer is None or self._observer.closed:
                self._observer = psycopg2.connect(self.dsn, connect_timeout=server.CONNECT_TIMEOUT_SECONDS)
                self._observer.autocommit = True
                with self._observer.cursor() as cur:
                    cur.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            with self._observer.cursor() as cur:
                if self._own_queryid is None:
                    # Sent as text: a negative number would be parsed (and so identified) differently.
                    cur.execute(_STATEMENTS_SQL, ("0",))  # its entry exists from now on
                    cur.execute(_OWN_QUERYID_SQL, ("%" + _STATEMENTS_MARK,))
                    row = cur.fetchone()
                    self._own_queryid = row[0] if row else 0
                cur.execute(_STATEMENTS_SQL, (str(self._own_queryid),))
                return int(cur.fetchone()[0])
        except psycopg2.Error as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self._statements_error = (
                f"server statement counts unavailable ({first_line}); add pg_stat_statements to "
                "shared_preload_libraries on that server, or use the embedded server"
            )
            return None

    @property
    def statements_unavailable(self) -> str | None:
        return self._statements_error

    def close(self) -> None:
        if self._observer is not None and not self._observer.closed:
            self._observer.close()
        for engine in self._engines.values():
            if engine not in (a.sync_engine for a in self._async_engines):
                engine.dispose()
        for async_engine in self._async_engines:  # asyncpg's pool closes on its own loop
            self._loop.run_until_complete(async_engine.dispose())
        self._async_engines.clear()
        self._engines.clear()
        self._driver_engine = None
        if self._loop is not None:
            self._loop.close()
            self._loop = None
        for resource in self.extras.values():
            close = getattr(resource, "close", None)
            if callable(close):
                close()
        self.extras.clear()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
