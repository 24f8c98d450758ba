"""Databases of their own on one server, so concurrent runs never share a ``users`` table.

Tests take ``…_test_<pid>`` and held runs ``…_run_<pid>``; creating one is idempotent under
races, and a run that was killed before dropping its database has it dropped by the next start.
"""

from __future__ import annotations

import re

from . import processes
from .dsn import CONNECT_TIMEOUT_SECONDS


def ensure_database(admin_dsn: str, database: str) -> None:
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(admin_dsn, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cur.fetchone() is None:
                try:
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
                except (psycopg2.errors.DuplicateDatabase, psycopg2.errors.UniqueViolation):
                    # Another process created it between our check and our CREATE (two at
                    # once collide on pg_database's unique index): it exists, which is all we need.
                    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
                    if cur.fetchone() is None:
                        raise
    finally:
        conn.close()


def drop_database(admin_dsn: str, database: str) -> None:
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(admin_dsn, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )
    finally:
        conn.close()


_RUN_DATABASE = re.compile(r"_(?:test|run)_(\d+)$")


def prune_orphan_databases(admin_dsn: str) -> list[str]:
    """Drop per-run databases (``…_test_<pid>``, ``…_run_<pid>``) whose process is gone.

    A killed test or benchmark run cannot drop its own database; the next run does it.
    """
    import psycopg2

    dropped = []
    try:
        conn = psycopg2.connect(admin_dsn, connect_timeout=CONNECT_TIMEOUT_SECONDS)
        with conn.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database WHERE datname ~ %s", (_RUN_DATABASE.pattern,))
            candidates = [row[0] for row in cur.fetchall()]
        conn.close()
    except psycopg2.Error:
        return dropped
    for name in candidates:
        match = _RUN_DATABASE.search(name)
        if match and not processes.pid_alive(int(match.group(1))):
            try:
                drop_database(admin_dsn, name)
                dropped.append(name)
            except psycopg2.Error:
                pass
    return dropped
