"""Reference floors: the server loading the same rows with no Python client in the way.

``server_copy_file`` is the server's own limit for this table — ``COPY FROM`` a file the
server reads itself, unique index kept — and what every client path is divided by.
``server_generate`` makes the names in SQL instead; measured, it is *slower* than COPY (the
INSERT ... SELECT executor and the string building cost more per row than COPY's parser), so
it bounds nothing from below and stays only as the talk-era comparison.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..data.copyencode import text_copy_chunks
from ..data.schema import GeneratedNames
from ..pg import serverfiles
from ..pg.database import Database
from ..registry import Unsupported, strategy

GENERATE_SQL = (
    "INSERT INTO users (name) SELECT 'USER' || CASE WHEN i < 10000 THEN lpad(i::text, 4, '0')"
    " ELSE i::text END FROM generate_series(%s::bigint, %s::bigint) AS i"
)

_CAN_READ_SERVER_FILES_SQL = (
    "SELECT rolsuper OR pg_has_role(current_user, 'pg_read_server_files', 'MEMBER')"
    " FROM pg_roles WHERE rolname = current_user"
)


@strategy(family="reference", unsupported={
    "wide": "the server can only generate the talk's USER%04d names, not typed rows"})
def server_generate(db: Database, names: Sequence[str]) -> None:
    """INSERT ... SELECT generate_series() makes the same USER%04d names in the server."""
    if not isinstance(names, GeneratedNames):
        raise Unsupported(
            "server_generate: the server can only reproduce the generated USER%04d names, "
            "not arbitrary input"
        )
    if not names:
        return
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute(GENERATE_SQL, (names.start, names.start + len(names) - 1))


@dataclass
class _StagedFile:
    dsn: str
    rows: Sequence[Any]  # held so that its id() cannot be reused by another list
    length: int
    path: str
    pid: int  # the writer: a forked child inherits this list but must not reuse or delete the file


_STAGED: list[_StagedFile] = []  # one slot: the most recently staged input


def _remove_staged() -> None:
    for staged in _STAGED:
        if staged.pid == os.getpid():
            try:
                os.unlink(staged.path)
            except OSError:
                pass
    _STAGED.clear()


atexit.register(_remove_staged)


def stage_payload(db: Database, rows: Sequence[Any], chunks: Callable[[Any], Iterable[bytes]]) -> str:
    """Write ``chunks(rows)`` as a file the server can read (before the timer); returns its path.

    The same list object is staged once per process. The file lives in this process's
    subdirectory of :func:`bulkinsert.pg.serverfiles.staged_root`, so a process that never runs
    ``atexit`` leaves it only until the next staging removes it. Raises :class:`Unsupported`
    when the server cannot read the file (no superuser or ``pg_read_server_files``, or a server
    on another machine). Shared by both floors: ``server_copy_file`` of names and of typed rows.
    """
    for staged in _STAGED:
        if (staged.pid == os.getpid() and staged.dsn == db.dsn and staged.rows is rows
                and staged.length == len(rows)):
            return staged.path
    _remove_staged()
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute(_CAN_READ_SERVER_FILES_SQL)
        row = cur.fetchone()
        if not row or not row[0]:
            raise Unsupported(
                "server_copy_file: the database role may not read server files "
                "(needs superuser or pg_read_server_files)"
            )
    # The server may run as another OS user (the embedded server does when we are root):
    # serverfiles keeps directories it can traverse; the file is made readable to it.
    path = str(serverfiles.new_file(".copy"))
    try:
        with open(path, "wb") as out:
            for chunk in chunks(rows):
                out.write(chunk)
    except BaseException:  # a half-written file is neither reused nor left behind
        os.unlink(path)
        raise
    serverfiles.make_readable(path)
    size = os.path.getsize(path)
    _STAGED.append(_StagedFile(db.dsn, rows, len(rows), path, os.getpid()))
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute("SELECT (pg_stat_file(%s, true)).size", (path,))
        seen = cur.fetchone()[0]
    if seen != size:
        _remove_staged()
        raise Unsupported(
            "server_copy_file: the server cannot see files this client writes "
            "(it runs on another machine or in another filesystem namespace)"
        )
    return path


def stage_server_file(db: Database, names: Sequence[str]) -> str:
    """``server_copy_file``'s ``setup`` hook: ``names`` as a COPY text file the server reads.

    Run before timing, so the strategy then times the server's COPY only.
    """
    return stage_payload(db, names, text_copy_chunks)


@strategy(family="reference", setup=stage_server_file, roles=("floor",))
def server_copy_file(db: Database, names: Sequence[str]) -> None:
    """Floor: server-side COPY users (name) FROM '<file>', unique index kept (no client).

    The file is written by :func:`stage_server_file`, the strategy's ``setup`` hook, outside
    the timed region; called directly, the function stages it first (untimed callers only).
    """
    path = stage_server_file(db, names)
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute("COPY users (name) FROM %s", (path,))
