"""The command line, run as a user runs it: a real process against the real server."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import assert_statements_counted

from bulkinsert import registry
from bulkinsert.pg.database import Database


def bulkinsert(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bulkinsert", *args],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )


def test_list_json_describes_every_strategy() -> None:
    proc = bulkinsert("list", "--json")
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout)
    assert [item["name"] for item in listed] == list(registry.load())
    for item in listed:
        assert set(item) >= {"name", "family", "driver", "description", "supported", "reason"}
        assert item["supported"] == (item["reason"] is None)


def test_list_table_mentions_versions_and_reasons() -> None:
    proc = bulkinsert("list")
    assert proc.returncode == 0
    assert "sqlalchemy" in proc.stdout and "copy_text_fast" in proc.stdout


def test_run_json_reports_the_measurement(db: Database) -> None:
    proc = bulkinsert("run", "core_executemany", "--rows", "1234", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["strategy"] == "core_executemany" and result["rows"] == 1234
    assert result["seconds"] > 0 and result["dbapi_seconds"] > 0 and result["cpu_seconds"] > 0
    # Wall time from a plain insert; driver time from a second, instrumented one, shown with it.
    assert result["instrumented"] is False
    assert 0 < result["dbapi_seconds"] <= result["instrumented_seconds"]
    assert "disabled" in result["gc"]
    assert_statements_counted(db, result["statements"])
    assert db.row_count() == 1234
    assert db.fetch_names()[:2] == ["USER0000", "USER0001"]


def test_run_names_json_inserts_verbatim(tmp_path: Path, db: Database) -> None:
    names = ["tab\t", "nl\n", "\\N", "%(x)s", "😀", ""]
    source = tmp_path / "names.json"
    source.write_text(json.dumps(names), encoding="utf-8")
    proc = bulkinsert("run", "copy_binary", "--names-json", str(source))
    assert proc.returncode == 0, proc.stderr
    assert "6 rows" in proc.stdout
    assert "driver calls, from a second insert with them instrumented" in proc.stdout
    assert db.fetch_names() == names


@pytest.mark.parametrize(
    ("content", "message"),
    [('{"not": "a list"}', "JSON array"), ("[1, 2]", "not str"), ("not json", "cannot read"),
     ('["nul\\u0000"]', "NUL")],
)
def test_run_rejects_bad_names_file_in_one_line(tmp_path: Path, content: str, message: str) -> None:
    source = tmp_path / "bad.json"
    source.write_text(content, encoding="utf-8")
    proc = bulkinsert("run", "copy_text", "--names-json", str(source))
    assert proc.returncode != 0
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_run_profile_writes_a_capture(tmp_path: Path) -> None:
    import pstats

    out = tmp_path / "orm.prof"
    proc = bulkinsert("run", "orm_basic", "--rows", "200", "--profile", str(out))
    assert proc.returncode == 0, proc.stderr
    assert pstats.Stats(str(out)).total_calls > 1000


def test_unknown_strategy_fails_in_one_line() -> None:
    proc = bulkinsert("run", "no_such_strategy")
    assert proc.returncode != 0
    assert "unknown strategy 'no_such_strategy'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_unsupported_strategy_exits_non_zero_with_reason() -> None:
    unsupported = [s for s in registry.load().values() if not s.supported]
    if not unsupported:
        pytest.skip("every strategy runs with the installed versions")
    proc = bulkinsert("run", unsupported[0].name, "--rows", "10")
    assert proc.returncode == 2
    assert "unsupported" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_duplicate_names_exit_non_zero(tmp_path: Path) -> None:
    source = tmp_path / "dup.json"
    source.write_text(json.dumps(["same", "same"]))
    proc = bulkinsert("run", "execute_values", "--names-json", str(source))
    assert proc.returncode == 1
    assert "duplicate name" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://bench:S3cretPassw0rd@127.0.0.1:1/nowhere",
        "host=127.0.0.1 port=1 user=bench password=S3cretPassw0rd dbname=nowhere",
    ],
)
def test_unreachable_dsn_fails_fast_without_the_password(dsn: str) -> None:
    started = time.monotonic()
    proc = bulkinsert("run", "copy_text", "--rows", "10", "--dsn", dsn, timeout=60)
    elapsed = time.monotonic() - started
    assert proc.returncode == 1
    assert elapsed < 20
    assert "S3cretPassw0rd" not in proc.stdout + proc.stderr
    assert "cannot connect" in proc.stderr and "***" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_password_from_environment_is_never_printed() -> None:
    proc = bulkinsert(
        "ladder", "--rows", "10", "--strategies", "copy_text", "--repeat", "1",
        env={"BULKINSERT_DSN": "postgresql://bench:Env5ecret@127.0.0.1:1/nowhere"},
    )
    assert proc.returncode == 1
    assert "Env5ecret" not in proc.stdout + proc.stderr


def test_ladder_prints_the_scoresheet() -> None:
    proc = bulkinsert(
        "ladder", "--rows", "300", "--repeat", "1",
        "--strategies", "orm_basic,core_executemany,compiled_sql,copy_text,server_generate",
    )
    assert proc.returncode == 0, proc.stderr
    for column in ("total s", "DB-API", "statements", "orm_basic", "server floor", "overhead"):
        assert column in proc.stdout
    for name in ("orm_basic", "core_executemany", "compiled_sql", "copy_text", "server_generate"):
        assert name in proc.stdout
    assert "CPU speed before each round" in proc.stdout


def test_ladder_json_has_ratios(tmp_path: Path, db: Database) -> None:
    proc = bulkinsert(
        "ladder", "--rows", "300", "--repeat", "2", "--json", "--profile-dir", str(tmp_path),
        "--strategies", "orm_basic,copy_text_fast,server_generate",
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    rows = {r["strategy"]: r for r in report["results"]}
    assert rows["orm_basic"]["speedup"] == pytest.approx(1.0)
    assert rows["server_generate"]["floor_ratio"] == pytest.approx(1.0)
    assert rows["copy_text_fast"]["speedup"] > 1.0
    assert report["statistic"] == "median" and "disabled" in report["gc"]
    for row in rows.values():
        assert len(row["samples"]) == 2 and row["seconds"] == pytest.approx(statistics.median(row["samples"]))
        assert row["profiler_overhead"] > 0 and row["function_calls"] > 0
        assert_statements_counted(db, row["statements"])
        # DB-API columns come from the instrumented samples, shown with their own wall time.
        assert 0 < row["dbapi_seconds"] <= row["instrumented_seconds"]
        assert row["dbapi_share"] == pytest.approx(row["dbapi_seconds"] / row["instrumented_seconds"], rel=0.5)
    assert {p.name for p in tmp_path.glob("*.prof")} == {f"{n}.prof" for n in rows}
    # the same CPUs (every one the run may use) probed before each of the two rounds
    probes = report["cpu_speed"]["rounds"]
    assert len(probes) == 2 and probes[0] and set(probes[0]) == set(probes[1])
    assert all(0 <= int(cpu) < os.cpu_count() for cpu in probes[0])
    assert all(0 < seconds < 5 for speeds in probes for seconds in speeds.values())


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("bulkinsert")
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "ladder" in proc.stdout
