"""The sweep's scheduling: environments built ahead in parallel (bounded), processes started ahead.

Real environments where it is cheap: two adjacent SQLAlchemy releases (the ones
``test_releases`` builds, cached under ``.asv/release-envs``) and one release that does not
exist, whose build fails at uv's resolution in about a second. The bound itself is checked on
a builder that only waits, so many builds are never run by the tests.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from bulkinsert.pg.database import Database
from bulkinsert.releases.envs import EnvironmentError_, ReleaseEnv, build, release_env
from bulkinsert.releases.schedule import build_all, build_jobs, spare_cpus
from bulkinsert.releases.sweep import sweep
from bulkinsert.releases.workers import Worker

LIBRARY = "SQLAlchemy"
RANGE = ("2.0.30", "2.0.31")
MISSING = "2.0.999"  # not on the index: its build fails
STRATEGIES = ["core_executemany", "orm_upsert"]


@pytest.fixture(autouse=True)
def own_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "findings.jsonl"
    monkeypatch.setenv("BULKINSERT_FINDINGS", str(path))
    return path


@pytest.fixture(scope="module")
def environments(db: Database) -> list[ReleaseEnv]:
    """The range's environments, built (or found cached); ``db`` makes the run's database."""
    envs = [release_env(LIBRARY, v) for v in RANGE]
    for env in envs:
        build(env)
    return envs


def test_build_jobs_one_per_cpu_bounded_by_disk_never_zero() -> None:
    gib = 2**30
    assert build_jobs(59, cpus=2, free_bytes=60 * gib) == 2
    assert build_jobs(59, cpus=8, free_bytes=60 * gib) == 8
    assert build_jobs(1, cpus=8, free_bytes=60 * gib) == 1  # never more than there is to build
    assert build_jobs(59, cpus=8, free_bytes=600 * 2**20) == 3  # 600 MB holds three 100 MB envs twice over
    assert build_jobs(59, cpus=8, free_bytes=0) == 1  # short of disk: one at a time, and its failure is filed


class Counting:
    """A builder that waits instead of building, and counts how many run at once; ``fail`` raises."""

    def __init__(self, fail: set[str]) -> None:
        self.fail = fail
        self.running = self.most = 0
        self.lock = threading.Lock()

    def __call__(self, env: ReleaseEnv) -> bool:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.05)
            if env.version in self.fail:
                raise EnvironmentError_(f"{env.library} {env.version} does not install")
            return True
        finally:
            with self.lock:
                self.running -= 1


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_build_all_keeps_the_bound_and_files_a_failure(
    jobs: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BULKINSERT_RELEASE_ENVS", str(tmp_path / "envs"))  # nothing built there
    versions = [f"2.0.{n}" for n in range(9)]
    envs = [release_env(LIBRARY, v) for v in versions]
    builder = Counting(fail={"2.0.3", "2.0.7"})
    seen: list[int] = []
    outcomes = build_all(envs, jobs, builder=builder, done=lambda index, _: seen.append(index))
    assert builder.most == jobs  # as many at once as allowed, never more
    assert sorted(seen) == list(range(len(versions)))
    failed = {versions[i] for i, outcome in enumerate(outcomes) if isinstance(outcome, EnvironmentError_)}
    assert failed == {"2.0.3", "2.0.7"}
    assert all(outcome is True for i, outcome in enumerate(outcomes) if versions[i] not in failed)
    with pytest.raises(ValueError, match="at least 1"):
        build_all(envs, 0, builder=builder)


def test_spare_cpus_are_those_the_placement_leaves(environments: list[ReleaseEnv]) -> None:
    from bulkinsert.pg import placement

    allowed = placement.allowed_cpus()
    with Worker(environments[0]) as worker:
        worker.measure("core_executemany", 100)
        applied = worker.placement  # the process picked its CPU itself (same-cpu: one for client and server)
    assert applied is not None and applied["client_cpus"] == applied["server_cpus"]
    assert spare_cpus(applied) == tuple(c for c in allowed if c not in applied["client_cpus"])
    assert spare_cpus({**applied, "client_cpus": None, "server_cpus": None}) == ()  # none: it may run anywhere
    assert spare_cpus({**applied, "client_cpus": [allowed[0]], "server_cpus": [allowed[-1]]}) == allowed[1:-1]
    assert spare_cpus(None) == ()


def test_a_process_started_ahead_imports_on_the_cpus_given_and_measures_when_ready(
    environments: list[ReleaseEnv],
) -> None:
    cpus = (min(os.sched_getaffinity(0)),)
    with Worker(environments[0], ahead=True, cpus=cpus) as worker:
        assert os.sched_getaffinity(worker.process.pid) == set(cpus)
        assert worker.versions == {}  # not waited for yet
        worker.ready()
        assert worker.versions["sqlalchemy"] == RANGE[0]
        answer = worker.measure("core_executemany", 100, calls=True)
        assert answer["statements"] == 3 and answer["function_calls"] > 0


def _counts(result) -> dict:  # noqa: ANN001 - a SweepResult
    return {r.version: {name: (f.statements, f.function_calls, f.error, f.broken) for name, f in r.strategies.items()}
            for r in result.releases}


def test_parallel_sweep_files_a_failed_build_and_equals_the_sequential_one(environments: list[ReleaseEnv]) -> None:
    versions = [RANGE[0], MISSING, RANGE[1]]
    common = dict(samples=0, results_dir=None, allow_dirty=True, rows=200)
    sequential = sweep(LIBRARY, versions, STRATEGIES, build_jobs=1, start_ahead=False, **common)
    parallel = sweep(LIBRARY, versions, STRATEGIES, build_jobs=2, start_ahead=True, **common)
    for result in (sequential, parallel):
        assert [r.version for r in result.releases] == list(RANGE)  # the failed build did not stop the sweep
        assert list(result.failed) == [MISSING] and "does not install" in result.failed[MISSING]
    assert _counts(parallel) == _counts(sequential)
    assert all(f[0] == 3 and f[1] for r in _counts(parallel).values() for f in r.values())
