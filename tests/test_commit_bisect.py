"""The commit axis: a synthetic library repository bisected for real, and SQLAlchemy when a clone is given.

Every environment is built from its commit with uv (cached per SHA: the synthetic history has
fixed dates, so a second run reuses them), and every figure is measured on the embedded server.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from commit_library import LIBRARY, STRATEGY, STRATEGY_SOURCE, FakeRepository, build_repository

from bulkinsert.cli.main import cli
from bulkinsert.pg.database import Database
from bulkinsert.releases.commitbisect import looks_like_releases
from bulkinsert.releases.findings import read_findings
from bulkinsert.releases.source import Source, SourceError, recipe_for
from bulkinsert.site.build import build_site

CLONE_VARIABLE = "BULKINSERT_SQLALCHEMY_CLONE"
ROWS = "1000"


@pytest.fixture(autouse=True)
def own_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "findings.jsonl"
    monkeypatch.setenv("BULKINSERT_FINDINGS", str(path))
    return path


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> FakeRepository:
    return build_repository(tmp_path_factory.mktemp("library") / "fakechunks")


@pytest.fixture(scope="module")
def strategy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("strategies") / "fakechunks_strategy.py"
    path.write_text(STRATEGY_SOURCE)
    return path


def bisect(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["releases", "bisect", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


# -- the repository, without building anything --------------------------------------------------


def test_refs_ranges_and_commit_facts(repository: FakeRepository) -> None:
    source = Source(str(repository.path), recipe_for(LIBRARY))
    line = source.first_parent("v1.0.0", "main")
    c = repository.commits
    assert line == [c[n] for n in ("c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8")]  # f1, f2: not first-parent
    assert source.first_parent("v1.0.1", "v1.0.2") == [c["r1"], c["r2"], c["r3"]]
    assert source.resolve(c["c6"][:8]) == c["c6"]
    planted = source.commit(c["c6"])
    assert planted.subject == "smaller chunks" and planted.fixes == ("#42",)
    assert planted.fragments == (("doc/build/changelog/unreleased_1/42.rst",
                                  (repository.path / "doc/build/changelog/unreleased_1/42.rst").read_text().strip()),)
    assert source.commit(c["c8"]).fragments == ()  # the fragment of c6 and c7 are not c8's
    assert source.release_tags() == {"1.0.0": "v1.0.0", "1.0.1": "v1.0.1", "1.0.2": "v1.0.2"}
    assert looks_like_releases(source, ("1.0.0", "1.0.2"))
    assert not looks_like_releases(source, ("v1.0.0", "main"))
    with pytest.raises(SourceError, match="not a tag, branch or commit"):
        source.resolve("no-such-ref")
    with pytest.raises(SourceError, match="not an ancestor"):
        source.first_parent("v1.0.2", "main")


def test_libraries_that_do_not_build_from_a_commit_are_refused_in_one_line(repository: FakeRepository) -> None:
    for library in ("psycopg2", "psycopg2-binary", "asyncpg"):
        code, out, err = bisect("core_executemany", "--library", library, "--source", str(repository.path),
                                "--from", "v1.0.0", "--to", "main")
        assert code != 0 and len(err.strip().splitlines()) == 1 and "cannot be built from a commit here" in err
    code, _, err = bisect("core_executemany", "--source", "/no/such/dir", "--from", "a", "--to", "b")
    assert code != 0 and "no such directory" in err


def test_sqlalchemy_release_tags_are_declared() -> None:
    recipe = recipe_for("sqlalchemy")
    assert recipe.tag_of("2.0.47") == "rel_2_0_47" and recipe.version_of("rel_2_0_47") == "2.0.47"
    assert recipe.version_of("rel_2_0") == "2.0" and recipe.version_of("main") is None


# -- built and measured ------------------------------------------------------------------------


def test_statements_bisect_names_the_planted_commit_and_skips_the_one_that_does_not_build(
        db: Database, repository: FakeRepository, strategy_file: Path, own_findings: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    code, out, err = bisect(STRATEGY, "--library", LIBRARY, "--source", str(repository.path), "--from", "v1.0.0",
                            "--to", "main", "--rows", ROWS, "--strategies-from", str(strategy_file), "--json")
    assert code == 0, err
    data = json.loads(out)["commit"]
    c = repository.commits
    assert data["first_changed"] == c["c6"][:10] and data["last_unchanged"] == c["c5"][:10]
    # 1,000 rows: 10 INSERTs of 100 before, 20 of 50 after (plus the transaction's own statements)
    assert data["values"][c["c6"][:10]] - data["values"][c["c0"][:10]] == 10 and data["verdict"] == "more"
    commit = data["first_changed_commit"]
    assert commit["subject"] == "smaller chunks" and commit["fixes"] == ["#42"]
    assert commit["changelog"][0]["path"].endswith("unreleased_1/42.rst")
    assert list(data["skipped"]) == [c["c4"][:10]] and "does not build" in data["skipped"][c["c4"][:10]]
    assert data["skipped_commits"][c["c4"][:10]]["subject"] == "packaging: a broken pyproject"
    assert data["cext"] is False and data["environments_used"] <= data["environments_bound"]
    finding = read_findings(own_findings)[-1]
    assert finding["kind"] == "bisect" and finding["axis"] == "commit" and finding["first_changed"] == c["c6"][:10]
    assert finding["commit_subject"] == "smaller chunks"
    build_site(tmp_path / "html", tmp_path / "no-results", profile_dirs=[], findings_file=own_findings)
    assert c["c6"][:10] in (tmp_path / "html" / "releases.html").read_text()  # the page and the feed name the commit
    assert c["c6"][:10] in (tmp_path / "html" / "releases.xml").read_text()
    code, out, err = bisect(STRATEGY, "--library", LIBRARY, "--source", str(repository.path), "--from", "v1.0.0",
                            "--to", "main", "--rows", ROWS, "--strategies-from", str(strategy_file))
    assert code == 0, err
    assert f"commit: {STRATEGY} statements first changed in {c['c6'][:10]} (12 in {c['c5'][:10]} -> 22)" in out
    assert "Fixes: #42" in out and "changelog doc/build/changelog/unreleased_1/42.rst:" in out
    assert f"skipped commit {c['c4'][:10]} packaging: a broken pyproject:" in out
    assert "0 built now" in out  # every environment of the second search was cached per SHA
    print(f"statements bisect, both runs: {time.monotonic() - started:.1f} s")


def test_a_planted_slowdown_is_found_side_by_side(db: Database, repository: FakeRepository,
                                                  strategy_file: Path) -> None:
    # The library busy-waits 0.3 x the insert's wall time from c7 on: x1.3 in wall time, more in the
    # client's CPU time, which is what a loaded 2-core machine lets a 12-round paired test see
    # (wall time there varies by more than the planted 30 %, as in the release compare tests).
    c = repository.commits
    code, out, err = bisect(STRATEGY, "--library", LIBRARY, "--source", str(repository.path), "--from", c["c6"],
                            "--to", "main", "--metric", "cpu", "--rounds", "12", "--rows", "3000",
                            "--strategies-from", str(strategy_file), "--json")
    assert code == 0, err
    data = json.loads(out)["commit"]
    assert data["first_changed"] == c["c7"][:10], data["steps"]
    assert data["verdict"] == "slower" and data["ratio"] > 1.1 and data["p_value"] < 0.05
    assert data["first_changed_commit"]["fixes"] == ["#43"]


def test_from_releases_into_commits_in_one_command(db: Database, repository: FakeRepository,
                                                   strategy_file: Path) -> None:
    code, out, err = bisect(STRATEGY, "--library", LIBRARY, "--source", str(repository.path), "--from", "1.0.0",
                            "--to", "1.0.2", "--rows", ROWS, "--strategies-from", str(strategy_file), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["release"]["first_changed"] == "1.0.2" and data["release"]["last_unchanged"] == "1.0.1"
    assert data["commit"]["first_changed"] == repository.commits["r2"][:10]
    assert data["commit"]["first_changed_commit"]["subject"] == "smaller chunks (backport)"


# -- SQLAlchemy itself --------------------------------------------------------------------------

clone = os.environ.get(CLONE_VARIABLE)
needs_clone = pytest.mark.skipif(not clone, reason=f"${CLONE_VARIABLE} does not name a local SQLAlchemy clone")


@needs_clone
def test_sqlalchemy_2_0_47_upsert_statements_commit(db: Database) -> None:
    code, out, err = bisect("core_upsert_do_nothing", "--source", str(clone), "--from", "rel_2_0_46",
                            "--to", "rel_2_0_47", "--json")
    assert code == 0, err
    data = json.loads(out)["commit"]
    commit = data["first_changed_commit"]
    assert data["verdict"] == "more" and commit["subject"] and commit["fixes"]
    assert any("unreleased_20" in f["path"] for f in commit["changelog"])
    assert commit["url"].startswith("https://github.com/sqlalchemy/sqlalchemy/commit/")


# -- watching a branch --------------------------------------------------------------------------


def watch(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["releases", "watch", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_a_branch_watch_measures_only_the_new_commits(db: Database, repository: FakeRepository, strategy_file: Path,
                                                       own_findings: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    figures_file = own_findings.parent / "commit-figures.jsonl"  # beside the findings: where the site reads it
    monkeypatch.setenv("BULKINSERT_COMMIT_FIGURES", str(figures_file))
    c = repository.commits
    arguments = ("--library", LIBRARY, "--source", str(repository.path), "--branch", "watched",
                 "--strategies", STRATEGY, "--rows", ROWS, "--strategies-from", str(strategy_file), "--json")
    repository.git("branch", "-f", "watched", c["c6"])
    code, out, err = watch(*arguments)
    assert code == 1, err  # the first run (head and its parent) meets the planted change: a regression
    first = json.loads(out)
    assert first["base"] == c["c5"] and [n["sha"] for n in first["new_commits"]] == [c["c6"]]
    [finding] = first["findings"]
    assert finding["new"] == c["c6"][:10] and finding["old"] == c["c5"][:10] and finding["confirmed"]
    assert finding["verdict"] == "regression" and finding["commit"]["subject"] == "smaller chunks"
    recorded = read_findings(own_findings)[-1]
    assert recorded["kind"] == "watch" and recorded["axis"] == "commit" and recorded["new"] == c["c6"][:10]

    repository.git("branch", "-f", "watched", c["c8"])  # the branch gained two commits
    code, out, err = watch(*arguments)
    assert code == 0, err
    second = json.loads(out)
    assert [n["sha"] for n in second["new_commits"]] == [c["c7"], c["c8"]]
    assert all(n["measured"] for n in second["new_commits"]) and second["findings"] == []
    figures = figures_file.read_text().splitlines()
    assert [json.loads(line)["sha"] for line in figures] == [c["c5"], c["c6"], c["c7"], c["c8"]]
    build_site(tmp_path / "html", tmp_path / "no-results", profile_dirs=[], findings_file=own_findings)
    page = (tmp_path / "html" / "releases.html").read_text()
    section = page[page.index('<section id="commits"'):]
    assert [row for row in section.split("<tr>") if 'class="changed"' in row][0].count(c["c6"][:10]) == 1
    assert "confirmed" in section and section.index(c["c8"][:10]) < section.index(c["c5"][:10])  # newest first

    started = time.monotonic()
    code, out, err = watch(*arguments)
    assert code == 0 and json.loads(out)["new_commits"] == [] and "nothing new" in err
    assert time.monotonic() - started < 30


def test_every_nth_commit_with_a_bisection_when_a_figure_moved(db: Database, repository: FakeRepository,
                                                               strategy_file: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BULKINSERT_COMMIT_FIGURES", str(tmp_path / "figures.jsonl"))
    c = repository.commits
    arguments = ("--library", LIBRARY, "--source", str(repository.path), "--branch", "sparse",
                 "--strategies", STRATEGY, "--rows", ROWS, "--strategies-from", str(strategy_file), "--json")
    repository.git("branch", "-f", "sparse", c["c3"])
    code, out, err = watch(*arguments)
    assert code == 0, err
    repository.git("branch", "-f", "sparse", c["c8"])
    code, out, err = watch(*arguments, "--every", "5")
    assert code == 1, err
    data = json.loads(out)
    assert [n["sha"] for n in data["new_commits"] if n["measured"]] == [c["c8"]]  # c4..c8: the 5th only
    [finding] = data["findings"]
    assert finding["new"] == c["c6"][:10] and finding["old"] == c["c5"][:10] and finding["confirmed"]


def test_compare_two_commits_side_by_side(db: Database, repository: FakeRepository, strategy_file: Path,
                                          own_findings: Path) -> None:
    c = repository.commits
    result = CliRunner().invoke(cli, ["releases", "compare", STRATEGY, c["c5"], c["c6"], "--library", LIBRARY,
                                      "--source", str(repository.path), "--metric", "statements", "--rounds", "8",
                                      "--rows", ROWS, "--strategies-from", str(strategy_file), "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["verdict"] == "more" and data["new_value"] - data["old_value"] == 10
    assert data["new_commit"]["subject"] == "smaller chunks"
    finding = read_findings(own_findings)[-1]
    assert finding["kind"] == "compare" and finding["axis"] == "commit" and finding["new"] == c["c6"][:10]


def test_sweep_every_commit_of_a_release_branch(db: Database, repository: FakeRepository, strategy_file: Path,
                                                tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BULKINSERT_COMMIT_FIGURES", str(tmp_path / "figures.jsonl"))
    c = repository.commits
    result = CliRunner().invoke(cli, ["releases", "sweep", "--library", LIBRARY, "--source", str(repository.path),
                                      "--from", "v1.0.1", "--to", "v1.0.2", "--strategies", STRATEGY, "--rows", ROWS,
                                      "--strategies-from", str(strategy_file), "--json"])
    assert result.exit_code == 0, result.stderr
    values = json.loads(result.stdout)["values"]
    assert list(values) == [c["r1"][:10], c["r2"][:10], c["r3"][:10]]
    assert values[c["r2"][:10]][STRATEGY] - values[c["r1"][:10]][STRATEGY] == 10
    assert values[c["r3"][:10]] == values[c["r2"][:10]]
    assert len((tmp_path / "figures.jsonl").read_text().splitlines()) == 3


@needs_clone
def test_sqlalchemy_from_releases_into_the_commit(db: Database) -> None:
    source = Source(str(clone), recipe_for("SQLAlchemy"))
    series = [v for v in source.release_tags() if re.fullmatch(r"2\.0\.\d+", v) and int(v.split(".")[2]) <= 58]
    newest = max(series, key=lambda v: int(v.split(".")[2]))  # 2.0.58, or the clone's newest before it
    code, out, err = bisect("core_upsert_do_nothing", "--source", str(clone), "--from", "2.0.40", "--to", newest,
                            "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["release"]["first_changed"] == "2.0.47" and data["release"]["last_unchanged"] == "2.0.46"
    commit = data["commit"]["first_changed_commit"]
    assert data["commit"]["verdict"] == "more" and commit["fixes"] and commit["changelog"]


def test_a_url_source_is_cloned_once_and_fetched_after(repository: FakeRepository, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BULKINSERT_RELEASE_ENVS", str(tmp_path / "envs"))
    url = f"file://{repository.path}"
    source = Source(url, recipe_for(LIBRARY))
    assert source.git_dir.parent == tmp_path / "commit-sources" and source.resolve("main") == repository.commits["c8"]
    assert source.first_parent("v1.0.1", "v1.0.2")[-1] == repository.commits["r3"]
    repository.git("branch", "-f", "fetched", repository.commits["c2"])
    assert Source(url, recipe_for(LIBRARY)).resolve("fetched") == repository.commits["c2"]  # the second run fetched
    assert Source(url, recipe_for(LIBRARY)).web() is None  # not on GitHub, and the plain recipe declares no upstream
