"""Client instructions under valgrind: exact between runs, moved by CPU work, not by a sleep.

Real valgrind, real embedded server, small inserts (an instrumented insert runs ~50x slower).
Without valgrind on the machine the counting tests skip with the reason, and the n/a path is
tested instead (it needs no valgrind).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bulkinsert.analysis.metrics import count_verdict
from bulkinsert.measure import instructions
from bulkinsert.measure.planted import parse_planted

ROWS = 50
# Measured in this order in one process. Earlier inserts shape the process's state (the allocator's
# arenas, caches), so the planted paths come last and core_executemany's history is the same in
# both processes: an A/A pair.
PATHS = ("core_executemany", "copy_text", "execute_values")
PLANTED_UNITS = 40  # units of planted CPU work per row on execute_values: well beyond the tolerance

REASON = instructions.unavailable_reason()
needs_valgrind = pytest.mark.skipif(REASON is not None, reason=REASON or "")


def _measure(environ: dict[str, str] | None = None) -> dict[str, int | None]:
    figures, reason = instructions.measure_many([(name, ROWS, None) for name in PATHS],
                                                environ={**os.environ, **(environ or {})})
    assert reason is None
    for request, figure in figures.items():
        assert figure.instructions is not None, (request, figure)
    return {name: figures[(name, ROWS, None)].instructions for name in PATHS}


@pytest.fixture(scope="module")
def baseline() -> dict[str, int | None]:
    return _measure()


@pytest.fixture(scope="module")
def planted() -> dict[str, int | None]:
    return _measure({"BULKINSERT_PLANT_WORK": f"execute_values:{PLANTED_UNITS}",
                     "BULKINSERT_PLANT_SLOWDOWN": "copy_text:3"})


@needs_valgrind
def test_two_processes_give_the_same_count(baseline: dict, planted: dict) -> None:
    # core_executemany is planted with nothing and measured first in both processes: an A/A pair.
    old, new = baseline["core_executemany"], planted["core_executemany"]
    assert old > 100_000  # a real insert's work, not an empty region
    assert count_verdict("instructions", old, new, ROWS).verdict == "same", (old, new)


@needs_valgrind
def test_planted_cpu_work_is_more_and_a_planted_sleep_is_same(baseline: dict, planted: dict) -> None:
    work = count_verdict("instructions", baseline["execute_values"], planted["execute_values"], ROWS)
    assert work.verdict == "more", work
    slept = count_verdict("instructions", baseline["copy_text"], planted["copy_text"], ROWS)
    assert slept.verdict == "same", slept


@needs_valgrind
def test_counts_order_the_paths_as_their_work(baseline: dict) -> None:
    # Core executemany builds a dict and a parameter set per row; execute_values formats strings.
    assert baseline["core_executemany"] > baseline["execute_values"] > 0


def test_without_valgrind_every_figure_is_na_with_what_to_install(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no valgrind, no compiler on it
    figures, reason = instructions.measure_many([("copy_text", 10, None), ("execute_values", 10, None)])
    assert reason is not None and "apt-get install valgrind" in reason and "\n" not in reason
    assert all(f.instructions is None and f.skip == reason for f in figures.values())


def test_run_json_says_why_instructions_are_na(tmp_path: Path) -> None:
    environ = {**os.environ, "PATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "bulkinsert", "run", "copy_text", "--rows", "10", "--json",
                           "--instructions"], capture_output=True, text=True, env=environ, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["instructions"] is None and "apt-get install valgrind" in result["instructions_note"]


@needs_valgrind
def test_run_prints_the_count() -> None:
    proc = subprocess.run([sys.executable, "-m", "bulkinsert", "run", "copy_text", "--rows", "20", "--instructions",
                           "--json"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["instructions"] > 10_000
    assert result["instructions_conditions"]["PYTHONHASHSEED"] == "0"


def test_planted_work_is_parsed_and_refused_in_one_line() -> None:
    assert parse_planted(work="copy_text:12").work == {"copy_text": 12}
    with pytest.raises(ValueError, match="whole number"):
        parse_planted(work="copy_text:0.5")


def test_a_dump_without_a_summary_is_an_error(tmp_path: Path) -> None:
    dump = tmp_path / "callgrind.out.1"
    dump.write_text("version: 1\nevents: Ir\nsummary: 1234\n")
    assert instructions.read_dump(dump) == 1234
    dump.write_text("version: 1\n")
    with pytest.raises(ValueError, match="no summary"):
        instructions.read_dump(dump)


def test_the_count_rule_takes_a_share_with_a_floor() -> None:
    # From the A/A runs (docs/results/2026-12-06-instructions.md): 1 % of the count, at least 10,000.
    assert count_verdict("instructions", 24_589_117, 25_092_332, 100).verdict == "more"  # planted +2.05 %
    assert count_verdict("instructions", 24_516_239, 24_630_347, 100).verdict == "same"  # A/A +0.47 %
    assert count_verdict("instructions", 3_264_510, 3_047_388, 100).verdict == "fewer"  # -6.65 %
    assert count_verdict("instructions", 140_876, 145_000, 100).verdict == "same"  # within the floor
    assert count_verdict("instructions", 131_253, 143_731, 100).verdict == "more"  # +12,478 per insert


def test_the_measuring_process_gets_a_fixed_minimal_environment(tmp_path: Path) -> None:
    # Another shell's variables (their number, their size) must not reach the counted process.
    base = {"PATH": "/usr/bin:/bin", "HOME": "/root", "BULKINSERT_DATA_DIR": str(tmp_path)}
    noisy = {**base, "TERM": "xterm", "OLDPWD": "/a/much/longer/directory/name" * 10, "LANG": "de_DE.UTF-8"}
    made = [instructions.measuring_environment(given, helper="/h.so", out_file=tmp_path / "callgrind.out")
            for given in (base, noisy)]
    assert made[0] == made[1]
    assert made[0]["PYTHONHASHSEED"] == "0" and made[0]["LANG"] == "C.UTF-8" and "TERM" not in made[0]
    size = sum(len(name) + len(value) + 2 for name, value in made[0].items())
    assert size == instructions.ENVIRONMENT_SIZE
    planted = instructions.measuring_environment({**base, "BULKINSERT_PLANT_WORK": "copy_text:3"}, helper="/h.so",
                                                 out_file=tmp_path / "callgrind.out")
    assert planted["BULKINSERT_PLANT_WORK"] == "copy_text:3"
    assert sum(len(name) + len(value) + 2 for name, value in planted.items()) == instructions.ENVIRONMENT_SIZE


def test_the_count_rule_takes_the_drivers_measured_share() -> None:
    from bulkinsert.analysis.metrics import INSTRUCTIONS_DRIVER_SHARE, INSTRUCTIONS_SHARE, count_tolerance

    shares = dict(INSTRUCTIONS_DRIVER_SHARE)
    assert count_tolerance("instructions", 100, 5_000_000) == 5_000_000 * INSTRUCTIONS_SHARE
    assert count_tolerance("instructions", 100, 5_000_000, "psycopg2") == 5_000_000 * INSTRUCTIONS_SHARE
    assert count_tolerance("instructions", 100, 5_000_000, "psycopg") == 5_000_000 * shares["psycopg"]
    # psycopg 3's pipeline, two modes of one environment (A/A): same on its driver, more on psycopg2's rule.
    assert count_verdict("instructions", 4_680_000, 5_150_000, 100, "psycopg").verdict == "same"
    assert count_verdict("instructions", 4_680_000, 5_150_000, 100).verdict == "more"
    # asyncpg's event loop: -3.7 % between two runs of one environment.
    assert count_verdict("instructions", 770_388, 741_741, 100, "asyncpg").verdict == "same"
    # Other counts keep their rule whatever the driver.
    assert count_tolerance("statements", 100, 12, "asyncpg") == 0.0


def test_a_figures_driver_is_the_asked_one_else_the_strategys_own() -> None:
    from bulkinsert.analysis.metrics import figure_driver

    assert figure_driver("orm_basic", "asyncpg") == "asyncpg"
    assert figure_driver("orm_basic") == "psycopg2"
    assert figure_driver("sa_asyncpg_copy") == "asyncpg"
    assert figure_driver("sa_psycopg_pipeline") == "psycopg"
    assert figure_driver("orm_basic+psycopg") == "psycopg"  # a label names its driver
    assert figure_driver("no_such_strategy") is None and figure_driver(None) is None


@needs_valgrind
def test_the_asv_benchmarks_count_both_axes_in_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """asv's sequence: one shared pass, then setup and track per cell, the driver axis included."""
    from benchmarks import client_instructions as bench
    from bulkinsert import compat

    drivers = [d for d in compat.SQLALCHEMY_DRIVERS if d != "psycopg2" and compat.driver_unsupported_reason(d) is None]
    monkeypatch.setattr(bench, "STRATEGIES", ["copy_text", "core_executemany"])
    monkeypatch.setattr(bench, "SQLALCHEMY_PATHS", ["core_executemany", "core_executemany_batch"])
    monkeypatch.setattr(bench, "DRIVERS", drivers)
    monkeypatch.setattr(bench, "DRIVER_AXIS_ELSEWHERE", None)
    monkeypatch.setattr(bench, "QUICK", False)
    monkeypatch.setattr(bench, "INSTRUCTION_ROWS", [ROWS])
    # asv runs a setup_cache once per place it is defined: both classes share the base's.
    assert bench.ClientInstructions.setup_cache is bench.ClientInstructionsByDriver.setup_cache
    entries = bench.ClientInstructions().setup_cache()
    matrix = bench.ClientInstructions()
    matrix.setup(entries, "core_executemany", ROWS)
    on_psycopg2 = matrix.track_instructions(entries, "core_executemany", ROWS)
    assert on_psycopg2 > 100_000
    axis = bench.ClientInstructionsByDriver()
    for driver in drivers:
        axis.setup(entries, "core_executemany", ROWS, driver)
        count = axis.track_instructions(entries, "core_executemany", ROWS, driver)
        assert count > 100_000 and count != on_psycopg2, driver  # another driver's own work, counted
    if "psycopg" in drivers:  # executemany_mode is psycopg2's: n/a with the reason, never a count
        with pytest.raises(NotImplementedError, match="psycopg2"):
            axis.setup(entries, "core_executemany_batch", ROWS, "psycopg")


def test_a_quick_run_leaves_the_driver_axis_to_full_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Quick: every strategy on its own driver, the axis n/a with the reason (nothing is measured here)."""
    from benchmarks import client_instructions as bench

    monkeypatch.setattr(bench, "STRATEGIES", [])
    monkeypatch.setattr(bench, "SQLALCHEMY_PATHS", ["core_executemany"])
    monkeypatch.setattr(bench, "DRIVERS", ["asyncpg"])
    monkeypatch.setattr(bench, "DRIVER_AXIS_ELSEWHERE", None)
    monkeypatch.setattr(bench, "QUICK", True)
    entries = bench.measure_instructions()
    with pytest.raises(NotImplementedError, match="full runs only"):
        bench.ClientInstructionsByDriver().setup(entries, "core_executemany", bench.INSTRUCTION_ROWS[0], "asyncpg")
