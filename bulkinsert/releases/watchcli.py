"""``bulkinsert releases watch``: the command and its summary (the loop itself is :mod:`.watch`).

Kept apart from :mod:`.cli` so that module stays small; its helpers (one-line errors, the
progress bar) are imported when the command runs.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from ..cli.guard import guarded
from ..user_strategies import strategies_from_option
from .commitwatch import watch_source, watch_source_options
from .console import progress_display
from .drivers import release_driver_option
from .sidebyside import DEFAULT_ROUNDS, MIN_ROUNDS
from .sweep import DEFAULT_ROWS, DEFAULT_SAMPLES
from .watch import default_watch_strategies


@click.command("watch")
@click.option("--library", "-l", "libraries", multiple=True,
              help="Library to track; repeatable (default: every library the release axis knows — "
                   "SQLAlchemy and psycopg2-binary, psycopg and asyncpg once it builds them).")
@click.option("--since", help="Measure the releases after this one, compared with it (overrides what was measured).")
@click.option("--to", "high", help="Newest release to consider.")
@click.option("--strategies", default=None,
              help=f"Comma-separated strategy names (default: {','.join(default_watch_strategies())}; "
                   "for psycopg and asyncpg their own driver's strategies).")
@click.option("--rows", type=click.IntRange(1), default=DEFAULT_ROWS, show_default=True, help="Names per insert.")
@click.option("--samples", type=click.IntRange(0), default=DEFAULT_SAMPLES, show_default=True,
              help="Timed inserts per strategy and release in the sweep (the candidates' evidence).")
@click.option("--rounds", type=click.IntRange(MIN_ROUNDS), default=DEFAULT_ROUNDS, show_default=True,
              help="Rounds per side of the side-by-side re-run that confirms a timing.")
@click.option("--results-dir", type=click.Path(path_type=Path), default=None,
              help="asv results directory: the state and where the sweep files (default: .asv/results).")
@click.option("--allow-dirty", is_flag=True, help="Measure uncommitted changes (state and results on "
                                                  "'<machine>-releases-dirty', as `releases sweep`).")
@click.option("--pre", is_flag=True, help="Include pre-releases.")
@click.option("--json", "as_json", is_flag=True, help='Print {"new_releases": [...], "findings": [...]}.')
@click.option("--metric", "extra_metrics", type=click.Choice(["instructions"]), multiple=True,
              help="Also measure and judge this metric (instructions: one more process per release under valgrind).")
@release_driver_option
@strategies_from_option
@watch_source_options
def watch_command(**options: Any) -> None:
    """Measure every release not measured yet, compare it with the one before, confirm changes side by side.

    With --source: the commits of a branch instead (see --branch, --every).
    Exit status 1 when this run confirmed a regression or a broken path; 0 otherwise; 2 on an error.
    """
    on_branch = {name: options.pop(name) for name in ("source", "branch", "every", "cext", "watch_metric")}
    try:
        if on_branch["source"]:
            failing = guarded(watch_source)({**options, **on_branch})
        else:
            failing = guarded(_watch)(**options)
    except SystemExit as exc:  # the one-line error: 2, so that 1 always means "a regression was confirmed"
        sys.exit(2 if exc.code == 1 else exc.code)
    if failing:
        sys.exit(1)


def _watch(libraries: tuple[str, ...], since: str | None, high: str | None, strategies: str | None, rows: int,
           samples: int, rounds: int, results_dir: Path | None, allow_dirty: bool, pre: bool, as_json: bool,
           driver: str | None = None, extra_metrics: tuple[str, ...] = ()) -> bool:
    """The run; True when it confirmed a regression or a broken path."""
    from packaging.version import InvalidVersion, Version

    from ..registry import get
    from .drivers import check_driver
    from .envs import distribution_name
    from .sweep import DEFAULT_RESULTS_DIR, refuse_dirty, work_tree_dirty
    from .watch import plan, run, strategies_for, tracked_libraries

    started = time.monotonic()
    for bound in (since, high):
        try:
            Version(bound) if bound else None
        except InvalidVersion:
            raise ValueError(f"{bound!r} is not a version (PEP 440)") from None
    chosen = [s.strip() for s in strategies.split(",") if s.strip()] if strategies else None
    for name in chosen or ():
        get(name)  # an unknown name fails before anything is read
    names = [distribution_name(n) for n in libraries] or tracked_libraries()
    for library in names:  # as sweep and bisect: a driver a strategy or the environments lack, before anything
        check_driver(strategies_for(library, chosen), driver)
    results = results_dir or DEFAULT_RESULTS_DIR
    dirty = allow_dirty and work_tree_dirty()
    plans = plan(names, chosen, rows=rows, since=since, to=high, pre=pre, results_dir=results, dirty=dirty,
                 driver=driver)
    for item in plans:
        if item.why.startswith("first run"):
            click.echo(f"{item.library}: {item.why}", err=True)
    if not any(item.new for item in plans):
        if as_json:
            click.echo(json.dumps({"new_releases": [], "findings": [], "not_applicable": [],
                                   "plans": [p.as_dict() for p in plans]}))
        bases = ", ".join(f"{p.library} {p.base or '-'}" for p in plans)
        click.echo(f"nothing new: every release is measured ({bases}); "
                   f"checked in {time.monotonic() - started:.1f} s", err=as_json)
        return False
    refuse_dirty(allow_dirty)
    with progress_display(0, "watch") as update:
        result = run(plans, chosen, rows=rows, samples=samples, rounds=rounds, results_dir=results,
                     allow_dirty=allow_dirty, progress=lambda text: update(0, text), driver=driver,
                     instructions="instructions" in extra_metrics)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        _print_summary(result)
    return bool(result.failing)


def _print_summary(result: Any) -> None:
    """The confirmed findings first, then one line per n/a (with its reason) and per new release."""
    for f in result.findings:
        if not f["confirmed"]:
            continue
        if f["metric"] == "status":
            click.echo(f"confirmed {f['verdict']}: {f['library']} {f['old']} -> {f['new']} {f['strategy']}: "
                       f"{f['reason']}")
            continue
        click.echo(f"confirmed {f['verdict']}: {f['library']} {f['old']} -> {f['new']} {f['strategy']} "
                   f"{f['metric']} {f['old_value']:,.6g} -> {f['new_value']:,.6g} (x{f['ratio']:.3f}); "
                   f"{f['reason'].split('; ')[-1]}")
    for na in result.not_applicable:
        click.echo(f"n/a: {na['library']} {na['release']} {na['strategy']} ({', '.join(na['metrics'])}): "
                   f"{na['reason']}")
    for entry in result.new_releases:
        head = f"{entry['library']} {entry['release']}"
        if "not_measured" in entry:
            click.echo(f"{head}: not measured: {entry['not_measured']}")
            continue
        counts = (f"{entry['confirmed']} confirmed, {entry['unconfirmed']} unconfirmed"
                  if entry["confirmed"] or entry["unconfirmed"] else "nothing changed")
        notes = f" — {entry['notes_url']}" if entry["confirmed"] and entry["notes_url"] else ""
        click.echo(f"{head} (against {entry['compared_with'] or 'nothing'}): {counts}{notes}")
    click.echo(f"watched in {result.seconds:.0f} s", err=True)
