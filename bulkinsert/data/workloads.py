"""Workloads: which table a load writes, which rows it writes, and what is there before it.

- ``users`` — the talk's table: one text column into an empty ``users(id, name unique)``. The
  default, so every earlier figure stays comparable.
- ``populated`` — the same table already holding ``present`` rows (default 1,000,000, filled
  before the timer); the load adds new names after them.
- ``wide`` — eleven typed columns (``bigint``, ``integer``, ``numeric(18,6)``, ``double
  precision``, ``boolean``, ``timestamptz``, ``date``, ``uuid``, ``jsonb``, ``text``, ``bytea``)
  with the edge values data loads get wrong (:mod:`bulkinsert.data.widerows`).

A workload's rows are a list that remembers its workload (:func:`workload_of`), so strategies
keep their ``(db, rows)`` signature: the names of ``users``/``populated`` are still a list of
``str``; ``wide`` rows are tuples in :attr:`Workload.columns` order. Adding a workload means
adding a :class:`Workload` to :data:`WORKLOADS` (table, columns, row generator, reset); a user's
strategy file calls :func:`register_workload` to declare its own table and rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from psycopg2.extensions import AsIs
from sqlalchemy.dialects import postgresql

from .. import compat
from .schema import (
    RESET_SQL,
    RESTORE_CONSTRAINT_SQL,
    Base,
    GeneratedNames,
    default_names,
    restore_constraints_sql,
    users,
)
from .typedrows import validate_rows

__all__ = [
    "WORKLOADS", "Column", "Wide", "WideRows", "Workload", "get", "register_workload", "validate_rows", "wide",
    "workload_for", "workload_of",
]

DEFAULT_WORKLOAD = "users"
DEFAULT_PRESENT = 1_000_000
WIDE_KEY_CONSTRAINT = "wide_big_key"
WIDE_PRIMARY_KEY = "wide_pkey"


class SignedZeroDouble(sa.types.TypeDecorator):
    """``double precision`` that keeps the sign of ``-0.0`` through psycopg2.

    psycopg2 writes a float as a bare literal (`` -0.0``), which PostgreSQL reads as a
    ``numeric`` — and numeric has no negative zero, so ``-0.0`` is stored as ``0``. This type
    sends only that one value as the quoted float8 literal ``'-0'::float8``; every other float
    goes through psycopg2's own adaptation (NaN and ±Infinity are quoted there already).
    """

    impl = postgresql.DOUBLE_PRECISION
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        negative_zero = value == 0.0 and type(value) is float and math.copysign(1.0, value) < 0
        if negative_zero and compat.loses_negative_zero(dialect):
            return NEGATIVE_ZERO
        return value


NEGATIVE_ZERO = AsIs("'-0'::float8")


class Wide(Base):  # type: ignore[misc,valid-type]
    """The ``wide`` table: one column per type a typical load writes, all but the key nullable."""

    __tablename__ = "wide"
    __table_args__ = (sa.UniqueConstraint("big", name=WIDE_KEY_CONSTRAINT),)

    id = sa.Column(sa.BigInteger, primary_key=True, autoincrement=True)
    big = sa.Column(sa.BigInteger, nullable=False)
    small = sa.Column(sa.Integer)
    price = sa.Column(sa.Numeric(18, 6))
    ratio = sa.Column(SignedZeroDouble)
    flag = sa.Column(sa.Boolean)
    created = sa.Column(sa.DateTime(timezone=True))
    day = sa.Column(sa.Date)
    uid = sa.Column(postgresql.UUID(as_uuid=True))
    # Python None is SQL NULL, not the JSON scalar null (SQLAlchemy's default for JSON).
    doc = sa.Column(postgresql.JSONB(none_as_null=True))
    note = sa.Column(sa.Text)
    blob = sa.Column(sa.LargeBinary)


wide_table = Wide.__table__
WIDE_SEQUENCE = "wide_id_seq"


@dataclass(frozen=True)
class Column:
    """One loaded column: its name and PostgreSQL type (as :mod:`bulkinsert.data.copyencode` names it)."""

    name: str
    pg_type: str
    nullable: bool = True


WIDE_COLUMNS = (
    Column("big", "int8", nullable=False),
    Column("small", "int4"),
    Column("price", "numeric(18,6)"),
    Column("ratio", "float8"),
    Column("flag", "bool"),
    Column("created", "timestamptz"),
    Column("day", "date"),
    Column("uid", "uuid"),
    Column("doc", "jsonb"),
    Column("note", "text"),
    Column("blob", "bytea"),
)
NAME_COLUMNS = (Column("name", "text", nullable=False),)

_RESTORE_WIDE_CONSTRAINTS_SQL = restore_constraints_sql(
    "wide", {WIDE_KEY_CONSTRAINT: "UNIQUE (big)", WIDE_PRIMARY_KEY: "PRIMARY KEY (id)"})
# The talk's names for the rows already present: USER0000 … as default_names(present) makes them.
_FILL_USERS_SQL = (
    "INSERT INTO users (name) SELECT 'USER' || CASE WHEN i < 10000 THEN lpad(i::text, 4, '0')"
    " ELSE i::text END FROM generate_series(0, %s - 1) AS i"
)


def _execute(db: Any, *statements: tuple[str, tuple] | str) -> None:
    with db.dbapi() as conn, conn.cursor() as cur:
        for statement in statements:
            sql, params = (statement, None) if isinstance(statement, str) else statement
            cur.execute(sql, params)


@dataclass(frozen=True)
class Workload:
    """What one load writes: the table, its columns, the rows, and the table's state before."""

    name: str
    description: str
    table: sa.Table = field(repr=False)
    columns: tuple[Column, ...]
    key: str  # a column that tells rows apart, named in mismatch messages
    generate: Callable[[Workload, int, int], Sequence[Any]] = field(repr=False, compare=False)
    present: int = 0  # rows already in the table before the timed load
    # A registered workload's own reset (its tables, their parents' rows), instead of the built-in one.
    own_reset: Callable[[Any], None] | None = field(default=None, repr=False, compare=False)
    strategies: tuple[str, ...] = ()  # strategies written for this workload: it is what they insert

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(column.pg_type for column in self.columns)

    @property
    def single_column(self) -> bool:
        """Rows are bare values (the talk's names), not tuples."""
        return len(self.columns) == 1

    def rows(self, count: int, seed: int = 0) -> Sequence[Any]:
        """``count`` rows for this workload, the same for the same ``seed`` (made before timing)."""
        return self.generate(self, count, seed)

    def tuples(self, rows: Sequence[Any]) -> Sequence[tuple]:
        """The rows as tuples in column order (names become 1-tuples)."""
        return [(row,) for row in rows] if self.single_column else rows

    def with_present(self, present: int) -> Workload:
        return replace(self, present=present)

    def create(self, db: Any) -> None:
        with db.engine.begin() as conn:
            self.table.create(conn, checkfirst=True)

    def reset(self, db: Any) -> None:
        """Put the table in its before-the-load state: empty, or holding ``present`` rows."""
        if self.table is users:
            _execute(db, RESTORE_CONSTRAINT_SQL, RESET_SQL)
            if self.present:
                _execute(db, (_FILL_USERS_SQL, (self.present,)))
                _vacuum(db, "users")
            return
        if self.own_reset is not None:
            self.own_reset(db)
            return
        self.create(db)
        # Empty first: constraints an interrupted deferred-index load left off then always fit.
        _execute(db, f"TRUNCATE {self.table.name} RESTART IDENTITY", _RESTORE_WIDE_CONSTRAINTS_SQL)

    def present_rows(self) -> Sequence[Any]:
        """The rows :meth:`reset` puts in the table before the load."""
        return default_names(self.present) if self.present else []

    def row_count(self, db: Any) -> int:
        with db.dbapi() as conn, conn.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {self.table.name}")
            return int(cur.fetchone()[0])


def _vacuum(db: Any, table: str) -> None:
    """VACUUM ANALYZE after a fill, so every round starts from the same visibility and statistics."""
    import psycopg2

    conn = psycopg2.connect(db.dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"VACUUM ANALYZE {table}")
    finally:
        conn.close()


class WorkloadRows(list):
    """A plain list of rows that remembers the workload (and seed) it was made for."""

    def __init__(self, values: Any, workload: Workload, seed: int = 0) -> None:
        super().__init__(values)
        self.workload = workload
        self.seed = seed


class PopulatedNames(GeneratedNames):
    """``USER%04d`` names that start after the ``present`` ones already in the table."""

    def __init__(self, rows: int, workload: Workload) -> None:
        super().__init__(rows, start=workload.present)
        self.workload = workload


WideRows = WorkloadRows


def _generate_names(workload: Workload, count: int, seed: int) -> Sequence[Any]:
    return default_names(count)


def _generate_populated(workload: Workload, count: int, seed: int) -> Sequence[Any]:
    return PopulatedNames(count, workload)


def _generate_wide(workload: Workload, count: int, seed: int) -> Sequence[Any]:
    from .widerows import wide_rows

    return WorkloadRows(wide_rows(count, seed), workload, seed)


WORKLOADS: dict[str, Workload] = {
    workload.name: workload
    for workload in (
        Workload("users", "the talk's users(name) table, empty before the load", users,
                 NAME_COLUMNS, "name", _generate_names),
        Workload("populated", "users(name) already holding `present` rows; the load adds new names",
                 users, NAME_COLUMNS, "name", _generate_populated,
                 present=DEFAULT_PRESENT),
        Workload("wide", "eleven typed columns with edge values (NULL, NaN, ±Infinity, -0.0, offsets, bytes)",
                 wide_table, WIDE_COLUMNS, "big", _generate_wide),
    )
}
wide = WORKLOADS["wide"]


def get(name: str, *, present: int | None = None) -> Workload:
    """The workload called ``name`` (``present`` overrides how many rows ``populated`` starts with)."""
    try:
        workload = WORKLOADS[name]
    except KeyError:
        raise KeyError(f"unknown workload {name!r}; known: {', '.join(WORKLOADS)}") from None
    if present is not None:
        if workload.name != "populated":
            raise ValueError(f"--present applies to the populated workload, not {name!r}")
        workload = workload.with_present(present)
    return workload


def workload_of(rows: Sequence[Any]) -> Workload:
    """The workload ``rows`` were made for; a plain list of names is the talk's ``users``."""
    return getattr(rows, "workload", None) or WORKLOADS[DEFAULT_WORKLOAD]



def workload_for(strategy_name: str) -> Workload | None:
    """The workload ``strategy_name`` was written for (:func:`register_workload`), or None."""
    return next((w for w in WORKLOADS.values() if strategy_name in w.strategies), None)


def register_workload(
    name: str,
    table: sa.Table | Any,
    columns: Sequence[Column | tuple[str, str]],
    *,
    key: str,
    rows: Callable[[int, int], Sequence[tuple]],
    reset: Callable[[Any], None] | None = None,
    strategies: Sequence[str] = (),
    description: str = "",
) -> Workload:
    """Declare a workload of one's own: its table, the loaded columns, and how rows are made.

    For a strategy file (``--strategies-from``): the strategies named in ``strategies`` insert
    these rows by default (``bulkinsert run``, the release tools, the exactness check), and no
    other workload. ``table`` is a Table or a declarative model; ``columns`` are the loaded
    columns in row order as ``(name, pg_type)`` (``int8``, ``int4``, ``numeric(p,s)``,
    ``float8``, ``bool``, ``timestamptz``, ``date``, ``uuid``, ``jsonb``, ``text``, ``bytea``;
    columns left to server defaults are not listed); ``rows(count, seed)`` returns tuples in
    that order; ``reset(db)`` puts the tables in their before-the-load state (default: create
    the table, then TRUNCATE it).
    """
    import inspect

    from .copyencode import base_type
    from .typedrows import _ALLOWED_TYPES

    if name in WORKLOADS:
        raise ValueError(f"workload {name!r} is already registered")
    table = getattr(table, "__table__", table)
    if not isinstance(table, sa.Table):
        raise ValueError(f"workload {name!r}: table must be a sqlalchemy Table or a mapped class")
    declared = tuple(c if isinstance(c, Column) else Column(*c) for c in columns)
    for column in declared:
        if column.name not in table.c:
            raise ValueError(f"workload {name!r}: {table.name} has no column {column.name!r}")
        if base_type(column.pg_type) not in _ALLOWED_TYPES:
            raise ValueError(f"workload {name!r}: column {column.name}: unknown type {column.pg_type!r} "
                             f"(known: {', '.join(_ALLOWED_TYPES)})")
    if key not in {c.name for c in declared}:
        raise ValueError(f"workload {name!r}: key {key!r} is not one of its columns")
    if len(declared) < 2:
        raise ValueError(f"workload {name!r}: list at least two columns (one text column is the users workload)")
    if isinstance(strategies, str) or not strategies:
        raise ValueError(f"workload {name!r}: name the strategies written for it (strategies=(...))")
    try:
        inspect.signature(rows).bind(0, 0)
    except TypeError:
        raise ValueError(f"workload {name!r}: rows must be a function rows(count, seed)") from None

    def generate(workload: Workload, count: int, seed: int) -> Sequence[Any]:
        return WorkloadRows(rows(count, seed), workload, seed)

    def default_reset(db: Any) -> None:
        with db.engine.begin() as conn:
            table.create(conn, checkfirst=True)
        _execute(db, f"TRUNCATE {table.name} RESTART IDENTITY CASCADE")

    workload = Workload(name, description or f"{table.name}: {len(declared)} columns", table, declared, key,
                        generate, own_reset=reset or default_reset, strategies=tuple(strategies))
    WORKLOADS[name] = workload
    return workload
