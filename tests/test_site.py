"""The published site, as a visitor sees it: headless Chromium over a local HTTP server.

The site is built from recorded inputs in seconds: the asv result files in
``tests/data/asv_results`` (or, until some are recorded, a small set measured here), published
by ``asv publish`` into a temporary directory, plus cProfile captures made on the spot with
``run_insert(..., profile_path=...)``. Screenshots are kept in ``test-artifacts/``.
"""

from __future__ import annotations

import functools
import http.server
import json
import marshal
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from bulkinsert import registry, site

ROOT = Path(__file__).resolve().parents[1]
RECORDED = ROOT / "tests" / "data" / "asv_results"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("BULKINSERT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Captured in the interpreter running the tests: strategies every supported SQLAlchemy runs.
PROFILED = ["orm_basic", "core_executemany", "copy_text", "server_generate"]
ROWS = 10_000


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
           "GIT_AUTHOR_NAME": "site test", "GIT_AUTHOR_EMAIL": "site@test", "GIT_COMMITTER_NAME": "site test",
           "GIT_COMMITTER_EMAIL": "site@test"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def _measured_results(results: Path) -> None:
    """asv-format results for a few strategies, measured now (used until recorded ones exist)."""
    from bulkinsert.compat import library_versions
    from bulkinsert.runner import run_insert
    from bulkinsert.schema import default_names

    versions = library_versions()
    strategies, rows_list = PROFILED, [1_000, ROWS]
    measured = {(s, r): run_insert(s, default_names(r)) for s in strategies for r in rows_list}
    params = [[repr(s) for s in strategies], [str(r) for r in rows_list]]
    methods = {"insert_time.InsertTime.time_insert": ("time", "seconds", lambda m: m.seconds),
               "throughput.Throughput.track_cpu_seconds": ("track", "CPU seconds", lambda m: m.cpu_seconds),
               "server_statements.ServerStatements.track_statements": ("track", "statements",
                                                                       lambda m: m.statements)}
    benchmarks: dict[str, Any] = {"version": 2}
    result_rows = {}
    for name, (kind, unit, get) in methods.items():
        benchmarks[name] = {"name": name, "type": kind, "unit": unit, "params": params,
                            "param_names": ["strategy", "rows"], "version": "1", "code": "", "timeout": 60}
        values = [get(measured[(s, r)]) for s in strategies for r in rows_list]
        result_rows[name] = [values, params, "1", 0, 1.0]
    env = f"virtualenv-py3.11-SQLAlchemy{versions['sqlalchemy']}-psycopg2-binary{versions['psycopg2']}"
    machine = results / "site-test"
    machine.mkdir(parents=True)
    (results / "benchmarks.json").write_text(json.dumps(benchmarks))
    (machine / "machine.json").write_text(json.dumps({"machine": "site-test", "version": 1}))
    data = {"commit_hash": "0" * 40, "env_name": env, "date": 1767225600000,
            "params": {"machine": "site-test", "python": "3.11", "SQLAlchemy": versions["sqlalchemy"],
                       "psycopg2-binary": versions["psycopg2"]},
            "python": "3.11", "requirements": {"SQLAlchemy": versions["sqlalchemy"],
                                               "psycopg2-binary": versions["psycopg2"]},
            "env_vars": {}, "result_columns": ["result", "params", "version", "started_at", "duration"],
            "results": result_rows, "durations": {}, "version": 2}
    (machine / f"00000000-{env}.json").write_text(json.dumps(data))


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
        data = json.loads(path.read_text())
        data["commit_hash"] = mapping[data["commit_hash"]]
        path.write_text(json.dumps(data))


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("site")
    results, html_dir, profiles, repo = base / "results", base / "html", base / "profiles", base / "repo"
    if any(RECORDED.glob("*/*.json")):
        shutil.copytree(RECORDED, results)
    else:
        _measured_results(results)
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _rehome(results, repo)
    conf = base / "asv.conf.json"
    conf.write_text(json.dumps({"version": 1, "project": "bulkinsert", "project_url": "https://example.invalid/",
                                "repo": str(repo), "branches": ["main"], "dvcs": "git",
                                "environment_type": "virtualenv", "results_dir": str(results),
                                "html_dir": str(html_dir)}))
    subprocess.run([sys.executable, "-m", "asv", "publish", "--config", str(conf)], check=True, cwd=base,
                   capture_output=True)
    runs = site.load_runs(results)
    assert runs, "no asv results to build the site from"
    newest = max(runs, key=lambda r: r.date)
    site.capture_now(newest.env_name, profiles, ROWS, strategies=PROFILED)
    summary = site.build_site(html_dir, results, profile_dirs=[profiles], rows=ROWS)
    assert summary.captures >= len(PROFILED)
    return html_dir


@pytest.fixture(scope="module")
def server(built_site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: run .ci/install-browser")
        pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium: .ci/install-browser)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS, headless=True, viewport={"width": 1400, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


class Visit:
    """One page load that records JavaScript errors and any request leaving the local server."""

    def __init__(self, context: Any, server: str) -> None:
        self.page = context.new_page()
        self.errors: list[str] = []
        self.external: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)

        def route(route: Any) -> None:
            if route.request.url.startswith(server) or route.request.url.startswith("data:"):
                route.continue_()
            else:
                self.external.append(route.request.url)
                route.abort()

        self.page.route("**/*", route)

    def open(self, url: str) -> Any:
        self.page.goto(url, wait_until="load")
        return self.page

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"site-{name}.png"), full_page=False)

    def close(self) -> None:
        self.page.close()
        assert not self.external, f"requests left the site: {self.external}"
        assert not self.errors, f"JavaScript errors: {self.errors}"


def test_asv_index_lists_the_benchmarks_offline(browser: Any, server: str) -> None:
    visit = Visit(browser, server)
    page = visit.open(f"{server}/index.html")
    page.wait_for_function("document.body.innerText.includes('time_insert')", timeout=15_000)
    assert page.locator("a[href='scoresheet.html']").count() >= 1, "asv's page links to the scoresheet"
    visit.shot("asv-index")
    visit.close()


def test_scoresheet_renders_numbers(browser: Any, server: str) -> None:
    visit = Visit(browser, server)
    page = visit.open(f"{server}/scoresheet.html")
    rows = page.locator("table.scoresheet tbody tr")
    assert rows.count() >= len(PROFILED)
    first = page.locator("table.scoresheet tbody tr", has_text="orm_basic").first
    assert first.locator("td").nth(2).inner_text().strip().endswith(" s")
    assert float(first.locator("td").nth(2).inner_text().split()[0]) > 0
    assert page.locator("svg.chart").count() >= 1
    assert first.locator("a", has_text="map").count() == 1
    visit.shot("scoresheet")
    visit.close()


def test_version_matrix_renders_numbers_and_graphs(browser: Any, server: str) -> None:
    visit = Visit(browser, server)
    page = visit.open(f"{server}/versions.html")
    cells = page.locator("table.matrix tbody td[style*='background']")
    assert cells.count() >= len(PROFILED)
    assert any(unit in cells.first.inner_text() for unit in ("ms", "µs", " s"))
    assert page.locator("figure svg.chart").count() >= 1
    visit.shot("versions")
    visit.close()


def test_profile_viewer_draws_its_map(browser: Any, server: str, built_site: Path) -> None:
    viewer = next((built_site / site.PROFILE_DIR).glob("*/orm_basic.html"))
    url = f"{server}/{viewer.relative_to(built_site).as_posix()}"
    visit = Visit(browser, server)
    page = visit.open(url)
    page.wait_for_function("document.querySelectorAll('svg rect').length > 5", timeout=15_000)
    titles = page.eval_on_selector_all("svg g title", "els => els.map(e => e.textContent)")
    assert any("orm_basic" in t and "calls" in t and " s" in t for t in titles), titles[:5]
    visit.shot("profile-map")
    # drill down: clicking a box zooms into it
    boxes = page.locator("svg rect")
    widths = [float(w) for w in boxes.evaluate_all("els => els.map(e => e.getAttribute('width'))")]
    narrow = next(i for i, w in enumerate(widths) if 0 < w < max(widths) / 3)
    boxes.nth(narrow).click(force=True)  # the label on top of the box takes the click, as for a person
    page.wait_for_function(
        f"parseFloat(document.querySelectorAll('svg rect')[{narrow}].getAttribute('width')) > {widths[narrow] * 2}",
        timeout=5_000,
    )
    visit.shot("profile-map-zoomed")
    visit.close()

    visit = Visit(browser, server)
    page = visit.open(url.replace(".html", ".table.html"))
    assert page.locator("#functions tbody tr").count() > 10
    assert "%" in page.locator("#functions tbody tr").first.inner_text()
    page.locator("#functions tbody tr td.fn a").first.click()
    assert page.locator("details[open]").count() == 1
    visit.shot("profile-table")
    visit.close()


def test_published_profiles_hold_no_machine_paths(built_site: Path) -> None:
    captures = list((built_site / site.PROFILE_DIR).glob("*/*.prof"))
    assert {p.stem for p in captures} >= set(PROFILED)
    private = [str(ROOT), str(Path.home())]
    for path in captures:
        for func, value in marshal.loads(path.read_bytes()).items():
            for filename in [func[0], *(caller[0] for caller in value[4])]:
                assert not any(filename.startswith(p) for p in private if p not in ("", "/")), filename
    assert all(s in registry.load() for s in PROFILED)


def test_scale_suite_fills_in_but_never_overwrites_the_main_suite(tmp_path: Path) -> None:
    """Both suites have a ``time_insert``; the main suite's figures must be the ones shown."""
    columns = ["result", "params"]
    result = {
        "env_name": "env-a", "commit_hash": "abc", "date": 1, "params": {"machine": "m"},
        "result_columns": columns,
        "results": {
            # asv writes benchmarks in name order, so the scale suite may come first or last.
            "scale.ScaleTime.time_insert": [[0.5, 0.9], [["'copy_text'"], ["10000", "100000"]]],
            "insert_time.InsertTime.time_insert": [[0.1, None], [["'copy_text'"], ["10000", "100000"]]],
        },
    }
    path = tmp_path / "m" / "abc-env-a.json"
    path.parent.mkdir()
    path.write_text(json.dumps(result))
    run = site.load_result_file(path)
    assert run is not None
    assert run.value("seconds", "copy_text", 10_000) == pytest.approx(0.1)
    assert run.value("seconds", "copy_text", 100_000) == pytest.approx(0.9)  # only scale has it
