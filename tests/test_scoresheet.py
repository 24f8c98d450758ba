"""The scoresheet when the track pass ran at another row count than the timings (quick runs).

Input: the recorded results of ``tests/data/site_results`` (real figures), with the track
figures moved to 1,000 rows, as a quick run takes them, and a DB-API share and a profiler
overhead added per strategy: one overhead below 1 (which a profiler cannot cause) and one
well above the timing's spread. The page must fill every track column, label its row count,
and never show the sub-1 ratio as a figure.
"""

from __future__ import annotations

import dataclasses
import html as html_lib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bulkinsert.analysis.results import load_figures, write_figures
from bulkinsert.measure.ladder import overhead_text
from bulkinsert.site import build

ROOT = Path(__file__).resolve().parents[1]
RECORDED = ROOT / "tests" / "data" / "site_results"
TRACK_ROWS = 1_000
SHARE = 0.25
NOISY, PROFILED = "copy_text", "core_executemany"  # overhead 0.5 and 3.0
SHARE_BENCH = "driver_share.DriverShare.track_dbapi_share"
OVERHEAD_BENCH = "code_path.CodePath.track_profiler_overhead"


def _with_rows(figure, rows: int, **changes):  # type: ignore[no-untyped-def]
    params = tuple((k, str(rows) if k == "rows" else v) for k, v in figure.params)
    return dataclasses.replace(figure, params=params, **changes)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list]:
    base = tmp_path_factory.mktemp("quick-site")
    results = base / "results"
    shutil.copytree(RECORDED, results, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    # the two added benchmarks, described as asv describes them (their parameters, their unit)
    info = json.loads((results / "benchmarks.json").read_text())
    template = info["throughput.Throughput.track_rows_per_second"]
    for name, unit in ((SHARE_BENCH, "fraction"), (OVERHEAD_BENCH, "ratio")):
        info[name] = {**template, "name": name, "unit": unit}
    (results / "benchmarks.json").write_text(json.dumps(info))
    figures = load_figures(results)
    moved = []
    for figure in figures:
        if not figure.method.startswith("track_"):
            moved.append(figure)
            continue
        moved.append(_with_rows(figure, TRACK_ROWS))
        if figure.method == "track_rows_per_second":
            moved.append(_with_rows(figure, TRACK_ROWS, benchmark=SHARE_BENCH,
                                    value=SHARE if figure.value is not None else None, unit="fraction"))
            overhead = {NOISY: 0.5, PROFILED: 3.0}.get(figure.strategy or "")
            moved.append(_with_rows(figure, TRACK_ROWS, benchmark=OVERHEAD_BENCH,
                                    value=overhead if figure.value is not None else None, unit="ratio"))
    for path in results.glob("*/*.json"):
        if path.name != "machine.json":
            path.unlink()
    write_figures(results, moved)
    build.build_site(base / "html", results, profile_dirs=[])
    return (base / "html" / "scoresheet.html").read_text(), moved


def _first_section_rows(html: str) -> dict[str, list[str]]:
    section = html.split("<section", 2)[1]
    rows = {}
    for row in re.findall(r"<tr><td class=\"fn\">(.*?)</tr>", section, re.S):
        name = re.match(r"[a-z_0-9]+", row).group(0)
        rows[name] = [re.sub(r"<[^>]+>", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    return rows


def test_track_columns_are_filled_and_labelled_with_their_row_count(page: tuple[str, list]) -> None:
    html, figures = page
    assert html.count(f"at {TRACK_ROWS:,} rows") >= 6  # the note and the five track headers
    rows = _first_section_rows(html)
    copy = rows["copy_text"]
    # cells: family, median, DB-API s, DB-API %, statements, speed-up, × floor, overhead, calls, rows/s
    assert all("n/a" not in copy[i] for i in (2, 3, 4, 7, 8, 9))
    assert copy[3] == f"{SHARE:.0%}"
    # DB-API s is the share times the track pass's own wall time (1,000 rows / rows per second)
    section_env = re.search(r'<p class="meta">(\S+) ·', html).group(1)
    rps = next(f.value for f in figures if f.method == "track_rows_per_second" and f.strategy == "copy_text"
               and f.env_name == section_env)
    assert copy[2] == f"{SHARE * TRACK_ROWS / rps:.4f}"


def test_overhead_below_one_is_within_noise_and_a_real_one_is_shown(page: tuple[str, list]) -> None:
    html, _ = page
    rows = _first_section_rows(html)
    assert html_lib.unescape(rows[NOISY][7]) == "within noise"
    assert rows[PROFILED][7].startswith("3.00×")
    assert "0.50×" not in html


def test_overhead_text_needs_the_ratio_to_clear_the_noise() -> None:
    assert overhead_text(0.46, None) == "within noise"
    assert overhead_text(1.1, 0.2) == "within noise"
    assert overhead_text(1.5, 0.2) == "1.50× (noise ±20%)"
    assert overhead_text(None, 0.1) is None


# -- make bench: what reaches asv --------------------------------------------------------------


def _bench_command(*args: str) -> str:
    """The `asv run` line `make -n bench` would run (nothing is run; the venv step is only printed)."""
    done = subprocess.run(["make", "-n", "bench", "VENV=/nonexistent-venv", *args], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return next(line for line in done.stdout.splitlines() if "/asv run " in line)


def test_quick_is_translated_not_passed_to_asv() -> None:
    quick = _bench_command("ASV_ARGS=--quick -E virtualenv")
    assert "BULKINSERT_QUICK=1" in quick and "--quick" not in quick and "-E virtualenv" in quick
    full = _bench_command()
    assert "BULKINSERT_QUICK=0" in full
    for line in (quick, full):
        assert "--interleave-rounds" in line and "--record-samples" in line
        assert line.endswith("HEAD^!; echo $? > .asv/bench-status")  # the checkout's HEAD, not main's
    # The 100,000-row figures are make bench-large's, the scale suite make bench-scale's, the
    # full-size workloads make bench-workloads'; a quick run keeps its small wide workload.
    assert _selected(quick) == set(MODULES) - {"insert_large", "insert_memory", "scale"}
    assert _selected(full) == set(MODULES) - {"insert_large", "insert_memory", "scale", "workload_time"}


MODULES = sorted(path.stem for path in (ROOT / "benchmarks").glob("*.py") if path.stem not in {"__init__", "common"})


def _selected(command: str) -> set[str]:
    """The benchmark modules whose benchmarks the command's -b regex selects (asv: re.search)."""
    found = re.search(r"-b '([^']+)'", command)
    assert found is not None, command
    return {module for module in MODULES if re.search(found.group(1), f"{module}.Some.time_insert")}


def test_own_selection_replaces_the_default_and_scale_has_its_target() -> None:
    existing = _bench_command("ASV_ARGS=-E existing:same")
    assert "--interleave-rounds" not in existing  # asv refuses the two together
    own = _bench_command("ASV_ARGS=-b '^insert_time\\.'")
    assert "scale" not in own and "-b '^insert_time\\.'" in own
    for target, modules in (("bench-scale", {"scale"}), ("bench-workloads", {"workload_time"}),
                            ("bench-large", {"insert_large", "insert_memory"})):
        done = subprocess.run(["make", "-n", target, "VENV=/nonexistent-venv"], cwd=ROOT, capture_output=True,
                              text=True, check=True)
        command = next(line for line in done.stdout.splitlines() if "asv run" in line)
        assert _selected(command) == modules, target
    # Between them, make bench and its three targets run every benchmark module.
    full = _bench_command()
    assert _selected(full) | {"insert_large", "insert_memory", "scale", "workload_time"} == set(MODULES)


def test_ladder_row_judges_overhead_against_its_own_plain_samples() -> None:
    from bulkinsert.measure.ladder import LadderRow

    def row(profiled: float) -> LadderRow:
        return LadderRow("copy_text", "copy", 1_000, seconds=1.0, cpu_seconds=0.5, statements=3,
                         instrumented_seconds=None, dbapi_seconds=None, encode_seconds=None, dbapi_share=None,
                         profiled_seconds=profiled, function_calls=10, samples=[0.9, 1.0, 1.1])

    assert row(0.8).overhead_text == "within noise"  # faster under the profiler: noise by definition
    assert row(1.15).overhead_text == "within noise"  # inside the plain samples' 20 % spread
    assert row(2.0).overhead_text == "2.00× (noise ±20%)"
