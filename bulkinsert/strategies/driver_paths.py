"""Each driver's own fast path, reached from a SQLAlchemy connection (not a second connection).

An application on SQLAlchemy keeps its engine, pool and transaction and drops to the driver
for the load: ``conn.connection.driver_connection`` is psycopg 3's, asyncpg's or pg8000's own
connection, inside the transaction ``engine.begin()`` opened (asyncpg's adapter opens its
transaction at its first statement, so its COPY runs in asyncpg's own ``transaction()``).
The driver's call is timed as DB-API time; payload building our code does is encode time.
Compare with the raw peers (:mod:`bulkinsert.strategies.peers`), which open their own connection.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from .. import compat
from ..data.copyencode import text_copy_bytes
from ..pg.database import Database
from ..pg.dbapitimer import DBAPI_TIMER
from ..registry import strategy
from .copy import COPY_BINARY_SQL, COPY_TEXT_SQL

# Why these paths have no path for the typed ``wide`` rows (:mod:`bulkinsert.strategies.wide`).
TYPED_ROWS = {"wide": "a driver's fast path from a SQLAlchemy connection, measured on names; typed rows: the peers"}
INSERT_SQL = "INSERT INTO users (name) VALUES (%s)"


@strategy(family="copy", driver="psycopg", unsupported=TYPED_ROWS)
def sa_psycopg_copy(db: Database, names: Sequence[str]) -> None:
    """psycopg 3 COPY BINARY with write_row(), on the SQLAlchemy connection's driver_connection."""
    with db.engine.begin() as conn:
        raw = compat.driver_connection(conn)

        def load() -> None:
            with raw.cursor() as cur, cur.copy(COPY_BINARY_SQL) as copy:
                copy.set_types(["text"])
                write_row = copy.write_row
                with DBAPI_TIMER.encoding_block():  # our loop and psycopg's row encoding
                    for name in names:
                        write_row((name,))

        DBAPI_TIMER.timed(load)


@strategy(family="dbapi", driver="psycopg", unsupported=TYPED_ROWS)
def sa_psycopg_pipeline(db: Database, names: Sequence[str]) -> None:
    """psycopg 3 cursor.executemany() in an explicit pipeline, on the SQLAlchemy connection."""
    with db.engine.begin() as conn:
        raw = compat.driver_connection(conn)
        rows = [(name,) for name in names]

        def load() -> None:
            with raw.pipeline(), raw.cursor() as cur:
                cur.executemany(INSERT_SQL, rows)

        DBAPI_TIMER.timed(load)


@strategy(family="copy", driver="asyncpg", unsupported=TYPED_ROWS)
def sa_asyncpg_copy(db: Database, names: Sequence[str]) -> None:
    """asyncpg copy_records_to_table() (binary COPY), on the SQLAlchemy AsyncEngine's connection."""
    with db.engine.begin() as conn:
        raw = compat.driver_connection(conn)

        async def load() -> None:
            async with raw.transaction():
                await raw.copy_records_to_table("users", records=[(name,) for name in names], columns=["name"])

        DBAPI_TIMER.timed(compat.await_in_greenlet, load())


@strategy(family="copy", driver="pg8000", unsupported=TYPED_ROWS)
def sa_pg8000_copy(db: Database, names: Sequence[str]) -> None:
    """pg8000 COPY text from a stream (execute(..., stream=)), on the SQLAlchemy connection."""
    with db.engine.begin() as conn:
        cursor = compat.driver_connection(conn).cursor()
        with DBAPI_TIMER.encoding_block():
            payload = io.BytesIO(text_copy_bytes(names))
        DBAPI_TIMER.timed(cursor.execute, COPY_TEXT_SQL, stream=payload)
