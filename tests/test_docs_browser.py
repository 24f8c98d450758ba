"""The documentation site as a reader sees it: every page in Debian's Chromium, over HTTP.

The site is the one tests/test_docs.py builds (``site``: `mkdocs build --strict`). Every page must
load without a JavaScript error, a failed request or a request leaving the site (the docs are
read offline too), and at 1,400 pixels none may scroll sideways. Of the dated records, which
share one layout, the oldest and the newest are opened.
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
from test_docs import site  # noqa: F401 - the fixture

CHROMIUM = Path(os.environ.get("BULKINSERT_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:  # noqa: F811 - the imported fixture
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
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
            str(tmp_path_factory.mktemp("chromium-docs")), executable_path=str(CHROMIUM), args=ARGS,
            headless=True, viewport={"width": 1400, "height": 900})
        try:
            yield context
        finally:
            context.close()


def test_every_docs_page_loads_cleanly_and_fits_the_width(site: Path, served: str, browser: Any) -> None:  # noqa: F811
    pages = sorted(p.parent.relative_to(site).as_posix() for p in site.rglob("index.html"))
    assert "reference/cli" in pages and "results" in pages
    # The dated records share one layout: the newest and the oldest stand for the rest.
    records = [path for path in pages if path.startswith("results/")]
    pages = [path for path in pages if not path.startswith("results/")] + records[:1] + records[-1:]
    page = browser.new_page()
    problems: list[str] = []
    current = {"url": ""}
    page.on("pageerror", lambda exc: problems.append(f"{current['url']}: {exc}"))
    page.on("console", lambda msg: problems.append(f"{current['url']}: {msg.text}") if msg.type == "error" else None)
    # A request still loading when the next page starts is aborted by the browser: not a failure.
    page.on("requestfailed", lambda request: problems.append(f"{current['url']}: failed {request.url}")
            if request.failure != "net::ERR_ABORTED" else None)
    page.on("response", lambda response: problems.append(f"{current['url']}: {response.status} {response.url}")
            if response.status >= 400 else None)

    def route(route: Any) -> None:
        if route.request.url.startswith(served) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            problems.append(f"{current['url']}: left the site for {route.request.url}")
            route.abort()

    page.route("**/*", route)
    for path in pages:
        current["url"] = served + (path + "/" if path != "." else "")
        page.goto(current["url"], wait_until="load")
        sideways = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        if sideways > 0:
            problems.append(f"{current['url']}: scrolls sideways by {sideways} px")
    assert not problems, problems[:10]
