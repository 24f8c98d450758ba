"""Time spent inside driver calls: the talk's "DB API time" column, and payload encoding inside it.

psycopg2's connection and cursor classes wrapped (:class:`TimedConnection`, passed as the
``connection_factory``); on the other drivers, the DB-API calls SQLAlchemy's dialect makes
(:func:`time_dialect_calls`). Here, in the server layer, because the connections
(:class:`~bulkinsert.pg.database.Database`) and the COPY stream install it; the timed region
that reads it is :func:`bulkinsert.measure.timing.timed`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2.extensions


class DbapiTimer:
    """Seconds spent inside driver calls; nested calls are counted once.

    Payload building that runs *inside* a driver call (a streamed COPY's ``read()`` waiting for
    its next chunk; psycopg 3's per-row ``write_row`` loop) is wrapped with
    :meth:`encoding_block`: it is added to :attr:`encode_seconds` and taken
    out of :attr:`seconds`, so "DB-API time" is the driver's own time only.
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self.encode_seconds = 0.0
        self.calls = 0
        self._depth = 0
        self._encoding = False

    def reset(self) -> None:
        self.seconds = 0.0
        self.encode_seconds = 0.0
        self.calls = 0

    def timed(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._depth:
            return call(*args, **kwargs)
        self._depth += 1
        encoded_before = self.encode_seconds
        start = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - start
            self.seconds += max(elapsed - (self.encode_seconds - encoded_before), 0.0)
            self.calls += 1
            self._depth -= 1

    @contextmanager
    def encoding_block(self) -> Iterator[None]:
        """Count the block as payload building (not driver time), even inside a driver call."""
        if self._encoding:
            yield
            return
        self._encoding = True
        start = time.perf_counter()
        try:
            yield
        finally:
            self.encode_seconds += time.perf_counter() - start
            self._encoding = False


DBAPI_TIMER = DbapiTimer()


class TimedCursor(psycopg2.extensions.cursor):
    """A psycopg2 cursor whose round-trip and encoding calls are timed by :data:`DBAPI_TIMER`."""

    def execute(self, query: Any, vars: Any = None) -> Any:  # noqa: A002 - psycopg2's name
        return DBAPI_TIMER.timed(super().execute, query, vars)

    def executemany(self, query: Any, vars_list: Any) -> Any:
        return DBAPI_TIMER.timed(super().executemany, query, vars_list)

    def mogrify(self, query: Any, vars: Any = None) -> Any:  # noqa: A002
        return DBAPI_TIMER.timed(super().mogrify, query, vars)

    def copy_from(self, file: Any, table: str, *args: Any, **kwargs: Any) -> Any:
        return DBAPI_TIMER.timed(super().copy_from, file, table, *args, **kwargs)

    def copy_expert(self, sql: Any, file: Any, *args: Any, **kwargs: Any) -> Any:
        return DBAPI_TIMER.timed(super().copy_expert, sql, file, *args, **kwargs)

    def fetchone(self) -> Any:
        return DBAPI_TIMER.timed(super().fetchone)

    def fetchmany(self, *args: Any, **kwargs: Any) -> Any:
        return DBAPI_TIMER.timed(super().fetchmany, *args, **kwargs)

    def fetchall(self) -> Any:
        return DBAPI_TIMER.timed(super().fetchall)


class TimedConnection(psycopg2.extensions.connection):
    """A psycopg2 connection handing out :class:`TimedCursor` and timing commit/rollback."""

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cursor_factory", TimedCursor)
        return super().cursor(*args, **kwargs)

    def commit(self) -> None:
        DBAPI_TIMER.timed(super().commit)

    def rollback(self) -> None:
        DBAPI_TIMER.timed(super().rollback)


# The dialect methods through which SQLAlchemy calls any DB-API driver's cursor and connection.
DIALECT_DRIVER_CALLS = ("do_execute", "do_executemany", "do_execute_no_params", "do_commit", "do_rollback")


def time_dialect_calls(dialect: Any) -> None:
    """Time, on this one dialect instance, every call SQLAlchemy makes into the DB-API driver.

    Used for drivers whose classes cannot be subclassed through ``connect()`` (psycopg 3,
    asyncpg behind SQLAlchemy's adapter, pg8000). The bracket is the driver's execute /
    executemany / commit / rollback (for asyncpg: SQLAlchemy's adapter awaiting asyncpg);
    fetches are not wrapped, as for these drivers the rows are already in the client.
    """
    for name in DIALECT_DRIVER_CALLS:
        setattr(dialect, name, functools.partial(DBAPI_TIMER.timed, getattr(dialect, name)))
