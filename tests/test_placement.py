"""CPU placement: client and embedded server pinned as asked, and the placement recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import psutil
import psycopg2
import pytest

from bulkinsert.data.schema import default_names
from bulkinsert.errors import InsertError
from bulkinsert.measure.runner import run_insert
from bulkinsert.pg import placement, server
from bulkinsert.pg.database import Database

ALLOWED = tuple(sorted(os.sched_getaffinity(0)))
two_cpus = pytest.mark.skipif(len(ALLOWED) < 2, reason="needs 2 allowed CPUs")
embedded_only = pytest.mark.skipif(bool(os.environ.get(server.DSN_ENV)), reason="pins the embedded server")


@pytest.fixture(autouse=True)
def unpinned() -> Iterator[None]:
    """Each test starts and ends with the process on all its CPUs and no --placement chosen."""
    placement.select(None)
    yield
    placement.select(None)
    placement.pin_client(placement.allowed_cpus())


def server_affinities(pid: int) -> dict[int, set[int]]:
    postmaster = psutil.Process(pid)
    found = {}
    for process in (postmaster, *postmaster.children(recursive=True)):
        try:
            found[process.pid] = set(process.cpu_affinity())
        except psutil.NoSuchProcess:
            continue
    return found


def thread_affinities() -> set[frozenset[int]]:
    return {frozenset(os.sched_getaffinity(int(tid))) for tid in os.listdir("/proc/self/task")}


def test_plan_for_two_cpus() -> None:
    assert placement.plan("same-cpu", (0, 1)) == ("same-cpu", (1,), (1,), None)
    assert placement.plan("split", (0, 1)) == ("split", (1,), (0,), None)
    assert placement.plan("none", (0, 1)) == ("none", None, None, None)


def test_plan_follows_the_preferred_order() -> None:
    assert placement.plan("same-cpu", (0, 1), order=(0, 1)) == ("same-cpu", (0,), (0,), None)
    assert placement.plan("split", (0, 1), order=(0, 1)) == ("split", (0,), (1,), None)


def test_the_idlest_cpu_comes_first_and_ties_go_to_the_higher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(placement, "_order", None)
    monkeypatch.setattr(placement, "busy_shares", lambda cpus: {0: 0.02, 1: 0.97, 2: 0.5})
    assert placement.preferred_order((0, 1, 2)) == (0, 2, 1)
    monkeypatch.setattr(placement, "_order", None)
    monkeypatch.setattr(placement, "busy_shares", lambda cpus: {0: 0.31, 1: 0.29})
    assert placement.preferred_order((0, 1)) == (1, 0)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_a_cpu_kept_busy_reads_busy() -> None:
    busy_cpu = max(os.sched_getaffinity(0))
    spin = f"import os; os.sched_setaffinity(0, {{{busy_cpu}}})\nwhile True: pass"
    spinner = subprocess.Popen([sys.executable, "-c", spin])
    try:
        time.sleep(0.3)
        shares = placement.busy_shares(tuple(sorted(os.sched_getaffinity(0))), window=0.3)
    finally:
        spinner.kill()
        spinner.wait()
    assert shares[busy_cpu] > 0.8


def test_split_on_one_cpu_degrades_and_says_so() -> None:
    applied, client, server_cpus, note = placement.plan("split", (3,))
    assert (applied, client, server_cpus) == ("same-cpu", (3,), (3,))
    assert note is not None and "only CPU 3" in note


def test_mode_comes_from_option_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(placement.PLACEMENT_ENV, raising=False)
    assert placement.current_mode() == placement.DEFAULT
    monkeypatch.setenv(placement.PLACEMENT_ENV, "split")
    assert placement.current_mode() == "split"
    placement.select("none")
    assert placement.current_mode() == "none"


def test_bad_placement_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(placement.PLACEMENT_ENV, "everywhere")
    with pytest.raises(InsertError, match=r"^BULKINSERT_PLACEMENT='everywhere': choose one of same-cpu, split"):
        placement.current_mode()
    with pytest.raises(InsertError, match="--placement"):
        placement.select("sideways")


@embedded_only
def test_same_cpu_pins_client_threads_server_and_later_backends(db: Database) -> None:
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)  # a thread that exists before pinning
    worker.start()
    try:
        pid = server.embedded_postmaster(db.dsn)
        assert pid is not None
        applied = placement.apply(pid, "same-cpu")
        first = placement.preferred_order(ALLOWED)[0]
        cpu = {first}
        assert applied.client_cpus == applied.server_cpus == (first,)
        assert thread_affinities() == {frozenset(cpu)}
        affinities = server_affinities(pid)
        assert applied.server_processes >= 1 and affinities
        assert all(found == cpu for found in affinities.values()), affinities
        # A backend forked after pinning inherits the postmaster's CPU.
        conn = psycopg2.connect(db.dsn)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                backend = cur.fetchone()[0]
            assert set(psutil.Process(backend).cpu_affinity()) == cpu
        finally:
            conn.close()
    finally:
        stop.set()
        worker.join()


@embedded_only
@two_cpus
def test_split_puts_server_on_another_cpu_and_none_unpins_it(db: Database) -> None:
    pid = server.embedded_postmaster(db.dsn)
    assert pid is not None
    applied = placement.apply(pid, "split")
    order = placement.preferred_order(ALLOWED)
    assert applied.applied == "split" and applied.note is None
    assert os.sched_getaffinity(0) == {order[0]}
    assert all(found == {order[1]} for found in server_affinities(pid).values())
    placement.apply(pid, "none")
    assert os.sched_getaffinity(0) == set(ALLOWED)
    assert all(found >= set(ALLOWED) for found in server_affinities(pid).values())


def test_external_server_is_not_pinned_and_says_so() -> None:
    applied = placement.apply(None, "same-cpu")
    assert applied.server_cpus is None and applied.server_processes == 0
    assert applied.note == "external server: not pinned"
    assert "server not pinned" in applied.describe()
    assert os.sched_getaffinity(0) == {placement.preferred_order(ALLOWED)[0]}


def test_embedded_postmaster_is_none_for_another_server() -> None:
    assert server.embedded_postmaster("postgresql://someone:secret@db.example:5432/x") is None


@embedded_only
def test_every_result_records_its_placement(clean_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(placement.PLACEMENT_ENV, "split" if len(ALLOWED) > 1 else "same-cpu")
    result = run_insert("copy_text", default_names(100), db=clean_db)
    assert result.placement is not None
    assert result.placement["mode"] == os.environ[placement.PLACEMENT_ENV]
    assert result.placement["client_cpus"] == [placement.preferred_order(ALLOWED)[0]]
    assert result.placement["server_processes"] >= 1
    assert json.loads(json.dumps(result.as_dict()))["placement"] == result.placement


def test_child_of_a_pinned_process_gets_the_parents_cpus_back() -> None:
    placement.apply(None, "same-cpu")  # pinned: a child inherits one CPU
    code = "from bulkinsert.pg import placement; print(list(placement.allowed_cpus()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == list(ALLOWED)


@embedded_only
def test_run_json_and_text_carry_the_placement() -> None:
    command = [sys.executable, "-m", "bulkinsert", "run", "copy_text", "--rows", "200"]
    proc = subprocess.run([*command, "--json", "--placement", "split"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    recorded = json.loads(proc.stdout)["placement"]
    assert recorded["mode"] == "split"
    assert recorded["applied"] == ("split" if len(ALLOWED) > 1 else "same-cpu")
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120,
                          env={**os.environ, placement.PLACEMENT_ENV: "none"})
    assert proc.returncode == 0, proc.stderr
    assert "placement: none (client any allowed CPU" in proc.stdout


def test_run_refuses_an_unknown_placement() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bulkinsert", "run", "copy_text", "--placement", "sideways"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2 and "'sideways' is not one of" in proc.stderr


@embedded_only
def test_release_worker_answers_with_the_placement(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from bulkinsert.releases.worker import Measurer

    monkeypatch.setenv(placement.PLACEMENT_ENV, "none")
    measurer = Measurer()
    try:
        answer = measurer.measure({"strategy": "copy_text", "rows": 50})
    finally:
        measurer.close()
    assert answer["ok"], answer
    assert answer["placement"]["mode"] == "none" and answer["placement"]["client_cpus"] is None
