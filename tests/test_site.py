"""The published site: built by ``asv publish`` alone (the plugin in asv.conf.json), then checked.

Inputs: the recorded results in ``tests/data/site_results`` (a real quick run with real timed
samples added and one planted regression: ``execute_values`` 2x slower with SQLAlchemy 2.1.9,
see ``record.py`` there), a release-findings file in the format the release tools append, and
cProfile captures made on the spot by ``bulkinsert.measure.capture``. The browser checks run in
tests/test_browser.py on the same build (the ``published`` fixture); these read the files.
"""

from __future__ import annotations

import json
import marshal
import os
import random
import re
import shutil
import subprocess
import sys
from dataclasses import replace as dc_replace
from pathlib import Path

import pytest

from bulkinsert import registry
from bulkinsert.analysis.results import Figure, load_figures, version_key, write_figures
from bulkinsert.measure.capture import capture_now
from bulkinsert.site import build, data, releases
from bulkinsert.site.charts import Datum, line_chart
from bulkinsert.site.command import read_asv_conf

ROOT = Path(__file__).resolve().parents[1]
RECORDED = ROOT / "tests" / "data" / "site_results"
# Captured in the interpreter running the tests: strategies every supported SQLAlchemy runs.
PROFILED = ["orm_basic", "core_executemany", "copy_text", "server_generate"]
ROWS = 10_000
PLANTED_STRATEGY, PLANTED_RELEASE = "execute_values", "2.1.9"
HOSTILE = "<script>alert('x')</script>"
# A benchmark asv discovered but the run did not measure (a quick run leaves these out).
UNMEASURED = "insert_large.InsertLarge.time_insert"


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
           "GIT_AUTHOR_NAME": "site test", "GIT_AUTHOR_EMAIL": "site@test", "GIT_COMMITTER_NAME": "site test",
           "GIT_COMMITTER_EMAIL": "site@test"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def _rehome(results: Path, repo: Path) -> None:
    """Point every result file at a commit of a throwaway repository, so asv publish finds it."""
    files = sorted(p for p in results.glob("*/*.json") if p.name != "machine.json")
    originals = sorted({json.loads(p.read_text())["commit_hash"] for p in files})
    mapping = {}
    for index, original in enumerate(originals):
        (repo / "history.txt").write_text(f"{index}\n")
        _git(repo, "add", "history.txt")
        _git(repo, "commit", "-q", "-m", f"recorded commit {original[:8]}")
        mapping[original] = _git(repo, "rev-parse", "HEAD")
    for path in files:
        data_ = json.loads(path.read_text())
        data_["commit_hash"] = mapping[data_["commit_hash"]]
        path.write_text(json.dumps(data_))


FINDINGS = [
    {"kind": "bisect", "strategy": "core_executemany", "library": "sqlalchemy", "metric": "statements",
     "last_unchanged": "2.0.58", "first_changed": "2.1.9", "verdict": "changed", "ratio": None,
     "values": {"2.0.58": 12, "2.1.9": 13}, "machine": "bench-2core", "commit": "c88c278d"},
    {"kind": "compare", "strategy": "orm_basic", "library": "SQLAlchemy", "metric": "time", "old": "2.0.58",
     "new": "2.1.9", "verdict": "same", "ratio": 1.01, "machine": "bench-2core", "commit": "c88c278d"},
    {"kind": "broken", "strategy": "copy_text", "library": "psycopg2-binary", "release": "2.9.13",
     "error": f"row count 9,999 != 10,000 {HOSTILE}", "broken": True},
]


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``asv publish`` alone, on the recorded results: the html directory it wrote."""
    base = tmp_path_factory.mktemp("site")
    results, html_dir, repo = base / "results", base / "html", base / "repo"
    shutil.copytree(RECORDED, results, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    discovered = json.loads((results / "benchmarks.json").read_text())
    discovered[UNMEASURED] = {**discovered["insert_time.InsertTime.time_insert"], "name": UNMEASURED}
    (results / "benchmarks.json").write_text(json.dumps(discovered))
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _rehome(results, repo)
    findings = base / "releases" / "findings.jsonl"
    findings.parent.mkdir()
    findings.write_text("\n".join(json.dumps(f) for f in FINDINGS) + "\nnot json\n")
    newest = max(load_figures(results), key=lambda f: (f.versions["SQLAlchemy"], f.env_name))
    capture_now(newest.env_name, base / "profiles", ROWS, strategies=PROFILED)
    conf = base / "asv.conf.json"
    conf.write_text(json.dumps({
        "version": 1, "project": "bulkinsert", "project_url": "https://example.invalid/", "repo": str(repo),
        "branches": ["main"], "dvcs": "git", "environment_type": "virtualenv", "results_dir": "results",
        "html_dir": "html", "plugins": read_asv_conf(ROOT / "asv.conf.json")["plugins"],  # the project's own
        "matrix": {"req": {"SQLAlchemy": ["2.0.58", "2.1.9"], "psycopg2-binary": ["2.9.5", "2.9.13"]}},
    }))
    done = subprocess.run([sys.executable, "-m", "asv", "publish", "--config", str(conf)], cwd=base,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "bulkinsert site:" in done.stdout, done.stdout
    return html_dir


def test_asv_publish_alone_writes_every_page(published: Path) -> None:
    for page in build.PAGES:
        assert (published / page).is_file(), page
    asv_page = (published / "asv.html").read_text()
    assert 'src="asv.js"' in asv_page and asv_page.count('href="scoresheet.html"') == 1
    assert asv_page.count('href="index.html"') == 1  # back to the landing page
    assert "cdn" not in re.sub(r"<!--.*?-->", "", asv_page, flags=re.S).lower()
    for page in ("index.html", "scoresheet.html", "versions.html", "releases.html", "licences.html"):
        text = (published / page).read_text()
        assert text.count('class="bi-nav"') == 1 and 'href="licences.html"' in text, page
        assert 'href="asv.html"' in text, page


def test_asv_grid_lists_only_benchmarks_it_has_graphs_for(published: Path) -> None:
    listed = json.loads((published / "index.json").read_text())["benchmarks"]
    assert UNMEASURED not in listed and "insert_time.InsertTime.time_insert" in listed
    for name in listed:  # the grid requests graphs/summary/<name>.json for every listed benchmark
        assert (published / "graphs" / "summary" / f"{name}.json").is_file(), name


def _landing_rows(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr class="env" data-env="([^"]+)">(.*?)</tr>', html, flags=re.S))


def test_landing_names_each_environments_fastest_correct_path(published: Path) -> None:
    html = (published / "index.html").read_text()
    rows = _landing_rows(html)
    figures = [f for f in load_figures(published.parent / "results")
               if f.method == "time_insert" and f.rows == ROWS and f.value and f.param("driver") is None]
    reference = set(registry.with_role("reference"))
    assert len(rows) == 4
    for env_name, row in rows.items():
        mine = [f for f in figures if f.env_name == env_name and f.strategy not in reference]
        fastest = min(mine, key=lambda f: f.value)  # type: ignore[arg-type, return-value]
        cell = re.search(r'<td class="fastest">(.*?)</td>', row, flags=re.S)
        assert cell is not None and f"<code>{fastest.strategy}</code>" in cell.group(1), (env_name, row)
        assert '<small class="driver">psycopg2</small>' in cell.group(1)
    assert '<a href="asv.html">' in html and '<a href="docs/">Docs</a>' in html
    for page in ("scoresheet.html", "releases.html", "drivers.html", "profiles/index.html"):
        assert f'href="{page}"' in html, page


def test_landing_lists_confirmed_findings_where_they_landed_with_their_driver(published: Path) -> None:
    rows = _landing_rows((published / "index.html").read_text())
    release = {f.env_name: f.versions["SQLAlchemy"] for f in load_figures(published.parent / "results")}
    for env_name, row in rows.items():
        planted = re.search(rf'<code>{PLANTED_STRATEGY}</code> <small class="driver">psycopg2</small> time .*?×', row)
        newest = release[env_name] == PLANTED_RELEASE
        assert bool(planted) == newest, (env_name, row)
        if newest:
            assert f"SQLAlchemy 2.0.58 → {PLANTED_RELEASE}" in row
        else:
            assert "none confirmed" in row


def test_landing_says_what_is_watched_and_since_when(tmp_path: Path) -> None:
    results, findings = tmp_path / "results", tmp_path / "findings.jsonl"
    shutil.copytree(RECORDED, results, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    build.build_site(tmp_path / "html", results, profile_dirs=[], findings_file=findings)
    assert "Nothing watched yet" in (tmp_path / "html" / "index.html").read_text()
    watch = {"kind": "watch", "library": "psycopg", "strategy": "sa_psycopg_copy", "metric": "time", "rows": 1000,
             "old": "3.2.10", "new": "3.3.9", "verdict": "same", "confirmed": False, "machine": "m", "commit": "c"}
    findings.write_text("\n".join(json.dumps({**watch, **extra}) for extra in (
        {"timestamp": "2026-11-02T10:00:00+00:00"}, {"timestamp": "2026-11-30T10:00:00+00:00", "new": "3.3.10"},
        {"timestamp": "2026-10-01T10:00:00+00:00", "dirty": True})) + "\n")
    build.build_site(tmp_path / "html", results, profile_dirs=[], findings_file=findings)
    html = (tmp_path / "html" / "index.html").read_text()
    assert "Nothing watched yet" not in html
    row = re.search(r"<tr><td>psycopg</td>.*?</tr>", html, flags=re.S)
    assert row is not None and "2026-11-02" in row.group(0) and "2026-11-30" in row.group(0)  # the dirty one is not
    assert "3.3.10" in row.group(0) and "2026-10-01" not in html


def _cells(html: str, strategy: str) -> list[str]:
    row = re.search(rf'<tr><th class="fn"><a href="#chart-{strategy}">.*?</tr>', html, flags=re.S)
    assert row is not None, strategy
    return re.findall(r"<td.*?</td>", row.group(0), flags=re.S)


def test_planted_regression_is_marked_in_exactly_its_cells(published: Path) -> None:
    html = (published / "versions.html").read_text()
    headers = re.findall(r'<th title="[^"]*">(.*?)</th>', html, flags=re.S)
    planted = [PLANTED_RELEASE in h.split("<br>")[0] for h in headers]
    assert planted.count(True) == 2, headers
    for strategy in ("execute_values", "copy_text"):
        for cell, is_planted in zip(_cells(html, strategy), planted, strict=True):
            marked = 'class="mark reg"' in cell and "time slower" in cell
            assert marked == (strategy == PLANTED_STRATEGY and is_planted), (strategy, cell)
            assert ("cell slower" in cell) == marked
            assert "IQR" in cell  # every timing with real samples shows its spread


def test_single_samples_are_neither_coloured_nor_given_a_spread(published: Path) -> None:
    html = (published / "versions.html").read_text()
    for cell in _cells(html, "core_executemany"):
        assert "cell slower" not in cell and "cell faster" not in cell
        assert "1 sample" in cell


def test_scoresheet_says_median_and_keeps_floor_for_the_file_copy(published: Path) -> None:
    html = (published / "scoresheet.html").read_text()
    assert "median" in html and "best sample" not in html
    assert re.search(r"<code>server_generate</code> is not a floor", html)
    assert "× floor" in html and "server_copy_file" in html


def test_releases_page_draws_every_release_and_lists_findings(published: Path) -> None:
    html = (published / "releases.html").read_text()
    assert re.search(r'<section id="SQLAlchemy"', html) and re.search(r'<section id="psycopg2-binary"', html)
    assert html.count('class="release-chart"') >= 3
    assert "https://docs.sqlalchemy.org/en/21/changelog/changelog_21.html#change-2.1.9" in html
    # the planted regression sits on execute_values' line; the broken release is a rule of its own
    assert f'<g class="mark finding regression" data-series="{PLANTED_STRATEGY}"' in html
    assert 'class="marker broken"' in html
    assert "line 4 skipped" in html  # the malformed line is reported, not fatal
    assert '<span>2.0.58: 12</span> · <span class="changed">2.1.9: 13</span>' in html  # bisect's values, in order
    assert HOSTILE not in html and "&lt;script&gt;" in html  # autoescaped


def test_releases_page_explains_itself_without_sweeps_or_findings(tmp_path: Path) -> None:
    summary = build.build_site(tmp_path / "html", tmp_path / "no-results", profile_dirs=[])
    html = (tmp_path / "html" / "releases.html").read_text()
    assert summary.environments == 0 and "Nothing to show yet" in html and "releases sweep" in html
    assert "No asv results yet" in (tmp_path / "html" / "versions.html").read_text()


def test_licences_are_stated_and_shipped(published: Path) -> None:
    html = (published / "licences.html").read_text()
    for name in ("tuna", "GPL-3.0", "jQuery", "Flot", "Bootstrap", "Stupid-Table-Plugin", "blueimp-md5", "asv"):
        assert name in html, name
    texts = published / "site-assets" / "licences"
    assert "GNU GENERAL PUBLIC LICENSE" in (texts / "tuna-GPL-3.0.txt").read_text()
    for link in re.findall(r'href="site-assets/licences/([^"]+)"', html):
        assert (texts / link).is_file(), link


def test_published_profiles_hold_no_machine_paths(published: Path) -> None:
    captures = list((published / "profiles").glob("*/*.prof"))
    assert {p.stem for p in captures} >= set(PROFILED)
    private = [str(ROOT), str(Path.home())]
    for path in captures:
        for func, value in marshal.loads(path.read_bytes()).items():
            for filename in [func[0], *(caller[0] for caller in value[4])]:
                assert not any(filename.startswith(p) for p in private if p not in ("", "/")), filename
    assert all(s in registry.load() for s in PROFILED)


def _figure(benchmark: str, value: float | None, **extra: object) -> Figure:
    return Figure(machine="m", benchmark=benchmark, env_name="env-a", commit="abc", date=1,
                  params=(("strategy", "copy_text"), ("rows", "10000")),
                  requirements=(("SQLAlchemy", "2.0.58"), ("python", "3.11")), value=value, **extra)


def test_main_suite_figures_win_over_the_scale_suite() -> None:
    figures = [_figure("scale.ScaleTime.time_insert", 0.5), _figure("insert_time.InsertTime.time_insert", 0.1)]
    for ordered in (figures, figures[::-1]):
        (env,) = data.group_environments(ordered, [])
        assert env.value("seconds", "copy_text", 10_000) == pytest.approx(0.1)


def test_spread_is_the_iqr_of_several_samples_and_absent_for_one() -> None:
    assert data.spread_of(_figure("b.time_insert", 0.1, iqr=(0.1, 0.1), repeat=1)) is None
    spread = data.spread_of(_figure("b.time_insert", 0.2, samples=(0.1, 0.2, 0.3), iqr=(0.15, 0.25)))
    assert spread is not None and (spread.low, spread.high, spread.samples) == (0.15, 0.25, 3)


def test_sweeps_are_in_pep440_order_with_one_library_varying() -> None:
    figures = [Figure("m", "x.time_insert", f"env-{v}", "c", 1, (("strategy", "s"), ("rows", "10")),
                      (("SQLAlchemy", v), ("psycopg2-binary", "2.9.5")), 0.1) for v in ("2.1.0", "2.1.0b1", "2.0.9")]
    figures.append(Figure("m", "x.time_insert", "env-other", "c", 1, (("strategy", "s"), ("rows", "10")),
                          (("SQLAlchemy", "2.1.0"), ("psycopg2-binary", "2.9.13")), 0.1))
    sweeps = {(s.library, s.context): s.releases for s in releases.find_sweeps(figures, ["SQLAlchemy"])}
    assert sweeps == {("SQLAlchemy", (("psycopg2-binary", "2.9.5"),)): ["2.0.9", "2.1.0b1", "2.1.0"]}


def test_charts_are_deterministic_and_skip_empty_series() -> None:
    series = {"a": [Datum(1.0, 0.5, 0.4, 0.6), Datum(2.0, 0.7)], "empty": []}
    first = line_chart(series, title="t", x_title="x", y_title="seconds")
    assert first == line_chart(series, title="t", x_title="x", y_title="seconds")
    assert first is not None and [line.name for line in first.lines] == ["a"]
    assert first.lines[0].dots[0].y_low is not None and first.lines[0].dots[1].y_low is None
    assert line_chart({"empty": []}, title="t", x_title="x", y_title="seconds") is None


def test_a_line_breaks_where_a_release_was_not_measured() -> None:
    labels = {0.0: "2.0.0", 1.0: "2.0.1", 2.0: "2.0.2", 3.0: "2.0.3"}
    series = {"gap": [Datum(0.0, 1.0), Datum(1.0, 2.0), Datum(3.0, 3.0)], "full": [Datum(x, 1.0) for x in labels]}
    chart = line_chart(series, title="t", x_title="release", y_title="statements", fmt_y=str, x_labels=labels)
    assert chart is not None
    lines = {line.name: line for line in chart.lines}
    assert len(lines["gap"].segments) == 1 and len(lines["gap"].segments[0].split()) == 2
    assert len(lines["gap"].dots) == 3  # the lone point after the gap is still drawn, as a dot
    assert len(lines["full"].segments) == 1 and len(lines["full"].segments[0].split()) == 4


def test_bulkinsert_site_builds_the_same_pages_and_publishes_no_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from bulkinsert.site import site_command

    results, html_dir = tmp_path / "results", tmp_path / "html"
    shutil.copytree(RECORDED, results, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    html_dir.mkdir()
    (html_dir / "info.json").write_text('{"env_vars": {"BULKINSERT_DSN": "postgresql://me:s3cret-pw@db/x"}}')
    monkeypatch.setenv("BULKINSERT_DSN", "postgresql://me:s3cret-pw@db/x")
    outcome = CliRunner().invoke(site_command, ["--config", str(tmp_path / "absent.json"), "--results-dir",
                                                str(results), "--html-dir", str(html_dir), "--profile-dir",
                                                str(tmp_path / "no-captures")])
    assert outcome.exit_code == 0, outcome.output
    assert "4 environments, 0 profiles" in outcome.output
    for page in build.PAGES:
        assert (html_dir / page).is_file(), page
    assert not [p for p in html_dir.rglob("*") if p.is_file() and b"s3cret-pw" in p.read_bytes()]


# 20 releases: a level of a handful of medians needs about that many around it to be significant.
SWEEP_RELEASES = [f"2.0.{i}" for i in range(20)]
SLOW_RELEASES = SWEEP_RELEASES[6:12]  # execute_values x1.6 here, then back: two timing change points
MORE_STATEMENTS_FROM = "2.0.14"  # core_executemany +1,000 statements from here on: one count change point


def _planted(figure: Figure, release: str, rng: random.Random) -> Figure:
    """One release of the planted sweep: the recorded figure with the planted changes and 2% noise."""
    factor = 1 + rng.gauss(0, 0.02) if figure.method == "time_insert" else 1.0
    if figure.method == "time_insert" and figure.strategy == "execute_values" and release in SLOW_RELEASES:
        factor *= 1.6
    value = figure.value
    if value is not None and figure.method == "track_statements" and figure.strategy == "core_executemany" \
            and version_key(release) >= version_key(MORE_STATEMENTS_FROM):
        value += 1000
    samples = tuple(s * factor for s in figure.samples) if figure.samples else None
    return dc_replace(figure, machine="bench-2core-releases", env_name=f"sweep-sqlalchemy-{release}",
                      requirements=tuple((k, release if k == "SQLAlchemy" else v) for k, v in figure.requirements),
                      value=None if value is None else value * factor, samples=samples, iqr=None, ci_99=None)


@pytest.fixture(scope="session")
def planted_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``bulkinsert site`` on a planted sweep of 12 SQLAlchemy releases (one recorded environment cloned)."""
    base = tmp_path_factory.mktemp("sweep")
    results = base / "results"
    results.mkdir()
    shutil.copy(RECORDED / "benchmarks.json", results / "benchmarks.json")
    source = [f for f in load_figures(RECORDED) if f.versions["SQLAlchemy"] == PLANTED_RELEASE
              and f.versions["psycopg2-binary"] == "2.9.5"]
    rng = random.Random(7)
    write_figures(results, [_planted(f, release, rng) for release in SWEEP_RELEASES for f in source])
    build.build_site(base / "html", results, profile_dirs=[], findings_file=base / "none.jsonl")
    return base / "html"


def test_every_change_point_of_a_sweep_is_marked_on_its_line(planted_sweep: Path) -> None:
    html = (planted_sweep / "releases.html").read_text()
    marks = re.findall(r'<g class="mark changepoint (\w+) (\w+)" data-series="(\w+)"', html)
    assert sorted(set(marks)) == [("candidate", "down", "execute_values"), ("candidate", "up", "execute_values"),
                                  ("exact", "up", "core_executemany")]
    rows = re.findall(r'<tr class="(exact|candidate)"><td class="fn">(\w+)</td><td>([^<]+)</td><td>([^<]+)</td>'
                      r'\s*<td>([^<]+)</td>', html)
    assert {(r[0], r[1], r[3], r[4]) for r in rows} == {
        ("candidate", "execute_values", "2.0.5", "2.0.6"), ("candidate", "execute_values", "2.0.11", "2.0.12"),
        ("exact", "core_executemany", "2.0.13", "2.0.14")}
    assert "candidate, confirm with: <code>bulkinsert releases compare execute_values 2.0.5 2.0.6 " \
           "--library SQLAlchemy --metric time --rows 10000 --with psycopg2-binary==2.9.5" in html


def test_the_page_opens_with_the_confirmed_verdict_and_counts_the_rest(planted_sweep: Path) -> None:
    html = (planted_sweep / "releases.html").read_text()
    first = re.search(r'<li id="release-sqlalchemy-([\d.]+)" class="release-verdict">', html)
    assert first is not None and first.group(1) == MORE_STATEMENTS_FROM  # the one release with a confirmed finding
    verdict = html[first.start():html.index("</li>\n", first.start())]
    assert "statements 12 → 1,012 per 10,000 rows (core_executemany)" in verdict
    assert html.index('class="verdicts"') < html.index('class="release-chart"')
    assert re.search(r'id="release-sqlalchemy-2\.0\.6" class="release-verdict"><b>2\.0\.6</b>.*?no confirmed finding'
                     r'</span> <small class="unconfirmed">\(\d+ unconfirmed\)', html, flags=re.S)


def test_no_chart_draws_more_than_eight_lines(planted_sweep: Path) -> None:
    html = (planted_sweep / "releases.html").read_text()
    charts = re.findall(r'<figure class="release-chart".*?</figure>', html, flags=re.S)
    counts = [chart.count('<g class="series"') for chart in charts]
    assert len(charts) >= 6 and max(counts) <= 8 and sum(counts) > 8
