"""Each strategy's path for the typed ``wide`` workload: the same technique, eleven typed columns.

A strategy registered in the other modules of this package inserts the talk's names; here it
gets a second function, registered under the same name, for rows of natural Python values
(:mod:`bulkinsert.data.workloads`). :func:`for_workload` hands the runner the strategy with that
function (and setup hook) in place, or raises :class:`Unsupported` with the reason the
strategy declares (``@strategy(unsupported={"wide": reason})``). The
users/populated paths are untouched, so their figures stay comparable with earlier runs.

How each family expresses the types:

- ORM and Core: the :class:`~bulkinsert.data.workloads.Wide` model / table, SQLAlchemy's own bind
  processing (``UUID(as_uuid=True)``, ``JSONB(none_as_null=True)``, ``-0.0`` kept by
  :class:`~bulkinsert.data.workloads.SignedZeroDouble`).
- DB-API: psycopg2's adaptation, with the two things it cannot do alone: ``dict``/``list`` for
  jsonb wrapped in ``Json``, and ``-0.0`` sent as ``'-0'::float8``.
- COPY: this package's encoders (:mod:`bulkinsert.data.copyencode`), text and binary; streamed
  chunks are built in a producer thread while the driver sends the previous ones
  (:mod:`bulkinsert.data.copystream`).
"""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Callable, Sequence
from typing import Any

import psycopg2.extras
import sqlalchemy as sa

from ..data.copyencode import BinaryCopyEncoder, TextCopyEncoder
from ..data.copystream import send_overlapped
from ..data.workloads import NEGATIVE_ZERO, WIDE_KEY_CONSTRAINT, WIDE_PRIMARY_KEY, WIDE_SEQUENCE, Wide, Workload, wide
from ..errors import Unsupported
from ..pg.database import Database
from ..registry import Strategy

__all__ = ["WIDE_PATHS", "WidePath", "for_workload"]

Rows = Sequence[tuple]
COLUMNS = wide.column_names
COLUMN_LIST = ", ".join(COLUMNS)
COPY_TEXT_SQL = f"COPY wide ({COLUMN_LIST}) FROM STDIN"
COPY_BINARY_SQL = f"COPY wide ({COLUMN_LIST}) FROM STDIN (FORMAT BINARY)"
INSERT_ONE = f"INSERT INTO wide ({COLUMN_LIST}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
INSERT_VALUES = f"INSERT INTO wide ({COLUMN_LIST}) VALUES %s"
UNNEST_SQL = (
    f"INSERT INTO wide ({COLUMN_LIST}) SELECT * FROM unnest("
    "%s::bigint[], %s::integer[], %s::numeric[], %s::float8[], %s::boolean[], %s::timestamptz[], %s::date[],"
    " %s::uuid[], %s::jsonb[], %s::text[], %s::bytea[])"
)
PAGE_SIZE = 1000  # as the users paths (and SQLAlchemy's execute_values / insertmanyvalues)
TEXT = TextCopyEncoder(wide.types)
BINARY = BinaryCopyEncoder(wide.types)
_RATIO, _DOC = COLUMNS.index("ratio"), COLUMNS.index("doc")

# psycopg2 adapts UUID only once this adapter is registered (SQLAlchemy registers it as well).
psycopg2.extras.register_uuid()


@dataclasses.dataclass(frozen=True)
class WidePath:
    function: Callable[[Database, Rows], None]
    setup: Callable[[Database, Rows], None] | None = None
    keeps_strategy_setup: bool = True  # run the strategy's own setup hook (a peer's connection)


WIDE_PATHS: dict[str, WidePath] = {}

def wide_path(*names: str, setup: Callable[[Database, Rows], None] | None = None,
              keeps_strategy_setup: bool = True) -> Callable[[Callable], Callable]:
    """Register the decorated function as the wide path of the strategies ``names``."""

    def register(function: Callable[[Database, Rows], None]) -> Callable[[Database, Rows], None]:
        for name in names:
            WIDE_PATHS[name] = WidePath(function, setup, keeps_strategy_setup)
        return function

    return register


def for_workload(strategy: Strategy, workload: Workload) -> Strategy:
    """``strategy`` as it runs ``workload``: its own function for names, its wide path for typed rows."""
    from ..data.workloads import workload_for

    own = workload_for(strategy.name)  # a user's strategy written for a workload of its own
    if own is not None:
        if own.name != workload.name:
            raise Unsupported(f"{strategy.name}: written for workload {own.name}, not {workload.name}")
        return strategy
    if workload.strategies:  # a user's workload: only the strategies written for it insert its rows
        raise Unsupported(f"{strategy.name}: workload {workload.name} is inserted by "
                          f"{', '.join(workload.strategies)} only")
    declared = strategy.unsupported.get(workload.name)  # @strategy(unsupported={"wide": reason})
    if declared is not None:
        raise Unsupported(f"{strategy.name}: workload {workload.name}: {declared}")
    if workload.single_column:
        return strategy
    path = WIDE_PATHS.get(strategy.name)
    if path is None:
        reason = "no path for typed rows has been written for it"  # a strategy new since
        raise Unsupported(f"{strategy.name}: workload {workload.name}: {reason}")
    if path.setup is None:
        setup = strategy.setup if path.keeps_strategy_setup else None
    elif path.keeps_strategy_setup and strategy.setup is not None:
        setup = _both(strategy.setup, path.setup)
    else:
        setup = path.setup
    return dataclasses.replace(strategy, function=path.function, setup=setup)


def _both(first: Callable[[Database, Any], None], then: Callable[[Database, Any], None]) -> Callable:
    def setup(db: Database, rows: Any) -> None:
        first(db, rows)
        then(db, rows)

    return setup


def _dicts(rows: Rows) -> list[dict[str, Any]]:
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


# -- ORM ----------------------------------------------------------------------------------------------
@wide_path("orm_basic")
def orm_basic(db: Database, rows: Rows) -> None:
    with db.session() as session:
        for values in _dicts(rows):
            session.add(Wide(**values))
        session.commit()


@wide_path("orm_pk_preload")
def orm_pk_preload(db: Database, rows: Rows) -> None:
    with db.session() as session:
        ids = session.execute(
            sa.text(f"SELECT nextval('{WIDE_SEQUENCE}') FROM generate_series(1, :n)"), {"n": len(rows)}
        ).fetchall()
        for (row_id,), values in zip(ids, _dicts(rows), strict=True):
            session.add(Wide(id=row_id, **values))
        session.commit()


@wide_path("orm_bulk_save_objects")
def orm_bulk_save_objects(db: Database, rows: Rows) -> None:
    with db.session() as session:
        session.bulk_save_objects([Wide(**values) for values in _dicts(rows)])
        session.commit()


@wide_path("orm_bulk_insert_mappings")
def orm_bulk_insert_mappings(db: Database, rows: Rows) -> None:
    with db.session() as session:
        session.bulk_insert_mappings(Wide, _dicts(rows))
        session.commit()


@wide_path("orm_bulk_insert")
def orm_bulk_insert(db: Database, rows: Rows) -> None:
    if not rows:
        return  # an empty parameter list would run one INSERT of defaults
    with db.session() as session:
        session.execute(sa.insert(Wide), _dicts(rows))
        session.commit()


# -- Core (every executemany mode: the engine options come from the strategy) --------------------------------
@wide_path("core_executemany", "core_executemany_plain", "core_executemany_batch", "core_executemany_values",
           "core_insertmanyvalues")
def core_insert(db: Database, rows: Rows) -> None:
    if not rows:
        return  # SQLAlchemy runs an empty parameter list as one INSERT of defaults
    with db.engine.begin() as conn:
        conn.execute(Wide.__table__.insert(), _dicts(rows))


# -- DB-API (psycopg2) -------------------------------------------------------------------------------------
def _adapted(rows: Rows) -> list[tuple]:
    """Rows as psycopg2 can send them exactly: jsonb values in ``Json``, ``-0.0`` as ``'-0'::float8``."""
    json_ = psycopg2.extras.Json
    copysign = math.copysign
    adapted = []
    for row in rows:
        ratio, doc = row[_RATIO], row[_DOC]
        if ratio == 0.0 and copysign(1.0, ratio) < 0:
            ratio = NEGATIVE_ZERO
        adapted.append((*row[:_RATIO], ratio, *row[_RATIO + 1 : _DOC], None if doc is None else json_(doc),
                        *row[_DOC + 1 :]))
    return adapted


@wide_path("dbapi_executemany")
def dbapi_executemany(db: Database, rows: Rows) -> None:
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.executemany(INSERT_ONE, _adapted(rows))


@wide_path("execute_batch")
def execute_batch(db: Database, rows: Rows) -> None:
    with db.dbapi() as conn, conn.cursor() as cur:
        psycopg2.extras.execute_batch(cur, INSERT_ONE, _adapted(rows), page_size=PAGE_SIZE)


@wide_path("execute_values")
def execute_values(db: Database, rows: Rows) -> None:
    with db.dbapi() as conn, conn.cursor() as cur:
        psycopg2.extras.execute_values(cur, INSERT_VALUES, _adapted(rows), page_size=PAGE_SIZE)


@wide_path("compiled_sql")
def compiled_sql(db: Database, rows: Rows) -> None:
    if not rows:
        return
    row_marks = f"({', '.join(['%s'] * len(COLUMNS))})"
    with db.dbapi() as conn, conn.cursor() as cur:
        statement = f"INSERT INTO wide ({COLUMN_LIST}) VALUES " + ",".join([row_marks] * len(rows))
        cur.execute(cur.mogrify(statement, [value for row in _adapted(rows) for value in row]))


@wide_path("unnest_array")
def unnest_array(db: Database, rows: Rows) -> None:
    if not rows:
        return
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute(UNNEST_SQL, [list(column) for column in zip(*_adapted(rows), strict=True)])


# -- COPY (this package's encoders) -------------------------------------------------------------------------
@wide_path("copy_text")
def copy_text(db: Database, rows: Rows) -> None:
    """The talk's way, typed: one COPY text line built per row, into a StringIO."""
    buffer = io.StringIO("".join([TextCopyEncoder.line(wide.types, row) for row in rows]))
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.copy_expert(COPY_TEXT_SQL, buffer)


@wide_path("copy_text_fast")
def copy_text_fast(db: Database, rows: Rows) -> None:
    payload = TEXT.encode(rows)
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.copy_expert(COPY_TEXT_SQL, io.BytesIO(payload), size=max(len(payload), 1))


@wide_path("copy_text_stream")
def copy_text_stream(db: Database, rows: Rows) -> None:
    with db.dbapi() as conn, conn.cursor() as cur:
        send_overlapped(cur, COPY_TEXT_SQL, TEXT.chunks(rows))


@wide_path("copy_binary")
def copy_binary(db: Database, rows: Rows) -> None:
    with db.dbapi() as conn, conn.cursor() as cur:
        send_overlapped(cur, COPY_BINARY_SQL, BINARY.chunks(rows))


@wide_path("copy_deferred_index")
def copy_deferred_index(db: Database, rows: Rows) -> None:
    """Streamed text COPY with wide's unique key and primary key dropped and rebuilt, one transaction."""
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute("SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f' AND confrelid = 'wide'::regclass)")
        drop_pk = not cur.fetchone()[0]
        drop = f"ALTER TABLE wide DROP CONSTRAINT {WIDE_KEY_CONSTRAINT}"
        add = f"ALTER TABLE wide ADD CONSTRAINT {WIDE_KEY_CONSTRAINT} UNIQUE (big)"
        if drop_pk:
            drop += f", DROP CONSTRAINT {WIDE_PRIMARY_KEY}"
            add += f", ADD CONSTRAINT {WIDE_PRIMARY_KEY} PRIMARY KEY (id)"
        cur.execute(drop)
        send_overlapped(cur, COPY_TEXT_SQL, TEXT.chunks(rows))
        cur.execute(add)

