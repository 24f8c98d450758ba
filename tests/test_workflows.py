"""The GitHub workflows, read as data: where artifacts land, machine names, caches, permissions.

The artifact test replays what actions/upload-artifact (v4+) and actions/download-artifact (v4+)
do with paths, on files in a temporary directory: an upload's root is its one search path (the
parent directory when that path is a single file) or, with several, their least common ancestor;
files keep their paths relative to that root; files under a hidden directory (``.asv``) are
left out without ``include-hidden-files``. A download by ``name`` unpacks into ``path``; by
``pattern`` each artifact goes to ``path/<artifact name>/``, or straight into ``path`` with
``merge-multiple``. A job whose artifact root differs from the download's target puts its files
where ``asv publish`` never looks — how the release sweep's results once missed the site.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from asv.util import load_json

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BENCHMARKS = ROOT / ".github" / "workflows" / "benchmarks.yml"
EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
GLOB_CHARS = set("*?[")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def steps_using(job: dict[str, Any], action: str) -> Iterator[dict[str, Any]]:
    for step in job.get("steps", []):
        if str(step.get("uses", "")).split("@")[0] == action:
            yield step


def run_text(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job.get("steps", []))


# --- upload-artifact / download-artifact path semantics -------------------------------------------


def search_path(pattern: str) -> PurePosixPath:
    """The directory part of a pattern before its first glob segment (@actions/glob's search path)."""
    parts: list[str] = []
    for part in PurePosixPath(pattern.rstrip("/")).parts:
        if GLOB_CHARS & set(part):
            break
        parts.append(part)
    return PurePosixPath(*parts)


def upload(workspace: Path, step: dict[str, Any], store: Path) -> tuple[str, PurePosixPath, list[PurePosixPath]]:
    """Store the step's files as upload-artifact would; returns the artifact's name, root and members."""
    name = EXPRESSION.sub("x", step["with"]["name"])
    patterns = [line.strip() for line in str(step["with"]["path"]).splitlines() if line.strip()]
    includes = [p for p in patterns if not p.startswith("!")]
    files: set[PurePosixPath] = set()
    for pattern in includes:
        base = workspace / search_path(pattern)
        if base.is_file():
            files.add(PurePosixPath(base.relative_to(workspace).as_posix()))
        else:
            glob = pattern.rstrip("/")[len(str(search_path(pattern))):].lstrip("/") or "**/*"
            files.update(PurePosixPath(f.relative_to(workspace).as_posix()) for f in base.glob(glob) if f.is_file())
    if not step["with"].get("include-hidden-files", False):  # v4.4+: hidden files and directories are left out
        files = {f for f in files if not any(part.startswith(".") for part in f.parts)}
    assert files, f"artifact {name}: no file matches {includes} (if-no-files-found: error)"
    searched = sorted({search_path(p) for p in includes}, key=lambda p: len(p.parts))
    searched = [p for i, p in enumerate(searched) if not any(q in p.parents or q == p for q in searched[:i])]
    if len(searched) > 1:
        root = PurePosixPath(os.path.commonpath([str(p) for p in searched]))
    elif len(files) == 1 and next(iter(files)) == searched[0]:
        root = searched[0].parent  # a single file: its directory is not kept
    else:
        root = searched[0]
    members = [f.relative_to(root) for f in sorted(files)]
    for member in members:
        target = store / name / member
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(workspace / root / member, target)
    return name, root, members


def download(step: dict[str, Any], store: Path, workspace: Path) -> dict[str, Path]:
    """Unpack the stored artifacts the step selects into ``workspace``; returns where each went."""
    options = step.get("with", {})
    target = workspace / options.get("path", ".")
    available = sorted(p.name for p in store.iterdir())
    if "name" in options:
        chosen, merge = [EXPRESSION.sub("x", options["name"])], True
    else:
        chosen = [n for n in available if fnmatch.fnmatchcase(n, options.get("pattern", "*"))]
        merge = bool(options.get("merge-multiple", False))
    unpacked = {name: target if merge else target / name for name in chosen}
    for name, place in unpacked.items():
        shutil.copytree(store / name, place, dirs_exist_ok=True)
    return unpacked


def produce(workspace: Path, step: dict[str, Any], machine: str) -> None:
    """Files like the job's own in the directories its upload step names."""
    for line in str(step["with"]["path"]).splitlines():
        line = line.strip()
        if not line or line.startswith("!"):
            continue
        base = workspace / search_path(line)
        if base.suffix:  # a file
            base.parent.mkdir(parents=True, exist_ok=True)
            base.write_text("{}")
            continue
        (base / machine).mkdir(parents=True, exist_ok=True)
        (base / machine / "result.json").write_text("{}")
        (base / "benchmarks.json").write_text("{}")


def landing_places(workflow: dict[str, Any], consumer: str, tmp: Path) -> dict[str, dict[str, str]]:
    """For every artifact the consumer job's needs upload: workspace path -> path after the download."""
    jobs = workflow["jobs"]
    store = tmp / "artifacts"
    store.mkdir()
    uploaded: dict[str, tuple[PurePosixPath, list[PurePosixPath]]] = {}
    for producer in jobs[consumer]["needs"]:
        for index, step in enumerate(steps_using(jobs[producer], "actions/upload-artifact")):
            workspace = tmp / f"{producer}-{index}"
            produce(workspace, step, machine=f"gha-{producer}")
            name, root, members = upload(workspace, step, store)
            assert name not in uploaded, f"two jobs upload an artifact named {name}"
            uploaded[name] = (root, members)
    published = tmp / "publish"
    published.mkdir()
    places: dict[str, dict[str, str]] = {}
    for step in steps_using(jobs[consumer], "actions/download-artifact"):
        for name, place in download(step, store, published).items():
            assert name not in places, f"{consumer} downloads {name} twice"
            root, members = uploaded[name]
            places[name] = {}
            for member in members:
                landed = place / member
                assert landed.is_file(), landed
                places[name][(root / member).as_posix()] = landed.relative_to(published).as_posix()
    missing = set(uploaded) - set(places)
    assert not missing, f"{consumer} never downloads the artifacts {sorted(missing)}"
    return places


def results_dir() -> str:
    return PurePosixPath(load_json(str(ROOT / "asv.conf.json"), js_comments=True)["results_dir"]).as_posix()


def test_every_artifact_lands_where_it_was_made_and_results_under_asv_results(tmp_path: Path) -> None:
    places = landing_places(load(BENCHMARKS), "publish", tmp_path)
    assert any(name.startswith("asv-releases-") for name in places), "the release sweeps upload no results"
    results = results_dir()
    for name, mapping in places.items():
        for origin, landed in mapping.items():
            assert landed == origin, f"artifact {name}: {origin} lands at {landed or 'nowhere'} in publish"
        assert any(landed.startswith(results + "/") for landed in mapping.values()), (
            f"artifact {name}: nothing under {results}, the directory asv publish reads"
        )


def test_the_simulation_sees_a_sweep_result_land_outside_the_results(tmp_path: Path) -> None:
    """The layout this file was written against: one path uploaded, downloaded into .asv."""
    workflow = {"jobs": {
        "sweep": {"steps": [{"uses": "actions/upload-artifact@v7",
                             "with": {"name": "asv-releases-a", "path": ".asv/results/",
                                      "include-hidden-files": True}}]},
        "publish": {"needs": ["sweep"], "steps": [{"uses": "actions/download-artifact@v8",
                                                   "with": {"pattern": "asv-*", "path": ".asv",
                                                            "merge-multiple": True}}]},
    }}
    places = landing_places(workflow, "publish", tmp_path)["asv-releases-a"]
    assert places[".asv/results/gha-sweep/result.json"] == ".asv/gha-sweep/result.json"


def test_download_without_merge_multiple_adds_the_artifact_name(tmp_path: Path) -> None:
    workflow = {"jobs": {
        "bench": {"steps": [{"uses": "actions/upload-artifact@v7",
                             "with": {"name": "asv-bench-x", "path": ".asv/results/\n.asv/profiles/",
                                      "include-hidden-files": True}}]},
        "publish": {"needs": ["bench"], "steps": [{"uses": "actions/download-artifact@v8",
                                                   "with": {"pattern": "asv-*", "path": ".asv"}}]},
    }}
    places = landing_places(workflow, "publish", tmp_path)["asv-bench-x"]
    assert places[".asv/results/gha-bench/result.json"] == ".asv/asv-bench-x/results/gha-bench/result.json"


# --- machine names, caches, permissions, findings -------------------------------------------------


def test_machine_names_are_the_runner_class_and_shard_not_the_runner() -> None:
    jobs = load(BENCHMARKS)["jobs"]
    named = {name: job for name, job in jobs.items() if "ASV_MACHINE" in job.get("env", {})}
    assert {"bench", "release-sweep", "release-timing"} <= set(named)
    for name, job in named.items():
        machine = job["env"]["ASV_MACHINE"]
        assert job["runs-on"] == "${{ matrix.runner }}", name
        assert "${{ matrix.runner }}" in machine, name
        for label in job["strategy"]["matrix"]["runner"]:
            assert not label.endswith("-latest"), f"{name}: {label} moves to new images; pin the image"
        assert not re.search(r"RUNNER_NAME|run_id|run_number|run_attempt|github\.sha", machine), name
    assert "${{ matrix.shard.name }}" in named["bench"]["env"]["ASV_MACHINE"]
    for name, job in jobs.items():
        assert "ASV_MACHINE=" not in run_text(job), f"{name} sets the machine name in a script"


def test_release_timing_runs_on_one_runner_with_timed_samples() -> None:
    job = load(BENCHMARKS)["jobs"]["release-timing"]
    assert set(job["strategy"]["matrix"]) == {"runner"} and len(job["strategy"]["matrix"]["runner"]) == 1
    script = run_text(job)
    assert "--samples 0" not in script and "releases watch" in script and "--json > findings.json" in script
    assert int(job["env"]["SAMPLES"]) >= 5
    assert "report markdown findings.json" in script and "report github findings.json" in script


def test_only_the_job_that_files_issues_may_write_them() -> None:
    for path in WORKFLOWS:
        workflow = load(path)
        assert "issues" not in (workflow.get("permissions") or {}), path.name
        for name, job in workflow["jobs"].items():
            files_issues = "report github" in run_text(job)
            assert ((job.get("permissions") or {}).get("issues") == "write") == files_issues, f"{path.name}: {name}"


def test_push_runs_compare_into_the_job_summary() -> None:
    workflow = load(BENCHMARKS)
    assert "push" in workflow["on"]
    publish = workflow["jobs"]["publish"]
    assert "if" not in publish or "push" not in publish["if"]
    script = run_text(publish)
    assert "bulkinsert compare" in script and "report markdown" in script and "$GITHUB_STEP_SUMMARY" in script


def _cache_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for a in ("actions/cache", "actions/cache/restore") for s in steps_using(job, a)]


def test_caches_hold_the_directories_the_code_builds_into() -> None:
    from bulkinsert.releases.envs import env_root

    jobs = load(BENCHMARKS)["jobs"]
    asv_env = PurePosixPath(load_json(str(ROOT / "asv.conf.json"), js_comments=True)["env_dir"]).as_posix()
    release_envs = env_root().relative_to(ROOT).as_posix()
    uv_cache = (env_root().parent / "uv-cache").relative_to(ROOT).as_posix()
    (bench,) = _cache_steps(jobs["bench"])
    assert bench["with"]["path"].strip() == asv_env
    assert "hashFiles('asv.conf.json', 'pyproject.toml')" in bench["with"]["key"]
    for name in ("release-sweep", "release-timing"):
        (step,) = _cache_steps(jobs[name])
        assert set(step["with"]["path"].split()) == {release_envs, uv_cache}, name
        assert "pyproject.toml" in step["with"]["key"], name
    sweep_key = _cache_steps(jobs["release-sweep"])[0]["with"]["key"]
    for part in ("matrix.shard.library", "matrix.shard.from", "matrix.shard.to"):
        assert part in sweep_key


def _actionlint() -> str | None:
    beside = Path(sys.executable).with_name("actionlint")
    return str(beside) if beside.exists() else shutil.which("actionlint")


def test_actionlint_finds_nothing() -> None:
    tool = _actionlint()
    if tool is None:
        pytest.skip("actionlint is not installed (pyproject.toml's lint group brings it)")
    done = subprocess.run([tool, *map(str, WORKFLOWS)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_simulation_sees_hidden_results_left_out(tmp_path: Path) -> None:
    workspace, store = tmp_path / "w", tmp_path / "s"
    step = {"with": {"name": "asv-bench-x", "path": ".asv/results/"}}
    produce(workspace, step, machine="m")
    with pytest.raises(AssertionError, match="no file matches"):
        upload(workspace, step, store)


def test_publish_deploys_the_docs_beside_the_benchmark_pages() -> None:
    """`make docs` writes into the directory Pages uploads, after `make publish` rewrote it."""
    steps = load(BENCHMARKS)["jobs"]["publish"]["steps"]
    runs = [str(step.get("run", "")) for step in steps]
    publish = next(i for i, run in enumerate(runs) if "make publish" in run)
    docs = next(i for i, run in enumerate(runs) if "make docs" in run)
    uses = [str(step.get("uses", "")) for step in steps]
    (pages,) = [i for i, action in enumerate(uses) if action.startswith("actions/upload-pages-artifact")]
    assert publish < docs < pages
    site = PurePosixPath(str(steps[pages]["with"]["path"]).rstrip("/"))
    target = re.search(r"DOCS_DIR=(\S+)", runs[docs])
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    docs_dir = PurePosixPath(target.group(1) if target else re.search(r"^DOCS_DIR \?= (\S+)", makefile, re.M).group(1)
                             .replace("$(HTML_DIR)", re.search(r"^HTML_DIR := (\S+)", makefile, re.M).group(1)))
    assert docs_dir.parent == site and docs_dir.name == "docs", (docs_dir, site)


def test_bench_smoke_fails_on_a_failed_or_broken_figure_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check behind `make bench-smoke` (.ci/bench-smoke), on asv's own files: a recorded quick run
    (n/a figures included) passes; the same run with one failed and one broken figure fails, naming both."""
    import dataclasses
    import importlib.machinery
    import importlib.util

    from bulkinsert.analysis import status
    from bulkinsert.analysis.results import load_figures, write_figures

    loader = importlib.machinery.SourceFileLoader("bench_smoke", str(ROOT / ".ci" / "bench-smoke"))
    smoke = importlib.util.module_from_spec(importlib.util.spec_from_loader("bench_smoke", loader))
    loader.exec_module(smoke)
    recorded = Path(__file__).parent / "data" / "asv_results"
    figures = load_figures(recorded)
    machine = figures[0].machine
    monkeypatch.setattr(smoke, "MACHINE", machine)

    def results_with(changed: dict[int, tuple[str, str]]) -> Path:
        target = tmp_path / f"results-{len(changed)}"
        target.mkdir()
        shutil.copy(recorded / "benchmarks.json", target / "benchmarks.json")
        write_figures(target, [
            dataclasses.replace(f, value=None, samples=None, status=changed[i][0], reason=changed[i][1])
            if i in changed else f for i, f in enumerate(figures)])
        return target

    monkeypatch.setattr(smoke, "RESULTS", results_with({}))
    assert any(f.status == status.SKIPPED for f in figures) and smoke.check_results() == []
    working = [i for i, f in enumerate(figures) if f.works]
    monkeypatch.setattr(smoke, "RESULTS", results_with({working[0]: (status.FAILED, "RuntimeError: boom"),
                                                         working[1]: (status.BROKEN, "999 rows")}))
    problems = smoke.check_results()
    assert len(problems) == 2
    assert figures[working[0]].benchmark in problems[0] or figures[working[0]].benchmark in problems[1]
    assert any("failed: RuntimeError: boom" in line for line in problems)
    assert any("broken: 999 rows" in line for line in problems)
    monkeypatch.setattr(smoke, "RESULTS", tmp_path / "nothing")
    assert smoke.check_results()[0].startswith("no results recorded")
