"""Every difference between SQLAlchemy 1.3, 1.4, 2.0 and 2.1 (and psycopg2 releases) lives here.

Strategies ask this module for what they need ("an engine whose executemany is psycopg2's
``execute_values``", "an ORM bulk insert statement") and get either the thing or
:class:`~bulkinsert.errors.Unsupported` with the reason — never a silent substitute.
"""

from __future__ import annotations

import os
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


def executemany_engine_kwargs(mode: str, driver: str = "psycopg2") -> dict[str, Any]:
    """``create_engine`` keyword arguments selecting one executemany path of ``driver``'s dialect."""
    if driver != "psycopg2":
        return _driver_executemany_kwargs(mode, driver)
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


# -- drivers -----------------------------------------------------------------------------------
# Every DB-API driver a SQLAlchemy path can run on. psycopg2 is the talk's (and the default);
# SQLAlchemy 2.1 made ``postgresql://`` mean psycopg (3).
DEFAULT_DRIVER = "psycopg2"
SQLALCHEMY_DRIVERS = ("psycopg2", "psycopg", "asyncpg", "pg8000")
# The modules a driver's SQLAlchemy dialect imports (asyncpg runs through greenlet).
_DRIVER_MODULES = {
    "psycopg2": ("psycopg2",), "psycopg": ("psycopg",), "asyncpg": ("asyncpg", "greenlet"), "pg8000": ("pg8000",),
}
# The first SQLAlchemy series with the driver's PostgreSQL dialect.
# (1.3 has a pg8000 dialect, written for pg8000 before 1.16's API: not offered here.)
_DIALECT_SINCE = {"psycopg2": (1, 3), "pg8000": (1, 4), "asyncpg": (1, 4), "psycopg": (2, 0)}
_CONNECT_TIMEOUT_ARG = {"psycopg2": "connect_timeout", "psycopg": "connect_timeout", "asyncpg": "timeout",
                        "pg8000": "timeout"}


def driver_unsupported_reason(driver: str) -> str | None:
    """Why SQLAlchemy cannot reach PostgreSQL through ``driver`` here, or None when it can."""
    import importlib

    if driver not in _DIALECT_SINCE:
        return f"unknown driver {driver!r}; SQLAlchemy paths run on {', '.join(SQLALCHEMY_DRIVERS)}"
    since = _DIALECT_SINCE[driver]
    if SQLALCHEMY_VERSION[:2] < since:
        what = "for today's pg8000 needs" if driver == "pg8000" else "arrived in"
        return (f"SQLAlchemy's postgresql+{driver} dialect {what} {since[0]}.{since[1]} "
                f"(installed: {sqlalchemy.__version__})")
    for module in _DRIVER_MODULES[driver]:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            return f"driver {driver} needs '{module}' ({exc.__class__.__name__}); install bulkinsert[peers]"
    return None


def driver_refusal_in(driver: str, versions: dict[str, str]) -> str | None:
    """Why an environment with these recorded requirements has no SQLAlchemy path on ``driver``.

    For results read elsewhere (the site): asv keeps no reason for an n/a figure, but the
    environment's SQLAlchemy release and installed distributions tell the version refusals.
    SQLAlchemy before 2.1 depends on greenlet itself; 2.1 only with its ``asyncio`` extra.
    """
    lowered = {name.lower(): version for name, version in versions.items()}
    release = lowered.get("sqlalchemy")
    since = _DIALECT_SINCE.get(driver)
    if since is None:
        return f"unknown driver {driver!r}"
    if release and _version_tuple(release)[:2] < since:
        return (f"SQLAlchemy's postgresql+{driver} dialect arrived in {since[0]}.{since[1]} "
                f"(this environment: {release})")
    wanted = {"psycopg2": ("psycopg2-binary", "psycopg2"), "psycopg": ("psycopg",), "asyncpg": ("asyncpg",),
              "pg8000": ("pg8000",)}[driver]
    if not any(name in lowered for name in wanted):
        return f"driver {driver}: {wanted[0]} is not installed in this environment (not in the asv matrix)"
    if driver == "asyncpg" and "greenlet" not in lowered and release and _version_tuple(release) >= (2, 1):
        return f"driver asyncpg needs 'greenlet', not installed in this environment (SQLAlchemy {release})"
    return None


def driver_version(driver: str) -> str | None:
    """The installed version of ``driver`` (None when it is not installed)."""
    from importlib import metadata

    distribution = {"psycopg2": "psycopg2-binary", "psycopg": "psycopg"}.get(driver, driver)
    for name in (distribution, driver):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def _driver_executemany_kwargs(mode: str, driver: str) -> dict[str, Any]:
    """The executemany paths of the psycopg, asyncpg and pg8000 dialects.

    ``executemany_mode`` ('batch' / 'values') is an option of SQLAlchemy's psycopg2 dialect only
    (it picks a ``psycopg2.extras`` helper); the other dialects offer the driver's own
    ``cursor.executemany`` (psycopg 3 runs it in pipeline mode, asyncpg pipelines it too) and,
    from SQLAlchemy 2.0, insertmanyvalues.
    """
    if mode in ("batch", "values"):
        raise Unsupported(f"executemany_mode='{mode}' is an option of SQLAlchemy's psycopg2 dialect only "
                          f"(psycopg2.extras); the {driver} dialect has no such mode")
    if mode == "insertmanyvalues":
        if not SA20_PLUS:
            raise Unsupported(f"insertmanyvalues arrived in SQLAlchemy 2.0 (installed: {sqlalchemy.__version__})")
        return {"use_insertmanyvalues": True}
    if mode == "plain":
        return {"use_insertmanyvalues": False} if SA20_PLUS else {}
    raise KeyError(mode)


def driver_url(dsn: str, driver: str) -> Any:
    """The SQLAlchemy URL of ``dsn`` (libpq URL or key=value DSN) for ``driver``'s dialect."""
    from sqlalchemy.engine.url import make_url

    if "://" in dsn:
        url = make_url(dsn)
    else:
        import psycopg2.extensions

        parts = psycopg2.extensions.parse_dsn(dsn)
        url = make_url("postgresql://").set(
            username=parts.pop("user", None), password=parts.pop("password", None),
            host=None if parts.get("host", "").startswith("/") else parts.pop("host", None),
            port=int(parts.pop("port")) if "port" in parts else None, database=parts.pop("dbname", None),
            query=parts,
        )
    url = url.set(drivername=f"postgresql+{driver}")
    socket_dir = url.query.get("host")
    if driver == "pg8000" and isinstance(socket_dir, str) and socket_dir.startswith("/"):
        # pg8000 takes the socket file itself, not libpq's directory, and reads no PGPORT: the
        # file is named by the port libpq would use (the URL's, its query's, $PGPORT, 5432).
        port = url.port or url.query.get("port") or os.environ.get("PGPORT") or 5432
        query = {k: v for k, v in url.query.items() if k not in ("host", "port")}
        query["unix_sock"] = f"{socket_dir}/.s.PGSQL.{port}"
        url = url.set(query=query)
    return url


def create_driver_engine(dsn: str, driver: str, timeout: int, **options: Any) -> tuple[Any, Any]:
    """A synchronous Engine on ``driver`` and, for asyncpg, the AsyncEngine it belongs to.

    asyncpg is reached through ``create_async_engine``; its ``sync_engine`` is what an
    ``AsyncConnection`` / ``AsyncSession`` runs inside ``greenlet_spawn`` (:func:`run_in_greenlet`),
    so a strategy's synchronous code takes the same path an asyncio application's awaits take.
    """
    reason = driver_unsupported_reason(driver)
    if reason is not None:
        raise Unsupported(reason)
    connect_args = {_CONNECT_TIMEOUT_ARG[driver]: timeout}
    if driver == "asyncpg":
        from sqlalchemy.ext.asyncio import create_async_engine

        async_engine = create_async_engine(driver_url(dsn, driver), connect_args=connect_args, **options)
        return async_engine.sync_engine, async_engine
    engine = sqlalchemy.create_engine(driver_url(dsn, driver), connect_args=connect_args, **options)
    if driver == "pg8000":
        sqlalchemy.event.listen(engine, "connect", _pg8000_connect_timeout_only)
    return engine, None


def _pg8000_connect_timeout_only(dbapi_connection: Any, _record: Any) -> None:
    """pg8000's ``timeout`` is its socket's timeout for every later read and write too: a COPY or a
    statement the server answers after it fails with a network error. Once connected, none, as
    the other drivers' connect timeouts."""
    socket = getattr(dbapi_connection, "_usock", None)
    if socket is not None:
        socket.settimeout(None)


def run_in_greenlet(loop: Any, function: Any, *args: Any) -> Any:
    """Run synchronous SQLAlchemy code on an asyncio dialect, to completion, on ``loop``."""
    from sqlalchemy.util import greenlet_spawn

    return loop.run_until_complete(greenlet_spawn(function, *args))


def await_in_greenlet(awaitable: Any) -> Any:
    """Await a driver coroutine from synchronous code running under :func:`run_in_greenlet`."""
    import sqlalchemy.util

    await_ = getattr(sqlalchemy.util, "await_", None) or sqlalchemy.util.await_only  # 2.1 renamed it
    return await_(awaitable)


def driver_connection(connection: Any) -> Any:
    """The driver's own connection under a SQLAlchemy Connection (asyncpg's, not the adapter)."""
    fairy = connection.connection
    return getattr(fairy, "driver_connection", None) or fairy.connection  # 1.3 has no driver_connection


def pg8000_error_field(error: BaseException, key: str) -> str | None:
    """A server error field of a pg8000 error (C: SQLSTATE, M: message, D: detail, n: constraint).

    pg8000 carries them as a dict in ``args[0]``; psycopg and asyncpg have attributes instead.
    """
    args = getattr(error, "args", ())
    if args and isinstance(args[0], dict):
        value = args[0].get(key)
        return None if value is None else str(value)
    return None


def loses_negative_zero(dialect: Any) -> bool:
    """Whether the driver sends a float as a bare literal PostgreSQL reads as numeric (-0.0 -> 0).

    psycopg2 does; psycopg 3, asyncpg and pg8000 send a typed float8 parameter, which keeps the sign.
    """
    return getattr(dialect, "driver", "psycopg2") == "psycopg2"


def inexact_values_reason(driver: str, rows: Any) -> str | None:
    """Why ``driver`` would not store these typed rows exactly (None: it would).

    asyncpg's codecs (and so SQLAlchemy's asyncpg dialect) write ``date.min``/``date.max`` and
    ``datetime.min``/``datetime.max`` as ``-infinity``/``infinity``, silently.
    """
    if driver != "asyncpg":
        return None
    import datetime

    ends = (datetime.datetime.min, datetime.datetime.max)
    for index, row in enumerate(rows):
        for value in row if isinstance(row, tuple) else ():
            if isinstance(value, datetime.datetime):
                naive = value.astimezone(datetime.UTC).replace(tzinfo=None) if value.tzinfo else value
                if naive not in ends:
                    continue
            elif not isinstance(value, datetime.date) or value not in (datetime.date.min, datetime.date.max):
                continue
            return f"asyncpg writes {value!r} (row #{index}) as ±infinity, not exactly; nothing was inserted"
    return None
