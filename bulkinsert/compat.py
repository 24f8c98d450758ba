"""Every difference between SQLAlchemy 1.3, 1.4, 2.0 and 2.1 (and psycopg2 releases) lives here.

Strategies ask this module for what they need ("an engine whose executemany is psycopg2's
``execute_values``", "an ORM bulk insert statement") and get either the thing or
:class:`~bulkinsert.errors.Unsupported` with the reason — never a silent substitute.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy

from .errors import Unsupported


def _version_tuple(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


SQLALCHEMY_VERSION = _version_tuple(sqlalchemy.__version__)
SA13 = SQLALCHEMY_VERSION < (1, 4)
SA14 = (1, 4) <= SQLALCHEMY_VERSION < (2, 0)
SA20_PLUS = SQLALCHEMY_VERSION >= (2, 0)

if SA13:  # pragma: no cover - exercised in the 1.3 test run
    from sqlalchemy.ext.declarative import declarative_base  # noqa: F401  (re-exported)
else:
    from sqlalchemy.orm import declarative_base  # noqa: F401  (re-exported)


def library_versions() -> dict[str, str]:
    """Versions the results depend on (recorded with every measurement)."""
    import platform

    import psycopg2

    return {
        "sqlalchemy": sqlalchemy.__version__,
        "psycopg2": psycopg2.__version__.split()[0],
        "python": platform.python_version(),
    }


# How each psycopg2 executemany path is asked for, per SQLAlchemy series. ``None`` means the
# series does not offer it; the reason says what it offers instead.
_EXECUTEMANY_ENGINE_KWARGS: dict[str, dict[str, Any]] = {
    "plain": (
        {"executemany_mode": None}
        if SA13
        else {"executemany_mode": None}
        if SA14
        else {"use_insertmanyvalues": False}
    ),
    "batch": {"executemany_mode": "batch"} if SA13 or SA14 else None,
    "values": {"executemany_mode": "values"} if SA13 else {"executemany_mode": "values_only"} if SA14 else None,
    "insertmanyvalues": {"use_insertmanyvalues": True} if SA20_PLUS else None,
}

_UNSUPPORTED_REASONS = {
    "batch": "SQLAlchemy >= 2.0 removed executemany_mode='batch' for INSERT (insertmanyvalues replaced it)",
    "values": "SQLAlchemy >= 2.0 replaced executemany_mode='values' with insertmanyvalues",
    "insertmanyvalues": "insertmanyvalues arrived in SQLAlchemy 2.0",
}


def executemany_engine_kwargs(mode: str) -> dict[str, Any]:
    """``create_engine`` keyword arguments selecting one psycopg2 executemany path."""
    kwargs = _EXECUTEMANY_ENGINE_KWARGS[mode]
    if kwargs is None:
        raise Unsupported(f"{_UNSUPPORTED_REASONS[mode]} (installed: {sqlalchemy.__version__})")
    return dict(kwargs)


def require_orm_bulk_insert() -> None:
    """2.0-style ORM bulk INSERT (``session.execute(insert(User), rows)``) needs SQLAlchemy 2.0."""
    if not SA20_PLUS:
        raise Unsupported(
            f"2.0-style ORM bulk insert needs SQLAlchemy >= 2.0 (installed: {sqlalchemy.__version__})"
        )


def require_orm_upsert() -> None:
    """ORM-enabled bulk upsert (``session.execute(postgresql.insert(User).on_conflict_do_nothing(), rows)``).

    SQLAlchemy 2.0 made ``Session.execute`` run a dialect ``insert()`` with a list of rows as an
    ORM bulk INSERT; 1.3 and 1.4 have no such path.
    """
    if not SA20_PLUS:
        raise Unsupported(
            f"ORM bulk upsert (session.execute(postgresql.insert(User), rows)) needs SQLAlchemy >= 2.0 "
            f"(installed: {sqlalchemy.__version__})"
        )


def exec_driver_sql(connection: Any, statement: str, parameters: Any = None) -> Any:
    """Run a driver-level SQL string on a SQLAlchemy Connection (``%s`` placeholders)."""
    if SA13:  # pragma: no cover - exercised in the 1.3 test run
        return connection.execute(statement, parameters) if parameters is not None else connection.execute(statement)
    if parameters is None:
        return connection.exec_driver_sql(statement)
    return connection.exec_driver_sql(statement, parameters)
