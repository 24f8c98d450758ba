"""The embedded server: starts itself, is shared by processes, and stops after the last user.

These tests use a data directory of their own (not the checkout's), so they start and stop a
second private server without disturbing anything else running on the machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from conftest import private_env, wait_until

from bulkinsert.pg.embedded import read_postmaster
from bulkinsert.pg.processes import ServerUsers
from bulkinsert.pg.server import EmbeddedServer

LINGER = "2"
SHARED_USER = textwrap.dedent(
    """
    import sys, time
    from bulkinsert.pg.database import Database
    from bulkinsert.pg.server import embedded_server
    db = Database()
    db.reset()
    print(embedded_server().postmaster_pid(), flush=True)
    time.sleep(float(sys.argv[1]))
    db.close()
    """
)


def _start_user(pgdata: Path, hold_seconds: float) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SHARED_USER, str(hold_seconds)],
        env=private_env(pgdata), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline().strip()
    assert line.isdigit(), proc.stderr.read()
    return proc, int(line)



@pytest.fixture()
def pgdata(private_pgdata: Path) -> Path:
    return private_pgdata


def test_second_process_reuses_the_server_and_last_one_out_stops_it(pgdata: Path) -> None:
    first, first_pid = _start_user(pgdata, hold_seconds=6)
    second, second_pid = _start_user(pgdata, hold_seconds=1)
    assert first_pid == second_pid and psutil.pid_exists(first_pid)
    assert second.wait(timeout=60) == 0
    # The first user is still running: the server must stay up past the linger.
    time.sleep(float(LINGER) + 1.5)
    assert psutil.pid_exists(first_pid)
    assert first.wait(timeout=60) == 0
    assert wait_until(lambda: not psutil.pid_exists(first_pid), timeout=30)
    assert not EmbeddedServer(pgdata).is_running()


def test_killed_user_leaves_no_server_behind(pgdata: Path) -> None:
    user, server_pid = _start_user(pgdata, hold_seconds=120)
    user.send_signal(signal.SIGKILL)
    user.wait(timeout=10)
    assert wait_until(lambda: not psutil.pid_exists(server_pid), timeout=30)
    # And the next run simply works, on a fresh server.
    again, again_pid = _start_user(pgdata, hold_seconds=0)
    assert again.wait(timeout=60) == 0 and again_pid != server_pid


def test_server_killed_mid_run_is_replaced_for_the_next_user(pgdata: Path) -> None:
    user, server_pid = _start_user(pgdata, hold_seconds=0)
    assert user.wait(timeout=60) == 0
    psutil.Process(server_pid).kill() if psutil.pid_exists(server_pid) else None
    wait_until(lambda: not psutil.pid_exists(server_pid), timeout=10)
    again, again_pid = _start_user(pgdata, hold_seconds=0)
    assert again.wait(timeout=60) == 0
    assert again_pid != server_pid


def test_server_has_pg_stat_statements_and_durability_off(pgdata: Path) -> None:
    import psycopg2

    server = EmbeddedServer(pgdata)
    conn = psycopg2.connect(server.dsn("postgres"))
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW shared_preload_libraries")
            assert "pg_stat_statements" in cur.fetchone()[0]
            cur.execute("SHOW fsync")
            assert cur.fetchone()[0] == "off"
            cur.execute("SHOW autovacuum")
            assert cur.fetchone()[0] == "off"
            cur.execute("SELECT pg_backend_pid(), current_setting('unix_socket_directories')")
            _, socket_dir = cur.fetchone()
    finally:
        conn.close()
    # What postmaster.pid says is what the server runs with.
    postmaster = read_postmaster(pgdata)
    assert postmaster is not None and postmaster.ready
    assert postmaster.pid == server.postmaster_pid() and postmaster.socket_dir == socket_dir
    assert server.stop() is True
    assert not server.is_running()


def test_a_data_directory_missing_a_setting_is_configured_again(pgdata: Path) -> None:
    """A data directory set up before a setting joined SERVER_SETTINGS gets it at the next start."""
    import psycopg2

    server = EmbeddedServer(pgdata)
    server.start()
    server.stop()
    auto_conf = pgdata / "postgresql.auto.conf"
    auto_conf.write_text("".join(line + "\n" for line in auto_conf.read_text().splitlines()
                                 if not line.startswith("autovacuum ")))
    conn = psycopg2.connect(server.dsn("postgres"))
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW autovacuum")
            assert cur.fetchone()[0] == "off"
    finally:
        conn.close()
        server.stop()


def test_a_postmaster_pid_file_being_written_is_not_a_server(tmp_path: Path) -> None:
    """PostgreSQL writes postmaster.pid line by line; until the status line exists, no server."""
    lines = ["4242", str(tmp_path), "1795912833", "5432", str(tmp_path), "", "  5341188        52", "ready   "]
    (tmp_path / "postmaster.pid").write_text("\n".join(lines[:6]) + "\n")
    assert read_postmaster(tmp_path) is None
    (tmp_path / "postmaster.pid").write_text("\n".join(lines) + "\n")
    postmaster = read_postmaster(tmp_path)
    assert postmaster is not None and postmaster.pid == 4242 and postmaster.ready and postmaster.port == 5432
    assert postmaster.uri("bulkinsert test") == f"postgresql://postgres:@/bulkinsert%20test?host={tmp_path}"


def test_server_users_forget_processes_that_are_gone(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=30)
    users = ServerUsers(tmp_path)
    users.register(gone.pid)
    users.register(os.getpid())
    users.register(os.getpid())
    assert users.prune() == [os.getpid()]
    users.clear()
    assert users.prune() == []
