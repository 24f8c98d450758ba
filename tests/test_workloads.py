"""Workload rows, the COPY encoders and the exactness check, against the real server."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import pickle
import struct
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bulkinsert.data import workloads
from bulkinsert.data.copyencode import BinaryCopyEncoder, TextCopyEncoder
from bulkinsert.data.exact import NotExact, check_exact
from bulkinsert.data.widerows import EDGE_ROWS
from bulkinsert.data.workloads import wide
from bulkinsert.errors import InsertError
from bulkinsert.pg.database import Database

ROWS = 3_000
COLUMNS = {column.name: index for index, column in enumerate(wide.columns)}


@pytest.fixture(scope="module")
def wide_rows() -> Sequence[tuple]:
    return wide.rows(ROWS, seed=7)


def _copy(db: Database, rows: Sequence[tuple], binary: bool, table: str = "wide") -> None:
    columns = ", ".join(wide.column_names)
    encoder = BinaryCopyEncoder(wide.types) if binary else TextCopyEncoder(wide.types)
    option = " (FORMAT BINARY)" if binary else ""
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN{option}", io.BytesIO(encoder.encode(rows)))


def _load(db: Database, rows: Sequence[tuple], binary: bool = True) -> None:
    wide.reset(db)
    _copy(db, rows, binary)


def _changed(rows: Sequence[tuple], index: int, column: str, value: Any) -> list[tuple]:
    changed = list(rows)
    row = list(changed[index])
    row[COLUMNS[column]] = value
    changed[index] = tuple(row)
    return changed


# -- generation ---------------------------------------------------------------------------------
def test_rows_are_deterministic_per_seed() -> None:
    first, again, other = wide.rows(400, seed=3), wide.rows(400, seed=3), wide.rows(400, seed=4)
    assert pickle.dumps(list(first)) == pickle.dumps(list(again))  # bit-equal, NaN included
    assert pickle.dumps(list(first)) != pickle.dumps(list(other))
    assert pickle.dumps(list(first[: len(EDGE_ROWS)])) == pickle.dumps(list(EDGE_ROWS))
    assert workloads.workload_of(first) is wide
    assert len({row[0] for row in wide.rows(20_000)}) == 20_000  # the key is unique


def test_edge_rows_hold_every_edge_value() -> None:
    by_column = {name: [row[index] for row in EDGE_ROWS] for name, index in COLUMNS.items()}
    for column in wide.columns:
        assert (None in by_column[column.name]) == column.nullable, column.name
    ratios = [value for value in by_column["ratio"] if value is not None]
    assert any(math.isnan(value) for value in ratios)
    assert math.inf in ratios and -math.inf in ratios
    assert any(value == 0 and math.copysign(1, value) < 0 for value in ratios)
    assert any(0 < abs(value) < 2.2250738585072014e-308 for value in ratios)  # subnormal
    created = [value for value in by_column["created"] if value is not None]
    assert {value.utcoffset() for value in created} > {timedelta(0)}
    assert any(value.year < 1970 for value in created) and any(value.year >= 9999 for value in created)
    assert any(value.microsecond for value in created)
    assert b"" in by_column["blob"] and set(bytes(range(256))) <= set(b"".join(v for v in by_column["blob"] if v))
    assert Decimal("999999999999.999999") in by_column["price"]


def test_validation_refuses_what_a_column_cannot_store_exactly(wide_rows: Sequence[tuple]) -> None:
    rows = list(wide_rows[:50])
    workloads.validate_rows(wide, rows)
    naive = datetime(2020, 1, 1)
    cases = [
        (_changed(rows, 20, "created", naive), r"wide\.created: row #20 .* naive datetime"),
        (_changed(rows, 21, "price", Decimal("1.0000001")), r"wide\.price: row #21 .* more than 6 decimal"),
        (_changed(rows, 22, "doc", {"x": math.nan}), r"wide\.doc: row #22 .* jsonb"),
        (_changed(rows, 23, "doc", ["nul \x00"]), r"wide\.doc: row #23"),
        (_changed(rows, 24, "note", "nul \x00 inside"), r"wide\.note: row #24 .* NUL"),
        (_changed(rows, 25, "small", True), r"wide\.small: row #25 True is not int"),
        (_changed(rows, 26, "small", 2**31), r"wide\.small: row #26 .* out of range for int4"),
        (_changed(rows, 27, "big", None), r"wide\.big: row #27 is None in a NOT NULL column"),
        (_changed(rows, 28, "day", naive), r"wide\.day: row #28 .* datetime in a date column"),
        (_changed(rows, 29, "ratio", 1), r"wide\.ratio: row #29 1 is not float"),
        (rows[:30] + [rows[30][:5]], r"wide: row #30 is not a tuple of 11 values"),
    ]
    for bad, message in cases:
        with pytest.raises(InsertError, match=message) as refused:
            workloads.validate_rows(wide, bad)
        assert "\n" not in str(refused.value)
    # A literal backslash-u0000 in a JSON string is six characters, not a NUL: it is allowed.
    workloads.validate_rows(wide, _changed(rows, 30, "doc", {"text": "\\u0000"}))


# -- encoders, round trip through the server ----------------------------------------------------------
@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_encoders_round_trip_every_edge_row(db: Database, wide_rows: Sequence[tuple], binary: bool) -> None:
    _load(db, wide_rows, binary)
    assert check_exact(db, wide_rows) == "server"
    assert wide.row_count(db) == ROWS


def test_encoders_chunk_boundaries_change_nothing(wide_rows: Sequence[tuple]) -> None:
    for encoder in (TextCopyEncoder(wide.types), BinaryCopyEncoder(wide.types)):
        assert b"".join(encoder.chunks(wide_rows, chunk_rows=7)) == encoder.encode(wide_rows)


def _same(expected: Any, got: Any) -> bool:
    if isinstance(expected, float):
        return struct.pack(">d", expected) == struct.pack(">d", got) or (math.isnan(expected) and math.isnan(got))
    if isinstance(expected, datetime):
        return expected == got  # aware datetimes compare as instants
    if isinstance(got, memoryview):
        got = bytes(got)
    return expected == got and type(expected) is type(got)


def _json_value(text: str) -> Any:
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


def test_reference_path_is_exact_when_read_back_by_python(db: Database) -> None:
    """The text encoder (the check's trusted path) checked without the check: values read back."""
    rows = [row for row in EDGE_ROWS if row[COLUMNS["created"]] is None or row[COLUMNS["created"]].year < 9999]
    _load(db, rows, binary=False)
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        # jsonb read back as text: its numbers are numeric (1e308 prints as 1 and 308 zeros)
        names = ", ".join(f"{name}::text" if name == "doc" else name for name in wide.column_names)
        cur.execute(f"SELECT {names} FROM wide ORDER BY id")
        loaded = cur.fetchall()
    import uuid

    assert len(loaded) == len(rows)
    for expected_row, loaded_row in zip(rows, loaded, strict=True):
        for column, expected, got in zip(wide.columns, expected_row, loaded_row, strict=True):
            if column.name == "uid" and got is not None:
                got = uuid.UUID(str(got))
            if column.name == "doc" and got is not None:
                expected, got = _json_value(json.dumps(expected)), _json_value(got)
            assert expected is None and got is None or _same(expected, got), (column.name, expected, got)


def test_unconstrained_numeric_binary_is_exact(db: Database) -> None:
    values = ["0", "-0", "1E+5", "-0.00001234", "123456789012345678901234567890.1234567890123", "0.1",
              "9999", "10000", "-10000.0001", "NaN", "Infinity", "-Infinity", "1.10", "12345678.87654321"]
    payload = BinaryCopyEncoder(["numeric"]).encode([(Decimal(text),) for text in values])
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE numbers (n numeric) ON COMMIT DROP")
        cur.copy_expert("COPY numbers (n) FROM STDIN (FORMAT BINARY)", io.BytesIO(payload))
        cur.execute("SELECT n::text FROM numbers")
        stored = [row[0] for row in cur.fetchall()]
        cur.execute("SELECT " + ", ".join(["%s::numeric::text"] * len(values)), values)
        expected = list(cur.fetchone())
    assert stored == expected  # the same value *and* the same display scale as the text input


# -- the check fails on planted lossy loads -------------------------------------------------------------
_EDGE = len(EDGE_ROWS)


@pytest.mark.parametrize(
    "column, lossy, message",
    [
        ("ratio", lambda v: float(f"{v:.6g}"), r"wide\.ratio: expected -?\d\S* got -?\d"),
        ("created", lambda v: v.replace(tzinfo=UTC), r"wide\.created: expected .* got "),
        ("blob", lambda v: v[:-1] + bytes([v[-1] ^ 1]), r"wide\.blob: expected \\x.* got \\x"),
        ("price", lambda v: v + Decimal("0.000001"), r"wide\.price: expected -?\d+\.\d{6} got "),
        ("doc", lambda v: {**v, "score": 0.5}, r"wide\.doc: expected \{.* got \{"),
        ("note", lambda v: v + " ", r"wide\.note: expected "),
        ("uid", lambda v: v.__class__(int=v.int ^ 1), r"wide\.uid: expected "),
    ],
)
def test_check_names_the_column_of_a_lossy_load(
    db: Database, wide_rows: Sequence[tuple], column: str, lossy: Any, message: str
) -> None:
    # a row whose value the loss really changes (not a NaN "rounded", not a UTC time "made UTC")
    index = next(
        i for i in range(_EDGE, ROWS)
        if wide_rows[i][COLUMNS[column]] not in (None, b"", "")
        and not _same(wide_rows[i][COLUMNS[column]], lossy(wide_rows[i][COLUMNS[column]]))
    )
    planted = _changed(wide_rows, index, column, lossy(wide_rows[index][COLUMNS[column]]))
    _load(db, planted)
    with pytest.raises(NotExact, match=message) as failed:
        check_exact(db, wide_rows)
    assert "\n" not in str(failed.value)
    assert f"big={wide_rows[index][0]}" in str(failed.value)


@pytest.mark.parametrize(
    "index, column, value, shown",
    [
        (6, "ratio", 0.0, "expected -0 got 0"),  # the sign of zero is part of the value
        (3, "ratio", 0.0, "expected NaN got 0"),
        (2, "note", "", "expected NULL got  "),  # NULL is not the empty string
        (1, "blob", None, "expected \\x got NULL"),
    ],
)
def test_check_catches_edge_value_losses(
    db: Database, wide_rows: Sequence[tuple], index: int, column: str, value: Any, shown: str
) -> None:
    _load(db, _changed(wide_rows, index, column, value))
    with pytest.raises(NotExact, match=f"wide.{column}: ") as failed:
        check_exact(db, wide_rows)
    assert shown in str(failed.value)


def test_check_catches_missing_and_doubled_rows(db: Database, wide_rows: Sequence[tuple]) -> None:
    _load(db, list(wide_rows[:-1]))
    with pytest.raises(NotExact, match=rf"wide\.big: expected {wide_rows[-1][0]} missing"):
        check_exact(db, wide_rows)
    wide.reset(db)
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE wide DROP CONSTRAINT wide_big_key")
    try:
        _copy(db, list(wide_rows) + [wide_rows[100]], binary=True)
        with pytest.raises(NotExact, match=r"wide\.big: unexpected row big="):
            check_exact(db, wide_rows)
    finally:
        wide.reset(db)  # puts the constraint back
    assert _has_constraint(db, "wide_big_key")


def _has_constraint(db: Database, name: str) -> bool:
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_constraint WHERE conname = %s", (name,))
        return cur.fetchone()[0] == 1


def test_client_reference_path_gives_the_same_verdict(db: Database, wide_rows: Sequence[tuple]) -> None:
    _load(db, wide_rows, binary=False)
    assert check_exact(db, wide_rows, via="client") == "client"
    _load(db, _changed(wide_rows, 50, "ratio", 0.25), binary=False)
    with pytest.raises(NotExact, match=r"wide\.ratio: expected .* got 0\.25"):
        check_exact(db, wide_rows, via="client")


def test_the_check_stages_its_file_with_the_others_and_removes_it(
        db: Database, wide_rows: Sequence[tuple], monkeypatch: pytest.MonkeyPatch) -> None:
    """Written where every server-read file is staged (dead owners' leftovers swept), gone after either verdict."""
    from bulkinsert.pg import serverfiles

    staged: list[Path] = []
    new_file = serverfiles.new_file
    monkeypatch.setattr(serverfiles, "new_file", lambda suffix: staged.append(new_file(suffix)) or staged[-1])
    _load(db, wide_rows, binary=True)
    before = set(serverfiles.own_dir().iterdir())
    assert check_exact(db, wide_rows) == "server"
    _load(db, _changed(wide_rows, 50, "note", "changed"), binary=True)
    with pytest.raises(NotExact, match=r"wide\.note"):
        check_exact(db, wide_rows)
    assert set(serverfiles.own_dir().iterdir()) == before
    assert len(staged) == 2 and all(path.parent == serverfiles.own_dir() and not path.exists() for path in staged)


# -- the talk's table and the populated workload ------------------------------------------------------
def test_populated_reset_fills_the_present_rows_and_the_check_counts_them(db: Database) -> None:
    populated = workloads.get("populated", present=5_000)
    populated.reset(db)
    assert populated.row_count(db) == 5_000
    new = populated.rows(300)
    assert new[0] == "USER5000" and workloads.workload_of(new).present == 5_000
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.copy_expert("COPY users (name) FROM STDIN", io.BytesIO(("\n".join(new) + "\n").encode()))
    assert check_exact(db, new) == "server"
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM users WHERE name = 'USER0042'")
    with pytest.raises(NotExact, match="users.name: expected USER0042 missing"):
        check_exact(db, new)
    workloads.get("users").reset(db)
    assert db.row_count() == 0


def test_unknown_workload_is_a_one_line_error() -> None:
    with pytest.raises(KeyError, match="unknown workload 'tall'; known: users, populated, wide"):
        workloads.get("tall")
    with pytest.raises(ValueError, match="applies to the populated workload"):
        workloads.get("wide", present=10)
    assert dataclasses.replace(wide).name == "wide"


# -- the command line ----------------------------------------------------------------------------------------
def _bulkinsert(*args: str) -> Any:
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "bulkinsert", *args], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ))


def test_run_wide_checks_exactness_and_reports_the_workload() -> None:
    proc = _bulkinsert("run", "copy_binary", "--workload", "wide", "--rows", "400", "--check", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["workload"] == "wide" and data["rows"] == 400 and data["exact"] is True


def test_run_refuses_what_a_workload_cannot_do() -> None:
    proc = _bulkinsert("run", "server_generate", "--workload", "wide", "--rows", "10")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: unsupported: server_generate: workload wide: the server can only generate the talk's USER%04d "
        "names, not typed rows"
    ]
    proc = _bulkinsert("run", "copy_binary", "--workload", "wide", "--present", "10")
    assert proc.returncode == 2 and "--present applies to --workload populated only" in proc.stderr


def test_ladder_on_the_populated_table() -> None:
    proc = _bulkinsert("ladder", "--workload", "populated", "--present", "2000", "--rows", "300", "--repeat", "1",
                       "--no-profile", "--no-dbapi", "--json", "--strategies", "copy_text_stream,copy_deferred_index")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["workload"] == "populated" and data["present"] == 2000
    assert [row["strategy"] for row in data["results"]] == ["copy_text_stream", "copy_deferred_index"]


def test_asv_workload_benchmark_and_memory_command() -> None:
    """The asv class runs a wide sample (n/a with the reason where unsupported); memory is measured."""
    import os
    import subprocess
    import sys

    script = (
        "from benchmarks.workload_time import WorkloadInsertTime as B\n"
        "b = B(); b.setup('copy_binary', 'wide', 300); b.time_insert('copy_binary', 'wide', 300)\n"
        "b.teardown('copy_binary', 'wide', 300)\n"
        "try:\n    B().setup('server_generate', 'wide', 300)\n"
        "except NotImplementedError as e:\n    print('n/a:', e)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    assert "n/a: server_generate: workload wide: the server can only generate" in done.stdout
    done = subprocess.run([sys.executable, "-m", "benchmarks.workload_time", "memory", "copy_binary", "2000"],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout)
    assert measured["rows"] == 2000 and measured["input_bytes"] > 2000 * 500 and measured["peak_increase"] > 0
