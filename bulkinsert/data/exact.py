"""Exact, checked by the server: the loaded table equals the expected rows, value by value.

The expected rows are written as a COPY text file (:class:`~bulkinsert.data.copyencode.TextCopyEncoder`)
and loaded by the server itself (``COPY … FROM '<file>'``) into a temporary reference table;
with a server that cannot read this machine's files (a remote ``BULKINSERT_DSN``, a role
without ``pg_read_server_files``) the same bytes go through psycopg2's ``copy_expert``, which
passes them on untouched. Then ``EXCEPT ALL`` both ways compares the two tables in SQL, so
duplicates and missing rows count too.

What "equal" means per type:

- ``double precision``: the same text in PostgreSQL's shortest exact output (``x::text``):
  ``-0`` differs from ``0`` (a lost sign is a changed value), every NaN is one value, and any
  lost digit shows. (``=`` would call ``-0 = 0`` and ``NaN = NaN`` true.)
- ``timestamptz``: the same instant (PostgreSQL stores UTC; the offset a value came with is not
  stored, so it cannot be compared — a *dropped* offset moves the instant and is caught).
- ``jsonb``: equal as jsonb (key order and whitespace are normalised by the type).
- ``numeric``: equal values; the column's scale is applied on both sides alike.
- everything else: ``=`` of the type (text compares code points under a deterministic collation,
  bytea every byte).

A mismatch raises :class:`NotExact` with one line naming the column and both values, e.g.
``wide.price: expected 123.456789 got 123.456790 (row big=42)``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import InsertError
from ..pg import serverfiles
from .copyencode import TextCopyEncoder, base_type
from .workloads import Workload, workload_of

__all__ = ["NotExact", "check_exact"]

_PREVIEW = 80
_CAN_READ_SERVER_FILES_SQL = (
    "SELECT rolsuper OR pg_has_role(current_user, 'pg_read_server_files', 'MEMBER')"
    " FROM pg_roles WHERE rolname = current_user"
)


class NotExact(InsertError):
    """The loaded rows differ from the expected ones; the message names the column and values."""


def _compared(column: str, pg_type: str, alias: str = "") -> str:
    """The SQL expression two rows are compared by for one column (see the module docstring)."""
    ref = f"{alias}{column}"
    return f"{ref}::text" if base_type(pg_type) == "float8" else ref


def _shown(value: Any) -> str:
    if value is None:
        return "NULL"
    text = str(value)
    return text if len(text) <= _PREVIEW else text[:_PREVIEW] + "…"


def _shown_pair(expected: Any, got: Any) -> tuple[str, str]:
    """Both values, cut around their first difference when they are long (a changed byte shows)."""
    if expected is None or got is None or (len(expected) <= _PREVIEW and len(got) <= _PREVIEW):
        return _shown(expected), _shown(got)
    first = next((i for i, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b),
                 min(len(expected), len(got)))
    start = max(0, first - 20)

    def cut(text: str) -> str:
        return ("…" if start else "") + text[start : start + _PREVIEW] + ("…" if start + _PREVIEW < len(text) else "")

    return f"{cut(expected)} [differs at character {first}]", cut(got)


def _server_reads_files(cur: Any, path: str) -> bool:
    """Whether the server may read, and can see, the file this client just wrote."""
    cur.execute(_CAN_READ_SERVER_FILES_SQL)
    row = cur.fetchone()
    if not row or not row[0]:
        return False
    cur.execute("SELECT (pg_stat_file(%s, true)).size", (path,))
    seen = cur.fetchone()[0]
    return seen == os.path.getsize(path)


def _write_expected(workload: Workload, rows: Sequence[Any]) -> str:
    """The expected rows as a COPY text file the server's OS user can read.

    Staged where the package stages every file the server reads (:mod:`bulkinsert.pg.serverfiles`):
    a check killed halfway leaves its file to be swept by the next process, not in the temp folder.
    """
    path = str(serverfiles.new_file(f"-expected-{workload.table.name}.copy"))
    encoder = TextCopyEncoder(workload.types)
    with open(path, "wb") as out:
        for chunk in encoder.chunks(workload.tuples(workload.present_rows())):
            out.write(chunk)
        for chunk in encoder.chunks(workload.tuples(rows)):
            out.write(chunk)
    serverfiles.make_readable(path)
    return path


def _load_reference(cur: Any, workload: Workload, path: str, reference: str, via: str) -> str:
    """Fill ``reference`` from ``path``; returns how (``server`` or ``client``) for the record."""
    names = ", ".join(workload.column_names)
    cur.execute(f"CREATE TEMP TABLE {reference} ON COMMIT DROP AS SELECT {names} FROM {workload.table.name} "
                "WITH NO DATA")
    if via != "client" and _server_reads_files(cur, path):
        cur.execute(f"COPY {reference} ({names}) FROM %s", (path,))
        return "server"
    with open(path, "rb") as data:
        cur.copy_expert(f"COPY {reference} ({names}) FROM STDIN", data)
    return "client"


def _difference(cur: Any, workload: Workload, left: str, right: str) -> tuple[int, Any]:
    """How many rows of ``left`` are not in ``right`` (as a multiset), and the first one's key."""
    compared = ", ".join(_compared(c.name, c.pg_type) for c in workload.columns)
    key = _compared(workload.key, next(c.pg_type for c in workload.columns if c.name == workload.key))
    cur.execute(
        f"SELECT count(*), min(k) FROM (SELECT {key} AS k, {compared} FROM {left}"
        f" EXCEPT ALL SELECT {key}, {compared} FROM {right}) AS d"
    )
    count, first = cur.fetchone()
    return int(count), first


def _describe(cur: Any, workload: Workload, reference: str, missing: int, extra: int, key_value: Any) -> str:
    """One line naming the first differing column of the first differing row, with both values."""
    table, key = workload.table.name, workload.key
    summary = f"{missing} expected row(s) missing or changed, {extra} unexpected"
    selects = ", ".join(
        f"e.{c.name}::text, l.{c.name}::text, {_compared(c.name, c.pg_type, 'e.')} IS DISTINCT FROM "
        f"{_compared(c.name, c.pg_type, 'l.')}"
        for c in workload.columns
    )
    cur.execute(
        f"SELECT {selects} FROM {reference} e JOIN {table} l ON l.{key} = e.{key} WHERE e.{key} = %s LIMIT 1",
        (key_value,),
    )
    row = cur.fetchone()
    if row is None:
        return f"{table}.{key}: expected {_shown(key_value)} missing ({summary})"
    for index, column in enumerate(workload.columns):
        expected, got, differs = row[3 * index : 3 * index + 3]
        if differs:
            expected, got = _shown_pair(expected, got)
            return (
                f"{table}.{column.name}: expected {expected} got {got} "
                f"(row {key}={_shown(key_value)}; {summary})"
            )
    return f"{table}: row {key}={_shown(key_value)} is stored more or fewer times than expected ({summary})"


def check_exact(db: Any, rows: Sequence[Any], workload: Workload | None = None, *, via: str = "auto") -> str:
    """Raise :class:`NotExact` unless the workload's table holds exactly its present rows plus ``rows``.

    Returns how the reference was loaded: ``"server"`` (server-side COPY of the file, when the
    server can read it) or ``"client"`` (the same file through ``copy_expert``; ``via="client"``
    forces it). Runs in one transaction on ``db``'s connection; the temporary reference table
    and the file are gone afterwards.
    """
    if via not in ("auto", "client"):
        raise ValueError(f"via must be 'auto' or 'client', not {via!r}")
    workload = workload or workload_of(rows)
    path = _write_expected(workload, rows)
    reference = f"expected_{workload.table.name}"
    try:
        with db.dbapi() as conn, conn.cursor() as cur:
            how = _load_reference(cur, workload, path, reference, via)
            missing, first_missing = _difference(cur, workload, reference, workload.table.name)
            extra, first_extra = _difference(cur, workload, workload.table.name, reference)
            if missing or extra:
                key_value = first_missing if missing else first_extra
                if not missing:  # an unexpected row only: name it from the loaded side
                    raise NotExact(
                        f"{workload.table.name}.{workload.key}: unexpected row {workload.key}="
                        f"{_shown(key_value)} ({extra} unexpected row(s))"
                    )
                raise NotExact(_describe(cur, workload, reference, missing, extra, key_value))
            return how
    finally:
        Path(path).unlink(missing_ok=True)
