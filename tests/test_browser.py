"""The published site as a visitor sees it: Debian's Chromium, driven by Playwright, over HTTP.

The site is the one ``asv publish`` wrote in tests/test_site.py (``published``): recorded results
with a planted regression, release findings, and captures made on the spot. Every page must
load without a JavaScript error and without a request leaving the site. Screenshots are kept
in ``test-artifacts/``.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_site import (  # noqa: F401 - the fixtures
    PLANTED_RELEASE,
    PLANTED_STRATEGY,
    PROFILED,
    planted_sweep,
    published,
)

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


def test_asv_index_lists_the_benchmarks_offline_and_links_our_pages(browser: Any, server: str) -> None:
    visit = Visit(browser, server)
    page = visit.open(f"{server}/index.html")
    page.wait_for_function("document.body.innerText.includes('time_insert')", timeout=15_000)
    for href in ("scoresheet.html", "versions.html", "releases.html"):
        assert page.locator(f"a[href='{href}']").count() == 1, href
    visit.shot("asv-index")
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
