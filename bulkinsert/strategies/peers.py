"""Peers a user might pick instead of psycopg2: psycopg 3, asyncpg and ADBC (optional extras).

Each opens its connection in ``prepare`` (outside the timed region) and skips with a reason
when its driver is not installed.
"""

from __future__ import annotations

import asyncio
from typing import Any, Sequence

from ..copyformat import text_copy_bytes
from ..database import Database
from ..measure import DBAPI_TIMER
from ..registry import strategy
from .copy import COPY_BINARY_SQL, COPY_TEXT_SQL


class _Psycopg3:
    def __init__(self, dsn: str) -> None:
        import psycopg

        self.conn = psycopg.connect(dsn)

    def close(self) -> None:
        self.conn.close()


class _AsyncpgConnection:
    def __init__(self, dsn: str) -> None:
        import asyncpg

        self.loop = asyncio.new_event_loop()
        self.conn = self.loop.run_until_complete(asyncpg.connect(dsn))

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        self.run(self.conn.close())
        self.loop.close()


class _AdbcConnection:
    def __init__(self, dsn: str) -> None:
        import adbc_driver_postgresql.dbapi

        self.conn = adbc_driver_postgresql.dbapi.connect(dsn)

    def close(self) -> None:
        self.conn.close()


def _open(kind: type) -> Any:
    def prepare(db: Database) -> None:
        if not isinstance(db.extras.get(kind.__name__), kind):
            db.extras[kind.__name__] = kind(db.dsn)

    return prepare


@strategy(family="peer", driver="psycopg", requires=("psycopg",), prepare=_open(_Psycopg3))
def psycopg3_copy_text(db: Database, names: Sequence[str]) -> None:
    """psycopg 3 COPY text: one write() of the escaped, pre-encoded buffer."""
    conn = db.extras["_Psycopg3"].conn
    payload = text_copy_bytes(names)
    with conn.transaction(), conn.cursor() as cur, cur.copy(COPY_TEXT_SQL) as copy:
        DBAPI_TIMER.timed(copy.write, payload)


@strategy(family="peer", driver="psycopg", requires=("psycopg",), prepare=_open(_Psycopg3))
def psycopg3_copy_binary(db: Database, names: Sequence[str]) -> None:
    """psycopg 3 COPY BINARY with write_row() per name (psycopg encodes the rows)."""
    conn = db.extras["_Psycopg3"].conn
    with conn.transaction(), conn.cursor() as cur, cur.copy(COPY_BINARY_SQL) as copy:
        copy.set_types(["text"])
        for name in names:
            copy.write_row((name,))


@strategy(family="peer", driver="asyncpg", requires=("asyncpg",), prepare=_open(_AsyncpgConnection))
def asyncpg_copy_records(db: Database, names: Sequence[str]) -> None:
    """asyncpg copy_records_to_table() (binary COPY encoded by asyncpg)."""
    peer = db.extras["_AsyncpgConnection"]

    async def load() -> None:
        async with peer.conn.transaction():
            await peer.conn.copy_records_to_table("users", records=[(name,) for name in names], columns=["name"])

    DBAPI_TIMER.timed(peer.run, load())


@strategy(
    family="peer",
    driver="adbc",
    requires=("adbc_driver_postgresql", "pyarrow"),
    prepare=_open(_AdbcConnection),
)
def adbc_ingest(db: Database, names: Sequence[str]) -> None:
    """ADBC PostgreSQL adbc_ingest() of a pyarrow table (building the table included)."""
    import pyarrow

    conn = db.extras["_AdbcConnection"].conn
    table = pyarrow.table({"name": pyarrow.array(names, type=pyarrow.string())})
    with conn.cursor() as cur:
        DBAPI_TIMER.timed(cur.adbc_ingest, "users", table, mode="append")
    conn.commit()
