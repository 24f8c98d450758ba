"""One identity per figure: a figure of one driver, workload or suite never pairs with, excuses,
confirms or is drawn as another's (``results.Identity``).

The hand-built cases are the situations the verdicts got wrong when a path was keyed by
(suite, workload, strategy, rows) alone; the last test checks a recorded quick run, with driver
axis figures added, figure for figure between the releases page's charts and ``compare --json``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bulkinsert.analysis.compare import compare_command, render_findings
from bulkinsert.analysis.metrics import metric_for
from bulkinsert.analysis.results import Figure, identity_of, load_figures, write_figures
from bulkinsert.analysis.verdicts import compare_figures, judge_results
from bulkinsert.site import data as site_data
from bulkinsert.site.releases import release_sections

DATA = Path(__file__).parent / "data" / "asv_results"
MACHINE, COMMIT = "bench-2core", "c88c278d" + "0" * 32
SA, PG = "SQLAlchemy", "psycopg2-binary"
TIME = "insert_time.InsertTime.time_insert"
TIME_BY_DRIVER = "insert_time.InsertTimeByDriver.time_insert"
CALLS = "code_path.CodePath.track_function_calls"
STATEMENTS = "server_statements.ServerStatements.track_statements"
DRIVER_STATEMENTS = "driver_counts.DriverCounts.track_statements"


@pytest.fixture(autouse=True)
def no_local_reruns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Side-by-side re-runs are read from a file of the test's own, not the checkout's."""
    path = tmp_path / "findings.jsonl"
    monkeypatch.setenv("BULKINSERT_FINDINGS", str(path))
    return path


def figure(benchmark: str, strategy: str, rows: int, sqlalchemy: str, value: float | None, *,
           psycopg2: str = "2.9.13", driver: str | None = None, samples: tuple[float, ...] | None = None,
           machine: str = MACHINE, commit: str = COMMIT, status: str = "ok") -> Figure:
    """A figure as asv records it, of one environment of the 8-environment matrix."""
    params = (("strategy", strategy), ("rows", str(rows))) + ((("driver", driver),) if driver else ())
    requirements = ((SA, sqlalchemy), ("asyncpg", "0.30.0"), (PG, psycopg2), ("python", "3.11"))
    return Figure(machine=machine, benchmark=benchmark, env_name=f"env-{sqlalchemy}-{psycopg2}", commit=commit,
                  date=1_767_225_600_000, params=params, requirements=requirements, value=value, samples=samples,
                  number=1 if samples else None, status=status)


def timed(centre: float, spread: float = 0.02) -> tuple[float, ...]:
    return tuple(centre * (1 + spread * offset / 3) for offset in (-3, -2, -1, 0, 1, 2, 3))


def write_results(results: Path, figures: list[Figure]) -> Path:
    """The figures as asv result files, with the ``benchmarks.json`` that names their parameters."""
    results.mkdir(parents=True, exist_ok=True)
    info = {f.benchmark: {"name": f.benchmark, "param_names": [name for name, _ in f.params],
                          "unit": metric_for(f.benchmark).unit, "version": "1"} for f in figures}
    (results / "benchmarks.json").write_text(json.dumps({**info, "version": 2}))
    write_figures(results, figures)
    return results


def compare_exit(tmp_path: Path, figures: list[Figure], *args: str) -> tuple[int, dict]:
    """``bulkinsert compare --json`` on these figures written as asv result files."""
    results = write_results(tmp_path / "results", figures)
    outcome = CliRunner().invoke(compare_command, ["--results-dir", str(results), "--json", *args])
    assert outcome.exit_code in (0, 1), outcome.output
    return outcome.exit_code, json.loads(outcome.output)


def test_identity_resolves_the_driver_the_same_way_for_every_source():
    main = figure(TIME, "orm_basic", 1000, "2.0.58", 1.0)
    axis = figure(TIME_BY_DRIVER, "orm_basic", 1000, "2.0.58", 1.0, driver="asyncpg")
    axis_own = figure(TIME_BY_DRIVER, "orm_basic", 1000, "2.0.58", 1.0, driver="psycopg2")
    swept = figure(TIME, "orm_basic+asyncpg", 1000, "2.0.58", 1.0)
    assert (identity_of(main).driver, identity_of(main).named_driver, identity_of(main).label) == (
        "psycopg2", None, "orm_basic")
    assert identity_of(axis).path == identity_of(swept).path == ("main", "users", "orm_basic", "asyncpg", 1000)
    assert identity_of(axis).label == identity_of(swept).label == "orm_basic on asyncpg"
    assert identity_of(axis_own).path == identity_of(main).path and identity_of(axis_own).named_driver is None
    dirty = dataclasses.replace(main, machine=f"{MACHINE}-releases-dirty")
    assert identity_of(dirty).dirty and not identity_of(main).dirty


# -- a calls regression is never excused by another driver's statements --------------------


def calls_up_while_asyncpg_sends_fewer() -> list[Figure]:
    """``core_executemany`` calls 240,000 -> 300,000 (+6 per row) on psycopg2 from SQLAlchemy 2.0.58 to
    2.1.9, while the same strategy on asyncpg sends 12 -> 11 statements (the driver axis)."""
    found = []
    for pg in ("2.9.5", "2.9.13"):
        found += [figure(CALLS, "core_executemany", 10000, "2.0.58", 240_000, psycopg2=pg),
                  figure(CALLS, "core_executemany", 10000, "2.1.9", 300_000, psycopg2=pg),
                  figure(STATEMENTS, "core_executemany", 10000, "2.0.58", 12, psycopg2=pg),
                  figure(STATEMENTS, "core_executemany", 10000, "2.1.9", 12, psycopg2=pg),
                  figure(DRIVER_STATEMENTS, "core_executemany", 10000, "2.0.58", 12, psycopg2=pg, driver="asyncpg"),
                  figure(DRIVER_STATEMENTS, "core_executemany", 10000, "2.1.9", 11, psycopg2=pg, driver="asyncpg")]
    return found


def test_a_calls_regression_is_not_excused_by_another_drivers_statements(tmp_path: Path):
    figures = calls_up_while_asyncpg_sends_fewer()
    calls = [f for f in compare_figures(figures).findings if f.metric == "calls"]
    assert len(calls) == 2 and {f.verdict for f in calls} == {"regression"}, [(f.verdict, f.reason) for f in calls]
    assert not any("changed code path" in f.reason for f in calls)
    code, payload = compare_exit(tmp_path, figures)
    assert code == 1 and payload["regressions"] == 2
    fewer = [f for f in payload["findings"] if f["metric"] == "statements"]
    assert {(f["driver"], f["label"], f["verdict"]) for f in fewer} == {
        ("asyncpg", "core_executemany on asyncpg", "improvement")}


def test_the_same_drivers_statements_still_excuse_its_calls():
    """The path rule itself stands: fewer statements on the same path and driver make it a changed path."""
    figures = [f if f.benchmark != STATEMENTS or f.versions[SA] != "2.1.9" else dataclasses.replace(f, value=11)
               for f in calls_up_while_asyncpg_sends_fewer()]
    calls = [f for f in compare_figures(figures).findings if f.metric == "calls"]
    assert {f.verdict for f in calls} == {"changed"} and all("statements 12 -> 11" in f.reason for f in calls)


def test_a_driver_axis_psycopg2_figure_does_not_hide_the_main_suites_statements():
    """Two benchmarks measure the psycopg2 path's statements; one that did not fall excuses nothing."""
    figures = calls_up_while_asyncpg_sends_fewer()
    figures += [figure(DRIVER_STATEMENTS, "core_executemany", 10000, sa, value, psycopg2=pg, driver="psycopg2")
                for pg in ("2.9.5", "2.9.13") for sa, value in (("2.0.58", 12), ("2.1.9", 11))]
    calls = [f for f in compare_figures(figures).findings if f.metric == "calls"]
    assert {f.verdict for f in calls} == {"regression"}


# -- re-runs settle only the finding of their own identity ----------------------------------


def asyncpg_slower_in_one_context() -> list[Figure]:
    """``core_executemany`` on asyncpg x1.3 slower from 2.0.58 to 2.1.9 with psycopg2 2.9.13, not measured
    with 2.9.5: a tested step without a replicate, unconfirmed until a side-by-side re-run settles it."""
    return [figure(TIME_BY_DRIVER, "core_executemany", 1000, "2.0.58", 0.1, samples=timed(0.1), driver="asyncpg"),
            figure(TIME_BY_DRIVER, "core_executemany", 1000, "2.1.9", 0.13, samples=timed(0.13), driver="asyncpg"),
            # psycopg2 varies in the run (so the finding holds 2.9.13 equal), unchanged
            *[figure(STATEMENTS, "orm_basic", 1000, sa, 3, psycopg2=pg) for sa in ("2.0.58", "2.1.9")
              for pg in ("2.9.5", "2.9.13")]]


RERUN = {"kind": "compare", "strategy": "core_executemany", "rows": 1000, "metric": "time", "library": SA,
         "old": "2.0.58", "new": "2.1.9", "verdict": "slower", "ratio": 1.3, "p_value": 1e-5, "machine": MACHINE,
         "commit": COMMIT, "context": {PG: "2.9.13"}}


@pytest.mark.parametrize("record, settles", [
    ({**RERUN, "driver": "asyncpg"}, True),
    ({**RERUN, "dirty": True}, False),  # no driver named: the strategy's own (psycopg2), and dirty
    ({**RERUN, "driver": "asyncpg", "dirty": True}, False),  # uncommitted code: no commit names it
    (RERUN, False),  # measured on psycopg2
    ({**RERUN, "driver": "asyncpg", "workload": "wide"}, False),
    ({**RERUN, "driver": "asyncpg", "rows": 10000}, False),
    ({**RERUN, "driver": "asyncpg", "machine": "another"}, False),
    ({**RERUN, "driver": "asyncpg", "commit": "f" * 40}, False),
])
def test_a_rerun_settles_only_the_finding_of_its_own_identity(tmp_path: Path, record: dict, settles: bool):
    findings_file = tmp_path / "reruns.jsonl"
    findings_file.write_text(json.dumps(record) + "\n")
    (found,) = judge_results(asyncpg_slower_in_one_context(), findings_file=findings_file).findings
    assert (found.verdict, found.confirmed) == (("regression", True) if settles else ("unconfirmed", False)), \
        found.reason
    assert ("confirmed side by side" in found.reason) == settles


def test_the_suggested_rerun_carries_the_driver_the_workload_and_the_context():
    (found,) = compare_figures(asyncpg_slower_in_one_context()).findings
    assert found.rerun == ("bulkinsert releases compare core_executemany 2.0.58 2.1.9 --library SQLAlchemy "
                           "--metric time --rows 1000 --driver asyncpg --with psycopg2-binary==2.9.13")
    text = render_findings(compare_figures(asyncpg_slower_in_one_context()), verbose=True)
    assert "core_executemany on asyncpg rows=1000  SQLAlchemy 2.0.58 -> 2.1.9" in text
    own = [dataclasses.replace(f, benchmark=TIME, params=f.params[:2]) if f.benchmark == TIME_BY_DRIVER else f
           for f in asyncpg_slower_in_one_context()]
    (found,) = compare_figures(own).findings
    assert "--driver" not in (found.rerun or "") and found.rerun is not None


# -- filters choose what is shown, never what is judged -------------------------------------


def test_a_filtered_compare_gives_its_figures_the_full_runs_verdicts(tmp_path: Path):
    """``--benchmark function_calls`` alone would drop the statements that make the calls a changed path."""
    figures = [f if f.benchmark != STATEMENTS or f.versions[SA] != "2.1.9" else dataclasses.replace(f, value=11)
               for f in calls_up_while_asyncpg_sends_fewer()]
    full_code, full = compare_exit(tmp_path / "full", figures)
    code, shown = compare_exit(tmp_path / "shown", figures, "--benchmark", "CodePath")
    assert {f["metric"] for f in shown["findings"]} == {"calls"}
    assert [f for f in full["findings"] if f["benchmark"] == CALLS] == shown["findings"]
    assert {f["verdict"] for f in shown["findings"]} == {"changed"} and code == full_code == 0


# -- the releases page draws every figure as the figure of its identity ---------------------


def with_driver_axis(figures: list[Figure]) -> list[Figure]:
    """The recorded quick run plus DriverCounts statements on asyncpg: 1,002 for the ORM paths
    (one INSERT per row), the psycopg2 series' own count for the others, n/a where SQLAlchemy 1.3
    has no asyncpg dialect."""
    added = []
    for f in figures:
        if f.benchmark != STATEMENTS or f.value is None:
            continue
        no_dialect = f.versions[SA].startswith("1.3")
        value = 1002.0 if f.strategy in ("orm_basic", "orm_bulk_insert_mappings") else f.value
        added.append(dataclasses.replace(f, benchmark=DRIVER_STATEMENTS, params=(*f.params, ("driver", "asyncpg")),
                                         value=None if no_dialect else value,
                                         status="skipped" if no_dialect else "ok"))
    return figures + added


def charted_values(sections: list[dict]) -> dict[tuple, float]:
    """Every value the releases page's charts draw, by (path, asv method, machine, environment)."""
    drawn: dict[tuple, float] = {}
    for section in sections:
        for swept in section["sweeps"]:
            sweep = swept["sweep"]
            for chart in swept["charts"]:
                for panel in chart["panels"]:
                    for line, values in panel["lines"].items():
                        identity = panel["identities"][line]
                        assert identity.label == line
                        for release, value in values.items():
                            environment = frozenset({**dict(sweep.context), sweep.library: release}.items())
                            drawn[(identity.path, identity.benchmark.rsplit(".", 1)[-1], sweep.machine,
                                   environment)] = value
    return drawn


def test_release_charts_and_compare_json_agree_figure_for_figure(tmp_path: Path):
    results = write_results(tmp_path / "results", with_driver_axis(load_figures(DATA)))
    figures = load_figures(results)
    assert len({identity_of(f) for f in figures}) == len(figures)
    sections, problems = release_sections(site_data.load_site_data(results, rows=10000), None)
    drawn = charted_values(sections)
    assert not problems and len(drawn) > 100
    # Every charted value is the figure of that identity (the main suite's, where the driver axis
    # measured the strategy's own driver again); a driver's line draws that driver's figures only.
    for (path, method, machine, environment), value in drawn.items():
        same = [f for f in figures if f.value is not None and f.identity.path == path and f.method == method
                and f.machine == machine and frozenset(f.requirements) == environment]
        main = [f for f in same if f.param("driver") is None]
        assert value == (main or same)[0].value, (path, method, sorted(environment))
        assert all(identity_of(f).driver == path[3] for f in same)
    assert {path[3] for path, *_ in drawn} == {"psycopg2", "asyncpg"}
    # compare --json judges the very values the charts draw, identity for identity.
    outcome = CliRunner().invoke(compare_command, ["--results-dir", str(results), "--json"])
    checked = 0
    for finding in json.loads(outcome.output)["findings"]:
        if finding["metric"] not in ("statements", "calls", "time") or finding["library"] != SA:
            continue
        new = next(f for f in figures if f.benchmark == finding["benchmark"] and dict(f.params) ==
                   finding["params"] and all(f.versions.get(k) == v for k, v in finding["environment"].items()))
        assert (finding["driver"], finding["workload"], finding["label"]) == (
            new.identity.driver, new.identity.workload, new.identity.label)
        for side in ("old", "new"):
            environment = frozenset({**new.versions, SA: finding[side]}.items())
            key = (new.identity.path, new.method, new.machine, environment)
            if key in drawn:
                assert drawn[key] == finding[f"{side}_value"], (finding["label"], finding["metric"], side)
                checked += 1
    assert checked > 10
    # The psycopg2 line of orm_basic draws psycopg2's 3 statements, asyncpg's line its own 1,002, named.
    orm = {(path[3], sorted(env)[0]): v for (path, method, _, env), v in drawn.items()
           if path[2] == "orm_basic" and method == "track_statements"}
    assert {v for (driver, _), v in orm.items() if driver == "psycopg2"} != {1002.0}
    assert {v for (driver, _), v in orm.items() if driver == "asyncpg"} == {1002.0}


def test_a_verdict_line_names_its_driver(tmp_path: Path):
    """A headline and a feed entry of the driver axis say which driver; the psycopg2 series' do not."""
    from bulkinsert.site.feed import feed_xml
    from bulkinsert.site.headlines import headlines

    figures = calls_up_while_asyncpg_sends_fewer()
    found, _ = headlines(compare_figures(figures).findings, [], figures)
    texts = sorted(h.title() for h in found)
    assert any("core_executemany on asyncpg — statements 12 → 11" in t for t in texts), texts
    assert any(t.startswith("SQLAlchemy 2.1.9: core_executemany function calls 240,000 → 300,000") for t in texts)
    ids = {h.key for h in found}
    assert len(ids) == 2 and any("driver=asyncpg" in key for key in ids)
    assert "driver%3Dasyncpg" in feed_xml(found)
