"""The peers' and the server floor's paths for the ``wide`` workload (see :mod:`.wide`).

Each peer uses its own type handling, with what it needs to be exact:

- psycopg 3 ``write_row``: ``set_types`` with the eleven column types; psycopg encodes every
  value itself (``dict`` → jsonb included).
- asyncpg ``copy_records_to_table``: a jsonb codec (asyncpg has none by default) and, because
  asyncpg writes ``date.min``/``date.max`` and ``datetime.min``/``datetime.max`` as
  ``-infinity``/``infinity``, codecs for ``date`` and ``timestamptz`` that send the exact
  day / microsecond numbers (asyncpg's ``tuple`` codec format, packed by asyncpg in C).
- ADBC ``adbc_ingest``: a pyarrow table with an explicit type per column; ``uuid`` as 16-byte
  binary and ``jsonb`` as binary holding jsonb's binary form (version byte 1 and the JSON text),
  because no Arrow type maps to those two.
- ``server_copy_file``: the rows written as a COPY text file before the timer, loaded by the
  server itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..pg.database import Database
from ..pg.dbapitimer import DBAPI_TIMER
from .peers import _AdbcConnection, _AsyncpgConnection, _peer, _Psycopg3
from .reference import stage_payload
from .wide import BINARY, COLUMN_LIST, COLUMNS, COPY_BINARY_SQL, COPY_TEXT_SQL, TEXT, wide_path

Rows = Sequence[tuple]
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_EPOCH_DAY = date(2000, 1, 1).toordinal()
_MICROSECOND = timedelta(microseconds=1)

# -- psycopg 3 -----------------------------------------------------------------------------------------------


@wide_path("psycopg3_copy_text")
def psycopg3_copy_text(db: Database, rows: Rows) -> None:
    """psycopg 3 COPY text: one write() of this package's text payload."""
    conn = _peer(db, _Psycopg3).conn
    payload = TEXT.encode(rows)

    def load() -> None:
        with conn.transaction(), conn.cursor() as cur, cur.copy(COPY_TEXT_SQL) as copy:
            copy.write(payload)

    DBAPI_TIMER.timed(load)


@wide_path("psycopg3_copy_binary")
def psycopg3_copy_binary(db: Database, rows: Rows) -> None:
    """psycopg 3 COPY BINARY, write_row() per row: psycopg's own encoders for every type."""
    conn = _peer(db, _Psycopg3).conn

    def load() -> None:
        with conn.transaction(), conn.cursor() as cur, cur.copy(COPY_BINARY_SQL) as copy:
            copy.set_types(["int8", "int4", "numeric", "float8", "bool", "timestamptz", "date", "uuid", "jsonb",
                            "text", "bytea"])
            write_row = copy.write_row
            with DBAPI_TIMER.encoding_block():  # our loop and psycopg's row encoding: payload building
                for row in rows:
                    write_row(row)

    DBAPI_TIMER.timed(load)


# -- asyncpg -------------------------------------------------------------------------------------------------
def _asyncpg_codecs(db: Database, rows: Rows) -> None:
    """Set the codecs the wide rows need on the peer connection (once per connection)."""
    peer = _peer(db, _AsyncpgConnection)
    if getattr(peer, "wide_codecs", False):
        return

    async def configure() -> None:
        conn = peer.conn
        await conn.set_type_codec(
            "jsonb", schema="pg_catalog", format="binary",
            encoder=lambda value: b"\x01" + json.dumps(value).encode(), decoder=lambda data: json.loads(data[1:]),
        )
        await conn.set_type_codec(
            "timestamptz", schema="pg_catalog", format="tuple",
            encoder=lambda value: ((value - _EPOCH) // _MICROSECOND,),
            decoder=lambda value: _EPOCH + value[0] * _MICROSECOND,
        )
        await conn.set_type_codec(
            "date", schema="pg_catalog", format="tuple",
            encoder=lambda value: (value.toordinal() - _EPOCH_DAY,),
            decoder=lambda value: date.fromordinal(value[0] + _EPOCH_DAY),
        )

    peer.run(configure())
    peer.wide_codecs = True


@wide_path("asyncpg_copy_records", setup=_asyncpg_codecs)
def asyncpg_copy_records(db: Database, rows: Rows) -> None:
    """asyncpg copy_records_to_table(): binary COPY encoded by asyncpg (exact date/timestamptz codecs)."""
    peer = _peer(db, _AsyncpgConnection)

    async def load() -> None:
        async with peer.conn.transaction():
            await peer.conn.copy_records_to_table("wide", records=rows, columns=list(COLUMNS))

    DBAPI_TIMER.timed(peer.run, load())


# -- ADBC ----------------------------------------------------------------------------------------------------
def _arrow_table(rows: Rows) -> Any:
    import pyarrow as pa

    big, small, price, ratio, flag, created, day, uid, doc, note, blob = zip(*rows, strict=True) if rows else [()] * 11
    return pa.table({
        "big": pa.array(big, pa.int64()),
        "small": pa.array(small, pa.int32()),
        "price": pa.array(price, pa.decimal128(18, 6)),
        "ratio": pa.array(ratio, pa.float64()),
        "flag": pa.array(flag, pa.bool_()),
        "created": pa.array(created, pa.timestamp("us", tz="UTC")),
        "day": pa.array(day, pa.date32()),
        "uid": pa.array([None if value is None else value.bytes for value in uid], pa.binary(16)),
        "doc": pa.array([None if value is None else b"\x01" + json.dumps(value).encode() for value in doc],
                        pa.binary()),
        "note": pa.array(note, pa.string()),
        "blob": pa.array(blob, pa.binary()),
    })


@wide_path("adbc_ingest")
def adbc_ingest(db: Database, rows: Rows) -> None:
    """ADBC adbc_ingest() of a pyarrow table with one explicit Arrow type per column (table built in time)."""
    conn = _peer(db, _AdbcConnection).conn
    table = _arrow_table(rows)

    def load() -> None:
        try:
            with conn.cursor() as cur:
                cur.adbc_ingest("wide", table, mode="append")
            conn.commit()
        except BaseException:
            conn.rollback()
            raise

    DBAPI_TIMER.timed(load)


# -- the server's own COPY of the same rows -------------------------------------------------------------------
def stage_wide_file(db: Database, rows: Rows) -> str:
    """The rows as a COPY BINARY file the server reads (before the timer); the same list is staged once."""
    return stage_payload(db, rows, BINARY.chunks)


@wide_path("server_copy_file", setup=stage_wide_file, keeps_strategy_setup=False)
def server_copy_file(db: Database, rows: Rows) -> None:
    """Floor: the server's own COPY BINARY of the same rows from a file (written before the timer)."""
    path = stage_wide_file(db, rows)
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute(f"COPY wide ({COLUMN_LIST}) FROM %s (FORMAT BINARY)", (path,))
