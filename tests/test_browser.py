"""The published site as a visitor sees it: Debian's Chromium, driven by Playwright, over HTTP.

The site is the one ``asv publish`` wrote in tests/test_site.py (``published``): recorded results
with a planted regression, release findings, and captures made on the spot. Every page must
load without a JavaScript error, a failed request or a request leaving the site, and at 1,400 ×
900 no page scrolls sideways and no table is wider than its box. Screenshots are kept in
``test-artifacts/``.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Any

import pytest
from test_site import (  # noqa: F401 - the fixtures
    PLANTED_RELEASE,
    PLANTED_STRATEGY,
    PROFILED,
    RECORDED,
    planted_sweep,
    published,
)

from bulkinsert import compat, registry
from bulkinsert.analysis.results import Figure, load_figures, write_figures
from bulkinsert.analysis.status import FAILED, SKIPPED
from bulkinsert.site import build

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("BULKINSERT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def server(published: Path) -> Iterator[str]:  # noqa: F811 - the imported fixture
    yield from _serve(published)


@pytest.fixture(scope="module")
def sweep_server(planted_sweep: Path) -> Iterator[str]:  # noqa: F811 - the imported fixture
    yield from _serve(planted_sweep)


def _serve(directory: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


# Every page of the site, as a visitor reaches them from the landing page's links.
PAGES = ("index.html", "asv.html", "scoresheet.html", "versions.html", "drivers.html", "releases.html",
         "profiles/index.html", "licences.html")
WIDTH, HEIGHT = 1400, 900
DRIVER_TIME, DRIVER_COUNTS = "insert_time.InsertTimeByDriver.time_insert", "driver_counts.DriverCounts"
LONG_REASON = "OperationalError: " + "the server closed the connection unexpectedly while copying " * 3


@pytest.fixture(scope="module")
def drivers_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A drivers page as wide as it gets: every SQLAlchemy path of the recorded run on all four drivers.

    The psycopg2 series' recorded figures stand in for the other drivers (the page's layout is
    checked, not its figures); pg8000 is n/a with its reason, as a run without it records, and
    one path failed with a long reason.
    """
    base = tmp_path_factory.mktemp("drivers-layout")
    shutil.copytree(RECORDED, base / "results", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    series = {"insert_time.InsertTime.time_insert": DRIVER_TIME,
              "server_statements.ServerStatements.track_statements": f"{DRIVER_COUNTS}.track_statements",
              "code_path.CodePath.track_function_calls": f"{DRIVER_COUNTS}.track_function_calls"}
    info = json.loads((base / "results" / "benchmarks.json").read_text())
    for psycopg2_series, axis in series.items():  # where the readers find the driver axis' parameter names
        info[axis] = {**info[psycopg2_series], "name": axis, "param_names": ["strategy", "rows", "driver"],
                      "version": axis}
    (base / "results" / "benchmarks.json").write_text(json.dumps(info))
    figures = load_figures(base / "results")
    recorded = [f for f in figures if f.benchmark in series and f.versions["SQLAlchemy"] == PLANTED_RELEASE
                and f.strategy in registry.load()]
    # write_figures rewrites a result file whole: the recorded figures of those files go with it
    planted: list[Figure] = [f for f in figures if f.versions["SQLAlchemy"] == PLANTED_RELEASE]
    for figure in recorded:
        for driver in compat.SQLALCHEMY_DRIVERS[1:]:
            params = (*figure.params, ("driver", driver))
            clone = dc_replace(figure, benchmark=series[figure.benchmark], params=params)
            if driver == "pg8000":
                clone = dc_replace(clone, value=None, samples=None, iqr=None, status=SKIPPED)
            elif driver == "asyncpg" and figure.strategy == PLANTED_STRATEGY and figure.method == "time_insert":
                clone = dc_replace(clone, value=None, samples=None, iqr=None, status=FAILED, reason=LONG_REASON)
            planted.append(clone)
    write_figures(base / "results", planted)
    build.build_site(base / "html", base / "results", profile_dirs=[], findings_file=base / "none.jsonl")
    yield from _serve(base / "html")


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
            args=CHROMIUM_ARGS, headless=True, viewport={"width": WIDTH, "height": HEIGHT},
        )
        try:
            yield context
        finally:
            context.close()


class Visit:
    """One page load that records JavaScript errors, failed requests and any request leaving the local server."""

    def __init__(self, context: Any, server: str) -> None:
        self.page = context.new_page()
        self.errors: list[str] = []
        self.external: list[str] = []
        self.failed: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        self.page.on("requestfailed", lambda request: self.failed.append(f"{request.url}: {request.failure}"))
        self.page.on("response", lambda r: self.failed.append(f"{r.url}: {r.status}") if r.status >= 400 else None)

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
        assert not [f for f in self.failed if not any(e in f for e in self.external)], f"failed: {self.failed}"
        assert not self.errors, f"JavaScript errors: {self.errors}"


# The page's sideways overflow and every shown table wider than the box it sits in.
OVERFLOW = """() => ({
    page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    tables: [...document.querySelectorAll('table')].filter(t => t.getClientRects().length).map(t => [
        t.className || t.id || t.parentElement.tagName,
        Math.round(t.getBoundingClientRect().width), t.parentElement.clientWidth,
    ]).filter(([, width, box]) => width > box + 1),
})"""


def assert_fits(page: Any, name: str) -> None:
    found = page.evaluate(OVERFLOW)
    assert found["page"] <= 0, f"{name} scrolls sideways by {found['page']} px"
    assert not found["tables"], f"{name}: tables wider than their box (class, width, box): {found['tables']}"


def browse(visit: Visit) -> None:
    """Scroll to the end and back, as a reader does: pages that load as they scroll (asv's grid) load."""
    visit.page.wait_for_load_state("networkidle")
    visit.page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    visit.page.wait_for_load_state("networkidle")
    visit.page.evaluate("window.scrollTo(0, 0)")


def test_asv_index_lists_the_benchmarks_offline_and_links_our_pages(browser: Any, server: str) -> None:
    visit = Visit(browser, server)
    page = visit.open(f"{server}/asv.html")
    page.wait_for_function("document.body.innerText.includes('time_insert')", timeout=15_000)
    for href in ("index.html", "scoresheet.html", "versions.html", "releases.html"):
        assert page.locator(f"a[href='{href}']").count() == 1, href
    browse(visit)  # the grid requests each listed benchmark's graph: none may be missing
    assert page.locator(".benchmark-container").count() >= 5
    page.locator("li.bi-link.dropdown > a").click()
    assert page.locator("li.bi-link a[href='scoresheet.html']").is_visible()
    visit.shot("asv-index")
    page.goto(f"{server}/asv.html#insert_time.InsertTime.time_insert")  # a graph adds its name to the bar
    page.wait_for_function("document.querySelectorAll('#graph-display canvas').length > 0", timeout=15_000)
    navbar = page.locator(".navbar").first.bounding_box()
    assert navbar is not None and navbar["height"] < 60, navbar  # one line: it covers none of the page
    visit.close()


def test_asv_links_to_its_old_address_reach_its_page(browser: Any, server: str) -> None:
    visit = Visit(browser, server)
    page = visit.open(f"{server}/index.html#regressions")
    page.wait_for_url(f"{server}/asv.html#regressions", timeout=15_000)
    visit.close()


def test_landing_answers_for_every_environment_in_the_first_screen(browser: Any, server: str) -> None:
    visit = Visit(browser, server)
    page = visit.open(f"{server}/index.html")
    rows = page.locator("table.landing tbody tr.env")
    assert rows.count() == 4
    for index in range(rows.count()):
        row = rows.nth(index)
        box = row.bounding_box()
        assert box is not None and box["y"] + box["height"] <= HEIGHT, (index, box)
        assert row.locator("td.fastest code").inner_text() in registry.load()
        assert row.locator("td.fastest small.driver").inner_text() in compat.SQLALCHEMY_DRIVERS
        findings = row.locator("td.findings")
        assert findings.locator("li.finding").count() or "none confirmed" in findings.inner_text()
    planted = page.locator("td.findings li.finding", has_text=PLANTED_STRATEGY)
    assert planted.count() == 2 and planted.first.locator("small.driver").inner_text() == "psycopg2"
    for label in ("Scoresheet", "Releases", "Drivers", "Profiles", "asv's benchmark grid", "Docs"):
        link = page.locator("p.lead a", has_text=label)
        assert link.count() == 1 and link.is_visible(), label
    visit.shot("landing")
    visit.close()


@pytest.mark.parametrize("name", PAGES)
def test_every_page_fits_1400_px_and_loads_cleanly(browser: Any, server: str, name: str) -> None:
    visit = Visit(browser, server)
    page = visit.open(f"{server}/{name}")
    browse(visit)
    assert_fits(page, name)
    visit.close()


def test_drivers_page_shows_every_driver_side_by_side(browser: Any, drivers_server: str) -> None:
    visit = Visit(browser, drivers_server)
    page = visit.open(f"{drivers_server}/drivers.html")
    table = page.locator("table.drivers").first
    headers = table.locator("thead th").all_inner_texts()[1:]
    assert headers == list(compat.SQLALCHEMY_DRIVERS)
    assert table.locator("tbody tr").count() >= 4
    right = max(b["x"] + b["width"] for b in table.locator("thead th").evaluate_all(
        "ths => ths.map(th => { const r = th.getBoundingClientRect(); return {x: r.x, width: r.width}; })"))
    assert right <= WIDTH, right  # every driver's column in view, none behind a sideways scroll
    row = table.locator("tbody tr", has=page.locator("th.fn", has_text=PLANTED_STRATEGY))
    failed = row.locator("td.cell.failed[data-driver='asyncpg']")
    assert LONG_REASON.strip() in (failed.get_attribute("title") or "")
    note = failed.locator("a.note").get_attribute("href") or ""
    assert LONG_REASON.strip() in page.locator(f"[id='{note.lstrip('#')}']").inner_text()  # under the table
    assert table.locator("td.na[data-driver='pg8000']").count() >= 4
    browse(visit)
    assert_fits(page, "drivers.html")
    visit.shot("drivers")
    visit.close()


def test_scoresheet_shows_medians_with_their_spread(browser: Any, server: str) -> None:
    visit = Visit(browser, server)
    page = visit.open(f"{server}/scoresheet.html")
    assert page.locator("table.scoresheet tbody tr").count() >= len(PROFILED)
    row = page.locator("table.scoresheet tbody tr", has_text="copy_text").first
    timing = row.locator("td.timing").inner_text()
    assert timing.split()[1] in ("ms", "s", "µs") and float(timing.split()[0]) > 0
    assert "IQR of 11 samples" in timing
    assert page.locator("svg.chart").count() >= 1
    visit.shot("scoresheet")
    visit.close()


def test_version_matrix_marks_the_planted_regression(browser: Any, server: str) -> None:
    visit = Visit(browser, server)
    page = visit.open(f"{server}/versions.html")
    headers = page.locator("table.matrix thead th").all_inner_texts()[1:]
    row = page.locator("table.matrix tbody tr", has=page.locator(f"a[href='#chart-{PLANTED_STRATEGY}']"))
    cells = row.locator("td")
    marked = [i for i in range(cells.count()) if cells.nth(i).locator(".mark.reg").count()]
    assert marked and all(PLANTED_RELEASE in headers[i].splitlines()[0] for i in marked), (marked, headers)
    assert len(marked) == 2  # both psycopg2 releases
    mark = cells.nth(marked[0]).locator(".mark.reg").first
    assert mark.inner_text() == "▲" and "time slower" in mark.get_attribute("title")
    assert page.locator("table.findings tr.confirmed", has_text=PLANTED_STRATEGY).count() >= 2
    assert page.locator("figure svg.chart").count() >= 1
    visit.shot("versions")
    visit.close()


def test_releases_page_renders_charts_and_findings(browser: Any, server: str) -> None:
    visit = Visit(browser, server)
    page = visit.open(f"{server}/releases.html")
    sqlalchemy = page.locator("section#SQLAlchemy")
    assert sqlalchemy.locator("figure.release-chart svg.chart").count() >= 3
    assert sqlalchemy.locator("svg g.mark.finding").count() >= 1
    assert sqlalchemy.locator("table.findings a", has_text="release notes").count() >= 1
    assert page.locator("section#psycopg2-binary svg g.marker.broken").count() >= 1
    assert page.locator("section#psycopg2-binary p.broken").inner_text().endswith("2.9.13")
    visit.shot("releases")
    visit.close()


def test_profile_viewer_draws_its_map(browser: Any, server: str, published: Path) -> None:  # noqa: F811
    viewer = next((published / "profiles").glob("*/orm_basic.html"))
    url = f"{server}/{viewer.relative_to(published).as_posix()}"
    visit = Visit(browser, server)
    page = visit.open(url)
    page.wait_for_function("document.querySelectorAll('svg rect').length > 5", timeout=15_000)
    titles = page.eval_on_selector_all("svg g title", "els => els.map(e => e.textContent)")
    assert any("orm_basic" in t and "calls" in t and " s" in t for t in titles), titles[:5]
    assert page.locator(".bi-nav a[href='../../licences.html']").count() == 1
    visit.shot("profile-map")
    boxes = page.locator("svg rect")
    widths = [float(w) for w in boxes.evaluate_all("els => els.map(e => e.getAttribute('width'))")]
    narrow = next(i for i, w in enumerate(widths) if 0 < w < max(widths) / 3)
    boxes.nth(narrow).click(force=True)  # the label on top of the box takes the click, as for a person
    page.wait_for_function(
        f"parseFloat(document.querySelectorAll('svg rect')[{narrow}].getAttribute('width')) > {widths[narrow] * 2}",
        timeout=5_000,
    )
    visit.close()

    visit = Visit(browser, server)
    page = visit.open(url.replace(".html", ".table.html"))
    assert page.locator("#functions tbody tr").count() > 10
    assert "%" in page.locator("#functions tbody tr").first.inner_text()
    page.locator("#functions tbody tr td.fn a").first.click()
    assert page.locator("details[open]").count() == 1
    visit.shot("profile-table")
    visit.close()


def test_releases_page_links_its_feed_and_the_link_works(browser: Any, server: str) -> None:
    visit = Visit(browser, server)
    page = visit.open(f"{server}/releases.html")
    head = page.locator('head link[rel="alternate"][type="application/atom+xml"]')
    assert head.count() == 1
    link = page.locator("p.feed-link a")
    href = link.get_attribute("href")
    assert href == head.get_attribute("href") == "releases.xml"
    with page.expect_response(lambda r: r.url.endswith("/releases.xml")) as answer:
        link.click()
    response = answer.value
    assert response.ok and "<feed" in response.text() and f"{PLANTED_STRATEGY} time" in response.text()
    visit.close()


def test_release_charts_have_few_lines_and_marks_sit_on_their_strategy(browser: Any, sweep_server: str) -> None:
    visit = Visit(browser, sweep_server)
    page = visit.open(f"{sweep_server}/releases.html")
    lines = page.eval_on_selector_all("figure.release-chart svg", "svgs => svgs.map(s => s.querySelectorAll("
                                      "'g.series').length)")
    assert len(lines) >= 6 and max(lines) <= 8, lines
    # every mark (a finding or a change point) has a dot of its own strategy's line at its x and y
    placed = page.eval_on_selector_all("svg g.mark", """marks => marks.map(m => {
        const svg = m.ownerSVGElement, x = m.dataset.x, y = m.dataset.y;
        const line = [...svg.querySelectorAll('g.series')].find(g => g.dataset.series === m.dataset.series);
        const dot = line && [...line.querySelectorAll('circle')].find(
            c => c.getAttribute('cx') === x && c.getAttribute('cy') === y);
        return [m.dataset.series, m.getAttribute('class'), Boolean(dot)];
    })""")
    kinds = {(series, kind) for series, kind, _ in placed}
    assert ("execute_values", "mark changepoint candidate up") in kinds
    assert ("core_executemany", "mark finding regression") in kinds
    assert all(on_line for _, _, on_line in placed), [p for p in placed if not p[2]]
    assert page.locator("section.verdicts li.release-verdict").first.get_attribute("id") == "release-sqlalchemy-2.0.14"
    visit.shot("release-changepoints")
    visit.close()
