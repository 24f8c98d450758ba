"""Getting a sweep's releases ready to measure without spending the measurement's CPU on it.

A sweep over dozens of releases spent most of its time before the first insert of each release:
building its environment (uv, about a second or two each) and starting its measuring process
(importing SQLAlchemy and the project, about a second). Both are done ahead here:

* **Environments are built first, several at once**, before anything is timed: one build per
  allowed CPU at most, fewer when the free disk would not hold twice as many environments
  copied in full (uv hard-links from its cache, so they take far less). A build that fails files
  its release as failed; the other builds go on. Building while measuring would put uv's
  processes on the measuring CPU, so no build overlaps a timed insert.
* **The next release's measuring process is started while this one measures**, once the
  running one has placed itself (:mod:`bulkinsert.pg.placement`, at its first timed insert), and
  confined to the CPUs that placement leaves unused: under the default ``same-cpu`` placement
  the measurement has one CPU (client and server), the import runs on another. It connects only
  when its turn comes. With no spare CPU (one CPU, ``split`` on two, ``none``) nothing is
  started ahead.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from .envs import EnvironmentError_, ReleaseEnv, build, env_root

# One environment with every file copied (the measuring core at the matrix's newest pins: 94 MB).
ENV_BYTES = 100 * 2**20


def build_jobs(pending: int, *, cpus: int, free_bytes: int, env_bytes: int = ENV_BYTES) -> int:
    """How many environments to build at once: one per CPU, no more than free disk holds twice over, at least 1."""
    by_disk = free_bytes // (2 * env_bytes)
    return max(1, min(pending, cpus, by_disk))


def default_build_jobs(pending: int) -> int:
    """:func:`build_jobs` for this process's CPUs and the free disk where environments go."""
    from ..pg.placement import allowed_cpus

    root = env_root()
    probe = next((p for p in (root, *root.parents) if p.exists()), root.anchor or "/")
    return build_jobs(pending, cpus=len(allowed_cpus()), free_bytes=shutil.disk_usage(probe).free)


def build_all(
    envs: Sequence[ReleaseEnv],
    jobs: int,
    *,
    builder: Callable[[ReleaseEnv], bool] = build,
    done: Callable[[int, bool | EnvironmentError_], None] | None = None,
) -> list[bool | EnvironmentError_]:
    """Build every environment not built yet, ``jobs`` at a time; per env: built now, reused, or why it failed.

    ``done(index, outcome)`` is called as each build ends (in the calling thread).
    """
    if jobs < 1:
        raise ValueError(f"build jobs: {jobs}; at least 1")
    outcomes: list[bool | EnvironmentError_] = [False] * len(envs)
    unbuilt = [index for index, env in enumerate(envs) if not env.is_built]
    if not unbuilt:
        return outcomes
    with ThreadPoolExecutor(max_workers=min(jobs, len(unbuilt)), thread_name_prefix="env-build") as pool:
        futures = {pool.submit(builder, envs[index]): index for index in unbuilt}
        for future in as_completed(futures):
            index = futures[future]
            try:
                outcomes[index] = future.result()
            except EnvironmentError_ as exc:
                outcomes[index] = exc
            if done is not None:
                done(index, outcomes[index])
    return outcomes


def spare_cpus(placement: dict[str, Any] | None) -> tuple[int, ...]:
    """The allowed CPUs a measuring process's placement (its answers' ``placement``) leaves unused.

    Each measuring process picks its CPU itself (the idlest, at its first timed insert), so the
    CPUs are read from what it applied, not predicted; unpinned or unknown: none spare.
    """
    from ..pg.placement import allowed_cpus

    if not placement or placement.get("client_cpus") is None or placement.get("server_cpus") is None:
        return ()
    used = set(placement["client_cpus"]) | set(placement["server_cpus"])
    return tuple(cpu for cpu in allowed_cpus() if cpu not in used)
