"""Build the site's pages into asv's html directory (called by ``asv publish`` and ``bulkinsert site``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..data.schema import DEFAULT_ROWS
from .asv_index import move_asv_index, patch_asv_index
from .data import SiteData, load_site_data
from .drivers import drivers_page
from .feed import FEED_FILE, releases_feed
from .landing import landing_page
from .licences import licences_page
from .profiles import (
    Capture,
    fallback_icicle_page,
    find_captures,
    icicle_page,
    machine_roots,
    public_pstats,
    table_page,
)
from .releases import FINDINGS_FILE, releases_page
from .render import ASSET_DIR, PROFILE_DIR, render, write
from .scoresheet import scoresheet_page
from .versions import versions_page

ASSETS = Path(__file__).resolve().parent / "assets"
PAGES = ("index.html", "scoresheet.html", "versions.html", "drivers.html", "releases.html", f"{PROFILE_DIR}/index.html",
         "licences.html", FEED_FILE)


@dataclass
class BuildSummary:
    html_dir: Path
    environments: int
    captures: int
    pages: list[str]
    missing: list[tuple[str, str]] = field(default_factory=list)  # measured but not profiled
    notes: list[str] = field(default_factory=list)


def default_profile_dirs(results_dir: Path) -> list[Path]:
    """Where the runner side leaves captures: ``profiles/`` next to asv's results (``.asv/profiles``)."""
    return [results_dir.parent / "profiles"]


def default_findings_file(results_dir: Path) -> Path:
    """Where the release tools append findings: ``.asv/releases/findings.jsonl`` next to the results."""
    return results_dir.parent / FINDINGS_FILE


def _copy_assets(html_dir: Path) -> None:
    out = html_dir / ASSET_DIR
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(ASSETS, out, ignore=shutil.ignore_patterns("__pycache__", "*.py", "licences"))
    import tuna

    shutil.copytree(Path(tuna.__file__).parent / "web" / "static", out / "tuna")


def _publish_profiles(site: SiteData, html_dir: Path, captures: Sequence[Capture], roots: Sequence[str],
                      step: Callable[[str], None]) -> None:
    """Every capture as a path-free ``.prof``, its icicle map and its callers/callees table."""
    out = html_dir / PROFILE_DIR
    if out.exists():
        shutil.rmtree(out)
    for capture in sorted(captures, key=lambda c: (c.env_name, c.strategy)):
        step(f"profile {capture.env_name}/{capture.strategy}")
        capture.data = public_pstats(capture.data, roots)
        prof_path = html_dir / f"{capture.stem}.prof"
        prof_path.parent.mkdir(parents=True, exist_ok=True)
        prof_path.write_bytes(capture.data)
        try:
            icicle = icicle_page(capture, prof_path)
        except Exception as exc:  # noqa: BLE001 - one capture tuna cannot read must not sink the site
            icicle = fallback_icicle_page(capture, str(exc))
        write(html_dir / f"{capture.stem}.html", icicle)
        write(html_dir / f"{capture.stem}.table.html", table_page(capture))
        site.captures[(capture.env_name, capture.strategy)] = capture


def profiles_index_page(site: SiteData) -> str:
    labels = {env.env_name: env.label for env in site.environments}
    env_order = {env.env_name: index for index, env in enumerate(site.environments)}
    columns = sorted({env for env, _ in site.captures}, key=lambda e: (env_order.get(e, len(env_order)), e))
    table = []
    for name in site.strategy_order():
        cells = [site.captures.get((env, name)) for env in columns]
        if any(cells):
            table.append((name, cells))
    return render("profiles_index.html", depth=1, current=f"{PROFILE_DIR}/index.html",
                  columns=[(e, labels.get(e, e)) for e in columns], table=table)


def _scrub_tree(html_dir: Path) -> None:
    """A DSN password in asv's own output (e.g. recorded env vars) must not be published either."""
    from ..pg.dsn import DSN_ENV, MASK, dsn_secrets

    secrets = dsn_secrets(os.environ.get(DSN_ENV, ""))
    if not secrets:
        return
    for path in html_dir.rglob("*"):
        if path.suffix in (".json", ".html", ".js", ".xml", ".txt") and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            if any(secret in text for secret in secrets):
                for secret in secrets:  # longest first: a quoted spelling before its unquoted value
                    text = text.replace(secret, MASK)
                path.write_text(text, encoding="utf-8")


def build_site(
    html_dir: Path,
    results_dir: Path,
    *,
    profile_dirs: Sequence[Path] | None = None,
    findings_file: Path | None = None,
    rows: int = DEFAULT_ROWS,
    matrix: Mapping[str, Sequence[str]] | None = None,
    roots: Sequence[Path] = (),
    on_step: Callable[[str], None] | None = None,
) -> BuildSummary:
    """Add the landing page, scoresheet, version matrix, releases, profiles and licences pages to ``html_dir``.

    ``matrix`` (asv.conf.json's ``matrix.req``) tells the asv matrix's environments from release
    sweeps: the scoresheet and version matrix show the former, the releases page all of them.
    """
    step = on_step or (lambda _text: None)
    html_dir.mkdir(parents=True, exist_ok=True)
    step("reading results")
    findings = findings_file if findings_file is not None else default_findings_file(results_dir)
    site = load_site_data(results_dir, rows=rows, matrix=matrix, findings_file=findings)
    _copy_assets(html_dir)
    dirs = default_profile_dirs(results_dir) if profile_dirs is None else list(profile_dirs)
    captures = find_captures(dirs, [env.env_name for env in site.environments], rows)
    _publish_profiles(site, html_dir, captures, machine_roots(roots), step)
    step("pages")
    write(html_dir / "scoresheet.html", scoresheet_page(site))
    write(html_dir / "versions.html", versions_page(site))
    write(html_dir / "drivers.html", drivers_page(site))
    write(html_dir / "releases.html", releases_page(site, findings))
    write(html_dir / FEED_FILE, releases_feed(site, findings))  # beside asv's regressions.xml
    write(html_dir / PROFILE_DIR / "index.html", profiles_index_page(site))
    write(html_dir / "licences.html", licences_page(html_dir / ASSET_DIR / "licences"))
    asv_page = move_asv_index(html_dir)
    patch_asv_index(html_dir)
    write(html_dir / "index.html", landing_page(site, findings, asv_page=asv_page))
    _scrub_tree(html_dir)
    missing = [(env.env_name, s) for env in site.matrix_environments for s in env.strategies()
               if env.value("seconds", s, site.rows_for(env)) is not None and site.capture(env, s) is None]
    return BuildSummary(html_dir, len(site.environments), len(site.captures), list(PAGES), missing, site.notes)
