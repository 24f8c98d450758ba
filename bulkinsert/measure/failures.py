"""A database failure in one line: its SQLSTATE, the constraint it names, a password-free description.

For every supported driver (psycopg2, psycopg, asyncpg, pg8000, ADBC) and SQLAlchemy's wrappers
around them; what ``bulkinsert run`` prints and a ladder records when an insert fails.
"""

from __future__ import annotations

from .. import compat
from ..data.schema import UNIQUE_NAME_CONSTRAINT
from ..pg.server import scrub

__all__ = ["constraint_name", "describe_failure", "is_database_error", "sqlstate"]

_DRIVER_MODULES = ("psycopg2", "psycopg", "asyncpg", "pg8000", "adbc_driver", "sqlalchemy")


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error from any supported driver (or None)."""
    orig = getattr(exc, "orig", None) or exc
    return getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None) or compat.pg8000_error_field(orig, "C")


def is_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from a database driver (as opposed to a bug in our code)."""
    orig = getattr(exc, "orig", None) or exc
    module = type(orig).__module__ or ""
    return sqlstate(exc) is not None or module.startswith(_DRIVER_MODULES)


def constraint_name(exc: BaseException) -> str | None:
    """The constraint a driver error names: psycopg2 / psycopg ``diag``, asyncpg's attribute,
    ADBC's ``details`` (libpq's diagnostic fields)."""
    orig = getattr(exc, "orig", None) or exc
    diag = getattr(orig, "diag", None)
    # SQLAlchemy's asyncpg adapter raises its own error from asyncpg's, which names the constraint.
    named = (getattr(diag, "constraint_name", None) or getattr(orig, "constraint_name", None)
             or getattr(orig.__cause__, "constraint_name", None) or compat.pg8000_error_field(orig, "n"))
    if named:
        return str(named)
    for key, value in getattr(orig, "details", None) or ():
        if key in (b"PG_DIAG_CONSTRAINT_NAME", "PG_DIAG_CONSTRAINT_NAME"):
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return None


def describe_failure(exc: BaseException) -> str:
    """A one-line, password-free description of a database failure.

    "duplicate name" only when the unique constraint on ``users.name`` raised it; any other
    unique violation (a catalog index during a race, another constraint) says what it was.
    """
    orig = getattr(exc, "orig", None) or exc
    pgcode = sqlstate(exc)
    diag = getattr(orig, "diag", None)
    primary = (getattr(diag, "message_primary", None) or compat.pg8000_error_field(orig, "M")
               or (str(orig).strip().split("\n") or [""])[0])
    detail = (getattr(diag, "message_detail", None) or getattr(orig, "detail", None)
              or compat.pg8000_error_field(orig, "D"))
    detail_text = f" ({detail[:200]}…)" if detail and len(detail) > 200 else f" ({detail})" if detail else ""
    if pgcode == "23505" and constraint_name(exc) == UNIQUE_NAME_CONSTRAINT:
        return f"duplicate name: {primary}{detail_text}; nothing was inserted"
    if pgcode == "23505":
        which = constraint_name(exc) or "unknown constraint"
        return scrub(f"unique violation on {which}: {primary}{detail_text}; nothing was inserted")
    if pgcode == "54000":
        return (
            f"a name is too large for the unique index on users.name ({primary}); "
            "nothing was inserted"
        )
    message = primary or type(orig).__name__
    return scrub(f"{type(orig).__name__}: {message}")
