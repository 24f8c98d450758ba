"""Peers a user might pick instead of psycopg2: psycopg 3, asyncpg and ADBC (optional extras).

Each opens its connection in its ``setup`` hook (outside the timed region, reopened if it was
closed) and skips with a reason when its driver is not installed (``pip install
bulkinsert[peers]``). Every peer commits before returning and, on any failure, rolls back
before re-raising, so the table is exactly as before and no lock is left held against the
next reset. Driver errors reach :func:`bulkinsert.measure.runner.run_insert`, which reports them as
one-line :class:`~bulkinsert.measure.runner.InsertError`. The time inside each driver's own calls is
added to the DB-API timer, less the payload building done inside it (psycopg 3's
``write_row`` loop), which counts as encode time; client CPU is the whole process's (asyncpg's event loop and any
driver threads run in this process, so ``time.process_time`` counts them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, TypeVar

from ..data.copyencode import text_copy_bytes
from ..pg.database import Database
from ..pg.dbapitimer import DBAPI_TIMER
from ..registry import strategy
from .copy import COPY_BINARY_SQL, COPY_TEXT_SQL


class _Psycopg3:
    def __init__(self, dsn: str) -> None:
        import psycopg

        # Autocommit, so that transaction() below is the real (outermost) transaction.
        self.conn = psycopg.connect(dsn, autocommit=True)

    @property
    def usable(self) -> bool:
        return not self.conn.closed and not self.conn.broken

    def close(self) -> None:
        self.conn.close()


class _AsyncpgConnection:
    def __init__(self, dsn: str) -> None:
        import asyncpg

        self.loop = asyncio.new_event_loop()
        self.conn = self.loop.run_until_complete(asyncpg.connect(dsn))

    @property
    def usable(self) -> bool:
        return not self.conn.is_closed() and not self.loop.is_closed()

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        if not self.conn.is_closed():
            self.run(self.conn.close())
        self.loop.close()


class _AdbcConnection:
    def __init__(self, dsn: str) -> None:
        import adbc_driver_postgresql.dbapi

        self.conn = adbc_driver_postgresql.dbapi.connect(dsn)

    @property
    def usable(self) -> bool:
        return not getattr(self.conn, "_closed", False)

    def close(self) -> None:
        self.conn.close()


PeerConnection = TypeVar("PeerConnection")


def _peer(db: Database, kind: type[PeerConnection]) -> PeerConnection:
    """The ``kind`` connection the strategy's setup hook opened on ``db`` (keyed by its class)."""
    return db.extras[kind]


def _open(kind: type) -> Any:
    def setup(db: Database, names: Sequence[str]) -> None:
        current = db.extras.get(kind)
        if isinstance(current, kind) and current.usable:
            return
        if current is not None:
            try:
                current.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close; replace it
                pass
        db.extras[kind] = kind(db.dsn)

    return setup


@strategy(family="peer", driver="psycopg", requires=("psycopg",), setup=_open(_Psycopg3))
def psycopg3_copy_text(db: Database, names: Sequence[str]) -> None:
    """psycopg 3 COPY text: one write() of the pre-encoded buffer, escaped only if needed."""
    conn = _peer(db, _Psycopg3).conn
    payload = text_copy_bytes(names)

    def load() -> None:
        with conn.transaction(), conn.cursor() as cur, cur.copy(COPY_TEXT_SQL) as copy:
            copy.write(payload)

    DBAPI_TIMER.timed(load)


@strategy(family="peer", driver="psycopg", requires=("psycopg",), setup=_open(_Psycopg3))
def psycopg3_copy_binary(db: Database, names: Sequence[str]) -> None:
    """psycopg 3 COPY BINARY with write_row() per name (psycopg encodes the rows)."""
    conn = _peer(db, _Psycopg3).conn

    def load() -> None:
        with conn.transaction(), conn.cursor() as cur, cur.copy(COPY_BINARY_SQL) as copy:
            copy.set_types(["text"])
            write_row = copy.write_row
            # Our per-row loop and psycopg's row encoding: payload building, not driver I/O.
            with DBAPI_TIMER.encoding_block():
                for name in names:
                    write_row((name,))

    DBAPI_TIMER.timed(load)


@strategy(family="peer", driver="asyncpg", requires=("asyncpg",), setup=_open(_AsyncpgConnection))
def asyncpg_copy_records(db: Database, names: Sequence[str]) -> None:
    """asyncpg copy_records_to_table() (binary COPY encoded by asyncpg), records streamed."""
    peer = _peer(db, _AsyncpgConnection)

    async def load() -> None:
        async with peer.conn.transaction():
            await peer.conn.copy_records_to_table(
                "users", records=((name,) for name in names), columns=["name"]
            )

    DBAPI_TIMER.timed(peer.run, load())


@strategy(
    family="peer",
    driver="adbc",
    requires=("adbc_driver_postgresql", "pyarrow"),
    setup=_open(_AdbcConnection),
)
def adbc_ingest(db: Database, names: Sequence[str]) -> None:
    """ADBC PostgreSQL adbc_ingest() of a pyarrow table (building the table included)."""
    import pyarrow

    conn = _peer(db, _AdbcConnection).conn
    table = pyarrow.table({"name": pyarrow.array(names, type=pyarrow.string())})

    def load() -> None:
        try:
            with conn.cursor() as cur:
                cur.adbc_ingest("users", table, mode="append")
            conn.commit()
        except BaseException:
            # ADBC's DB-API connection is not autocommit: without this the failed transaction
            # would stay open, holding its lock on users against the next TRUNCATE.
            conn.rollback()
            raise

    DBAPI_TIMER.timed(load)
