"""The verdicts' invariants over random result sets that cover the identity space (Hypothesis).

A result set is a handful of series (one identity but for the environment: benchmark, workload,
strategy, driver, rows, machine), each measured in the six environments of SQLAlchemy
1.4.54 / 2.0.58 / 2.1.9 x psycopg2 2.9.5 / 2.9.13, with steps, noise and failures drawn at random.

* A figure's verdict does not depend on figures of another driver, workload, suite or machine.
  (Timings of a psycopg2 step are the exception by design: paths that do not use psycopg2 are that
  step's controls, :mod:`bulkinsert.analysis.controls`; so the property is checked on every
  finding but those.)
* ``compare --json``, the site's data and ``releases watch``'s judgement give the same verdicts.
* ``compare --strategy X`` (``--rows``, ``--benchmark``) gives X the full run's verdicts and exit status.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulkinsert.analysis.compare import compare_command
from bulkinsert.analysis.metrics import metric_for
from bulkinsert.analysis.results import Figure, identity_of, load_figures, write_figures
from bulkinsert.analysis.verdicts import compare_figures

SA, PG = "SQLAlchemy", "psycopg2-binary"
SA_RELEASES = ("1.4.54", "2.0.58", "2.1.9")
PG_RELEASES = ("2.9.5", "2.9.13")
COMMIT = "c88c278d" + "0" * 32
# kind -> (benchmark, parameter names); the driver axis, a workload and the scale suite included
BENCHMARKS = {
    "time": ("insert_time.InsertTime.time_insert", ("strategy", "rows")),
    "time_by_driver": ("insert_time.InsertTimeByDriver.time_insert", ("strategy", "rows", "driver")),
    "workload_time": ("workload_time.WorkloadInsertTime.time_insert", ("strategy", "workload", "rows")),
    "scale_time": ("scale.ScaleTime.time_insert", ("strategy", "rows")),
    "statements": ("server_statements.ServerStatements.track_statements", ("strategy", "rows")),
    "calls": ("code_path.CodePath.track_function_calls", ("strategy", "rows")),
    "driver_statements": ("driver_counts.DriverCounts.track_statements", ("strategy", "rows", "driver")),
    "driver_calls": ("driver_counts.DriverCounts.track_function_calls", ("strategy", "rows", "driver")),
}
BASES = {"statements": (3, 12, 1002), "calls": (24_000, 240_000)}
TIMING_STEPS = (1.0, 1.0, 1.3, 0.75)
COUNT_STEPS = (0, 1, -1, 6, -6)  # per row for calls, absolute for statements
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CLI_PROPERTY = settings(max_examples=12, deadline=None,
                        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def path_series(draw: st.DrawFn) -> list[Figure]:
    """One path (strategy, rows, driver, machine) measured by one to three benchmarks in every environment."""
    values = {"strategy": draw(st.sampled_from(("core_executemany", "orm_basic"))),
              "rows": str(draw(st.sampled_from((1000, 10000)))),
              "driver": draw(st.sampled_from(("psycopg2", "asyncpg", "psycopg"))), "workload": "wide"}
    machine = draw(st.sampled_from(("bench-a", "bench-b")))
    kinds = draw(st.lists(st.sampled_from(sorted(BENCHMARKS)), min_size=1, max_size=3, unique=True))
    # The releases that change the path: every benchmark of it may move there (a code path changes
    # its statements, calls and time together), each its own way.
    moving = draw(st.lists(st.booleans(), min_size=len(SA_RELEASES) - 1, max_size=len(SA_RELEASES) - 1))
    return [f for kind in kinds for f in draw(series(kind, values, machine, (False, *moving)))]


@st.composite
def series(draw: st.DrawFn, kind: str, values: dict[str, str], machine: str,
           moving: tuple[bool, ...]) -> list[Figure]:
    """One identity measured in every environment: a step per SQLAlchemy release, noise, maybe a failure."""
    benchmark, names = BENCHMARKS[kind]
    params = tuple((name, values[name]) for name in names)
    rows = int(values["rows"])
    counted = "statements" in kind or "calls" in kind
    base = float(draw(st.sampled_from(BASES["statements" if "statements" in kind else "calls"]))) if counted \
        else draw(st.sampled_from((0.01, 0.1, 1.0)))
    steps = [draw(st.sampled_from(COUNT_STEPS if counted else TIMING_STEPS)) if moves else (0 if counted else 1.0)
             for moves in moving]
    pg_step = draw(st.sampled_from(COUNT_STEPS[:2] if counted else TIMING_STEPS[:4]))
    jitter = draw(st.sampled_from((0.005, 0.02, 0.08)))
    failing = draw(st.one_of(st.none(), st.tuples(st.sampled_from(SA_RELEASES), st.sampled_from(PG_RELEASES))))
    figures = []
    for pg_index, pg in enumerate(PG_RELEASES):
        value = base
        for sa_index, sa in enumerate(SA_RELEASES):
            if counted:
                step = steps[sa_index] * (rows if "calls" in kind else 1)
                value = max(1.0, value + step) if sa_index else value
                shown = value + (pg_step * (rows if "calls" in kind else 1) if pg_index else 0)
                samples = None
            else:
                value = value * steps[sa_index] if sa_index else value
                shown = value * (pg_step if pg_index else 1.0)
                samples = tuple(shown * (1 + jitter * ((k * 37 + sa_index * 11 + pg_index * 5) % 7 - 3) / 3)
                                for k in range(7))
            failed = failing == (sa, pg)
            figures.append(Figure(
                machine=machine, benchmark=benchmark, env_name=f"env-{sa}-{pg}", commit=COMMIT,
                date=1_767_225_600_000, params=params,
                requirements=((SA, sa), ("asyncpg", "0.30.0"), (PG, pg), ("python", "3.11")),
                value=None if failed else float(shown), samples=None if failed else samples,
                number=1 if samples and not failed else None, unit=metric_for(benchmark).unit,
                status="failed" if failed else "ok", reason="planted failure" if failed else None))
    return figures


def result_sets(min_size: int = 2, max_size: int = 5) -> st.SearchStrategy[list[list[Figure]]]:
    """Several paths, each figure's identity once."""
    def unique(paths: list[list[Figure]]) -> list[list[Figure]]:
        seen: dict[tuple, list[Figure]] = {}
        for figures in paths:
            for figure in figures:
                seen.setdefault((figure.benchmark, figure.params, figure.machine), []).append(figure)
        return [figures[:len(SA_RELEASES) * len(PG_RELEASES)] for figures in seen.values()]

    return st.lists(path_series(), min_size=min_size, max_size=max_size).map(unique)


def slice_of(figure: Figure) -> tuple:
    """What another driver, workload, suite or machine differs in."""
    identity = identity_of(figure)
    return (identity.driver, identity.workload, identity.suite, identity.machine)


def verdicts_of(findings, keep=lambda finding: True) -> dict[tuple, tuple]:
    """Each finding's verdict, by the figure and step it is about."""
    found: dict[tuple, tuple] = {}
    for f in findings:
        if keep(f):
            key = (f.benchmark, tuple(sorted(f.params.items())), f.machine, f.library, f.old, f.new,
                   tuple(sorted(f.context.items())))
            assert key not in found, key
            found[key] = (f.metric, f.change, f.verdict, f.confirmed)
    return found


def controlled(finding) -> bool:
    """A timing of a psycopg2 step: other drivers' paths are its controls, on purpose."""
    return finding.library == PG and finding.metric in ("time", "cpu")


@PROPERTY
@given(result_sets(min_size=2, max_size=6))
def test_a_verdict_does_not_depend_on_other_drivers_workloads_suites_or_machines(sets: list[list[Figure]]):
    everything = [f for figures in sets for f in figures]
    together = compare_figures(everything).findings
    for focus in {slice_of(f) for f in everything}:
        mine = [f for f in everything if slice_of(f) == focus]
        alone = verdicts_of(compare_figures(mine).findings, lambda f: not controlled(f))
        mine_keys = {(f.benchmark, f.params, f.machine) for f in mine}
        among = verdicts_of(together, lambda f, keys=mine_keys: not controlled(f) and
                            (f.benchmark, tuple(f.params.items()), f.machine) in keys)
        assert among == alone, focus


def write_results(root: Path, figures: list[Figure]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    info = {f.benchmark: {"name": f.benchmark, "param_names": [name for name, _ in f.params],
                          "unit": metric_for(f.benchmark).unit, "version": "1"} for f in figures}
    (root / "benchmarks.json").write_text(json.dumps({**info, "version": 2}))
    write_figures(root, figures)
    return root


def compare_json(results: Path, *args: str) -> tuple[int, dict[tuple, tuple]]:
    outcome = CliRunner().invoke(compare_command, ["--results-dir", str(results), "--json", *args])
    assert outcome.exit_code in (0, 1), outcome.output
    payload = json.loads(outcome.output)
    found = {}
    for f in payload["findings"]:
        key = (f["benchmark"], tuple(sorted(f["params"].items())), f["machine"], f["library"], f["old"], f["new"],
               tuple(sorted(f["context"].items())))
        found[key] = (f["metric"], f["change"], f["verdict"], f["confirmed"])
    assert payload["regressions"] == sum(v[2] == "regression" for v in found.values())
    return outcome.exit_code, found


@settings(CLI_PROPERTY, max_examples=25)
@given(sets=result_sets(), data=st.data())
def test_a_filtered_compare_gives_the_full_runs_verdicts_and_exit_status(tmp_path_factory, sets, data):
    results = write_results(tmp_path_factory.mktemp("results"), [f for figures in sets for f in figures])
    _, full = compare_json(results)
    figures = load_figures(results)
    chosen = data.draw(st.sampled_from(figures))
    filters = [("--strategy", chosen.strategy, lambda params, benchmark: params["strategy"] == chosen.strategy),
               ("--rows", str(chosen.rows), lambda params, benchmark: params["rows"] == str(chosen.rows))]
    # every benchmark alone: what a verdict rests on most often sits in a sibling benchmark
    for benchmark in sorted({f.benchmark for f in figures}):
        filters.append(("--benchmark", benchmark.replace(".", r"\.") + "$",
                        lambda params, judged, benchmark=benchmark: judged == benchmark))
    for how, value, shown in filters:
        code, found = compare_json(results, how, value)
        expected = {k: v for k, v in full.items() if shown(dict(k[1]), k[0])}
        assert found == expected, (how, value)
        assert code == (1 if any(v[2] == "regression" for v in expected.values()) else 0), (how, value)


@CLI_PROPERTY
@given(sets=result_sets())
def test_compare_the_site_and_watch_give_the_same_verdicts(tmp_path_factory, sets):
    from bulkinsert.releases.watch import judge_sweep
    from bulkinsert.site.data import load_site_data

    results = write_results(tmp_path_factory.mktemp("results"), [f for figures in sets for f in figures])
    code, compared = compare_json(results)
    site = load_site_data(results, rows=1000)
    assert verdicts_of(site.findings) == compared
    regressions = [f for f in site.findings if f.verdict == "regression"]
    assert code == (1 if regressions else 0)
    # The watch judges a sweep's figures (one machine, one driver's paths: no controls, no re-runs).
    figures = load_figures(results)
    machine = figures[0].machine
    swept = [f for f in figures if f.machine == machine and identity_of(f).driver == "psycopg2"]
    if swept:
        _, alone = compare_json(write_results(tmp_path_factory.mktemp("swept"), swept))
        assert verdicts_of(judge_sweep(swept)) == alone
