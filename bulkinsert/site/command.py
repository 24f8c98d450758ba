"""``bulkinsert site``: the same pages ``asv publish`` writes, built on their own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..data.schema import DEFAULT_ROWS
from ..measure import suiteconf


def read_asv_conf(path: Path) -> dict[str, Any]:
    """asv.conf.json as asv reads it (bulkinsert.measure.suiteconf); empty when there is none."""
    return suiteconf.settings(path)


def _auto_environment(results_dir: Path) -> str:
    """The asv environment with this interpreter's SQLAlchemy and psycopg2, else a local name."""
    from ..analysis.results import load_figures
    from ..compat import library_versions

    mine = library_versions()
    try:
        figures = load_figures(results_dir)
    except FileNotFoundError:
        figures = []
    for figure in figures:
        versions = {name.lower(): version for name, version in figure.versions.items()}
        pg = versions.get("psycopg2-binary") or versions.get("psycopg2")
        if versions.get("sqlalchemy") == mine["sqlalchemy"] and pg == mine["psycopg2"]:
            return figure.env_name
    return f"local-SQLAlchemy{mine['sqlalchemy']}-psycopg2{mine['psycopg2']}"


@click.command("site")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
              default=Path("asv.conf.json"), show_default=True, help="asv config naming results_dir and html_dir.")
@click.option("--results-dir", type=click.Path(path_type=Path, file_okay=False), help="asv results [from config].")
@click.option("--html-dir", type=click.Path(path_type=Path, file_okay=False),
              help="asv's published site [from config].")
@click.option("--profile-dir", "profile_dirs", multiple=True, type=click.Path(path_type=Path, file_okay=False),
              help="Captures laid out as <env>/<strategy>[-<rows>].prof [profiles/ next to the results]; "
                   "repeatable.")
@click.option("--findings", "findings_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Release findings (JSON lines) [releases/findings.jsonl next to the results].")
@click.option("--rows", type=click.IntRange(min=1), default=DEFAULT_ROWS, show_default=True,
              help="Row count the scoresheet, matrix and captures are for.")
@click.option("--capture", "capture_env", metavar="ENV",
              help="First profile every runnable strategy here, filed under environment ENV "
                   "('auto': the asv environment with this interpreter's versions).")
def site_command(config_path: Path, results_dir: Path | None, html_dir: Path | None, profile_dirs: tuple[Path, ...],
                 findings_file: Path | None, rows: int, capture_env: str | None) -> None:
    """Build the scoresheet, version matrix, releases, profiles and licences pages into asv's site.

    ``asv publish`` already does this (asv.conf.json's "plugins"); this command rebuilds them
    alone, e.g. with fresh captures.
    """
    from .build import build_site, default_profile_dirs

    conf = read_asv_conf(config_path)
    base = config_path.resolve().parent
    results_dir = results_dir or base / conf.get("results_dir", ".asv/results")
    html_dir = html_dir or base / conf.get("html_dir", ".asv/html")
    sources = list(profile_dirs) or default_profile_dirs(results_dir)
    if capture_env:
        from ..measure.capture import capture_now

        if capture_env == "auto":
            capture_env = _auto_environment(results_dir)
        click.echo(f"profiling every strategy at {rows:,} rows for {capture_env} ...", err=True)
        capture_now(capture_env, sources[0], rows)
    summary = build_site(html_dir, results_dir, profile_dirs=sources, findings_file=findings_file, rows=rows,
                         matrix=(conf.get("matrix") or {}).get("req"))
    click.echo(f"site: {summary.html_dir}: {summary.environments} environments, "
               f"{summary.captures} profiles; pages: {', '.join(summary.pages)}")
    for note in summary.notes:
        click.echo(f"note: {note}", err=True)
    if summary.missing:
        click.echo(f"note: {len(summary.missing)} measured strategy x environment pairs have no profile "
                   f"(e.g. {summary.missing[0][1]} in {summary.missing[0][0]})", err=True)
