"""A path that stops working is a finding: failed, broken and skipped figures through compare and the site.

The failures are real: the asv suite's own benchmark class, with ``BULKINSERT_PLANT_FAULT``
set, raises or loads one row too few against the embedded PostgreSQL; the status note it
writes and a ``null`` figure (as asv records a failing benchmark) go into a copy of the
recorded quick run through :func:`bulkinsert.analysis.results.write_figures`.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bulkinsert.analysis import status
from bulkinsert.analysis.compare import compare_command
from bulkinsert.analysis.findingrecords import RecordedFinding, read_records
from bulkinsert.analysis.metrics import CALLS_PER_INSERT, count_verdict
from bulkinsert.analysis.results import Figure, load_figures, write_figures
from bulkinsert.analysis.verdicts import compare_figures, judge_results
from bulkinsert.measure.planted import parse_planted
from bulkinsert.site import data as site_data
from bulkinsert.site.versions import versions_page

DATA = Path(__file__).parent / "data" / "asv_results"
TIME = "insert_time.InsertTime.time_insert"
SA, PG = "SQLAlchemy", "psycopg2-binary"
NEWEST_SA = max((f.versions[SA] for f in load_figures(DATA)), key=lambda v: tuple(map(int, v.split("."))))


@pytest.fixture(autouse=True)
def own_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "findings.jsonl"
    monkeypatch.setenv("BULKINSERT_FINDINGS", str(path))
    return path


def _copy(tmp_path: Path, change) -> Path:
    """The recorded run with ``change(figure)`` applied to every figure (asv's own format)."""
    target = tmp_path / "results"
    target.mkdir()
    shutil.copy(DATA / "benchmarks.json", target / "benchmarks.json")
    write_figures(target, [change(f) for f in load_figures(DATA)])
    return target


def _fail(strategy: str, sa: str, kind: str, reason: str | None):
    def change(figure: Figure) -> Figure:
        if figure.strategy == strategy and figure.versions[SA] == sa and figure.works:
            return dataclasses.replace(figure, value=None, samples=None, status=kind, reason=reason)
        return figure
    return change


# -- the planted fault, for real ---------------------------------------------------------------


def test_one_parser_for_slowdowns_and_faults():
    planted = parse_planted("copy_text:1.5, orm_basic:1.1@SQLAlchemy==0.0.1",
                            "execute_values:raise@SQLAlchemy==2.1.9,copy_text:wrong-rows",
                            installed={"SQLAlchemy": "2.1.9"})
    assert planted.slowdowns == {"copy_text": 1.5}
    assert planted.faults == {"execute_values": "raise", "copy_text": "wrong-rows"}
    for bad in ("copy_text", "copy_text:0.9", "copy_text:fast", "copy_text:2@SQLAlchemy"):
        with pytest.raises(ValueError, match="BULKINSERT_PLANT_SLOWDOWN"):
            parse_planted(bad)
    with pytest.raises(ValueError, match="BULKINSERT_PLANT_FAULT: fault of copy_text"):
        parse_planted("", "copy_text:explode")


@pytest.mark.parametrize("fault, expected", [("raise", status.FAILED), ("wrong-rows", status.BROKEN)])
def test_planted_fault_fails_the_real_benchmark_and_notes_why(tmp_path, monkeypatch, fault, expected):
    """The suite's InsertTime against the embedded server: the fault raises, the note says why."""
    from benchmarks import faults
    from benchmarks.insert_time import InsertTime

    monkeypatch.setattr(faults, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(faults, "PLANTED", parse_planted("", f"copy_text:{fault}"))
    monkeypatch.setenv("ASV_COMMIT", "c0ffee")
    monkeypatch.setenv("ASV_ENV_NAME", "env-x")
    bench = InsertTime()
    bench.setup("copy_text", 1000)
    with pytest.raises(Exception) as raised:  # noqa: PT011 - asv records any exception as null
        try:
            bench.time_insert("copy_text", 1000)
        finally:
            bench.teardown("copy_text", 1000)
    assert isinstance(raised.value, AssertionError if fault == "wrong-rows" else RuntimeError)
    notes = status.read_notes(tmp_path)
    here = status.installed_versions()
    note = status.note_for(notes, benchmark=TIME, params=(("strategy", "copy_text"), ("rows", "1000")),
                           commit="c0ffee", env_name="env-x", versions=here)
    assert note is not None and note.status == expected
    reason = note.reason
    other = {**here, "SQLAlchemy": "0.0.1"}  # another environment's failed figure is not this note's
    assert status.note_for(notes, benchmark=TIME, params=(("strategy", "copy_text"), ("rows", "1000")),
                           commit="c0ffee", env_name="env-x", versions=other) is None
    assert ("999 rows in users after inserting 1000" in reason) == (fault == "wrong-rows")


# -- results: four statuses, round trip ---------------------------------------------------------


def test_failed_broken_and_skipped_round_trip_through_asv_files(tmp_path: Path):
    results = _copy(tmp_path, _fail("copy_text", NEWEST_SA, status.BROKEN, "copy_text: 9999 rows"))
    raw = json.loads(next(p for p in (results / "bench-2core").glob("*.json") if "machine" not in p.name).read_text())
    assert raw["version"] == 2  # still asv's file
    figures = load_figures(results)
    broken = [f for f in figures if f.strategy == "copy_text" and f.versions[SA] == NEWEST_SA]
    assert broken and {(f.status, f.reason, f.value) for f in broken} == {(status.BROKEN, "copy_text: 9999 rows", None)}
    others = [f for f in figures if not (f.strategy == "copy_text" and f.versions[SA] == NEWEST_SA)]
    original = {(f.benchmark, f.params, f.requirements): f.status for f in load_figures(DATA)}
    assert {f.status for f in others if f.value is None} <= {status.SKIPPED, status.FAILED}
    assert all(original[(f.benchmark, f.params, f.requirements)] == f.status for f in others)


# -- compare ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, reason", [(status.FAILED, None), (status.BROKEN, "copy_text: 9999 rows in users")])
def test_a_path_that_stops_working_exits_1_with_a_status_finding(tmp_path: Path, kind: str, reason: str | None):
    results = _copy(tmp_path, _fail("copy_text", NEWEST_SA, kind, reason))
    done = CliRunner().invoke(compare_command, ["--results-dir", str(results), "--json"])
    assert done.exit_code == 1, done.output
    payload = json.loads(done.output)
    found = [f for f in payload["findings"] if f["metric"] == "status"]
    assert found and all(f["strategy"] == "copy_text" and f["new"] == NEWEST_SA and f["change"] == kind
                         and f["verdict"] == "regression" and f["confirmed"] and f["ratio"] is None for f in found)
    assert all((reason or "reason not recorded") in f["reason"] for f in found)
    assert {f["benchmark"] for f in found} >= {TIME}
    text = CliRunner().invoke(compare_command, ["--results-dir", str(results), "--strategy", "copy_text"])
    assert text.exit_code == 1 and f"✗{kind}" in text.output and f"status ok -> {kind}: {kind}" in text.output
    markdown = CliRunner().invoke(compare_command, ["--results-dir", str(results), "--strategy", "copy_text",
                                                    "--markdown"])
    assert markdown.exit_code == 1 and f"| status | ok → {kind} | – |" in markdown.output, markdown.output


def test_a_path_that_starts_working_is_an_improvement_and_skips_are_no_finding(tmp_path: Path):
    oldest = min((f.versions[SA] for f in load_figures(DATA)), key=lambda v: tuple(map(int, v.split("."))))
    results = _copy(tmp_path, _fail("copy_text", oldest, status.FAILED, "ImportError: no copy_expert"))
    comparison = compare_figures(load_figures(results))
    found = [f for f in comparison.findings if f.metric == "status"]
    assert found and {(f.change, f.verdict, f.old) for f in found} == {("fixed", "improvement", oldest)}
    skipped = [f for f in load_figures(DATA) if f.status == status.SKIPPED]
    assert skipped  # the recorded run has n/a figures, and none of them is a finding
    assert not [f for f in compare_figures(load_figures(DATA)).findings if f.metric == "status"]


# -- confirmation needs evidence ------------------------------------------------------------------


def _samples(figure: Figure, factor: float) -> Figure:
    centre = (figure.value or 1.0) * factor
    return dataclasses.replace(figure, value=centre, samples=tuple(centre * (1 + 0.01 * o) for o in range(-3, 4)))


def test_a_rank_test_without_replicate_is_unconfirmed_and_says_why(tmp_path: Path):
    """copy_text 2x slower in SQLAlchemy NEWEST under one psycopg2; under the other the figure failed."""
    figures = load_figures(DATA)
    previous = sorted({f.versions[SA] for f in figures}, key=lambda v: tuple(map(int, v.split("."))))[-2]

    def change(f: Figure) -> Figure:
        if f.benchmark != TIME or f.strategy != "copy_text" or f.rows != 10000 or f.versions[SA] not in (
                previous, NEWEST_SA) or not f.works:
            return f
        if f.versions[PG] == "2.9.5":
            return dataclasses.replace(f, value=None, status=status.FAILED) if f.versions[SA] == NEWEST_SA else f
        return _samples(f, 2.0 if f.versions[SA] == NEWEST_SA else 1.0)

    results = _copy(tmp_path, change)
    (timing,) = [f for f in compare_figures(load_figures(results)).findings
                 if f.metric == "time" and f.strategy == "copy_text" and f.rows == 10000 and f.new == NEWEST_SA
                 and f.library == SA]
    assert (timing.change, timing.confirmed, timing.verdict) == ("slower", False, "unconfirmed")
    assert f"no replicate: with {PG} 2.9.5 the figure failed" in timing.reason
    # A side-by-side re-run of the same step, machine and commit is the evidence that settles it.
    rerun = RecordedFinding(kind="compare", library=SA, strategy="copy_text", metric="time", rows=10000,
                            old=previous, new=NEWEST_SA, verdict="slower", ratio=2.0, p_value=0.001,
                            machine=timing.machine, commit=timing.commit, extra={"context": timing.context})
    findings = tmp_path / "reruns.jsonl"
    findings.write_text(json.dumps(rerun.to_dict()) + "\n")
    (settled,) = [f for f in judge_results(load_figures(results), findings_file=findings).findings
                  if f.metric == "time" and f.strategy == "copy_text" and f.rows == 10000 and f.new == NEWEST_SA
                  and f.library == SA]
    assert (settled.verdict, settled.confirmed) == ("regression", True)
    # ... and the site, reading the same file through the same function, marks it confirmed.
    site = site_data.load_site_data(results, rows=10000, findings_file=findings)
    marks = [m for marks in site.marks.values() for m in marks
             if m.metric == "time" and m.strategy == "copy_text" and m.verdict == "regression"]
    assert marks and all(m.confirmed for m in marks)


# -- the rules' records ---------------------------------------------------------------------------


def test_calls_rule_is_per_row():
    assert count_verdict("calls", 50_000, 50_033, 1_000).verdict == "same"  # orm_bulk_insert's +33 per insert
    assert count_verdict("calls", 500_000, 500_033, 10_000).verdict == "same"
    assert count_verdict("calls", 50_000, 51_000, 1_000).verdict == "more"  # +1 call per row
    assert count_verdict("calls", 500, 500 + CALLS_PER_INSERT + 1, 10).verdict == "more"
    assert count_verdict("statements", 12, 13, 10_000).verdict == "more"


def test_findings_records_have_one_schema(tmp_path: Path):
    path = tmp_path / "f.jsonl"
    kept = {"kind": "bisect", "library": "SQLAlchemy", "strategy": "orm_basic", "ratio": None, "values": {"1": 2}}
    path.write_text(json.dumps(kept) + "\n{\"kind\": \"compare\"}\nnot json\n"
                    + json.dumps({**kept, "schema": 99}) + "\n")
    problems: list[str] = []
    (record,) = read_records(path, problems)
    assert record.schema == 1 and record.extra["values"] == {"1": 2} and record.ratio is None
    assert record.to_dict() == {**kept, "schema": 1}
    assert [p.split(":")[0] for p in problems] == ["f.jsonl line 2 skipped", "f.jsonl line 3 skipped",
                                                   "f.jsonl line 4 skipped"]
    assert RecordedFinding.from_dict({"kind": "compare", "library": "x", "ratio": 1.5, "rows": "10"}).rows == 10


# -- the site ------------------------------------------------------------------------------------


def test_version_matrix_shows_a_cross_with_the_reason(tmp_path: Path):
    reason = "copy_text: 9999 rows in users after inserting 10000"
    results = _copy(tmp_path, _fail("copy_text", NEWEST_SA, status.BROKEN, reason))
    site = site_data.load_site_data(results, rows=10000, findings_file=tmp_path / "none.jsonl")
    envs = [e for e in site.environments if e.versions[SA] == NEWEST_SA]
    assert envs and all(e.failure("seconds", "copy_text", 10000).status == status.BROKEN for e in envs)
    html = versions_page(site)
    assert html.count('class="cell failed"') == len(envs)
    assert reason in html and "✗</span> broken" in html
    marks = [m for e in envs for m in site.marks_for(e, "copy_text") if m.metric == "status"]
    assert marks and all(m.symbol == "✗" and m.confirmed for m in marks)
