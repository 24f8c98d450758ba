"""COPY strategies: the talk's last step and its "we could go further"."""

from __future__ import annotations

import io
from typing import Sequence

from ..copyformat import binary_copy_bytes, escape_text_field, text_copy_bytes
from ..database import Database
from ..registry import strategy
from ..schema import UNIQUE_NAME_CONSTRAINT

COPY_TEXT_SQL = "COPY users (name) FROM STDIN"
COPY_BINARY_SQL = "COPY users (name) FROM STDIN (FORMAT BINARY)"


def _copy_buffer(db: Database, sql: str, payload: bytes) -> None:
    # One read() of the whole payload: BytesIO hands back its buffer without copying it.
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.copy_expert(sql, io.BytesIO(payload), size=max(len(payload), 1))


@strategy(family="copy", talk_step=5)
def copy_text(db: Database, names: Sequence[str]) -> None:
    """psycopg2 copy_from() a StringIO, each name escaped for COPY text (the talk's 0.14 s)."""
    buffer = io.StringIO("".join([escape_text_field(name) + "\n" for name in names]))
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.copy_from(buffer, "users", columns=("name",))


@strategy(family="copy")
def copy_text_fast(db: Database, names: Sequence[str]) -> None:
    """psycopg2 COPY text from one pre-encoded buffer, escaping only when some name needs it."""
    _copy_buffer(db, COPY_TEXT_SQL, text_copy_bytes(names))


@strategy(family="copy")
def copy_binary(db: Database, names: Sequence[str]) -> None:
    """psycopg2 COPY ... (FORMAT BINARY) from a binary stream built by this package."""
    _copy_buffer(db, COPY_BINARY_SQL, binary_copy_bytes(names))


@strategy(family="copy")
def copy_deferred_index(db: Database, names: Sequence[str]) -> None:
    """Fast text COPY with the unique index dropped, rebuilt after the load in one transaction.

    A duplicate makes the rebuild fail, which rolls the whole transaction back: the rows and
    the constraint are exactly as before.
    """
    payload = text_copy_bytes(names)
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute(f"ALTER TABLE users DROP CONSTRAINT {UNIQUE_NAME_CONSTRAINT}")
        cur.copy_expert(COPY_TEXT_SQL, io.BytesIO(payload), size=max(len(payload), 1))
        cur.execute(f"ALTER TABLE users ADD CONSTRAINT {UNIQUE_NAME_CONSTRAINT} UNIQUE (name)")
