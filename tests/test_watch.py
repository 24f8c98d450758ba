"""``releases watch``: the tracking loop, run twice against a local package index that gains a release.

The listing comes from a PEP 503 ``file://`` index in a temporary directory (pip's index setting
points there, pip's configuration files are ignored); the environments are the ones
tests/test_releases.py uses (built once from the real index, then found by their stamps), and the
inserts run on the real embedded server.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import click
import pytest
from click.testing import CliRunner
from planted_releases import no_statement_counts, planted_paths

from bulkinsert.analysis.findingrecords import read_records
from bulkinsert.cli.main import cli
from bulkinsert.pg.database import Database
from bulkinsert.releases import watch
from bulkinsert.releases.envs import build, release_env

LIBRARY = "SQLAlchemy"
RANGE = ("2.0.30", "2.0.31", "2.0.32")  # the same environments as tests/test_releases.py


# -- what a run measures (pure) ------------------------------------------------------------------


def test_first_run_takes_the_newest_release_and_the_one_before() -> None:
    versions = ["2.0.40", "2.0.41", "2.0.42", "2.0.43"]
    first = watch.plan_library(LIBRARY, versions, set())
    assert (first.base, first.new) == ("2.0.42", ["2.0.43"]) and first.why.startswith("first run")
    bounded = watch.plan_library(LIBRARY, versions, set(), to="2.0.42")
    assert (bounded.base, bounded.new) == ("2.0.41", ["2.0.42"])


def test_the_state_is_what_was_measured_and_since_overrides_it() -> None:
    versions = ["2.0.40", "2.0.41", "2.0.42", "2.0.43"]
    later = watch.plan_library(LIBRARY, versions, {"2.0.40", "2.0.41"})
    assert (later.base, later.new) == ("2.0.41", ["2.0.42", "2.0.43"])
    assert watch.plan_library(LIBRARY, versions, set(versions)).new == []
    since = watch.plan_library(LIBRARY, versions, set(versions), since="2.0.40", to="2.0.42")
    assert (since.base, since.new) == ("2.0.40", ["2.0.41", "2.0.42"])
    with pytest.raises(LookupError, match="--since 2.0.39"):
        watch.plan_library(LIBRARY, versions, set(), since="2.0.39")


def test_a_candidate_is_confirmed_only_when_the_side_by_side_run_agrees() -> None:
    more = SimpleNamespace(metric="statements", change="more")
    assert watch.settle(more, {"verdict": "more", "repeatable": True, "old_value": 3, "new_value": 1002})[0]
    assert not watch.settle(more, {"verdict": "more", "repeatable": False, "old_value": 3, "new_value": 1002})[0]
    assert not watch.settle(more, {"verdict": "same", "repeatable": True, "old_value": 3, "new_value": 3})[0]
    slower = SimpleNamespace(metric="time", change="slower")
    assert watch.settle(slower, {"verdict": "slower", "ratio": 1.3, "p_value": 0.001, "old_samples": [1] * 8})[0]
    assert not watch.settle(slower, {"verdict": "same", "ratio": 1.02, "p_value": 0.4, "old_samples": [1] * 8})[0]


def test_tracked_libraries_follow_the_release_axis(monkeypatch: pytest.MonkeyPatch) -> None:
    assert watch.tracked_libraries() == ["SQLAlchemy", "psycopg2-binary", "psycopg", "asyncpg"]
    monkeypatch.setattr(watch.envs, "RELEASE_LIBRARIES", ("SQLAlchemy", "psycopg"))
    assert watch.tracked_libraries() == ["SQLAlchemy", "psycopg"]
    assert watch.strategies_for("SQLAlchemy", None) == list(watch.default_watch_strategies())
    assert watch.strategies_for("asyncpg", None) and all("asyncpg" in n for n in watch.strategies_for("asyncpg", None))
    assert watch.strategies_for("psycopg", None) and all(
        "psycopg3" in name or name.startswith("sa_psycopg") for name in watch.strategies_for("psycopg", None))


def test_bad_input_is_one_line_and_exit_2_apart_from_a_regression() -> None:
    for args in (["--since", "x.y"], ["--strategies", "no_such_strategy"]):
        done = CliRunner().invoke(cli, ["releases", "watch", *args])
        assert done.exit_code == 2 and len(done.stderr.strip().splitlines()) == 1, done.output
        assert done.stderr.startswith("error: ")


# -- two runs against a local index ----------------------------------------------------------------


@pytest.fixture(scope="module")
def environments(db: Database) -> list:
    """Built from the real index (or found cached) before the local index replaces it for listing."""
    envs = [release_env(LIBRARY, v) for v in RANGE]
    for env in envs:
        build(env)
    return envs


def write_index(root: Path, versions: tuple[str, ...]) -> str:
    """A PEP 503 simple index listing a pure-Python wheel per release (the names are all it reads)."""
    page = root / "sqlalchemy"
    page.mkdir(parents=True, exist_ok=True)
    links = "".join(f'<a href="SQLAlchemy-{v}-py3-none-any.whl">SQLAlchemy-{v}-py3-none-any.whl</a>\n'
                    for v in versions)
    (page / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
    (root / "index.html").write_text('<html><body><a href="sqlalchemy/">sqlalchemy</a></body></html>\n')
    return root.as_uri()


def run_watch(results: Path, *extra: str, strategies: str = "core_executemany,counted_by_release") -> tuple[
        int, str, str]:
    """Counts only (``--samples 0``): every verdict is then known in advance, so is the exit status."""
    done = CliRunner().invoke(cli, ["releases", "watch", "--library", LIBRARY, "--strategies", strategies,
                                    "--samples", "0", "--rounds", "8", "--results-dir", str(results),
                                    "--allow-dirty", *extra])
    if done.exception and not isinstance(done.exception, SystemExit):
        raise done.exception
    return done.exit_code, done.stdout, done.stderr


def local_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, versions: tuple[str, ...]) -> Path:
    """pip lists ``versions`` only (from a local index); findings go to a file of the test's own."""
    findings_file = tmp_path / "findings.jsonl"
    monkeypatch.setenv("BULKINSERT_FINDINGS", str(findings_file))
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", write_index(tmp_path / "simple", versions))
    return findings_file


def confirmed(findings: list[dict]) -> set[tuple]:
    return {(f["strategy"], f["metric"], f["old"], f["new"], f["verdict"]) for f in findings if f["confirmed"]}


def test_watch_measures_a_new_release_once(environments: list, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """``counted_by_release`` makes 2 more calls per row in the middle release only: the first run must
    confirm that regression (exit 1), the second the improvement back (exit 0); nothing else changes."""
    findings_file = local_index(tmp_path, monkeypatch, RANGE[:2])
    results = tmp_path / "results"
    with planted_paths(monkeypatch, BULKINSERT_TEST_EXTRA_CALLS=f"{RANGE[1]}:2"):
        code, out, err = run_watch(results, "--json")
        first = json.loads(out)
        assert "first run" in err
        assert [(e["release"], e["compared_with"]) for e in first["new_releases"]] == [(RANGE[1], RANGE[0])]
        assert confirmed(first["findings"]) == {("counted_by_release", "calls", RANGE[0], RANGE[1], "regression")}
        assert code == 1, err
        (finding,) = first["findings"]
        assert finding["new_value"] - finding["old_value"] == 2 * 1000  # the planted calls, exactly
        assert finding["side_by_side"]["verdict"] == "more" and finding["side_by_side"]["repeatable"]
        assert {"library", "strategy", "metric", "old", "new", "ratio", "confirmed", "verdict"} <= set(finding)

        write_index(tmp_path / "simple", RANGE)  # the index gains a release
        code, out, err = run_watch(results, "--json")
        second = json.loads(out)
        assert "first run" not in err
        assert [(e["release"], e["compared_with"]) for e in second["new_releases"]] == [(RANGE[2], RANGE[1])]
        assert confirmed(second["findings"]) == {
            ("counted_by_release", "calls", RANGE[1], RANGE[2], "improvement")}
        assert code == 0, err
    recorded = read_records(findings_file)
    assert len(recorded) == len(first["findings"]) + len(second["findings"])
    assert all(r.kind == "watch" for r in recorded)

    # report reads the watch's JSON: the summary names the new release, issues are only described.
    payload = tmp_path / "watch.json"
    payload.write_text(out)
    markdown = CliRunner().invoke(cli, ["report", "markdown", str(payload), "--title", "watch"])
    assert markdown.exit_code == 0 and f"New releases measured: {LIBRARY} {RANGE[2]} (against {RANGE[1]})" \
        in markdown.stdout
    monkeypatch.delenv("GH_TOKEN", raising=False)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    issues = CliRunner().invoke(cli, ["report", "github", str(payload)])
    assert issues.exit_code == 0, issues.output

    # Nothing new: nothing is measured (no sweep, no environment, no server), one line, fast, exit 0.
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a run with nothing new measured something")

    monkeypatch.setattr(watch, "sweep", refuse)
    monkeypatch.setattr(watch, "side_by_side_check", refuse)
    started = time.monotonic()
    code, out, err = run_watch(results)
    assert code == 0, err
    assert time.monotonic() - started < 30
    assert "nothing new" in out + err and len((out + err).strip().splitlines()) == 1


# -- nothing dropped: n/a with its reason, never a crash ---------------------------------------------


def na_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("n/a: ")]


def test_watch_over_releases_a_strategy_does_not_support(db: Database, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """1.4.54 -> 2.0.30: executemany_mode='batch' is gone in 2.0, 2.0-style ORM bulk insert new in it.
    Each is n/a on one side, so there is no pair to judge: exit 0, and one line per n/a with its reason."""
    old, new = "1.4.54", RANGE[0]
    for version in (old, new):
        build(release_env(LIBRARY, version))
    local_index(tmp_path, monkeypatch, (old, new))
    code, out, err = run_watch(tmp_path / "results", strategies="core_executemany_batch,orm_bulk_insert")
    assert code == 0, err
    assert sorted(na_lines(out)) == sorted([
        f"n/a: {LIBRARY} {old} orm_bulk_insert (time, statements, calls): orm_bulk_insert: 2.0-style ORM bulk "
        f"insert needs "
        f"SQLAlchemy >= 2.0 (installed: {old})",
        f"n/a: {LIBRARY} {new} core_executemany_batch (time, statements, calls): core_executemany_batch: "
        f"SQLAlchemy >= 2.0 removed "
        f"executemany_mode='batch' for INSERT (insertmanyvalues replaced it) (installed: {new})",
    ]), out
    assert f"{LIBRARY} {new} (against {old}): nothing changed" in out


def test_watch_without_statement_counts_flags_slow_creep(environments: list, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A server without pg_stat_statements, and +0.4 calls per row per release planted: every statement
    count is n/a with the server's reason (one line each), the calls are still judged, and the creep —
    each step within the count rule, the two together beyond it — is flagged at the second release
    against the first, confirmed side by side: exit 1."""
    from bulkinsert.analysis.metrics import count_verdict

    base = 8_000  # about Core executemany's calls at 1,000 rows; the rule is checked on the real figures below
    assert count_verdict("calls", base, base + 400, 1000).verdict == "same"
    assert count_verdict("calls", base, base + 800, 1000).verdict == "more"
    local_index(tmp_path, monkeypatch, RANGE)
    with (planted_paths(monkeypatch, BULKINSERT_TEST_EXTRA_CALLS=f"{RANGE[1]}:0.4,{RANGE[2]}:0.8"),
          no_statement_counts(monkeypatch)):
        code, out, err = run_watch(tmp_path / "results", "--since", RANGE[0], "--json",
                                   strategies="counted_by_release")
    data = json.loads(out)
    (finding,) = data["findings"]
    assert (finding["old"], finding["new"], finding["metric"], finding["verdict"], finding["confirmed"]) == (
        RANGE[0], RANGE[2], "calls", "regression", True), finding
    assert finding["new_value"] - finding["old_value"] == 800 and "crept since" in finding["reason"]
    assert code == 1, err
    assert [(n["release"], n["strategy"], n["metrics"]) for n in data["not_applicable"]] == [
        (version, "counted_by_release", ["statements"]) for version in RANGE]
    assert all("permission denied to create extension" in n["reason"] for n in data["not_applicable"])


def test_the_summary_has_one_line_per_n_a() -> None:
    """The text summary of a run's n/a entries: one line each, with the metrics and the reason."""
    from bulkinsert.releases.watchcli import _print_summary

    result = watch.WatchResult([], not_applicable=[
        {"library": LIBRARY, "release": RANGE[0], "strategy": "copy_text", "metrics": ["statements"],
         "reason": "server statement counts unavailable (permission denied)"},
        {"library": LIBRARY, "release": RANGE[1], "strategy": "orm_bulk_insert", "metrics": ["time", "calls"],
         "reason": "needs SQLAlchemy >= 2.0"}])
    done = CliRunner().invoke(click.command()(lambda: _print_summary(result)))
    assert na_lines(done.stdout) == [
        f"n/a: {LIBRARY} {RANGE[0]} copy_text (statements): server statement counts unavailable (permission denied)",
        f"n/a: {LIBRARY} {RANGE[1]} orm_bulk_insert (time, calls): needs SQLAlchemy >= 2.0"]
