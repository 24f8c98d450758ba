"""Measurement helpers shared by the CLI and the asv suite.

* wall and client CPU time of one insert, with the garbage collector off (:data:`GC_REGIME`);
* time inside the driver and payload building inside it ("encode" time), as
  :mod:`bulkinsert.pg.dbapitimer` counts it;
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

from ..pg.dbapitimer import DBAPI_TIMER

F = TypeVar("F", bound=Callable[..., Any])


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
