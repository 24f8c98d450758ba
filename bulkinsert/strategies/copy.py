"""COPY strategies: the talk's last step and its "we could go further".

Streamed paths build their chunks in a producer thread while the driver sends the previous
ones (:mod:`bulkinsert.data.copystream`); time the driver waits for a chunk counts as encode time,
not as time inside the driver.

What wins and why is written up in ``docs/explanation/performance.md``, the measurements in ``docs/results/``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from ..data.copyencode import binary_copy_chunks, escape_text_field, text_copy_bytes, text_copy_chunks
from ..data.copystream import send_overlapped
from ..data.schema import UNIQUE_NAME_CONSTRAINT
from ..pg.database import Database
from ..registry import strategy

COPY_TEXT_SQL = "COPY users (name) FROM STDIN"
COPY_BINARY_SQL = "COPY users (name) FROM STDIN (FORMAT BINARY)"
PRIMARY_KEY_CONSTRAINT = "users_pkey"

# Does anything (a foreign key elsewhere) depend on the primary key's index? Then it cannot be
# dropped for the load, and the deferred load keeps it.
_PK_HAS_DEPENDENTS_SQL = (
    "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f' AND confrelid = 'users'::regclass)"
)


def _copy_buffer(db: Database, sql: str, payload: bytes) -> None:
    # One read() of the whole payload: BytesIO hands back its buffer without copying it.
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.copy_expert(sql, io.BytesIO(payload), size=max(len(payload), 1))


@strategy(family="copy", talk_step=5, roles=("watch_default", "placement_check"))
def copy_text(db: Database, names: Sequence[str]) -> None:
    """psycopg2 copy_from() a StringIO, each name escaped for COPY text (the talk's 0.14 s)."""
    buffer = io.StringIO("".join([escape_text_field(name) + "\n" for name in names]))
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.copy_from(buffer, "users", columns=("name",))


@strategy(family="copy", roles=("populated_index",))
def copy_text_fast(db: Database, names: Sequence[str]) -> None:
    """psycopg2 COPY text from one pre-encoded buffer, escaping only when some name needs it."""
    _copy_buffer(db, COPY_TEXT_SQL, text_copy_bytes(names))


@strategy(family="copy", roles=("populated_index", "populated_reference"))
def copy_text_stream(db: Database, names: Sequence[str]) -> None:
    """psycopg2 COPY text streamed in 64k-row chunks, escaping only chunks that need it.

    A producer thread builds chunk n+1 while the driver sends chunk n and the server parses
    it, and the client never holds the whole payload: the lowest client memory of the COPY
    paths at the same CPU per row.
    """
    with db.dbapi() as conn, conn.cursor() as cur:
        send_overlapped(cur, COPY_TEXT_SQL, text_copy_chunks(names))


@strategy(family="copy")
def copy_binary(db: Database, names: Sequence[str]) -> None:
    """psycopg2 COPY ... (FORMAT BINARY) streamed in 64k-row chunks built by this package in a producer thread."""
    with db.dbapi() as conn, conn.cursor() as cur:
        send_overlapped(cur, COPY_BINARY_SQL, binary_copy_chunks(names))


@strategy(family="copy", roles=("populated_index",))
def copy_deferred_index(db: Database, names: Sequence[str]) -> None:
    """Streamed text COPY with users' indexes dropped and rebuilt after the load, one transaction.

    Sorting the loaded names once (CREATE INDEX) is cheaper for the server than a B-tree
    descent per row, for the unique index on name and for the primary key alike. A duplicate
    makes the rebuild of the unique constraint fail, which rolls the whole transaction back:
    rows, indexes and constraints are exactly as before. The table is locked (ACCESS
    EXCLUSIVE) until commit. The primary key is kept when a foreign key depends on it. The
    rebuild sorts every row of the table, so it pays off into an empty or small table only
    (docs/results/2026-11-29-deferred-index-on-a-populated-table.md).
    """
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute(_PK_HAS_DEPENDENTS_SQL)
        drop_pk = not cur.fetchone()[0]
        drop = f"ALTER TABLE users DROP CONSTRAINT {UNIQUE_NAME_CONSTRAINT}"
        if drop_pk:
            drop += f", DROP CONSTRAINT {PRIMARY_KEY_CONSTRAINT}"
        cur.execute(drop)
        send_overlapped(cur, COPY_TEXT_SQL, text_copy_chunks(names))
        add = f"ALTER TABLE users ADD CONSTRAINT {UNIQUE_NAME_CONSTRAINT} UNIQUE (name)"
        if drop_pk:
            add += f", ADD CONSTRAINT {PRIMARY_KEY_CONSTRAINT} PRIMARY KEY (id)"
        cur.execute(add)
