"""Staged server files never outlive their writer for long (real server, real files, real processes).

A process that ends with ``os._exit`` (asv's and ``multiprocessing``'s children) or is killed
runs no ``atexit``: its file must go at the next staging by another process, while a running
owner's file stays, and the server (another OS user when we are root) must still read it.
"""

from __future__ import annotations

import multiprocessing
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bulkinsert import default_names
from bulkinsert.errors import Unsupported
from bulkinsert.pg import serverfiles
from bulkinsert.pg.database import Database
from bulkinsert.strategies import reference

CHECKOUT = Path(__file__).resolve().parents[1]

# A child that stages names for the floor, prints the path, then ends as asked on stdin:
# "exit" -> sys.exit (atexit runs), anything else (or nothing) -> os._exit(0) (it does not).
CHILD = """
import os, sys
sys.path.insert(0, sys.argv[1])
from bulkinsert import default_names
from bulkinsert.pg.database import Database
from bulkinsert.strategies.reference import stage_server_file
db = Database(instrument=False)
path = stage_server_file(db, default_names(int(sys.argv[2])))
print(path, flush=True)
if sys.argv[3] == "wait":
    order = sys.stdin.readline().strip()
    assert os.path.exists(path), "a live owner's file was removed"
    db.close()
    if order == "exit":
        sys.exit(0)
os._exit(0)
"""


def _child(rows: int, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(CHECKOUT), str(rows), mode],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ),
    )


def _staged_by(child: subprocess.Popen[str]) -> Path:
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    if not line:
        child.wait(timeout=60)
        raise AssertionError(f"the child staged nothing: {child.stderr.read() if child.stderr else ''}")
    return Path(line)


def test_a_file_left_by_os_exit_goes_at_the_next_staging_and_the_floor_loads_exactly(clean_db: Database) -> None:
    child = _child(300, "now")
    left = _staged_by(child)
    assert child.wait(timeout=60) == 0
    # The leak this guards against: no atexit ran, the file is still there ...
    assert left.is_file() and left.parent.parent == serverfiles.staged_root()
    assert not serverfiles.owner_alive(left.parent.name)
    # ... until this process stages its own rows.
    names = default_names(500, start=10_000)
    mine = Path(reference.stage_server_file(clean_db, names))
    assert not left.exists() and not left.parent.exists()
    assert mine.is_file() and mine.parent.name == serverfiles.owner_name()
    reference.server_copy_file(clean_db, names)
    assert clean_db.fetch_names() == list(names)


def test_a_running_owners_file_is_kept_and_a_normal_exit_removes_it(clean_db: Database) -> None:
    child = _child(200, "wait")
    try:
        theirs = _staged_by(child)
        assert theirs.is_file()
        reference.stage_server_file(clean_db, default_names(100, start=50_000))
        assert theirs.is_file()  # swept past, not removed: its owner still runs
    finally:
        assert child.stdin is not None
        child.stdin.write("exit\n")
        child.stdin.close()
    assert child.wait(timeout=60) == 0, child.stderr.read() if child.stderr else ""
    assert not theirs.parent.exists()  # atexit on the normal exit


def test_staging_other_rows_replaces_the_file_in_the_same_process(clean_db: Database) -> None:
    first = Path(reference.stage_server_file(clean_db, default_names(50)))
    again = Path(reference.stage_server_file(clean_db, default_names(60)))
    assert again != first and again.is_file() and not first.exists()
    assert again.parent == first.parent


def _stage_in_child(dsn: str, paths: multiprocessing.queues.Queue[str]) -> None:
    db = Database(dsn, instrument=False)
    paths.put(reference.stage_server_file(db, default_names(30, start=90_000)))
    db.close()


@pytest.mark.skipif(sys.platform == "win32", reason="no fork")
def test_a_forked_child_neither_reuses_nor_removes_its_parents_file(clean_db: Database) -> None:
    """A forked child inherits the staged slot; its own staging must leave the parent's file alone."""
    names = default_names(80, start=30_000)
    parents = Path(reference.stage_server_file(clean_db, names))
    fork = multiprocessing.get_context("fork")
    paths = fork.Queue()
    child = fork.Process(target=_stage_in_child, args=(clean_db.dsn, paths))
    child.start()
    childs = Path(paths.get(timeout=60))
    child.join(timeout=60)
    assert child.exitcode == 0
    assert parents.is_file() and childs.parent != parents.parent
    assert childs.is_file()  # multiprocessing ends the child with os._exit: no atexit ran
    assert reference.stage_server_file(clean_db, names) == str(parents)  # still the parent's cached file
    reference.stage_server_file(clean_db, default_names(10, start=40_000))
    assert not childs.parent.exists()  # swept: its owner is gone


def test_the_server_reads_files_staged_under_a_private_umask(clean_db: Database) -> None:
    """0755 directories, a 0644 file, whatever the umask: the server's OS user reads it."""
    names = default_names(400, start=70_000)
    previous = os.umask(0o077)
    try:
        path = Path(reference.stage_server_file(clean_db, names))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o755
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o755
    reference.server_copy_file(clean_db, names)
    assert clean_db.fetch_names() == list(names)


def test_a_reused_pid_is_not_a_running_owner(tmp_path: Path) -> None:
    own = serverfiles.owner_name()
    pid, started = (int(part) for part in own.split("-"))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    for name in (own, f"{pid}-{started - 60_000}", f"{gone.stdout.strip()}-{started}", "notes", "1-x"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "payload.copy").write_bytes(b"x\n")
    removed = serverfiles.sweep(tmp_path)
    assert sorted(p.name for p in removed) == sorted([f"{pid}-{started - 60_000}", f"{gone.stdout.strip()}-{started}"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([own, "notes", "1-x"])


def test_a_parent_that_is_a_link_is_refused_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serverfiles.tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(serverfiles, "_OWN", {})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    serverfiles.staged_root().symlink_to(elsewhere)
    with pytest.raises(Unsupported, match="not a directory of this user") as caught:
        serverfiles.new_file(".copy")
    assert "\n" not in str(caught.value)
    assert list(elsewhere.iterdir()) == []


def test_a_parent_made_under_a_loose_umask_is_tightened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serverfiles.tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(serverfiles, "_OWN", {})
    serverfiles.staged_root().mkdir(mode=0o777)
    os.chmod(serverfiles.staged_root(), 0o777)
    path = serverfiles.new_file(".copy")
    assert stat.S_IMODE(serverfiles.staged_root().stat().st_mode) == 0o755
    assert path.parent.is_dir() and not path.exists()
    serverfiles.remove_own()
    assert not path.parent.exists()
