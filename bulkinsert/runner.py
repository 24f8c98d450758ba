"""Run one strategy honestly: validate, reset, prepare, then time only the insert."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any, Sequence

from . import compat, registry
from .database import Database
from .errors import InsertError, Unsupported
from .measure import InsertResult, function_calls, profiled, timed
from .registry import Strategy
from .server import scrub

__all__ = ["InsertError", "Unsupported", "run_insert", "validate_names"]

_PREVIEW = 60

def _preview(text: str) -> str:
    return repr(text if len(text) <= _PREVIEW else text[:_PREVIEW] + "…")


def validate_names(names: Sequence[Any]) -> None:
    """Refuse, before anything is written, input PostgreSQL ``text`` cannot store exactly."""
    for index, name in enumerate(names):
        if type(name) is not str:
            raise InsertError(f"name #{index} is {type(name).__name__}, not str: {_preview(repr(name))}")
    joined = "".join(names)
    if "\x00" in joined:
        index = next(i for i, name in enumerate(names) if "\x00" in name)
        raise InsertError(
            f"name #{index} {_preview(names[index])} contains a NUL character, which PostgreSQL text "
            "cannot store; nothing was inserted"
        )
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        index = next(i for i, name in enumerate(names) if not _encodable(name))
        raise InsertError(
            f"name #{index} {_preview(names[index])} is not valid Unicode (lone surrogate); "
            "nothing was inserted"
        ) from None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_DRIVER_MODULES = ("psycopg2", "psycopg", "asyncpg", "adbc_driver", "sqlalchemy")


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error from any supported driver (or None)."""
    orig = getattr(exc, "orig", None) or exc
    return getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)


def is_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from a database driver (as opposed to a bug in our code)."""
    orig = getattr(exc, "orig", None) or exc
    module = type(orig).__module__ or ""
    return sqlstate(exc) is not None or module.startswith(_DRIVER_MODULES)


def describe_failure(exc: BaseException) -> str:
    """A one-line, password-free description of a database failure."""
    orig = getattr(exc, "orig", None) or exc
    pgcode = sqlstate(exc)
    diag = getattr(orig, "diag", None)
    primary = getattr(diag, "message_primary", None) or (str(orig).strip().split("\n") or [""])[0]
    detail = getattr(diag, "message_detail", None) or getattr(orig, "detail", None)
    if pgcode in ("23505", "23P01"):
        detail_text = f" ({detail[:200]}…)" if detail and len(detail) > 200 else f" ({detail})" if detail else ""
        return f"duplicate name: {primary}{detail_text}; nothing was inserted"
    if pgcode == "54000":
        return (
            f"a name is too large for the unique index on users.name ({primary}); "
            "nothing was inserted"
        )
    message = primary or type(orig).__name__
    return scrub(f"{type(orig).__name__}: {message}")


def _server_gone(db: Database) -> bool:
    """Whether the server stopped answering (killed, crashed, shut down)."""
    import psycopg2

    try:
        psycopg2.connect(db.dsn, connect_timeout=3).close()
    except psycopg2.Error:
        return True
    return False


def run_insert(
    strategy: Strategy | str,
    names: Sequence[str],
    *,
    db: Database | None = None,
    profile_path: str | Path | None = None,
    count_calls: bool = False,
    reset: bool = True,
) -> InsertResult:
    """Insert ``names`` with ``strategy`` into an emptied ``users`` table and measure it.

    Outside the timed region: validation, table reset, engine/connection warm-up, the server
    statement snapshot. Inside: the strategy call only, ending with the rows committed.
    Raises :class:`Unsupported` or :class:`InsertError` (table left as before).
    ``reset=False`` keeps the rows already in the table (to insert on top of them).
    """
    if isinstance(strategy, str):
        strategy = registry.get(strategy)
    reason = strategy.unsupported_reason()
    if reason is not None:
        raise Unsupported(f"{strategy.name}: {reason}")
    validate_names(names)
    own_db = db is None
    db = db or Database()
    try:
        if strategy.engine_options is not None:
            db.use_engine(strategy.engine_options())
        else:
            db.use_engine({})
        if reset:
            db.reset()
            db.checkpoint()
        existing = db.row_count()
        if strategy.prepare is not None:
            strategy.prepare(db, names)
        before = db.statements_executed()
        gc.collect()
        profile = None
        try:
            with timed() as timing:
                if not names:
                    pass  # nothing to insert: no strategy is asked to handle an empty batch
                elif profile_path is not None or count_calls:
                    with profiled(profile_path) as profile:
                        strategy.function(db, names)
                else:
                    strategy.function(db, names)
        except Exception as exc:
            if not is_database_error(exc):
                raise
            if _server_gone(db):
                raise InsertError(
                    f"{strategy.name}: the PostgreSQL server went away during the insert "
                    f"({describe_failure(exc)}); no result recorded — the next run starts a fresh server"
                ) from None
            raise InsertError(f"{strategy.name}: {describe_failure(exc)}") from None
        after = db.statements_executed()
        inserted = db.row_count() - existing
        if inserted != len(names):
            raise InsertError(
                f"{strategy.name}: {inserted} rows in users after inserting {len(names)} names"
            )
        return InsertResult(
            strategy=strategy.name,
            rows=len(names),
            seconds=timing.seconds,
            cpu_seconds=timing.cpu_seconds,
            dbapi_seconds=timing.dbapi_seconds if db.instrument else 0.0,
            statements=None if before is None or after is None else after - before,
            versions=compat.library_versions(),
            profile_path=str(profile_path) if profile_path is not None else None,
            function_calls=function_calls(profile) if profile is not None else None,
        )
    finally:
        if own_db:
            db.close()
