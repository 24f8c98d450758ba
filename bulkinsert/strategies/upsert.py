"""Upserts: the other everyday bulk load, ``INSERT … ON CONFLICT``, through every layer.

Into an empty table each inserts exactly the names; into a table already holding some of them
each ends with exactly the union (existing rows kept, nothing doubled). A name repeated *within*
the input is refused before anything is written (:func:`refuse_repeated_names`): in one
statement ``DO UPDATE`` cannot touch a row twice, and whether a repeat lands in one statement
depends on the SQLAlchemy release (batched, or one statement per row since 2.0.47), so the
outcome would differ by release — and a row check of "n names in, n rows out" would report a
committed insert as failed. Their generated SQL is
what changes between SQLAlchemy releases (batched ``insertmanyvalues`` in 2.x, one statement
per row in 1.3), which is why the release sweep measures them.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg2.extras
from sqlalchemy.dialects import postgresql

from .. import compat
from ..data.copyencode import ChunkReader, text_copy_chunks
from ..data.schema import User, users
from ..errors import InsertError
from ..pg.database import Database
from ..registry import strategy
from .dbapi import PAGE_SIZE

UPSERT_VALUES_SQL = "INSERT INTO users (name) VALUES %s ON CONFLICT DO NOTHING"
# The staging table lives for one transaction; ``ORDER BY ctid`` keeps the input order (a
# fresh table filled by one COPY is read back in the order it was written).
STAGE_SQL = "CREATE TEMPORARY TABLE users_stage (name text NOT NULL) ON COMMIT DROP"
STAGE_COPY_SQL = "COPY users_stage (name) FROM STDIN"
# Why no upsert has a path for the typed ``wide`` rows (:mod:`bulkinsert.strategies.wide`).
TYPED_ROWS = {"wide": "the upserts are measured on users(name), whose conflict target is the name"}
STAGE_MERGE_SQL = "INSERT INTO users (name) SELECT name FROM users_stage ORDER BY ctid ON CONFLICT DO NOTHING"


def refuse_repeated_names(names: Sequence[str]) -> None:
    """Raise :class:`InsertError` (nothing written) when a name occurs twice in the input."""
    first: dict[str, int] = {}
    for index, name in enumerate(names):
        seen = first.setdefault(name, index)
        if seen != index:
            shown = name if len(name) <= 60 else name[:60] + "…"
            raise InsertError(f"name #{index} {shown!r} repeats name #{seen}: an upsert takes distinct names "
                              "(the table keeps names unique); nothing was inserted")


def _rows(names: Sequence[str]) -> list[dict[str, str]]:
    return [{"name": name} for name in names]


def _execute_many(db: Database, statement: object, names: Sequence[str]) -> None:
    # An empty parameter list would execute the statement once, with no values: skip it.
    with db.engine.begin() as conn:
        if names:
            conn.execute(statement, _rows(names))


@strategy(family="upsert", drivers=compat.SQLALCHEMY_DRIVERS, roles=("sweep_default", "watch_default"),
          unsupported=TYPED_ROWS)
def core_upsert_do_nothing(db: Database, names: Sequence[str]) -> None:
    """Core: postgresql.insert(users).on_conflict_do_nothing() with a list of dicts."""
    _execute_many(db, postgresql.insert(users).on_conflict_do_nothing(), names)


@strategy(family="upsert", drivers=compat.SQLALCHEMY_DRIVERS, roles=("sweep_default", "placement_check"),
          unsupported=TYPED_ROWS)
def core_upsert_do_update(db: Database, names: Sequence[str]) -> None:
    """Core: ON CONFLICT (name) DO UPDATE SET name = excluded.name, with a list of dicts."""
    statement = postgresql.insert(users)
    statement = statement.on_conflict_do_update(
        index_elements=[users.c.name], set_={"name": statement.excluded.name}
    )
    _execute_many(db, statement, names)


@strategy(family="upsert", drivers=compat.SQLALCHEMY_DRIVERS, check=compat.require_orm_upsert,
          roles=("sweep_default", "watch_default"), unsupported=TYPED_ROWS)
def orm_upsert(db: Database, names: Sequence[str]) -> None:
    """ORM-enabled bulk upsert: session.execute(postgresql.insert(User).on_conflict_do_nothing(), rows)."""
    with db.session() as session:
        if names:
            session.execute(postgresql.insert(User).on_conflict_do_nothing(), _rows(names))
        session.commit()


@strategy(family="upsert", roles=("sweep_default",), unsupported=TYPED_ROWS)
def execute_values_upsert(db: Database, names: Sequence[str]) -> None:
    """psycopg2 execute_values() with ON CONFLICT DO NOTHING, PAGE_SIZE rows per statement."""
    with db.dbapi() as conn, conn.cursor() as cur:
        psycopg2.extras.execute_values(cur, UPSERT_VALUES_SQL, [(name,) for name in names], page_size=PAGE_SIZE)


@strategy(family="upsert", roles=("sweep_default",), unsupported=TYPED_ROWS)
def copy_upsert(db: Database, names: Sequence[str]) -> None:
    """COPY into a temporary table, then INSERT … SELECT … ON CONFLICT DO NOTHING, one transaction."""
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute(STAGE_SQL)
        cur.copy_expert(STAGE_COPY_SQL, ChunkReader(text_copy_chunks(names)))
        cur.execute(STAGE_MERGE_SQL)
