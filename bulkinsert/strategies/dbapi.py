"""Raw psycopg2 strategies: the talk's compiled SQL and psycopg2's own helpers."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg2.extras

from ..pg.database import Database
from ..registry import strategy

INSERT_ONE = "INSERT INTO users (name) VALUES (%s)"
# Rows per round trip for both helpers: SQLAlchemy 1.4+'s default for execute_values
# (executemany_values_page_size) and insertmanyvalues (insertmanyvalues_page_size). Not its
# execute_batch default: executemany_batch_page_size, like psycopg2's own page_size, is 100
# (SQLAlchemy 1.3 passes neither, so psycopg2's 100 applies to both there).
PAGE_SIZE = 1000


@strategy(family="dbapi", roles=("per_row", "placement_check"))
def dbapi_executemany(db: Database, names: Sequence[str]) -> None:
    """psycopg2 cursor.executemany(): the DB-API call the talk caught sending one INSERT per row."""
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.executemany(INSERT_ONE, [(name,) for name in names])


@strategy(family="dbapi")
def execute_batch(db: Database, names: Sequence[str]) -> None:
    """psycopg2.extras.execute_batch(): INSERTs joined by ';', PAGE_SIZE per round trip."""
    with db.dbapi() as conn, conn.cursor() as cur:
        psycopg2.extras.execute_batch(cur, INSERT_ONE, [(name,) for name in names], page_size=PAGE_SIZE)


@strategy(family="dbapi", roles=("watch_default",))
def execute_values(db: Database, names: Sequence[str]) -> None:
    """psycopg2.extras.execute_values(): multi-row INSERT ... VALUES, PAGE_SIZE rows each."""
    with db.dbapi() as conn, conn.cursor() as cur:
        psycopg2.extras.execute_values(
            cur, "INSERT INTO users (name) VALUES %s", [(name,) for name in names], page_size=PAGE_SIZE
        )


@strategy(family="dbapi", talk_step=4)
def compiled_sql(db: Database, names: Sequence[str]) -> None:
    """One multi-row INSERT built with cursor.mogrify() (the talk's 0.49 s)."""
    if not names:
        return
    with db.dbapi() as conn, conn.cursor() as cur:
        statement = "INSERT INTO users (name) VALUES " + ",".join(["(%s)"] * len(names))
        cur.execute(cur.mogrify(statement, names))


@strategy(family="dbapi")
def unnest_array(db: Database, names: Sequence[str]) -> None:
    """One INSERT ... SELECT unnest(%s::text[]) with all names as a single array parameter."""
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO users (name) SELECT unnest(%s::text[])", (list(names),))
