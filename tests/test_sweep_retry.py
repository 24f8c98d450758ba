"""A measuring process that dies mid-release loses no strategy, and a one-off crash is not a failure.

Real processes in a real release environment (the one tests/test_releases.py builds, cached under
``.asv/release-envs``), on the real embedded server; the crashes are planted strategies of
``data/release_paths.py`` that end their own process (``os._exit``) the way a segfaulting driver would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from planted_releases import planted_paths

from bulkinsert.analysis import status
from bulkinsert.pg.database import Database
from bulkinsert.releases.envs import ReleaseEnv, build, release_env
from bulkinsert.releases.sweep import figures_of_sweep, measure_release, sweep
from bulkinsert.releases.workers import Worker

LIBRARY = "SQLAlchemy"
RELEASE = "2.0.30"
ROWS = 200


@pytest.fixture(scope="module")
def environment(db: Database) -> ReleaseEnv:
    env = release_env(LIBRARY, RELEASE)
    build(env)
    return env


@pytest.fixture(autouse=True)
def own_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "findings.jsonl"
    monkeypatch.setenv("BULKINSERT_FINDINGS", str(path))
    return path


def test_a_process_that_dies_marks_every_strategy_it_did_not_reach(
        environment: ReleaseEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with planted_paths(monkeypatch, BULKINSERT_TEST_MARKERS=str(tmp_path)), Worker(environment) as worker:
        found = measure_release(worker, ["execute_values", "always_dies", "copy_text", "core_executemany"], ROWS, 0,
                                lambda _what: None)
    assert found["execute_values"].works and found["execute_values"].function_calls
    assert "measuring process exited" in found["always_dies"].error and not found["always_dies"].lost
    for name in ("copy_text", "core_executemany"):  # never reached: failed, with the reason, never missing
        assert found[name].lost and found[name].error.startswith("not measured: the measuring process died "
                                                                 "during always_dies"), found[name]


def test_the_release_is_measured_again_before_a_failure_stands(
        environment: ReleaseEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``dies_once`` crashes the first process only; ``always_dies`` every time. Every strategy ends with
    a figure or a status: the one-off crash leaves no failure, the repeated one is failed after two tries."""
    names = ["dies_once", "execute_values", "always_dies", "copy_text"]
    with planted_paths(monkeypatch, BULKINSERT_TEST_MARKERS=str(tmp_path)):
        result = sweep(LIBRARY, [RELEASE], names, rows=ROWS, samples=0, results_dir=None, allow_dirty=True,
                       start_ahead=False)
    assert not result.failed
    (release,) = result.releases
    got = release.strategies
    assert got["dies_once"].works and got["dies_once"].attempts == 2
    assert "measuring process exited" in got["dies_once"].first_attempt
    assert got["execute_values"].works and got["copy_text"].works
    assert got["always_dies"].attempts == 2 and got["always_dies"].error.endswith("(in both attempts)")
    figures = figures_of_sweep(result, machine="box-releases", commit="c" * 40, date=1)
    by_path: dict[str, set[str]] = {}
    for figure in figures:
        by_path.setdefault(figure.strategy or "", set()).add(figure.status)
    assert by_path == {"dies_once": {status.OK}, "execute_values": {status.OK}, "always_dies": {status.FAILED},
                       "copy_text": {status.OK}}
    assert all(f.value is not None for f in figures if f.status == status.OK)
    assert result.as_dict()["releases"][RELEASE]["dies_once"]["attempts"] == 2
