"""Measurement helpers shared by the CLI and the asv suite.

* wall and client CPU time of one insert, with the garbage collector off (:data:`GC_REGIME`);
* time inside the driver: psycopg2's connection and cursor calls wrapped (the talk's "DB API
  time" column); on the other drivers, the DB-API calls SQLAlchemy's dialect makes
  (:func:`time_dialect_calls`); payload building done inside those calls counted apart as
  "encode" time;
* statements the server executed (pg_stat_statements, read by :class:`~bulkinsert.pg.database.Database`);
* cProfile captures: :func:`profile_this` (the talk's decorator) and :func:`profiled`.
"""

from __future__ import annotations

import cProfile
import functools
import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg2.extensions

F = TypeVar("F", bound=Callable[..., Any])


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


@dataclass
class Timing:
    """What one timed block cost the client."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    dbapi_seconds: float = 0.0
    encode_seconds: float = 0.0


# The garbage-collector regime of every timed figure in the project, asv's included (asv's
# timer disables the collector while it times): collected before the timer starts, disabled
# while it runs. One regime, so figures from `run`, the ladder and asv sit in one table.
GC_REGIME = "gc collected before each timed insert and disabled during it (as asv times)"


@contextmanager
def gc_disabled() -> Iterator[None]:
    """The collector off for the block (restored to what it was after)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def timed() -> Iterator[Timing]:
    """Wall time, client CPU time, driver time and payload-building time of the block.

    The collector is off inside (see :data:`GC_REGIME`).
    """
    timing = Timing()
    DBAPI_TIMER.reset()
    with gc_disabled():
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield timing
        finally:
            timing.seconds = time.perf_counter() - wall
            timing.cpu_seconds = time.process_time() - cpu
            timing.dbapi_seconds = DBAPI_TIMER.seconds
            timing.encode_seconds = DBAPI_TIMER.encode_seconds


@contextmanager
def profiled(path: str | Path | None = None) -> Iterator[cProfile.Profile]:
    """Profile the block with cProfile; dump the stats to ``path`` when given."""
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield profile
    finally:
        profile.disable()
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            profile.dump_stats(str(path))


def profile_this(fn: F | None = None, *, path: str | Path | None = None) -> Any:
    """The talk's decorator: profile each call and dump to ``<function name>.prof``.

    Use bare (``@profile_this``) or with a path (``@profile_this(path="out.prof")``).
    """

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def profiled_fn(*args: Any, **kwargs: Any) -> Any:
            with profiled(path or f"{function.__name__}.prof"):
                return function(*args, **kwargs)

        return profiled_fn  # type: ignore[return-value]

    return decorate(fn) if fn is not None else decorate


def function_calls(profile: cProfile.Profile) -> int:
    """Total Python function calls recorded by a profile (deterministic for a code path)."""
    import pstats

    return int(pstats.Stats(profile).total_calls)


@dataclass
class InsertResult:
    strategy: str
    rows: int
    seconds: float
    cpu_seconds: float
    dbapi_seconds: float
    statements: int | None
    driver: str = "psycopg2"
    encode_seconds: float = 0.0
    instrumented: bool = False
    versions: dict[str, str] = field(default_factory=dict)
    profile_path: str | None = None
    function_calls: int | None = None
    placement: dict[str, Any] | None = None  # bulkinsert.pg.placement.Placement.as_dict() of the insert

    @property
    def dbapi_share(self) -> float:
        return self.dbapi_seconds / self.seconds if self.seconds > 0 else 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["dbapi_share"] = round(self.dbapi_share, 4)
        data["rows_per_second"] = round(self.rows_per_second, 1)
        return data
