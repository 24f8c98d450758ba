"""The peer drivers and the fast COPY paths: exact round trips, refusals, duplicates, memory.

Real embedded PostgreSQL (the per-run database from conftest), no mocks.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BAD_NAMES

from bulkinsert import InsertError, compat, default_names, registry, run_insert
from bulkinsert.data.copyencode import binary_copy_bytes, binary_copy_chunks, text_copy_bytes, text_copy_chunks
from bulkinsert.pg.database import Database

CHECKOUT = Path(__file__).resolve().parents[1]
PEERS = ["psycopg3_copy_text", "psycopg3_copy_binary", "asyncpg_copy_records", "adbc_ingest"]
FAST_COPY = ["copy_text_fast", "copy_text_stream", "copy_binary", "copy_deferred_index", "server_copy_file"]
UNDER_TEST = PEERS + FAST_COPY


def _runnable(name: str) -> registry.Strategy:
    strategy = registry.get(name)
    reason = strategy.unsupported_reason()
    if reason is not None:
        pytest.skip(f"{name}: {reason}")
    return strategy


def _indexes(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        rows = compat.exec_driver_sql(conn,
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'users' ORDER BY indexname"
        ).fetchall()
    return [row[0] for row in rows]


def _constraints(db: Database) -> list[tuple[str, str]]:
    with db.engine.connect() as conn:
        rows = compat.exec_driver_sql(conn,
            "SELECT conname, contype FROM pg_constraint WHERE conrelid = 'users'::regclass"
            " AND contype IN ('p', 'u') ORDER BY conname"
        ).fetchall()
    return [(row[0], row[1]) for row in rows]


# -- the payload builders --------------------------------------------------------------------
@pytest.mark.parametrize("chunk_rows", [1, 2, 7, 1000])
def test_streamed_chunks_equal_the_one_buffer(chunk_rows: int) -> None:
    clean = list(default_names(50))
    for names in (BAD_NAMES, clean, clean[:20] + ["tab\there"] + clean[20:]):
        assert b"".join(text_copy_chunks(names, chunk_rows)) == text_copy_bytes(names)
        assert b"".join(binary_copy_chunks(names, chunk_rows)) == binary_copy_bytes(names)


def test_text_payload_escapes_only_what_needs_it() -> None:
    assert text_copy_bytes(["a", "b"]) == b"a\nb\n"
    assert text_copy_bytes(["a\nb", "c"]) == b"a\\nb\nc\n"  # a newline inside a name
    assert text_copy_bytes(["\\N", "\\."]) == b"\\\\N\n\\\\.\n"
    assert text_copy_bytes([""]) == b"\n"
    assert text_copy_bytes([]) == b""


# -- round trips and refusals ----------------------------------------------------------------
@pytest.mark.parametrize("name", UNDER_TEST)
def test_bad_input_round_trips_exactly(name: str, db: Database) -> None:
    strategy = _runnable(name)
    run_insert(strategy, list(BAD_NAMES), db=db)
    assert db.fetch_names() == BAD_NAMES


@pytest.mark.parametrize("name", UNDER_TEST)
@pytest.mark.parametrize("bad", [["ok", "nul\x00inside"], ["ok", "\udc80"], ["ok", 7]])
def test_unstorable_input_is_refused_before_writing(name: str, bad: list, db: Database) -> None:
    strategy = _runnable(name)
    run_insert("copy_text_fast", ["keep me"], db=db)
    with pytest.raises(InsertError):
        run_insert(strategy, bad, db=db, reset=False)
    assert db.fetch_names() == ["keep me"]


@pytest.mark.parametrize("name", UNDER_TEST)
def test_duplicates_fail_and_leave_the_table_exactly_as_before(name: str, db: Database) -> None:
    strategy = _runnable(name)
    existing = list(default_names(30))
    run_insert("copy_text_fast", existing, db=db)
    indexes, constraints = _indexes(db), _constraints(db)
    with pytest.raises(InsertError, match="duplicate name") as failure:
        run_insert(strategy, default_names(30, start=20), db=db, reset=False)
    assert "\n" not in str(failure.value)
    assert db.fetch_names() == existing
    assert _indexes(db) == indexes and _constraints(db) == constraints
    with pytest.raises(InsertError, match="duplicate name"):
        run_insert(strategy, ["fresh", "twice", "twice"], db=db, reset=False)
    assert db.fetch_names() == existing
    # The same (reused) connection still works after the failures.
    run_insert(strategy, ["after"], db=db, reset=False)
    assert db.fetch_names() == existing + ["after"]


def test_deferred_index_restores_both_indexes_and_rejects_duplicates(db: Database) -> None:
    names = list(default_names(5_000))
    before = _indexes(db), _constraints(db)
    run_insert("copy_deferred_index", names, db=db)
    assert (_indexes(db), _constraints(db)) == before
    assert db.fetch_names() == names
    with db.engine.connect() as conn:  # ids are still assigned from the sequence, in order
        ids = [row[0] for row in compat.exec_driver_sql(conn, "SELECT id FROM users ORDER BY id")]
    assert ids == list(range(1, 5_001))
    with pytest.raises(InsertError, match="duplicate name"):
        run_insert("copy_deferred_index", ["new", names[4_321]], db=db, reset=False)
    assert db.fetch_names() == names
    assert (_indexes(db), _constraints(db)) == before


def test_deferred_index_keeps_a_primary_key_that_a_foreign_key_needs(db: Database) -> None:
    db.reset()
    with db.engine.begin() as conn:
        compat.exec_driver_sql(conn, "CREATE TABLE fk_probe (user_id int REFERENCES users (id))")
    try:
        before = _indexes(db), _constraints(db)
        run_insert("copy_deferred_index", ["a", "b"], db=db, reset=False)
        assert db.fetch_names() == ["a", "b"]
        assert (_indexes(db), _constraints(db)) == before
    finally:
        with db.engine.begin() as conn:
            compat.exec_driver_sql(conn, "DROP TABLE fk_probe")


@pytest.mark.parametrize("name", PEERS)
def test_peer_client_cpu_and_driver_time_are_measured(name: str, db: Database) -> None:
    _runnable(name)  # a visible skip, with the reason, when the peer driver is not installed
    result = run_insert(name, default_names(20_000), db=db)
    # The driver's work (asyncpg's event loop included) runs in this process.
    assert 0 < result.cpu_seconds < result.seconds * (os.cpu_count() or 1) + 0.05
    assert 0 < result.dbapi_seconds <= result.seconds
    assert result.dbapi_seconds + result.encode_seconds <= result.seconds


@pytest.mark.parametrize("name", ["copy_text_stream", "copy_binary", "psycopg3_copy_binary"])
def test_payload_building_inside_driver_calls_is_encode_time_not_driver_time(name: str, db: Database) -> None:
    """Chunks built while the driver reads them (and psycopg 3's write_row loop) are encode time."""
    _runnable(name)
    result = run_insert(name, default_names(50_000), db=db)
    assert result.encode_seconds > 0
    assert 0 < result.dbapi_seconds
    assert result.dbapi_seconds + result.encode_seconds <= result.seconds


# -- memory ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["copy_text_stream", "copy_text_fast"])
def test_peak_memory_stays_under_twice_the_input(name: str) -> None:
    """Measured in a fresh process: the peak RSS increase during the insert of 200,000 names."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]);"
        "from benchmarks.scale import peak_memory;"
        "print(json.dumps(peak_memory(sys.argv[2], 200_000)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(CHECKOUT), name],
        capture_output=True, text=True, timeout=120, check=False, env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    import json

    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert measured["input_bytes"] > 10_000_000
    assert measured["ratio_to_input"] <= 2.0, measured
