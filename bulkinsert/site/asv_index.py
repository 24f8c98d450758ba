"""asv's own ``index.html``: moved aside for the landing page, served offline, linked to our pages.

The site's root is the landing page (:mod:`.landing`); asv's page (its benchmark grid, list and
regressions) moves to :data:`ASV_PAGE`, where its relative requests (``index.json``, ``graphs/``)
still resolve. asv 0.6 loads jQuery, Flot, Bootstrap, stupidtable and md5 from CDNs; the site
ships the same versions (see the licences page) so every page works offline and nothing leaves
the site. asv lists every benchmark it discovered, measured or not, and its grid requests a
summary graph for each: :func:`drop_unmeasured` keeps the ones a graph was written for.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from markupsafe import Markup

from .render import ASSET_DIR, ASV_PAGE, NAV_ITEMS

MARKER = "<!-- bulkinsert-site -->"
# The CDN file asv's index.html names -> the vendored copy (same version) used instead.
CDN_TO_VENDOR = {
    "jquery-3.3.1.min.js": "jquery-3.3.1.min.js",
    "flot/0.8.3/jquery.flot.min.js": "jquery.flot-0.8.3.js",
    "flot/0.8.3/jquery.flot.time.min.js": "jquery.flot.time-0.8.3.js",
    "flot/0.8.3/jquery.flot.selection.min.js": "jquery.flot.selection-0.8.3.js",
    "flot/0.8.3/jquery.flot.categories.min.js": "jquery.flot.categories-0.8.3.js",
    "jquery.flot.orderBars.js": "jquery.flot.orderBars-1.0.0.js",
    "stupidtable.min.js": "stupidtable-1.1.3.min.js",
    "md5.min.js": "md5-2.19.0.min.js",
    "bootstrap.min.js": "bootstrap-3.1.1.min.js",
    "bootstrap.min.css": "css/bootstrap-3.1.1.min.css",
}
# asv's navigation bar is fixed and one line high, and a benchmark's graph adds its name to it:
# the site's pages sit in one menu (Bootstrap's dropdown, which asv's page loads) beside a link
# to the landing page, so the bar stays one line at 1,400 px and covers none of the page.
COMPACT_LINKS = "<style>.navbar-nav > li.bi-link > a { padding-left: 8px; padding-right: 8px; }</style>"
_TAG = re.compile(r"<(?:script|link)\b[^>]*>")
_URL = re.compile(r'(?:src|href)="(https?://[^"]+)"')
_CDN_ATTRIBUTES = re.compile(r'\s+(integrity|crossorigin|referrerpolicy)="[^"]*"')


def _local(match: re.Match[str]) -> str:
    tag = match.group(0)
    url = _URL.search(tag)
    if url is None:
        return tag
    for suffix, vendored in CDN_TO_VENDOR.items():
        if url.group(1).endswith(suffix):
            return _CDN_ATTRIBUTES.sub("", tag.replace(url.group(1), f"{ASSET_DIR}/vendor/{vendored}"))
    return tag


def is_asv_page(path: Path) -> bool:
    """Whether ``path`` is asv's own index page (it loads ``asv.js``), not the landing page."""
    return path.is_file() and 'src="asv.js"' in path.read_text(encoding="utf-8")


def move_asv_index(html_dir: Path) -> bool:
    """asv's ``index.html`` to :data:`ASV_PAGE` (the landing page takes the root); whether asv's page is there."""
    index, moved = html_dir / "index.html", html_dir / ASV_PAGE
    if is_asv_page(index):
        index.replace(moved)
    return moved.is_file()


def patch_asv_index(html_dir: Path) -> bool:
    """Point asv's CDN tags at the vendored copies and add the site's links (idempotent)."""
    index = html_dir / ASV_PAGE
    if not index.is_file():
        return False
    text = _TAG.sub(_local, index.read_text(encoding="utf-8"))
    if MARKER not in text:
        (home, home_label), *pages = [(href, label) for href, label in NAV_ITEMS if href != ASV_PAGE]
        menu = Markup("").join(Markup('<li><a href="{}">{}</a></li>').format(href, label) for href, label in pages)
        links = Markup('<li class="bi-link"><a href="{}">{}</a></li>').format(home, home_label) + Markup(
            '<li class="bi-link dropdown"><a class="dropdown-toggle" data-toggle="dropdown" role="button" '
            'href="#">bulkinsert pages <b class="caret"></b></a><ul class="dropdown-menu">{}</ul></li>'
        ).format(menu)
        text, count = re.subn(r'(<li id="nav-li-regressions">.*?</li>)',
                              lambda m: m.group(1) + MARKER + str(links), text, count=1, flags=re.S)
        if count == 0:
            text = text.replace("<body>", f"<body>{MARKER}<ul>{links}</ul>", 1)
        text = text.replace("</head>", f"{COMPACT_LINKS}</head>", 1)
    index.write_text(text, encoding="utf-8")
    return True


def summary_graph(html_dir: Path, benchmark: str) -> Path:
    """The summary graph asv's grid requests for a benchmark (``graphs/summary/<name>.json``)."""
    return html_dir / "graphs" / "summary" / f"{benchmark}.json"


def drop_unmeasured(benchmarks: MutableMapping[str, Any], html_dir: Path) -> list[str]:
    """Remove the benchmarks asv wrote no summary graph for (no result): its grid would request them.

    asv publish writes ``index.json`` from ``benchmarks`` after its publishers ran, so removing an
    entry here keeps it off the grid and the list. Returns the names removed.
    """
    unmeasured = [name for name in benchmarks if not summary_graph(html_dir, name).is_file()]
    for name in unmeasured:
        del benchmarks[name]
    return unmeasured
