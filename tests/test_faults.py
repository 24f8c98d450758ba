"""Faults a long unattended benchmark run meets, tried on real processes and a real server.

Each test that kills or stops a server uses a private one (``private_pgdata``), never the
shared server other runs may be using.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import psycopg2
import pytest
from conftest import private_env, wait_until

from bulkinsert.errors import DatabaseUnavailable
from bulkinsert.pg import server
from bulkinsert.pg.database import Database

PLANTED = "Pl4ntedS3cret"


def _cli(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bulkinsert", *args], env=env, capture_output=True, text=True, timeout=timeout
    )



def _start_private(pgdata: Path) -> int:
    """Start the private server from a short-lived process; return the postmaster pid."""
    proc = _cli("server", "status", env=private_env(pgdata))
    assert proc.returncode == 0
    probe = subprocess.run(
        [sys.executable, "-c", "from bulkinsert.pg.server import embedded_server as e; s=e(); s.start(); "
         "print(s.postmaster_pid())"],
        env=private_env(pgdata, BULKINSERT_SERVER_LINGER="60"), capture_output=True, text=True, timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    return int(probe.stdout.strip())


def test_server_killed_during_insert_fails_clearly_then_next_run_works(private_pgdata: Path) -> None:
    env = private_env(private_pgdata)
    run = subprocess.Popen(
        [sys.executable, "-m", "bulkinsert", "run", "dbapi_executemany", "--rows", "400000"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    embedded = server.EmbeddedServer(private_pgdata)
    assert wait_until(lambda: embedded.postmaster_pid() is not None, timeout=60)
    time.sleep(2.0)  # well inside the insert (400,000 single-row INSERTs)
    postmaster = psutil.Process(embedded.postmaster_pid())
    postmaster.kill()
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 1
    assert "server went away during the insert" in stderr
    assert "no result recorded" in stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    # The next run gets a fresh, working server.
    again = _cli("run", "copy_text_fast", "--rows", "1000", "--json", env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["rows"] == 1000


def test_external_server_dying_gives_a_clear_error_per_run(private_pgdata: Path) -> None:
    pid = _start_private(private_pgdata)
    dsn = server.EmbeddedServer(private_pgdata)
    info_dsn = f"postgresql://postgres:{PLANTED}@/postgres?host={private_pgdata}"
    psutil.Process(pid).kill()
    wait_until(lambda: not psutil.pid_exists(pid), timeout=10)
    assert not dsn.is_running()
    env = private_env(private_pgdata, BULKINSERT_DSN=info_dsn)
    for _ in range(2):  # every run says it, none hangs
        started = time.monotonic()
        proc = _cli("run", "copy_text", "--rows", "10", env=env, timeout=60)
        assert proc.returncode == 1
        assert time.monotonic() - started < 30
        assert "cannot connect to postgresql://postgres:***@" in proc.stderr
        assert PLANTED not in proc.stdout + proc.stderr


def test_ctrl_c_interrupts_a_ladder_cleanly_and_leaves_nothing_behind(private_pgdata: Path) -> None:
    env = private_env(private_pgdata)
    ladder = subprocess.Popen(
        [sys.executable, "-m", "bulkinsert", "ladder", "--rows", "20000", "--repeat", "5", "--no-profile",
         "--strategies", "orm_basic,dbapi_executemany"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    embedded = server.EmbeddedServer(private_pgdata)
    assert wait_until(lambda: embedded.postmaster_pid() is not None, timeout=60)

    def inserting() -> bool:
        """The ladder is measuring: one of its INSERTs is running on the server."""
        try:
            # _uri, not dsn(): dsn() would make this test a user that keeps the server up.
            with psycopg2.connect(embedded._uri("postgres"), connect_timeout=3) as conn, conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = 'bulkinsert_private' "
                            "AND query ILIKE 'INSERT%%'")
                return cur.fetchone()[0] > 0
        except (psycopg2.Error, DatabaseUnavailable):
            return False  # still starting or restarting after its first configuration

    # Interrupt while it measures, not while the fresh server is still being configured.
    assert wait_until(inserting, timeout=60)
    server_pid = embedded.postmaster_pid()
    ladder.send_signal(signal.SIGINT)
    stdout, stderr = ladder.communicate(timeout=60)
    assert ladder.returncode == 130, (ladder.returncode, stdout[-500:], stderr[-2000:])
    assert "interrupted" in stderr and "Traceback" not in stderr
    # No server is left behind once the linger has passed, and no lock blocks the next run.
    assert wait_until(lambda: not psutil.pid_exists(server_pid), timeout=30)
    again = _cli("run", "copy_text", "--rows", "100", env=env)
    assert again.returncode == 0, again.stderr


def test_concurrent_runs_use_their_own_databases(db: Database) -> None:
    script = textwrap.dedent(
        """
        import sys
        from bulkinsert import default_names, run_insert
        from bulkinsert.pg.database import Database
        rows = int(sys.argv[1])
        with Database() as db:
            for _ in range(5):
                run_insert("execute_values", default_names(rows), db=db)
                assert db.row_count() == rows, db.row_count()
        print("ok", rows)
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bulkinsert", "server", "hold", "--own-database", "--",
             sys.executable, "-c", script, str(rows)],
            env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for rows in (3000, 7000)
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    for proc, (stdout, stderr), rows in zip(procs, outputs, (3000, 7000), strict=True):
        assert proc.returncode == 0, stderr
        assert f"ok {rows}" in stdout
    # The held databases are dropped afterwards.
    admin = psycopg2.connect(server.embedded_server().dsn("postgres"))
    with admin.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_database WHERE datname ~ %s",
                    (f"_run_({procs[0].pid}|{procs[1].pid})$",))
        assert cur.fetchone()[0] == 0
    admin.close()


def test_plain_runs_started_together_on_a_fresh_server_all_succeed(private_pgdata: Path) -> None:
    """Three ``bulkinsert run`` at once, one database, on a freshly started server.

    The database and its table do not exist yet: they race on CREATE DATABASE and CREATE
    TABLE, then take turns on the server: each inserts and counts its own rows, nobody else's.
    """
    _start_private(private_pgdata)
    env = private_env(private_pgdata, BULKINSERT_TURNS="1")
    jobs = [("copy_text", 50_000), ("orm_bulk_insert_mappings", 10_000), ("execute_values", 20_000)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bulkinsert", "run", name, "--rows", str(rows), "--json"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name, rows in jobs
    ]
    outputs = [proc.communicate(timeout=240) for proc in procs]
    for proc, (stdout, stderr), (_name, rows) in zip(procs, outputs, jobs, strict=True):
        assert proc.returncode == 0, stderr
        assert json.loads(stdout)["rows"] == rows
        assert "duplicate" not in stderr and "Traceback" not in stderr
        waits = [line for line in stderr.splitlines() if line.strip()]
        assert all(line.startswith("waiting for the server: pid=") for line in waits), stderr


def test_a_second_run_waits_for_the_first_and_says_for_whom(private_pgdata: Path) -> None:
    env = private_env(private_pgdata, BULKINSERT_TURNS="1")
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(
            """
            import sys
            from bulkinsert.pg.database import Database
            from bulkinsert.pg.turns import describe_process
            describe_process("holding the turn")
            with Database() as db, db.turn:
                print("held", flush=True)
                sys.stdin.readline()
            """
        )],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held", holder.stderr.read()
        waiter = subprocess.Popen(
            [sys.executable, "-m", "bulkinsert", "run", "copy_text", "--rows", "1000"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        admin = psycopg2.connect(server.EmbeddedServer(private_pgdata).dsn("postgres"))
        admin.autocommit = True

        def waiting() -> bool:
            with admin.cursor() as cur:
                cur.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                return cur.fetchone()[0] == 1

        assert wait_until(waiting, timeout=60)
        assert waiter.poll() is None  # it waits, and inserts nothing meanwhile
        holder.stdin.write("\n")
        holder.stdin.flush()
        stdout, stderr = waiter.communicate(timeout=60)
        admin.close()
    finally:
        holder.kill()
        holder.wait()
    assert waiter.returncode == 0, stderr
    assert "1,000 rows" in stdout
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert f"pid={holder.pid}" in lines[0] and "db=bulkinsert_private" in lines[0]
    assert "holding the turn" in lines[0]


def test_a_race_on_create_database_is_not_a_duplicate_name() -> None:
    admin_dsn = server.embedded_server().dsn("postgres")
    database = f"bulkinsert_race_test_{os.getpid()}"
    script = "import sys; from bulkinsert.pg import server; server.ensure_database(sys.argv[1], sys.argv[2])"
    try:
        procs = [
            subprocess.Popen([sys.executable, "-c", script, admin_dsn, database],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(4)
        ]
        for proc in procs:
            _, stderr = proc.communicate(timeout=60)
            assert proc.returncode == 0, stderr
    finally:
        server.drop_database(admin_dsn, database)


def test_orphan_databases_of_dead_runs_are_dropped() -> None:
    admin_dsn = server.embedded_server().dsn("postgres")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = f"bulkinsert_test_{int(dead.stdout)}"
    server.ensure_database(admin_dsn, orphan)
    assert orphan in server.prune_orphan_databases(admin_dsn)


def test_planted_password_appears_in_no_output_or_artifact(tmp_path: Path, db: Database) -> None:
    """A DSN whose password the (trust-auth) embedded server ignores: everything works, nothing leaks."""
    if os.environ.get(server.DSN_ENV):
        pytest.skip("needs the embedded server")
    secret_dsn = db.dsn.replace("postgres:@", f"postgres:{PLANTED}@", 1)
    assert PLANTED in secret_dsn
    env = {**os.environ, "BULKINSERT_DSN": secret_dsn}
    outputs = [
        _cli("run", "core_executemany", "--rows", "500", "--json", "--profile", str(tmp_path / "run.prof"), env=env),
        _cli("run", "copy_text", "--rows", "500", "--dsn", secret_dsn, env=env),
        _cli("ladder", "--rows", "200", "--repeat", "1", "--json", "--profile-dir", str(tmp_path / "ladder"),
             "--strategies", "orm_basic,copy_text_fast,server_generate", env=env),
        _cli("list", "--json", env=env),
        _cli("run", "copy_text", "--names-json", str(tmp_path / "missing.json"), env=env),
        _cli("run", "copy_text", "--dsn", secret_dsn.replace("/bulkinsert", "/no_such_db"), env=env),
    ]
    assert [p.returncode for p in outputs] == [0, 0, 0, 0, 1, 1]
    for proc in outputs:
        assert PLANTED not in proc.stdout + proc.stderr
    assert "***" in outputs[-1].stderr
    artifacts = list(tmp_path.rglob("*"))
    assert len([a for a in artifacts if a.suffix == ".prof"]) == 4
    for artifact in artifacts:
        if artifact.is_file():
            assert PLANTED.encode() not in artifact.read_bytes(), artifact
    log = server.embedded_server().pgdata / "log"
    if log.exists():
        assert PLANTED.encode() not in log.read_bytes()


def test_missing_optional_driver_is_a_skip_with_a_reason() -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["asyncpg"] = None  # as if the optional extra were not installed
        from bulkinsert import Unsupported, registry, run_insert
        reason = registry.get("asyncpg_copy_records").unsupported_reason()
        print(reason)
        try:
            run_insert("asyncpg_copy_records", ["x"])
        except Unsupported as exc:
            print("unsupported:", exc)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "needs the optional driver 'asyncpg'" in proc.stdout
    assert "install bulkinsert[peers]" in proc.stdout
    assert "unsupported: asyncpg_copy_records" in proc.stdout


def test_server_without_pg_stat_statements_access_gives_one_line_note(db: Database) -> None:
    """A role that may not use pg_stat_statements: inserts work, counts say why they are missing."""
    if os.environ.get(server.DSN_ENV):
        pytest.skip("needs the embedded server")
    admin = psycopg2.connect(server.embedded_server().dsn("postgres"))
    admin.autocommit = True
    role, database = "bulkinsert_nopss", f"bulkinsert_nopss_test_{os.getpid()}"
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {database}")
        cur.execute(f"DROP ROLE IF EXISTS {role}")
        cur.execute(f"CREATE ROLE {role} LOGIN")
        cur.execute(f"CREATE DATABASE {database} OWNER {role}")
    try:
        dsn = db.dsn.replace("postgres:@", f"{role}:@", 1).replace(
            f"/{os.environ['BULKINSERT_DATABASE']}?", f"/{database}?", 1
        )
        proc = _cli("run", "copy_text_fast", "--rows", "100", "--json", "--dsn", dsn, env=dict(os.environ))
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["statements"] is None
        notes = [line for line in proc.stderr.splitlines()
                 if line.strip() and not line.startswith("waiting for the server:")]
        assert len(notes) == 1 and "pg_stat_statements" in notes[0]
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            cur.execute(f"DROP ROLE IF EXISTS {role}")
        admin.close()


def test_too_little_disk_for_a_new_data_directory_is_one_clear_line(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import shutil, collections
        Usage = collections.namedtuple("Usage", "total used free")
        shutil.disk_usage = lambda path: Usage(10**9, 10**9 - 50 * 2**20, 50 * 2**20)  # a nearly full disk
        from bulkinsert.cli.main import main
        raise SystemExit(main(["run", "copy_text", "--rows", "10"]))
        """
    )
    env = private_env(tmp_path / "pgdata")
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "MiB free" in proc.stderr and "BULKINSERT_DATA_DIR" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "pgdata" / "PG_VERSION").exists()


def test_only_the_users_name_constraint_is_called_a_duplicate_name(db: Database) -> None:
    """SQLSTATE 23505 alone is not enough: the driver's diagnostics must name users_name_key."""
    from bulkinsert.measure.failures import describe_failure

    conn = psycopg2.connect(db.dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE probe (code text CONSTRAINT probe_code_key UNIQUE)")
            cur.execute("INSERT INTO probe VALUES ('a')")
            with pytest.raises(psycopg2.errors.UniqueViolation) as other:
                cur.execute("INSERT INTO probe VALUES ('a')")
        conn.rollback()
        with conn.cursor() as cur:
            cur.execute("TRUNCATE users")
            cur.execute("INSERT INTO users (name) VALUES ('same')")
            with pytest.raises(psycopg2.errors.UniqueViolation) as name:
                cur.execute("INSERT INTO users (name) VALUES ('same')")
    finally:
        conn.rollback()
        conn.close()
    assert describe_failure(other.value).startswith("unique violation on probe_code_key:")
    assert "duplicate name" not in describe_failure(other.value)
    assert describe_failure(name.value).startswith("duplicate name:")
