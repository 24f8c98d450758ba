"""The site's driver page, built by ``build_site`` from driver-axis results measured here.

The figures are real: two SQLAlchemy paths on every driver the interpreter has, timed and counted
on the embedded server in interleaved rounds (one interpreter, so environments differ only by
their label, as in tests/data/site_results/record.py), written as asv results with the suite's
benchmark names and parameters. Added to them: one failed figure with the suite's status note,
and an SQLAlchemy 1.4 environment in which the psycopg cells are n/a, as asv records them.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from bulkinsert import compat, registry
from bulkinsert.analysis.results import Figure, load_figures, write_figures
from bulkinsert.analysis.status import FAILED
from bulkinsert.data.schema import default_names
from bulkinsert.measure.runner import run_insert
from bulkinsert.pg.database import Database
from bulkinsert.site import build, data
from bulkinsert.site import drivers as drivers_page

RECORDED = Path(__file__).resolve().parent / "data" / "site_results"
ROWS = 1_000
PATHS = ["core_executemany", "core_upsert_do_nothing"]
REFUSED = "core_executemany_batch"  # executemany_mode is psycopg2's: refused on the other drivers
FAILING = ("core_upsert_do_nothing", "asyncpg")  # recorded as failed, with a note
DRIVERS = [d for d in compat.SQLALCHEMY_DRIVERS if compat.driver_unsupported_reason(d) is None]
TIME = "insert_time.InsertTimeByDriver.time_insert"
STATEMENTS = "driver_counts.DriverCounts.track_statements"
CALLS = "driver_counts.DriverCounts.track_function_calls"
INSTRUCTIONS = "client_instructions.ClientInstructionsByDriver.track_instructions"
INSTRUCTION_ROWS = 100  # the suite counts instructions at their own, smaller size
SERIES = {TIME: "insert_time.InsertTime.time_insert", STATEMENTS: "server_statements.ServerStatements.track_statements",
          CALLS: "code_path.CodePath.track_function_calls",
          INSTRUCTIONS: "client_instructions.ClientInstructions.track_instructions"}
AXIS = {series: axis for axis, series in SERIES.items()}
REQUIREMENTS = {"2.1.9": (("SQLAlchemy", "2.1.9"), ("psycopg2-binary", "2.9.13"), ("psycopg", "3.3.9"),
                          ("asyncpg", "0.32.0"), ("greenlet", "3.5.6"), ("pg8000", "1.31.6"), ("python", "3.11")),
                "1.4.54": (("SQLAlchemy", "1.4.54"), ("psycopg2-binary", "2.9.13"), ("psycopg", "3.3.9"),
                           ("asyncpg", "0.32.0"), ("greenlet", "3.5.6"), ("pg8000", "1.31.6"), ("python", "3.11"))}


def _figure(benchmark: str, release: str, name: str, driver: str, value: float | None, **extra: object) -> Figure:
    rows = INSTRUCTION_ROWS if benchmark == INSTRUCTIONS else ROWS
    return Figure(machine="bench-2core", benchmark=benchmark, env_name=f"env-sqlalchemy-{release}", commit="c88c278d",
                  date=1, params=(("strategy", name), ("rows", str(rows)), ("driver", driver)),
                  requirements=REQUIREMENTS[release], value=value, **extra)


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Figure]]:
    if len(DRIVERS) < 2:
        pytest.skip(f"only {DRIVERS} installed: the driver page needs two drivers to compare")
    names = default_names(ROWS)
    samples: dict[tuple[str, str], list[float]] = {(n, d): [] for n in PATHS for d in DRIVERS}
    counts: dict[tuple[str, str], tuple[float, float]] = {}
    db = Database(instrument=False)
    try:
        for _ in range(3):  # interleaved rounds: load on the shared machine hits every driver alike
            for name, driver in samples:
                samples[(name, driver)].append(run_insert(registry.get(name).with_driver(driver), names, db=db).seconds)
        for name, driver in samples:
            result = run_insert(registry.get(name).with_driver(driver), names, db=db, count_calls=True)
            counts[(name, driver)] = (float(result.statements), float(result.function_calls))
    finally:
        db.close()
    from bulkinsert.measure.instructions import measure_many

    # Client instructions of every (path, driver), one measuring process; none where valgrind is missing.
    counted, _reason = measure_many([(name, INSTRUCTION_ROWS, driver) for name in PATHS for driver in DRIVERS])
    figures = [_figure(INSTRUCTIONS, "2.1.9", name, driver, float(figure.instructions))
               for (name, _rows, driver), figure in counted.items() if figure.instructions is not None]
    for release in REQUIREMENTS:
        for (name, driver), kept in samples.items():
            if release == "1.4.54" and driver == "psycopg":
                for benchmark in (TIME, STATEMENTS, CALLS):
                    figures.append(_figure(benchmark, release, name, driver, None))  # n/a, as asv records it
                continue
            if (name, driver) == FAILING:
                figures.append(_figure(TIME, release, name, driver, None, status=FAILED,
                                       reason="OperationalError: connection reset"))
            else:
                figures.append(_figure(TIME, release, name, driver, sorted(kept)[1], samples=tuple(kept), number=1))
            figures.append(_figure(STATEMENTS, release, name, driver, counts[(name, driver)][0]))
            figures.append(_figure(CALLS, release, name, driver, counts[(name, driver)][1]))
        for driver in DRIVERS:
            figures.append(_figure(TIME, release, REFUSED, driver, None))
    # psycopg2 is measured once, by the psycopg2 series of the same run (as the suite does): the
    # scoresheet shows these, and the drivers page takes its psycopg2 column from them.
    figures = [replace(f, benchmark=SERIES[f.benchmark], params=f.params[:2]) if f.param("driver") == "psycopg2" else f
               for f in figures]
    base = tmp_path_factory.mktemp("drivers")
    _benchmarks_json(base / "results")
    write_figures(base / "results", figures)
    build.build_site(base / "html", base / "results", profile_dirs=[], findings_file=base / "none.jsonl")
    return base / "html", load_figures(base / "results")


def _benchmarks_json(results: Path) -> None:
    """asv's benchmarks.json beside the results: where the readers find the parameter names."""
    info = json.loads((RECORDED / "benchmarks.json").read_text())
    for benchmark, kind, unit in ((TIME, "time", "seconds"), (STATEMENTS, "track", "statements"),
                                  (CALLS, "track", "calls"), (INSTRUCTIONS, "track", "instructions")):
        rows = INSTRUCTION_ROWS if benchmark == INSTRUCTIONS else ROWS
        info[benchmark] = {"name": benchmark, "param_names": ["strategy", "rows", "driver"],
                           "params": [[repr(n) for n in [*PATHS, REFUSED]], [str(rows)], [repr(d) for d in DRIVERS]],
                           "type": kind, "unit": unit, "version": benchmark}
    series = SERIES[INSTRUCTIONS]  # psycopg2's instructions: the matrix's own benchmark, no driver parameter
    info[series] = {"name": series, "param_names": ["strategy", "rows"], "params": [[repr(n) for n in PATHS],
                    [str(INSTRUCTION_ROWS)]], "type": "track", "unit": "instructions", "version": series}
    results.mkdir(parents=True)
    (results / "benchmarks.json").write_text(json.dumps(info))


def _section(html: str, release: str) -> str:
    found = re.search(rf'<section id="[^"]*{re.escape(release)}[^"]*" class="drivers">.*?</section>', html, re.S)
    assert found is not None, release
    return found.group(0)


def _cell(section: str, name: str, driver: str) -> str:
    row = re.search(rf'<tr><th class="fn">{name}</th>.*?</tr>', section, re.S)
    assert row is not None, name
    cell = re.search(rf'<td[^>]*data-driver="{driver}"[^>]*>.*?</td>', row.group(0), re.S)
    assert cell is not None, (name, driver)
    return html_lib.unescape(cell.group(0))


def test_driver_page_is_written_and_linked_from_every_page(measured: tuple[Path, list[Figure]]) -> None:
    html_dir, _ = measured
    assert "drivers.html" in build.PAGES
    for page in ("scoresheet.html", "versions.html", "drivers.html", "releases.html"):
        assert (html_dir / page).read_text().count('href="drivers.html"') == 1, page


def test_each_cell_holds_its_environments_figures_and_the_ratio_to_psycopg2(
        measured: tuple[Path, list[Figure]]) -> None:
    html_dir, figures = measured
    page = (html_dir / "drivers.html").read_text()
    section = _section(page, "2.1.9")
    value = {(AXIS.get(f.benchmark, f.benchmark), f.strategy, drivers_page.driver_of(f)): f.value for f in figures
             if f.versions["SQLAlchemy"] == "2.1.9" and drivers_page.driver_of(f)}
    for name in PATHS:
        for driver in DRIVERS:
            if (name, driver) == FAILING:
                continue
            cell = _cell(section, name, driver)
            ratio = value[(TIME, name, driver)] / value[(TIME, name, "psycopg2")]
            expected = "×1" if driver == "psycopg2" else f"×{ratio:.2f}"
            assert f'<b class="ratio">{expected}</b>' in cell, (name, driver, cell)
            assert f"{value[(STATEMENTS, name, driver)]:,.0f} statements" in cell
            assert f"{value[(CALLS, name, driver)]:,.0f} calls" in cell
    # The dialect, not the test, decides: SQLAlchemy batches Core executemany on psycopg2 only.
    assert value[(STATEMENTS, "core_executemany", "psycopg")] > value[(STATEMENTS, "core_executemany", "psycopg2")]


def test_failed_and_unsupported_cells_say_why(measured: tuple[Path, list[Figure]]) -> None:
    html_dir, _ = measured
    page = (html_dir / "drivers.html").read_text()
    section = _section(page, "2.1.9")
    if FAILING[1] in DRIVERS:
        failed = _cell(section, *FAILING)
        assert "✗" in failed and "failed" in failed and "connection reset" in failed
    refused = _cell(section, REFUSED, "psycopg")
    assert "n/a" in refused and "psycopg2 dialect only" in refused
    old = _section(page, "1.4.54")
    assert "dialect arrived in 2.0" in _cell(old, "core_executemany", "psycopg")
    for body in (section, old):  # never a blank cell
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S):
            assert re.sub(r"<[^>]+>", "", cell).strip(), body


def test_driver_figures_never_take_a_psycopg2_series_cell(measured: tuple[Path, list[Figure]]) -> None:
    _, figures = measured
    site = data.group_environments(figures, ["SQLAlchemy"])
    series = {(f.env_name, f.strategy): f.value for f in figures if f.benchmark == SERIES[TIME]}
    for env in site:
        for name in PATHS:
            assert env.value("seconds", name, ROWS) == series[(env.env_name, name)]  # InsertTime's, not a driver's
        assert env.value("seconds", REFUSED, ROWS) is None


def test_driver_counts_benchmark_records_what_a_run_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """asv's sequence for DriverCounts: the shared pass, then setup and the track methods per cell."""
    from benchmarks import driver_counts

    rows = 1_000  # a warm pass and a fresh run differ by ~150 calls per insert: within 0.5 per row here
    monkeypatch.setattr(driver_counts, "TRACK_ROWS", [rows])
    monkeypatch.setattr(driver_counts, "SQLALCHEMY_PATHS", ["core_executemany", REFUSED])
    monkeypatch.setattr(driver_counts, "DRIVERS", DRIVERS)
    bench = driver_counts.DriverCounts()
    counts = bench.setup_cache()
    names = default_names(rows)
    for driver in DRIVERS:
        bench.setup(counts, "core_executemany", rows, driver)
        again = run_insert(registry.get("core_executemany").with_driver(driver), names, count_calls=True)
        assert bench.track_statements(counts, "core_executemany", rows, driver) == again.statements
        # Within the count rule compare applies (the larger of per-insert and per-row tolerance).
        tolerance = max(driver_counts.CALLS.per_insert_tolerance, driver_counts.CALLS.per_row_tolerance * rows)
        assert bench.track_function_calls(counts, "core_executemany", rows, driver) == pytest.approx(
            again.function_calls, abs=tolerance)
    if "psycopg" in DRIVERS:  # SQLAlchemy 1.3 has no psycopg dialect at all
        with pytest.raises(NotImplementedError, match="psycopg2 dialect only"):
            bench.setup(counts, REFUSED, rows, "psycopg")


def test_an_older_psycopg2_environment_says_where_its_driver_axis_is() -> None:
    """The suite measures the driver axis where psycopg2 is the matrix's newest; the others say so."""
    matrix = {"SQLAlchemy": ["1.4.54", "2.1.9"], "psycopg2-binary": ["2.9.5", "2.9.13"]}
    older = {"SQLAlchemy": "2.1.9", "psycopg2-binary": "2.9.5", "asyncpg": "0.32.0"}
    reason = drivers_page._na_reason("core_executemany", "asyncpg", older, matrix)
    assert "psycopg2-binary 2.9.13" in reason and "do not use psycopg2" in reason
    newest = dict(older, **{"psycopg2-binary": "2.9.13"})
    assert "2.9.13" not in drivers_page._na_reason("core_executemany", "asyncpg", newest, matrix)


def test_a_quiet_environment_gives_one_shared_reason_once() -> None:
    table = drivers_page.DriverTable("m", "env", "c", "SQLAlchemy 2.1.9 · psycopg2-binary 2.9.5", {}, ROWS, None,
                                     ["psycopg2", "psycopg", "asyncpg"])
    why = "measured once per SQLAlchemy release, in the environment with psycopg2-binary 2.9.13"
    table.paths.append(("core_executemany", [drivers_page.DriverCell("psycopg2"), drivers_page.DriverCell(
        "psycopg", reason=why), drivers_page.DriverCell("asyncpg", reason=why)]))
    assert drivers_page._quiet_reasons([table]) == {table.anchor: why}
    table.paths[0][1][2].reason = "asyncpg needs SQLAlchemy 1.4"
    mixed = drivers_page._quiet_reasons([table])[table.anchor]
    assert mixed == f"psycopg: {why}; asyncpg: asyncpg needs SQLAlchemy 1.4"


def test_each_cell_holds_its_client_instructions(measured: tuple[Path, list[Figure]]) -> None:
    """Counted under valgrind for the same paths and drivers; psycopg2's from ClientInstructions."""
    from bulkinsert.measure.instructions import unavailable_reason

    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    html_dir, figures = measured
    section = _section((html_dir / "drivers.html").read_text(), "2.1.9")
    assert f"instructions at {INSTRUCTION_ROWS} rows" in section
    counted = {(f.strategy, drivers_page.driver_of(f)): f.value for f in figures
               if f.method == "track_instructions" and f.versions["SQLAlchemy"] == "2.1.9"}
    assert {driver for _, driver in counted} == set(DRIVERS)
    for (name, driver), value in counted.items():
        if (name, driver) == FAILING:
            continue
        cell = _cell(section, name, driver)
        assert f"{value:,.0f} instr" in cell and f"{value:,.0f} client instructions" in cell, (name, driver, cell)
    assert "instr" not in _cell(_section((html_dir / "drivers.html").read_text(), "1.4.54"), "core_executemany",
                                "psycopg2")  # measured for 2.1.9 only here
