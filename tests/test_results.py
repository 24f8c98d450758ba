"""bulkinsert.analysis.results: the one reader of asv result files, on files asv wrote on this machine."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from bulkinsert.analysis.results import (
    Figure,
    by_machine,
    environment_key,
    load_figures,
    varying_libraries,
    version_key,
    write_figures,
)

DATA = Path(__file__).parent / "data" / "asv_results"
TIME = "insert_time.InsertTime.time_insert"


def copy_results(tmp_path: Path) -> Path:
    target = tmp_path / "results"
    shutil.copytree(DATA, target)
    return target


def test_version_key_is_pep440():
    ordered = ["1.3.24", "1.4.54", "2.0.5", "2.0.5.post1", "2.0.58", "2.1.0b1", "2.1.0rc2", "2.1.0", "2.1.9", "2.9.13"]
    shuffled = list(reversed(ordered))
    assert sorted(shuffled, key=version_key) == ordered
    assert version_key("2.9.13") > version_key("2.9.5")
    assert version_key("2.1.0b1") < version_key("2.1.0")
    assert version_key("2.0.5.post1") > version_key("2.0.5")
    # Not a release string: sorts first instead of failing the sort.
    assert version_key("not-a-version") < version_key("0.0.1")


def test_figures_carry_environment_machine_commit_and_statistics():
    figures = load_figures(DATA)
    files = [p for p in (DATA / "bench-2core").glob("*.json") if p.name != "machine.json"]
    raw = json.loads(files[0].read_text())
    mine = [f for f in figures if f.env_name == raw["env_name"]]
    assert mine, "every file's environment is read"
    some = mine[0]
    assert some.machine == "bench-2core"
    assert some.commit == raw["commit_hash"] and some.date == raw["date"]
    assert some.versions == {**raw["requirements"], "python": raw["python"]}
    time = [f for f in mine if f.benchmark == TIME and f.value is not None]
    assert time and all(f.unit == "seconds" and f.strategy and f.rows for f in time)
    # asv's NaN (skipped) and null (failed) are both n/a, never a number.
    row = dict(zip(raw["result_columns"], raw["results"][TIME], strict=False))
    assert sum(f.value is None for f in mine if f.benchmark == TIME) == sum(
        v is None or v != v for v in row["result"]
    )


def test_samples_and_statistics_round_trip_through_asv_files(tmp_path: Path):
    figures = load_figures(DATA)
    target = tmp_path / "written"
    target.mkdir()
    shutil.copy(DATA / "benchmarks.json", target)
    write_figures(target, figures)
    assert sorted(load_figures(target), key=repr) == sorted(figures, key=repr)

    # Samples written are read back, with asv's statistics computed from them.
    base = next(f for f in figures if f.benchmark == TIME and f.value is not None)
    sampled = dataclasses.replace(base, commit="f" * 40, samples=(0.010, 0.011, 0.012, 0.013, 0.030), value=None)
    write_figures(target, [sampled])
    (back,) = [f for f in load_figures(target, commit="ffff") if f.params == base.params and f.benchmark == TIME]
    assert back.samples == sampled.samples
    assert back.value == pytest.approx(0.012)  # asv's median of the samples
    assert back.iqr is not None and back.iqr[0] < 0.012 < back.iqr[1]
    assert back.repeat == 5


def test_newest_commit_per_environment_unless_asked(tmp_path: Path):
    figures = load_figures(DATA)
    one_env = [f for f in figures if f.env_name == figures[0].env_name]
    later = [dataclasses.replace(f, commit="a" * 40, date=f.date + 1000) for f in one_env]
    root = copy_results(tmp_path)
    write_figures(root, later)
    loaded = load_figures(root)
    assert {f.commit for f in loaded if f.env_name == figures[0].env_name} == {"a" * 40}
    assert {f.commit for f in loaded if f.env_name != figures[0].env_name} == {figures[0].commit}
    old = load_figures(root, commit=figures[0].commit[:8])
    assert {f.commit for f in old} == {figures[0].commit}
    assert len(old) == len(figures)


def test_machines_are_never_mixed(tmp_path: Path):
    figures = load_figures(DATA)
    root = copy_results(tmp_path)
    write_figures(root, [dataclasses.replace(f, machine="ci-runner-7") for f in figures])
    loaded = load_figures(root)
    groups = by_machine(loaded)
    assert set(groups) == {"bench-2core", "ci-runner-7"}
    assert all({f.machine for f in group} == {name} for name, group in groups.items())
    assert len(load_figures(root, machine="ci-runner-7")) == len(figures)
    with pytest.raises(FileNotFoundError):
        load_figures(root, machine="nowhere")
    with pytest.raises(FileNotFoundError):
        load_figures(tmp_path / "missing")


def test_environment_key_names_only_the_varying_libraries():
    figures = load_figures(DATA)
    libraries = varying_libraries(figures)
    assert libraries == ["SQLAlchemy", "psycopg2-binary"]
    keys = {environment_key(f, libraries) for f in figures}
    assert len(keys) == len({f.requirements for f in figures}) == 8
    assert (("SQLAlchemy", "2.1.9"), ("psycopg2-binary", "2.9.5")) in keys


def test_figure_properties():
    figure = Figure(
        machine="m", benchmark="a.B.time_insert", env_name="e", commit="c", date=0,
        params=(("strategy", "copy_text"), ("rows", "1000")), requirements=(("SQLAlchemy", "2.0.1"),), value=1.0,
    )
    assert (figure.strategy, figure.rows, figure.method) == ("copy_text", 1000, "time_insert")
    assert figure.param("missing") is None
    assert figure.label(["SQLAlchemy", "psycopg2"]) == "SQLAlchemy 2.0.1, psycopg2 -"
