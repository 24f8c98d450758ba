"""`bulkinsert compare` on asv result files recorded from a real run (tests/data/asv_results).

The recorded files are trimmed copies of what asv 0.6 wrote for this suite (a few strategies,
every matrix environment); tests that need a regression plant one by editing a copy, so the
JSON shape is always asv's own.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bulkinsert.compare import (
    compare_command,
    find_regressions,
    load_results,
    read_result_file,
    version_key,
    version_series,
)

DATA = Path(__file__).parent / "data" / "asv_results"
TIME = "insert_time.InsertTime.time_insert"
STATEMENTS = "server_statements.ServerStatements.track_statements"
SA = "SQLAlchemy"
PG = "psycopg2-binary"


def result_files(root: Path = DATA) -> list[Path]:
    return [p for p in root.glob("*/*.json") if p.name != "machine.json"]


def figure(figures, benchmark, strategy, rows, sqlalchemy, psycopg2="2.9.13"):
    for f in figures:
        params, versions = dict(f.params), f.version_map
        if (
            f.benchmark == benchmark
            and params == {"strategy": strategy, "rows": str(rows)}
            and versions[SA] == sqlalchemy
            and versions[PG] == psycopg2
        ):
            return f
    raise LookupError((benchmark, strategy, rows, sqlalchemy, psycopg2))


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    """A writable copy of the recorded results."""
    target = tmp_path / "results"
    shutil.copytree(DATA, target)
    return target


def edit_result(root: Path, sqlalchemy: str, psycopg2: str, benchmark: str, strategy: str, rows: int, **columns):
    """Overwrite columns (result, stats_ci_99_a, ...) of one figure in its asv result file."""
    for path in result_files(root):
        data = json.loads(path.read_text())
        req = data["requirements"]
        if req[SA] != sqlalchemy or req[PG] != psycopg2:
            continue
        names = data["result_columns"]
        row = data["results"][benchmark]
        row += [None] * (len(names) - len(row))
        params = row[names.index("params")]
        index = 0
        for s in params[0]:
            for r in params[1]:
                if s == repr(strategy) and r == str(rows):
                    for column, value in columns.items():
                        row[names.index(column)][index] = value
                    path.write_text(json.dumps(data))
                    return
                index += 1
    raise LookupError((sqlalchemy, psycopg2, benchmark, strategy, rows))


def test_recorded_files_are_real_asv_results_without_local_paths():
    files = result_files()
    assert len(files) >= 4
    envs = set()
    for path in files:
        text = path.read_text()
        assert "/work/" not in text and "/home/" not in text and "/root/" not in text
        data = json.loads(text)
        assert data["version"] == 2
        assert {"result", "params", "stats_ci_99_a", "stats_ci_99_b"} <= set(data["result_columns"])
        envs.add((data["requirements"][SA], data["requirements"][PG]))
    assert {sa for sa, _ in envs} >= {"1.3.24", "1.4.54", "2.0.58", "2.1.9"}
    assert len({pg for _, pg in envs}) >= 2


def test_load_results_reads_every_environment_and_parameter():
    figures = load_results(DATA)
    benchmarks = {f.benchmark for f in figures}
    assert TIME in benchmarks and STATEMENTS in benchmarks
    some = figure(figures, TIME, "core_executemany", 10000, "2.0.58")
    assert some.value is not None and 0 < some.value < 60
    if some.ci_99 is not None:
        assert some.ci_99[0] <= some.value <= some.ci_99[1]
    assert some.repeat is not None and some.repeat >= 1
    assert some.unit == "seconds"
    # A strategy SQLAlchemy 2.x no longer offers is recorded as n/a, not as a number.
    assert figure(figures, TIME, "core_executemany_batch", 1000, "2.1.9").value is None
    assert figure(figures, TIME, "core_executemany_batch", 1000, "1.4.54").value is not None


def test_versions_sort_numerically():
    assert version_key("2.9.13") > version_key("2.9.5")
    assert version_key("1.4.54") > version_key("1.3.24")
    assert version_key("2.1.0") > version_key("2.1.0b1")
    series = version_series(f for f in load_results(DATA) if f.benchmark == TIME)
    for group in series.values():
        order = [(version_key(f.version_map[SA]), version_key(f.version_map[PG])) for f in group]
        assert order == sorted(order)


def test_known_effect_sqlalchemy_13_core_executemany_is_per_row():
    figures = load_results(DATA)
    slow = figure(figures, TIME, "core_executemany", 10000, "1.3.24")
    for newer in ("1.4.54", "2.0.58", "2.1.9"):
        fast = figure(figures, TIME, "core_executemany", 10000, newer)
        assert slow.value > 4 * fast.value, (newer, slow.value, fast.value)
    assert figure(figures, STATEMENTS, "core_executemany", 10000, "1.3.24").value >= 10000
    assert figure(figures, STATEMENTS, "core_executemany", 10000, "1.4.54").value <= 20
    findings = find_regressions(figures, include_improvements=True)
    drops = [
        f
        for f in findings
        if f.benchmark == STATEMENTS
        and f.params == {"strategy": "core_executemany", "rows": "10000"}
        and (f.library, f.old_version, f.new_version) == (SA, "1.3.24", "1.4.54")
    ]
    assert drops and all(f.kind == "changed" for f in drops)
    faster = [
        f
        for f in findings
        if f.benchmark == TIME
        and f.params == {"strategy": "core_executemany", "rows": "10000"}
        and (f.old_version, f.new_version) == ("1.3.24", "1.4.54")
    ]
    assert faster and all(f.kind == "improvement" for f in faster)


def plant_samples(root: Path, sqlalchemy: str, strategy: str, rows: int, value: float, low: float, high: float):
    """Give one time_ figure asv's statistics of a 5-sample run: median, 99% CI, quartiles."""
    edit_result(
        root, sqlalchemy, "2.9.13", TIME, strategy, rows,
        result=value, stats_ci_99_a=low, stats_ci_99_b=high, stats_q_25=low, stats_q_75=high, stats_repeat=5,
    )


def test_planted_slowdown_is_flagged_between_adjacent_releases(recorded: Path):
    old = figure(load_results(recorded), TIME, "copy_text", 10000, "2.0.58").value
    plant_samples(recorded, "2.0.58", "copy_text", 10000, old, old * 0.95, old * 1.05)
    plant_samples(recorded, "2.1.9", "copy_text", 10000, old * 3, old * 2.9, old * 3.1)
    plant_samples(recorded, "1.4.54", "copy_text", 10000, old, old * 0.95, old * 1.05)
    findings = [
        f for f in find_regressions(load_results(recorded)) if f.params == {"strategy": "copy_text", "rows": "10000"}
    ]
    confirmed = [f for f in findings if f.kind == "regression"]
    assert len(confirmed) == 1, findings
    (found,) = confirmed
    assert (found.library, found.old_version, found.new_version) == (SA, "2.0.58", "2.1.9")
    assert found.context == {PG: "2.9.13"}
    assert found.ratio == pytest.approx(3, rel=1e-6)
    assert found.noise == "99% confidence intervals apart"


def test_slowdown_within_noise_is_not_flagged(recorded: Path):
    old = figure(load_results(recorded), TIME, "copy_text", 10000, "2.0.58").value
    plant_samples(recorded, "2.0.58", "copy_text", 10000, old, old * 0.9, old * 1.2)
    plant_samples(recorded, "1.4.54", "copy_text", 10000, old, old * 0.9, old * 1.2)
    # Slower by 30%, but the newer interval reaches down into the older one: noise.
    plant_samples(recorded, "2.1.9", "copy_text", 10000, old * 1.3, old * 1.1, old * 1.6)
    findings = [
        f
        for f in find_regressions(load_results(recorded))
        if f.params == {"strategy": "copy_text", "rows": "10000"}
        and (f.library, f.new_version) == (SA, "2.1.9")
        and f.context == {PG: "2.9.13"}
    ]
    assert findings == []


def test_single_samples_are_unconfirmed_not_failing(recorded: Path):
    old = figure(load_results(recorded), TIME, "copy_text", 10000, "2.0.58")
    assert old.repeat == 1  # recorded with asv run --quick
    edit_result(recorded, "2.1.9", "2.9.13", TIME, "copy_text", 10000, result=old.value * 5)
    findings = [
        f
        for f in find_regressions(load_results(recorded))
        if f.params == {"strategy": "copy_text", "rows": "10000"}
        and f.new_version == "2.1.9"
        and f.context == {PG: "2.9.13"}
    ]
    assert [f.kind for f in findings] == ["unconfirmed"]
    runner = CliRunner()
    args = ["--results-dir", str(recorded), "--benchmark", "time_insert", "--strategy", "copy_text", "--rows", "10000"]
    assert runner.invoke(compare_command, args).exit_code == 0
    assert runner.invoke(compare_command, [*args, "--strict"]).exit_code == 1


def test_any_extra_statement_is_a_regression(recorded: Path):
    base = figure(load_results(recorded), STATEMENTS, "execute_values", 10000, "2.0.58", psycopg2="2.9.5")
    edit_result(recorded, "2.0.58", "2.9.13", STATEMENTS, "execute_values", 10000, result=base.value + 1)
    findings = [
        f
        for f in find_regressions(load_results(recorded))
        if f.benchmark == STATEMENTS and f.params == {"strategy": "execute_values", "rows": "10000"}
    ]
    assert {(f.library, f.old_version, f.new_version) for f in findings} >= {(PG, "2.9.5", "2.9.13")}
    assert all(f.noise.startswith("deterministic") for f in findings)


def test_cli_exit_status_and_json(recorded: Path):
    runner = CliRunner()
    clean = runner.invoke(compare_command, ["--results-dir", str(DATA), "--json", "--threshold", "100"])
    assert clean.exit_code in (0, 1), clean.output
    payload = json.loads(clean.output)
    assert payload["threshold"] == 100
    assert "ci_99" in payload["noise"]
    assert len(payload["environments"]) >= 4
    assert payload["regressions"] == sum(f["kind"] == "regression" for f in payload["findings"])

    edit_result(recorded, "2.1.9", "2.9.13", STATEMENTS, "copy_text", 10000, result=999)
    flagged = runner.invoke(compare_command, ["--results-dir", str(recorded), "--benchmark", "track_statements"])
    assert flagged.exit_code == 1, flagged.output
    assert "REGRESSION" in flagged.output and "copy_text" in flagged.output
    text = runner.invoke(compare_command, ["--results-dir", str(recorded), "--strategy", "core_executemany"])
    assert "1.3.24/2.9.5" in text.output and "core_executemany" in text.output

    missing = runner.invoke(compare_command, ["--results-dir", str(recorded / "nope")])
    assert missing.exit_code == 2


def test_read_result_file_matches_file_contents():
    path = sorted(result_files())[0]
    data = json.loads(path.read_text())
    figures = read_result_file(path)
    row = dict(zip(data["result_columns"], data["results"][TIME]))
    expected = [v for v in row["result"]]
    got = [f.value for f in figures if f.benchmark == TIME]
    assert len(got) == len(expected)
    # asv writes NaN for a skipped combination (and null where it never ran): both are n/a.
    assert [g is None for g in got] == [e is None or e != e for e in expected]
    assert all(g == e for g, e in zip(got, expected) if g is not None)
