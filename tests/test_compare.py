"""`bulkinsert compare` on asv result files recorded on this machine.

``tests/data/asv_results`` is a quick run over the 8-environment matrix (one sample per figure);
``tests/data/asv_samples/{first,second,planted}`` are three runs of the same environments with
``--record-samples`` — two identical, one with ``BULKINSERT_PLANT_SLOWDOWN`` set (see
docs/benchmarks.md, "How often compare is wrong"). Tests that need another situation change a
copy of the recorded figures through :func:`bulkinsert.analysis.results.write_figures`, so the files stay
asv's own format.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bulkinsert.analysis.compare import compare_command
from bulkinsert.analysis.results import Figure, load_figures, write_figures
from bulkinsert.analysis.verdicts import compare_figures

DATA = Path(__file__).parent / "data" / "asv_results"
SAMPLES = Path(__file__).parent / "data" / "asv_samples"
TIME = "insert_time.InsertTime.time_insert"
STATEMENTS = "server_statements.ServerStatements.track_statements"
CALLS = "code_path.CodePath.track_function_calls"
PATH = "core_executemany"  # a SQLAlchemy path, for the SQLAlchemy steps of the path rule
SA = "SQLAlchemy"
PG = "psycopg2-binary"


def pick(figures, benchmark, strategy, rows, sqlalchemy, psycopg2="2.9.13") -> Figure:
    for f in figures:
        if (f.benchmark, f.strategy, f.rows) == (benchmark, strategy, rows) and (
            f.versions[SA], f.versions[PG]
        ) == (sqlalchemy, psycopg2):
            return f
    raise LookupError((benchmark, strategy, rows, sqlalchemy, psycopg2))


def rewrite(root: Path, changed: list[Figure]) -> Path:
    """A copy of the recorded results with these figures replaced (same files, asv's format)."""
    keep = {(f.machine, f.commit, f.env_name) for f in changed}
    by_key = {(f.benchmark, f.params, f.requirements, f.machine, f.commit): f for f in changed}
    figures = [
        by_key.get((f.benchmark, f.params, f.requirements, f.machine, f.commit), f)
        for f in load_figures(DATA)
        if (f.machine, f.commit, f.env_name) in keep
    ]
    write_figures(root, figures)
    return root


@pytest.fixture(autouse=True)
def no_local_reruns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Side-by-side re-runs are read from a file of the test's own, not the checkout's."""
    path = tmp_path / "findings.jsonl"
    monkeypatch.setenv("BULKINSERT_FINDINGS", str(path))
    return path


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    target = tmp_path / "results"
    shutil.copytree(DATA, target)
    return target


def run(*args: str):
    return CliRunner().invoke(compare_command, list(args))


def findings_json(*args: str) -> tuple[int, dict]:
    result = run(*args, "--json")
    return result.exit_code, json.loads(result.output)


def with_samples(figure: Figure, factor: float, spread: float = 0.01) -> Figure:
    """The figure as if measured 7 times around ``value * factor`` (±``spread``)."""
    assert figure.value is not None
    centre = figure.value * factor
    offsets = (-3, -2, -1, 0, 1, 2, 3)
    return dataclasses.replace(figure, samples=tuple(centre * (1 + spread * o / 3) for o in offsets), value=centre)


def slowed_from_2_0_58_to_2_1_9(recorded: Path, factors: dict[str, float]) -> list[Figure]:
    """PATH's 10,000-row timing made ``factors[psycopg2]`` slower from SQLAlchemy 2.0.58 to 2.1.9, written."""
    figures = load_figures(DATA)
    changed = []
    for pg, factor in factors.items():
        old = with_samples(pick(figures, TIME, PATH, 10000, "2.0.58", pg), 1.0)
        new = pick(figures, TIME, PATH, 10000, "2.1.9", pg)
        changed += [old, with_samples(dataclasses.replace(new, value=old.value), factor)]
    rewrite(recorded, changed)
    return changed


# -- the recorded quick run ------------------------------------------------------------------


def test_recorded_files_are_real_asv_results_without_local_paths():
    for root in (DATA, *sorted(SAMPLES.glob("*"))):
        files = [p for p in root.glob("*/*.json") if p.name != "machine.json"]
        assert files, root
        for path in files:
            text = path.read_text()
            assert "/work/" not in text and "/home/" not in text and "/root/" not in text
            assert json.loads(text)["version"] == 2


def test_changed_code_path_is_not_a_regression():
    """core_executemany 1.3.24 -> 1.4.54: calls +50 %, statements 10,002 -> 12, time x0.05."""
    comparison = compare_figures(load_figures(DATA))
    step = [
        f
        for f in comparison.findings
        if (f.strategy, f.rows, f.library, f.old, f.new) == ("core_executemany", 10000, SA, "1.3.24", "1.4.54")
    ]
    calls = [f for f in step if f.metric == "calls"]
    assert len(calls) == 2 and all(f.verdict == "changed" and f.confirmed for f in calls)
    assert all("statements 10,002 -> 12" in f.reason for f in calls)
    statements = [f for f in step if f.metric == "statements"]
    assert [f.verdict for f in statements] == ["improvement", "improvement"]
    # One sample per figure: the 20x faster time is real but not *confirmed* by a test.
    times = [f for f in step if f.metric == "time"]
    assert times and all(f.change == "faster" and f.verdict == "unconfirmed" for f in times)


def test_single_samples_never_confirm_a_timing(recorded: Path):
    figures = load_figures(DATA)
    slow = pick(figures, TIME, "copy_text", 10000, "2.1.9")
    rewrite(recorded, [dataclasses.replace(slow, value=slow.value * 5)])
    code, payload = findings_json("--results-dir", str(recorded), "--strategy", "copy_text", "--benchmark", "time_")
    assert code == 0
    mine = [f for f in payload["findings"] if f["new"] == "2.1.9" and f["context"] == {PG: "2.9.13"}]
    assert [(f["verdict"], f["confirmed"], f["change"]) for f in mine if f["rows"] == 10000] == [
        ("unconfirmed", False, "slower")
    ]
    assert payload["regressions"] == 0


def test_statement_increase_is_a_regression_and_exits_1(recorded: Path):
    figures = load_figures(DATA)
    base = pick(figures, STATEMENTS, "execute_values", 10000, "2.1.9")
    rewrite(recorded, [dataclasses.replace(base, value=base.value + 1)])
    args = ("--results-dir", str(recorded), "--strategy", "execute_values", "--benchmark", "track_statements")
    code, payload = findings_json(*args)
    assert code == 1
    regressions = [f for f in payload["findings"] if f["verdict"] == "regression"]
    assert {(f["library"], f["old"], f["new"], tuple(f["context"].items())) for f in regressions} == {
        (SA, "2.0.58", "2.1.9", ((PG, "2.9.13"),)),
        (PG, "2.9.5", "2.9.13", ((SA, "2.1.9"),)),
    }
    assert run(*args).exit_code == 1
    clean = run("--results-dir", str(DATA), "--strategy", "execute_values", "--benchmark", "track_statements")
    assert clean.exit_code == 0, clean.output


@pytest.mark.parametrize("extra, verdict", [(33, None), (10_000, "regression"), (-10_000, "improvement")])
def test_calls_are_judged_per_row_not_per_insert(recorded: Path, extra: int, verdict: str | None):
    """+33 calls per insert (orm_bulk_insert's constant cost) is no regression; +1 call per row is."""
    figures = load_figures(DATA)
    old = pick(figures, CALLS, "copy_text", 10000, "1.4.54", "2.9.5")
    new = pick(figures, CALLS, "copy_text", 10000, "2.0.58", "2.9.5")
    rewrite(recorded, [dataclasses.replace(new, value=old.value + extra)])
    comparison = compare_figures([f for f in load_figures(recorded) if f.strategy == "copy_text"])
    found = [
        (f.verdict, f.new_value - f.old_value)
        for f in comparison.findings
        if f.metric == "calls" and (f.library, f.old, f.new) == (SA, "1.4.54", "2.0.58") and f.context == {PG: "2.9.5"}
    ]
    assert found == ([] if verdict is None else [(verdict, extra)])


@pytest.mark.parametrize("time_factor, verdict, workload", [(0.5, "changed", None), (1.0, "regression", None),
                                                           (0.5, "regression", "wide")])
def test_more_calls_on_a_path_confirmed_faster_is_a_changed_path(
    recorded: Path, time_factor: float, verdict: str, workload: str | None
):
    """Only the same path's time excuses its calls: a faster ``wide`` workload never excuses ``users``.

    A SQLAlchemy path: the time of a path that does not use SQLAlchemy is a control of the step.
    """
    figures = load_figures(DATA)
    changed = []
    for pg in ("2.9.5", "2.9.13"):
        old = with_samples(pick(figures, TIME, PATH, 10000, "2.0.58", pg), 1.0)
        new = pick(figures, TIME, PATH, 10000, "2.1.9", pg)
        changed += [old, with_samples(dataclasses.replace(new, value=old.value), time_factor)]
    if workload is not None:  # the same timings, measured by the workload suite instead
        changed = [dataclasses.replace(f, benchmark="workload_time.WorkloadInsertTime.time_insert",
                                       params=(("strategy", PATH), ("workload", workload), ("rows", "10000")))
                   for f in changed]
    calls = pick(figures, CALLS, PATH, 10000, "2.1.9", "2.9.5")
    changed.append(dataclasses.replace(calls, value=calls.value + 10_000))  # +1 call per row
    subset = [f for f in load_figures(DATA) if f.strategy == PATH and f.rows == 10000
              and f.versions[SA] in ("2.0.58", "2.1.9")]
    if workload is None:
        rewrite(recorded, changed)
        subset = [f for f in load_figures(recorded) if f.strategy == PATH and f.rows == 10000]
    else:
        subset = [f for f in subset if f.benchmark != TIME and f.benchmark != CALLS] + changed + [
            pick(figures, CALLS, PATH, 10000, sa, pg) for sa, pg in
            (("2.0.58", "2.9.5"), ("2.0.58", "2.9.13"), ("2.1.9", "2.9.13"))]
    comparison = compare_figures(subset)
    assert any(f.metric == "time" and f.verdict == "improvement" for f in comparison.findings) == (time_factor < 1)
    (found,) = [f for f in comparison.findings if f.metric == "calls" and f.new == "2.1.9" and f.library == SA]
    assert (found.verdict, found.context) == (verdict, {PG: "2.9.5"})
    assert ("time x0.50 (confirmed)" in found.reason) == (verdict == "changed")


def test_pairs_from_different_commits_are_not_compared(recorded: Path):
    figures = load_figures(DATA)
    moved = [
        dataclasses.replace(f, commit="b" * 40)
        for f in figures
        if f.versions[SA] == "2.1.9" and f.versions[PG] == "2.9.13"
    ]
    bigger = next(f for f in moved if f.benchmark == STATEMENTS and f.strategy == "copy_text")
    moved = [dataclasses.replace(f, value=f.value + 100) if f is bigger else f for f in moved]
    write_figures(recorded, moved)
    for path in recorded.glob("*/*.json"):
        data = json.loads(path.read_text())
        if "requirements" in data and data["commit_hash"] == figures[0].commit:
            if (data["requirements"][SA], data["requirements"][PG]) == ("2.1.9", "2.9.13"):
                path.unlink()
    result = run("--results-dir", str(recorded), "--benchmark", "track_statements", "--findings-only")
    # The +100 statements sit in an environment measured at another commit: never compared.
    assert result.exit_code == 0, result.output
    assert "2 environment pairs skipped: measured at different commits — re-run them" in result.output
    code, payload = findings_json("--results-dir", str(recorded), "--benchmark", "track_statements")
    assert (code, payload["skipped_commit_pairs"]) == (0, 2)
    assert all(f["commit"] == figures[0].commit for f in payload["findings"])


def test_machines_are_never_compared_with_each_other(recorded: Path):
    figures = load_figures(DATA)
    other = [
        dataclasses.replace(f, machine="ci-runner", value=(f.value or 0) * 3 if f.benchmark == STATEMENTS else f.value)
        for f in figures
        if f.versions[SA] == "2.1.9"
    ]
    write_figures(recorded, other)
    comparison = compare_figures(load_figures(recorded))
    # ci-runner has only SQLAlchemy 2.1.9: its only comparable step is psycopg2 2.9.5 -> 2.9.13.
    remote = [f for f in comparison.findings if f.machine == "ci-runner"]
    assert {(f.library, f.old, f.new) for f in remote} <= {(PG, "2.9.5", "2.9.13")}
    assert not [f for f in comparison.findings if f.metric == "statements" and f.verdict == "regression"]


# -- timings with samples: the rank test and the replicate -----------------------------------


def test_slowdown_under_both_psycopg2_releases_is_confirmed(recorded: Path):
    slowed_from_2_0_58_to_2_1_9(recorded, {"2.9.5": 1.5, "2.9.13": 1.5})
    code, payload = findings_json("--results-dir", str(recorded), "--strategy", PATH, "--rows", "10000",
                                  "--benchmark", "time_")
    assert code == 1
    found = [f for f in payload["findings"] if f["verdict"] == "regression"]
    assert {(f["library"], f["old"], f["new"]) for f in found} == {(SA, "2.0.58", "2.1.9")}
    assert len(found) == 2 and all(f["ratio"] == pytest.approx(1.5, rel=0.02) for f in found)
    assert all(f["p_value"] < 0.01 and f["ratio_ci"][0] > 1.05 for f in found)
    assert all(f["new_samples"]["n"] == 7 and f["replicates"][0]["change"] == "slower" for f in found)


def test_slowdown_under_one_psycopg2_release_only_is_unconfirmed(recorded: Path):
    slowed_from_2_0_58_to_2_1_9(recorded, {"2.9.5": 1.0, "2.9.13": 1.5})
    code, payload = findings_json("--results-dir", str(recorded), "--strategy", PATH, "--rows", "10000",
                                  "--benchmark", "time_")
    assert code == 0
    (found,) = [f for f in payload["findings"] if f["library"] == SA and f["new"] == "2.1.9"]
    assert (found["verdict"], found["confirmed"], found["change"]) == ("unconfirmed", False, "slower")
    assert found["p_value"] < 0.01  # the rank test alone would have called it
    assert "not reproduced with psycopg2-binary 2.9.5" in found["reason"]
    assert found["rerun"] == (  # the re-run holds the finding's context, not the matrix's newest
        "bulkinsert releases compare core_executemany 2.0.58 2.1.9 --library SQLAlchemy --metric time --rows 10000"
        " --with psycopg2-binary==2.9.13"
    )
    text = run("--results-dir", str(recorded), "--strategy", PATH, "--rows", "10000", "--benchmark", "time_")
    assert text.exit_code == 0
    assert "confirm side by side: bulkinsert releases compare core_executemany" in text.output
    assert "111.8ms ±0.5%" in text.output  # median and half its interquartile range, from the samples


@pytest.mark.parametrize("said, verdict, code", [("slower", "regression", 1), ("same", "unconfirmed", 0)])
def test_side_by_side_rerun_settles_an_unconfirmed_timing(
    recorded: Path, no_local_reruns: Path, said: str, verdict: str, code: int
):
    figures = load_figures(DATA)
    slow = pick(figures, TIME, "copy_text", 10000, "2.1.9")
    rewrite(recorded, [dataclasses.replace(slow, value=slow.value * 2)])
    rerun = {"kind": "compare", "strategy": "copy_text", "rows": 10000, "metric": "time", "library": "SQLAlchemy",
             "old": "2.0.58", "new": "2.1.9", "verdict": said, "ratio": 1.9, "p_value": 1e-5,
             "machine": slow.machine, "commit": slow.commit, "context": {PG: "2.9.13"}}
    elsewhere = {**rerun, "verdict": "slower", "machine": "another-machine"}
    no_local_reruns.write_text(json.dumps(elsewhere) + "\n" + json.dumps(rerun) + "\n")
    args = ("--results-dir", str(recorded), "--strategy", "copy_text", "--rows", "10000", "--benchmark", "time_")
    exit_code, payload = findings_json(*args)
    (found,) = [f for f in payload["findings"] if f["new"] == "2.1.9" and f["context"] == {PG: "2.9.13"}]
    assert (found["verdict"], found["confirmed"], exit_code) == (verdict, said == "slower", code)
    assert "side by side" in found["reason"] or "side-by-side re-run says same" in found["reason"]


def test_rerun_settles_only_the_context_it_held(recorded: Path, no_local_reruns: Path):
    figures = load_figures(DATA)
    slow = pick(figures, TIME, "copy_text", 10000, "2.1.9")
    rewrite(recorded, [dataclasses.replace(slow, value=slow.value * 2)])
    rerun = {"kind": "compare", "strategy": "copy_text", "rows": 10000, "metric": "time", "library": "SQLAlchemy",
             "old": "2.0.58", "new": "2.1.9", "verdict": "slower", "ratio": 1.9, "p_value": 1e-5,
             "machine": slow.machine, "commit": slow.commit}
    # Held at the other psycopg2 release, or with no context recorded: neither says what this
    # finding's context does, so neither settles it.
    other_context = {**rerun, "context": {PG: "2.9.5"}}
    no_local_reruns.write_text(json.dumps(other_context) + "\n" + json.dumps(rerun) + "\n")
    args = ("--results-dir", str(recorded), "--strategy", "copy_text", "--rows", "10000", "--benchmark", "time_")
    _, payload = findings_json(*args)
    (found,) = [f for f in payload["findings"] if f["new"] == "2.1.9" and f["context"] == {PG: "2.9.13"}]
    assert (found["verdict"], found["confirmed"]) == ("unconfirmed", False), [
        (f["context"], f["verdict"]) for f in payload["findings"] if f["confirmed"]]


def test_json_schema():
    code, payload = findings_json("--results-dir", str(DATA))
    assert code == 1  # the recorded quick run holds call-count regressions (e.g. orm_basic +4 calls per row)
    assert payload["regressions"] == sum(f["verdict"] == "regression" for f in payload["findings"]) > 0
    required = {
        "strategy", "metric", "library", "old", "new", "ratio", "confirmed", "verdict", "change", "machine",
        "commit", "context", "environment", "p_value", "ratio_ci", "old_samples", "new_samples", "reason",
        "benchmark", "params", "rows", "old_value", "new_value", "unit", "replicates", "rerun",
    }
    for finding in payload["findings"]:
        assert required <= set(finding)
        assert isinstance(finding["confirmed"], bool)
        assert finding["verdict"] in {"regression", "improvement", "changed", "unconfirmed"}
        assert finding["verdict"] != "regression" or finding["confirmed"]
        assert finding["library"] not in finding["context"]
        assert finding["environment"][finding["library"]] == finding["new"]


def test_no_results_exit_2(tmp_path: Path):
    assert run("--results-dir", str(tmp_path / "nope")).exit_code == 2
    assert run("--results-dir", str(DATA), "--strategy", "no_such_strategy").exit_code == 2


# -- two recorded runs of identical environments, and one with a planted slow-down ----------


def test_identical_runs_give_no_confirmed_regression():
    result = run("--results-dir", str(SAMPLES / "second"), "--baseline", str(SAMPLES / "first"), "--findings-only")
    assert result.exit_code == 0, result.output
    code, payload = findings_json("--results-dir", str(SAMPLES / "second"), "--baseline", str(SAMPLES / "first"))
    assert code == 0 and payload["mode"] == "baseline"
    assert payload["pairs_compared"] > 0
    assert not [f for f in payload["findings"] if f["verdict"] == "regression"]
    # The rank test alone would have called a slow-down; its family's Benjamini-Hochberg level does not.
    alone = [f for f in payload["findings"] if f["p_value"] is not None and f["p_value"] < 0.01 and f["ratio"] > 1.05]
    assert alone and all(not f["confirmed"] and "Benjamini-Hochberg level" in f["reason"] for f in alone)


def test_planted_slowdown_is_confirmed_in_every_environment():
    code, payload = findings_json("--results-dir", str(SAMPLES / "planted"), "--baseline", str(SAMPLES / "first"))
    assert code == 1
    regressions = [f for f in payload["findings"] if f["verdict"] == "regression"]
    assert regressions
    assert {(f["strategy"], f["metric"], f["library"]) for f in regressions} == {("copy_text", "time", "run")}
    # Confirmed in each of the four recorded environments (2 SQLAlchemy x 2 psycopg2 releases).
    environments = {tuple(sorted(f["environment"].items())) for f in regressions}
    assert len(environments) == len({f.requirements for f in load_figures(SAMPLES / "planted")}) == 4
    for finding in regressions:
        assert finding["ratio_ci"][0] <= 1.3 * 1.1 and finding["ratio_ci"][1] >= 1.3 / 1.1, finding


def test_planted_slowdown_in_one_environment_alone_is_not_confirmed():
    """``--baseline`` on one environment: the rank test finds it, but no replicate can agree."""
    planted = load_figures(SAMPLES / "planted")
    one = planted[0].requirements
    current = [f for f in planted if f.requirements == one]
    before = [f for f in load_figures(SAMPLES / "first") if f.requirements == one]
    found = [f for f in compare_figures(current, baseline=before).findings
             if f.strategy == "copy_text" and f.metric == "time" and f.p_value is not None and f.p_value < 0.01]
    assert found and all(f.change == "slower" and not f.confirmed and f.verdict == "unconfirmed" for f in found)
    assert all("no replicate: only one environment compared with the baseline" in f.reason for f in found)


def test_figures_from_a_dirty_work_tree_are_never_judged():
    figures = load_figures(DATA)
    assert compare_figures(figures).findings  # the recorded matrix has findings of its own ...
    dirty = [dataclasses.replace(f, machine=f.machine + "-releases-dirty") for f in figures]
    slow = pick(dirty, TIME, "copy_text", 10000, "2.1.9")
    dirty = [dataclasses.replace(f, value=f.value * 3) if f is slow else f for f in dirty]
    # ... but the same figures, filed as measured from uncommitted code, give none.
    assert compare_figures(dirty).findings == []
    assert compare_figures(figures, baseline=dirty).findings == []


def test_a_driver_axis_finding_is_its_own_path_and_names_its_driver():
    """DriverCounts' figures carry a driver: never folded into the psycopg2 series' block."""
    from bulkinsert.analysis.compare import render_findings
    from bulkinsert.analysis.verdicts import judge_results

    figures = [f for f in load_figures(DATA) if f.benchmark == STATEMENTS and f.strategy == "execute_values"
               and f.rows == 10000]
    axis = [dataclasses.replace(f, benchmark="driver_counts.DriverCounts.track_statements",
                                params=(*f.params, ("driver", "asyncpg")),
                                value=f.value + (1 if f.versions[SA] == "2.1.9" else 0))
            for f in figures]
    text = render_findings(judge_results([*figures, *axis]))
    assert "execute_values on asyncpg rows=10000  SQLAlchemy 2.0.58 -> 2.1.9: REGRESSION" in text
    assert "execute_values rows=10000" not in text  # the psycopg2 series did not change


def test_a_side_by_side_rerun_that_finds_no_difference_unconfirms_a_confirmed_timing(
    recorded: Path, no_local_reruns: Path
):
    changed = slowed_from_2_0_58_to_2_1_9(recorded, {"2.9.5": 1.07, "2.9.13": 1.07})
    args = ("--results-dir", str(recorded), "--strategy", PATH, "--rows", "10000", "--benchmark", "time_")
    code, payload = findings_json(*args)
    assert code == 1 and sum(f["confirmed"] for f in payload["findings"]) == 2  # rank test + replicate
    rerun = {"kind": "compare", "strategy": PATH, "rows": 10000, "metric": "time", "library": "SQLAlchemy",
             "old": "2.0.58", "new": "2.1.9", "verdict": "same", "ratio": 1.017, "p_value": 0.026,
             "machine": changed[0].machine, "commit": changed[0].commit, "context": {PG: "2.9.13"}}
    no_local_reruns.write_text(json.dumps(rerun) + "\n")
    code, payload = findings_json(*args)
    by_context = {f["context"][PG]: f for f in payload["findings"] if f["new"] == "2.1.9"}
    assert (by_context["2.9.13"]["verdict"], by_context["2.9.13"]["confirmed"]) == ("unconfirmed", False)
    assert "side-by-side re-run says same (x1.017, p=0.026)" in by_context["2.9.13"]["reason"]
    # The other context was confirmed by this replicate alone: it stands no longer either.
    assert (by_context["2.9.5"]["verdict"], by_context["2.9.5"]["confirmed"], code) == ("unconfirmed", False, 0)
    assert "its replicate with psycopg2-binary 2.9.13 did not hold side by side" in by_context["2.9.5"]["reason"]


def test_a_whole_run_shifted_alike_is_the_machine_not_a_regression():
    """Every path of every environment x1.15 slower in the second run: nothing is confirmed."""
    first = load_figures(SAMPLES / "first")
    second = [with_samples(f, 1.15) if f.samples and f.method.startswith("time_") else f for f in first]
    found = compare_figures(second, baseline=first).findings
    slower = [f for f in found if f.metric == "time" and f.change == "slower"]
    assert slower and not [f for f in found if f.confirmed and f.metric == "time"]
    assert any("within the run's shift" in f.reason for f in slower)
    # One path beyond that shift, in every environment, is still confirmed.
    planted = [with_samples(f, 1.6) if f.samples and f.method.startswith("time_") and f.strategy == "copy_text"
               else f for f in second]
    confirmed = {f.strategy for f in compare_figures(planted, baseline=first).findings
                 if f.confirmed and f.metric == "time"}
    assert confirmed == {"copy_text"}
