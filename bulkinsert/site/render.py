"""Jinja2 rendering shared by every page: one environment, autoescape on, navigation defined once."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from ..pg.dsn import scrub
from .charts import fmt_seconds

ASSET_DIR = "site-assets"
PROFILE_DIR = "profiles"
ASV_PAGE = "asv.html"  # asv's own index.html, moved aside for the landing page (asv_index.py)
TEMPLATES = Path(__file__).resolve().parent / "templates"

# The site's pages, in navigation order: (path from the site's root, label).
NAV_ITEMS = (
    ("index.html", "Overview"),
    ("scoresheet.html", "Scoresheet"),
    ("versions.html", "Version matrix"),
    ("drivers.html", "Drivers"),
    ("releases.html", "Releases"),
    (f"{PROFILE_DIR}/index.html", "Profiles"),
    (ASV_PAGE, "asv benchmarks"),
    ("licences.html", "Licences"),
)


@functools.lru_cache(maxsize=1)
def environment() -> Any:
    """The one Jinja2 environment (autoescape on for every template, HTML and SVG alike)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )
    env.globals["nav_items"] = NAV_ITEMS
    env.globals["format_seconds"] = fmt_seconds
    env.filters["seconds"] = fmt_seconds
    return env


def render(template: str, *, depth: int = 0, current: str = "", **context: Any) -> str:
    """Render ``template``; ``depth`` is how many folders below the site root the page lives."""
    context.setdefault("scripts", ())
    context.setdefault("extra_nav", "")
    return environment().get_template(template).render(up="../" * depth, current=current, **context)


def nav_html(depth: int, extra_nav: str = "") -> str:
    """The navigation bar alone, for pages whose HTML comes from elsewhere (tuna's viewer)."""
    return render("_nav.html", depth=depth, extra_nav=extra_nav)


def write(path: Path, text: str) -> None:
    """Write a page, with any DSN password replaced (a page must never publish one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(scrub(text), encoding="utf-8")
