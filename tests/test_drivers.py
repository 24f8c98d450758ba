"""The driver axis: every SQLAlchemy path on psycopg2, psycopg 3, asyncpg and pg8000, or a reason.

Round trips of every path on every driver are in tests/test_strategies.py (hostile names on all,
the other checks on a sample); here: what differs by driver, measured on the real server.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import statement_counts_unavailable

from bulkinsert import compat, default_names, registry, run_insert
from bulkinsert.cli.main import cli
from bulkinsert.data.workloads import wide
from bulkinsert.errors import Unsupported
from bulkinsert.pg.database import Database

OTHER_DRIVERS = ("psycopg", "asyncpg", "pg8000")
SQLALCHEMY_PATHS = ("orm", "core", "upsert")


def _on(name: str, driver: str) -> registry.Strategy:
    strategy = registry.get(name).with_driver(driver)
    reason = strategy.unsupported_reason()
    if reason is not None:
        pytest.skip(f"{strategy.label}: {reason}")
    return strategy


def test_every_sqlalchemy_path_declares_every_driver_and_raw_paths_one() -> None:
    for strategy in registry.load().values():
        if strategy.family in ("orm", "core") or strategy.name in (
            "core_upsert_do_nothing", "core_upsert_do_update", "orm_upsert",
        ):
            assert strategy.drivers == compat.SQLALCHEMY_DRIVERS, strategy.name
            assert strategy.driver == "psycopg2", "the default stays the talk's driver"
        else:
            assert strategy.drivers == (strategy.driver,), strategy.name


def test_a_fixed_driver_path_refuses_another_driver(db: Database) -> None:
    run_insert("copy_text", ["keep me"], db=db)
    copy_text = registry.get("copy_text").with_driver("asyncpg")
    assert copy_text.unsupported_reason() == "runs on driver psycopg2 only, not asyncpg"
    with pytest.raises(Unsupported, match=r"copy_text\+asyncpg: runs on driver psycopg2 only"):
        run_insert(copy_text, ["a"], db=db)
    assert db.fetch_names() == ["keep me"]
    assert registry.get("sa_psycopg_copy").with_driver("psycopg2").unsupported_reason() is not None


@pytest.mark.parametrize("driver", OTHER_DRIVERS)
@pytest.mark.parametrize("mode", ["batch", "values"])
def test_psycopg2_only_executemany_modes_refuse_other_drivers(driver: str, mode: str, db: Database) -> None:
    strategy = registry.get(f"core_executemany_{mode}").with_driver(driver)
    if compat.driver_unsupported_reason(driver) is not None:
        pytest.skip(compat.driver_unsupported_reason(driver))
    assert f"executemany_mode='{mode}' is an option of SQLAlchemy's psycopg2 dialect only" in (
        strategy.unsupported_reason() or ""
    )
    with pytest.raises(Unsupported):
        run_insert(strategy, ["a"], db=db)


def test_dialects_arrive_with_their_sqlalchemy_series(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compat, "SQLALCHEMY_VERSION", (1, 4, 54))
    assert "arrived in 2.0" in (compat.driver_unsupported_reason("psycopg") or "")
    monkeypatch.setattr(compat, "SQLALCHEMY_VERSION", (1, 3, 24))
    assert "arrived in 1.4" in (compat.driver_unsupported_reason("asyncpg") or "")
    assert "1.4" in (compat.driver_unsupported_reason("pg8000") or "")
    assert "unknown driver" in (compat.driver_unsupported_reason("odbc") or "")


@pytest.mark.parametrize("driver", compat.SQLALCHEMY_DRIVERS)
def test_driver_time_is_measured_on_every_driver(driver: str, db: Database) -> None:
    strategy = _on("core_executemany", driver)
    result = run_insert(strategy, default_names(800), db=db, count_calls=True)
    assert result.driver == driver and result.instrumented
    assert 0 < result.dbapi_seconds <= result.seconds
    assert result.function_calls and result.function_calls > 800  # cProfile saw the insert, in greenlet too
    assert db.fetch_names() == list(default_names(800))
    if driver != "psycopg2":
        assert result.versions[driver] == compat.driver_version(driver)


def test_uninstrumented_database_reports_no_driver_time() -> None:
    with Database(instrument=False) as plain:
        result = run_insert(_on("orm_bulk_insert", "asyncpg"), default_names(300), db=plain)
    assert result.dbapi_seconds == 0.0 and not result.instrumented


def test_what_the_server_sees_differs_by_dialect(db: Database) -> None:
    """Core executemany without RETURNING: psycopg2's dialect batches it (insertmanyvalues), the
    psycopg and asyncpg dialects hand it to the driver's executemany, one INSERT per row."""
    if statement_counts_unavailable(db):
        pytest.skip(statement_counts_unavailable(db))
    rows = 2_000
    counts = {}
    for driver in ("psycopg2", "psycopg", "asyncpg"):
        strategy = registry.get("core_executemany").with_driver(driver)
        if strategy.unsupported_reason() is None:
            counts[driver] = run_insert(strategy, default_names(rows), db=db).statements
    if not compat.SA20_PLUS or len(counts) < 2:
        pytest.skip("needs SQLAlchemy 2.x and a second driver")
    assert counts["psycopg2"] < rows / 100
    for driver, statements in counts.items():
        if driver != "psycopg2":
            assert statements >= rows, (driver, statements)


def test_call_puts_the_home_engine_back_after_a_failure(db: Database) -> None:
    strategy = _on("core_executemany", "asyncpg")
    run_insert(strategy, ["x"], db=db)
    home = db.engine

    def broken(database: Database, rows: object) -> None:
        assert database.engine is not home and database.engine.dialect.driver == "asyncpg"
        raise RuntimeError("inside the driver's engine")

    with pytest.raises(RuntimeError, match="inside the driver's engine"):
        db.call(broken, [])
    assert db.engine is home and db.engine.dialect.driver == "psycopg2"
    assert db.fetch_names() == ["x"]


def test_asyncpg_refuses_datetime_ends_it_would_store_as_infinity(db: Database) -> None:
    strategy = _on("core_executemany", "asyncpg")
    with pytest.raises(Unsupported, match=r"core_executemany\+asyncpg: workload wide: asyncpg writes .* ±infinity"):
        run_insert(strategy, wide.rows(200, seed=3), db=db)
    assert wide.row_count(db) == 0


def test_cli_run_and_list_take_a_driver(db: Database) -> None:
    declared = registry.get("orm_bulk_insert").with_driver("psycopg").unsupported_reason()
    if declared is not None:  # the registry says so (SQLAlchemy before 2.0), not the command's output
        pytest.skip(declared)
    runner = CliRunner()
    done = runner.invoke(cli, ["run", "orm_bulk_insert", "--rows", "300", "--json", "--driver", "psycopg"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.output.strip().splitlines()[-1])
    assert data["driver"] == "psycopg" and data["rows"] == 300 and data["dbapi_seconds"] > 0
    refused = runner.invoke(cli, ["run", "copy_text", "--rows", "10", "--driver", "psycopg"])
    assert refused.exit_code == 2 and "runs on driver psycopg2 only" in refused.output
    unknown = runner.invoke(cli, ["run", "orm_basic", "--driver", "odbc"])
    assert unknown.exit_code == 1 and "unknown driver 'odbc'" in unknown.output
    listed = json.loads(runner.invoke(cli, ["list", "--json", "--driver", "asyncpg"]).output)
    by_name = {item["name"]: item for item in listed}
    assert by_name["orm_basic"]["driver"] == "asyncpg" and by_name["orm_basic"]["drivers"] == list(
        compat.SQLALCHEMY_DRIVERS
    )
    assert by_name["copy_text"]["supported"] is False


def test_cli_ladder_measures_drivers_side_by_side(db: Database) -> None:
    drivers = [d for d in ("psycopg2", "asyncpg") if compat.driver_unsupported_reason(d) is None]
    done = CliRunner().invoke(cli, [
        "ladder", "--rows", "200", "--repeat", "1", "--no-profile", "--json",
        "--strategies", "core_executemany,copy_text", "--driver", ",".join(drivers),
    ])
    assert done.exit_code == 0, done.output
    data = json.loads(done.output[done.output.index("{"):])
    rows = {(row["strategy"], row["driver"]) for row in data["results"]}
    assert ("core_executemany", "psycopg2") in rows and ("copy_text", "psycopg2") in rows
    if "asyncpg" in drivers:
        assert ("core_executemany+asyncpg", "asyncpg") in rows
        assert "copy_text+asyncpg" in data["skipped"]


@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
def test_the_asv_driver_benchmark_runs_a_path_on_a_driver(driver: str, db: Database) -> None:
    """asv's sequence for one sample of InsertTimeByDriver: setup, the timed insert, teardown."""
    from benchmarks import base
    from benchmarks.insert_time import DRIVER_AXIS_ELSEWHERE, InsertTimeByDriver

    declared = registry.get("orm_bulk_insert").with_driver(driver).unsupported_reason() or DRIVER_AXIS_ELSEWHERE
    if declared is not None:  # the registry or the matrix says so; any other n/a is a failure here
        pytest.skip(declared)
    request_close = base._close_databases  # before this run's database is dropped
    bench = InsertTimeByDriver()
    rows = 500
    bench.setup("orm_bulk_insert", rows, driver)
    bench.time_insert("orm_bulk_insert", rows, driver)
    bench.teardown("orm_bulk_insert", rows, driver)  # checks the row count
    assert bench.strategy.driver == driver
    with pytest.raises(NotImplementedError, match=r"copy_text\+asyncpg: runs on driver psycopg2 only"):
        bench.setup("copy_text", rows, "asyncpg")
    assert "copy_text" not in InsertTimeByDriver.params[0] and "orm_basic" in InsertTimeByDriver.params[0]
    request_close()


def test_engine_options_get_the_driver_and_old_ones_still_work() -> None:
    from dataclasses import replace

    seen: list[str] = []

    def per_driver(driver: str) -> dict:
        seen.append(driver)
        return {"echo": False}

    core = registry.get("core_executemany").with_driver("pg8000")
    assert replace(core, engine_options=per_driver).engine_kwargs() == {"echo": False} and seen == ["pg8000"]
    assert replace(core, engine_options=lambda: {"echo": False}).engine_kwargs() == {"echo": False}


def test_pg8000_finds_the_socket_of_the_port_libpq_would_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """pg8000 takes a socket file, not libpq's directory, and reads no PGPORT itself."""
    declared = compat.driver_unsupported_reason("pg8000")
    if declared is not None:  # SQLAlchemy 1.3: no pg8000 dialect offered
        pytest.skip(declared)
    monkeypatch.delenv("PGPORT", raising=False)
    assert compat.driver_url("postgresql://postgres:@/db?host=/run/pg", "pg8000").query["unix_sock"] == (
        "/run/pg/.s.PGSQL.5432")
    monkeypatch.setenv("PGPORT", "5433")
    assert compat.driver_url("postgresql://postgres:@/db?host=/run/pg", "pg8000").query["unix_sock"] == (
        "/run/pg/.s.PGSQL.5433")
    assert "port" not in compat.driver_url("postgresql://postgres:@/db?host=/run/pg&port=5434", "pg8000").query
    assert compat.driver_url("postgresql://postgres:@/db?host=/run/pg&port=5434", "pg8000").query["unix_sock"] == (
        "/run/pg/.s.PGSQL.5434")
    assert compat.driver_url("postgresql://postgres:@:5435/db?host=/run/pg", "pg8000").query["unix_sock"] == (
        "/run/pg/.s.PGSQL.5435")


def test_every_driver_reaches_a_server_on_another_port(private_pgdata: Path) -> None:
    """A server started with PGPORT set (its socket file then names that port): the pg8000 path
    too stores hostile names exactly, as the libpq drivers and asyncpg do."""
    import subprocess
    import sys

    from conftest import BAD_NAMES, private_env

    names = private_pgdata.parent / "names.json"
    names.write_text(json.dumps(BAD_NAMES))
    env = private_env(private_pgdata, PGPORT="5439")
    for name in ("copy_text", "sa_pg8000_copy"):
        if registry.get(name).unsupported_reason() is not None:
            continue  # declared by the registry (pg8000's dialect needs SQLAlchemy 1.4)
        done = subprocess.run([sys.executable, "-m", "bulkinsert", "run", name, "--names-json", str(names), "--check"],
                              env=env, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
    assert "5439" in (private_pgdata / "postmaster.pid").read_text().splitlines()[3]


def test_pg8000_waits_for_the_server_beyond_its_connect_timeout(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """pg8000's connect timeout is its socket's timeout for every read unless cleared: a COPY that
    waits for a lock longer than it must still load its rows."""
    import threading
    import time

    import psycopg2

    from bulkinsert.pg import server

    strategy = _on("sa_pg8000_copy", "pg8000")
    monkeypatch.setattr(server, "CONNECT_TIMEOUT_SECONDS", 1)
    with Database(instrument=False) as own:
        run_insert(strategy, ["warm"], db=own)  # the pg8000 engine, connected with a 1 s timeout
        locked, done = threading.Event(), threading.Event()

        def hold_the_table() -> None:
            conn = psycopg2.connect(own.dsn)
            try:
                conn.cursor().execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
                locked.set()
                time.sleep(2.5)
            finally:
                conn.rollback()
                conn.close()
                done.set()

        holder = threading.Thread(target=hold_the_table)
        own.reset()
        holder.start()
        assert locked.wait(30)
        own.use_engine({}, "pg8000")
        own.call(strategy.function, ["a", "b"])
        holder.join()
        assert done.is_set() and own.fetch_names() == ["a", "b"]
