"""Shared by the release-tool tests: the planted strategies of ``data/release_paths.py``, and a server
without statement counts.

``planted_paths`` registers the file's strategies (in this process and, through the inherited
variable, in every measuring process) and takes them out again afterwards, so no later test sees
them. ``no_statement_counts`` is the embedded server seen by a role that is not a superuser, in a
database of its own: pg_stat_statements is loaded by the server but not created in that database,
and the role may not create it, so the server gives no statement counts, for real.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import registrations_restored

from bulkinsert import user_strategies
from bulkinsert.pg import server
from bulkinsert.registry import load

PATHS_FILE = Path(__file__).parent / "data" / "release_paths.py"


@contextmanager
def planted_paths(monkeypatch: pytest.MonkeyPatch, **variables: str) -> Iterator[Path]:
    """``release_paths.py`` loaded, with its variables (``BULKINSERT_TEST_EXTRA_CALLS=...``) set."""
    with registrations_restored(variable=False):  # monkeypatch restores the variable
        monkeypatch.setenv(user_strategies.ENV_VARIABLE, str(PATHS_FILE))
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        load()
        yield PATHS_FILE


@contextmanager
def no_statement_counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``BULKINSERT_DSN`` set to the embedded server as a plain role in a database of its own."""
    import psycopg2

    if os.environ.get(server.DSN_ENV):
        pytest.skip("BULKINSERT_DSN points at an external server")
    admin = server.embedded_server().dsn("postgres")
    role = f"bulkinsert_nostats_{os.getpid()}"
    database = f"bulkinsert_nostats_test_{os.getpid()}"  # dropped by the next start if this run is killed
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            cur.execute(f'DROP ROLE IF EXISTS "{role}"')
            cur.execute(f'CREATE ROLE "{role}" LOGIN')
            cur.execute(f'CREATE DATABASE "{database}" OWNER "{role}"')
        own = server._with_database(admin, database).replace("postgresql://postgres:", f"postgresql://{role}:", 1)
        assert role in own, own
        monkeypatch.setenv(server.DSN_ENV, own)
        yield own
    finally:
        monkeypatch.delenv(server.DSN_ENV, raising=False)
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            cur.execute(f'DROP ROLE IF EXISTS "{role}"')
        conn.close()
