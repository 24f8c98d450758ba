"""``bulkinsert releases …``: list, sweep, bisect and compare library releases."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import click

from .. import registry
from ..cli.guard import guarded
from ..data.schema import DEFAULT_ROWS
from ..user_strategies import strategies_from_option
from .commitcli import cext_option, source_option
from .console import progress_display
from .drivers import check_driver, driver_mark, release_driver_option
from .report import print_sweep
from .sidebyside import DEFAULT_ROUNDS, MIN_ROUNDS
from .sweep import DEFAULT_ROWS as DEFAULT_SWEEP_ROWS
from .watchcli import watch_command

DEFAULT_SWEEP_STRATEGIES = registry.with_role("sweep_default")
library_option = click.option(
    "--library", "-l", default="SQLAlchemy", show_default=True,
    help="Distribution whose releases vary: SQLAlchemy, psycopg2-binary (or psycopg2), psycopg (psycopg and "
         "psycopg-binary at the same release), asyncpg.",
)
rows_option = click.option("--rows", type=click.IntRange(1), default=DEFAULT_ROWS, show_default=True,
                           help="Names per insert (the full suite records statements and calls at 10,000).")
sweep_rows_option = click.option("--rows", type=click.IntRange(1), default=DEFAULT_SWEEP_ROWS, show_default=True,
                                 help="Names per insert (the quick suite's size: per-row paths show as plainly "
                                      "as at 10,000, at a tenth of the cost).")
pre_option = click.option("--pre", is_flag=True, help="Include pre-releases (alpha, beta, rc, dev).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
with_option = click.option(
    "--with", "held", multiple=True, metavar="NAME==VERSION",
    help="Hold another matrix requirement at this release instead of the matrix's newest "
         "(the context of a finding, e.g. psycopg2-binary==2.9.10); repeatable.",
)
rounds_option = click.option("--rounds", type=click.IntRange(MIN_ROUNDS), default=DEFAULT_ROUNDS, show_default=True,
                             help=f"Rounds per side, alternating old,new / new,old ({MIN_ROUNDS} at least: fewer "
                                  "can never reach p < 0.01 in the paired test).")


def sweep_strategy_names(library: str, strategies: str | None) -> list[str]:
    """``--strategies``, or by default the strategies using ``library`` (psycopg, asyncpg) or the upserts."""
    from .envs import default_strategies

    chosen = strategies or ",".join(default_strategies(library) or DEFAULT_SWEEP_STRATEGIES)
    return [s.strip() for s in chosen.split(",") if s.strip()]


def _dirty_mark() -> dict[str, bool]:
    """``{"dirty": True}`` when the checkout has uncommitted changes: the figures are not the commit's."""
    from .sweep import work_tree_dirty

    return {"dirty": True} if work_tree_dirty() else {}


def resolve_range(
    library: str, low: str | None, high: str | None, pre: bool, *, strict: bool = True
) -> tuple[Any, list[str]]:
    """The release list and the versions in [low, high].

    ``strict``: each bound must be a measurable release (bisect and compare start from one);
    otherwise any PEP 440 version bounds the range.
    """
    from packaging.version import InvalidVersion, Version

    from .index import list_releases

    for bound in (low, high):
        try:
            Version(bound) if bound else None
        except InvalidVersion:
            raise ValueError(f"{bound!r} is not a version (PEP 440)") from None
    listing = list_releases(library, pre=pre)
    for bound in (low, high):
        if bound is None or bound in listing.versions or not strict:
            continue
        if bound in listing.yanked:
            raise LookupError(f"{library} {bound} is yanked on the package index")
        if bound in listing.uninstallable:
            raise LookupError(f"{library} {bound} cannot be installed here: {listing.uninstallable[bound]}")
        if bound in listing.prereleases_left_out:
            raise LookupError(f"{library} {bound} is a pre-release: add --pre")
        raise LookupError(f"{library} {bound} is not a release on the package index "
                          f"(newest: {listing.versions[-1] if listing.versions else 'none'})")
    if low and high and Version(low) > Version(high):
        raise ValueError(f"--from {low} is newer than --to {high}")
    return listing, listing.between(low, high)


def _echo_listing_notes(listing: Any, versions: list[str]) -> None:
    chosen = set(versions)
    low, high = (versions[0], versions[-1]) if versions else (None, None)
    from packaging.version import Version

    def inside(v: str) -> bool:
        return low is not None and Version(low) <= Version(v) <= Version(high)

    for version in listing.yanked:
        if inside(version):
            click.echo(f"left out {version}: yanked on the package index", err=True)
    for version, reason in listing.uninstallable.items():
        if inside(version) and version not in chosen:
            click.echo(f"skipped {version}: {reason}", err=True)


@click.group("releases")
def releases_group() -> None:
    """Library releases on the x-axis: list, sweep, bisect, compare side by side."""


@releases_group.command("list")
@library_option
@click.option("--from", "low", help="Oldest release to show.")
@click.option("--to", "high", help="Newest release to show.")
@pre_option
@json_option
@guarded
def list_command(library: str, low: str | None, high: str | None, pre: bool, as_json: bool) -> None:
    """The releases of a library that can be measured here, in PEP 440 order."""
    from .envs import distribution_name, release_env

    library = distribution_name(library)
    listing, versions = resolve_range(library, low, high, pre, strict=False)
    if as_json:
        data = listing.as_dict()
        data["releases"] = versions
        data["cached"] = [v for v in versions if release_env(library, v).is_built]
        click.echo(json.dumps(data, indent=2))
        return
    for version in versions:
        cached = " (environment cached)" if release_env(library, version).is_built else ""
        click.echo(f"{version}{cached}")
    _echo_listing_notes(listing, versions)
    click.echo(f"{len(versions)} releases of {library}", err=True)


@releases_group.command("sweep")
@library_option
@click.option("--from", "low", required=True, help="Oldest release to measure.")
@click.option("--to", "high", required=True, help="Newest release to measure.")
@click.option("--strategies", default=None,
              help="Comma-separated strategy names [SQLAlchemy, psycopg2: "
                   f"{','.join(DEFAULT_SWEEP_STRATEGIES)}; psycopg, asyncpg: the strategies that use it].")
@sweep_rows_option
@click.option("--samples", type=click.IntRange(0), default=3, show_default=True,
              help="Timed inserts per strategy and release, after one under cProfile (0: statements and calls only).")
@click.option("--results-dir", type=click.Path(path_type=Path), default=None,
              help="asv results directory (default: the suite's, .asv/results).")
@click.option("--allow-dirty", is_flag=True,
              help="Measure a checkout with uncommitted changes; its results are stored on the machine "
                   "'<machine>-releases-dirty', apart from every clean figure.")
@click.option("--build-jobs", type=click.IntRange(1), default=None,
              help="Environments built at once, all before the first timed insert [default: one per allowed CPU, "
                   "fewer when free disk is short].")
@click.option("--start-ahead/--no-start-ahead", default=True, show_default=True,
              help="Start the next release's measuring process (its imports) on a CPU the measurement does not "
                   "use while one release measures.")
@click.option("--metric", "extra_metrics", type=click.Choice(["instructions"]), multiple=True,
              help="Also measure this metric (instructions: client instructions, one more process per release "
                   "under valgrind).")
@pre_option
@json_option
@release_driver_option
@strategies_from_option
@source_option
@cext_option
@guarded
def sweep_command(library: str, low: str, high: str, strategies: str | None, rows: int, samples: int,
                  results_dir: Path | None, allow_dirty: bool, build_jobs: int | None, start_ahead: bool,
                  extra_metrics: tuple[str, ...], pre: bool, as_json: bool, driver: str | None,
                  source: str | None = None, cext: bool = False) -> None:
    """Measure strategies on every release from --from to --to; store asv results (their own machine).

    With --source: every commit (statements only), filed in the commit figures file.
    """
    if source is not None:
        from .commitcli import sweep_from_source

        names = sweep_strategy_names(library, strategies)
        check_driver(names, driver)
        if not sweep_from_source(source, library, low, high, names, rows=rows, cext=cext, as_json=as_json,
                                 driver=driver):
            sys.exit(1)
        return
    from .envs import distribution_name
    from .sweep import DEFAULT_RESULTS_DIR, refuse_dirty, sweep

    refuse_dirty(allow_dirty)
    library = distribution_name(library)
    names = sweep_strategy_names(library, strategies)
    check_driver(names, driver)  # unknown names, or a driver one lacks, fail before anything is built
    listing, versions = resolve_range(library, low, high, pre, strict=False)
    if not versions:
        raise LookupError(f"no release of {library} from {low} to {high} can be measured here")
    _echo_listing_notes(listing, versions)
    per_release = len(names) * (samples + 1)
    with progress_display(len(versions) * per_release, f"{library} sweep") as update:
        steps = {"done": 0}

        def tell(version: str, index: int, total: int, what: str) -> None:
            if what.startswith(tuple(names)):
                steps["done"] += 1
            update(steps["done"], f"{library} {version} ({index + 1}/{total}): {what}")

        result = sweep(library, versions, names, rows=rows, samples=samples,
                       results_dir=results_dir or DEFAULT_RESULTS_DIR, progress=tell, allow_dirty=allow_dirty,
                       driver=driver, build_jobs=build_jobs, start_ahead=start_ahead,
                       instructions="instructions" in extra_metrics)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        print_sweep(result, names)
    if not result.releases:
        sys.exit(1)


@releases_group.command("bisect")
@click.argument("strategy")
@library_option
@click.option("--from", "low", required=True, help="OLD: the release (or, with --source, ref) of the reference.")
@click.option("--to", "high", required=True, help="NEW: the newest release (or, with --source, ref) to search.")
@click.option("--metric", type=click.Choice(["statements", "calls", "instructions", "time", "cpu"]),
              default="statements",
              show_default=True)
@rows_option
@rounds_option
@with_option
@pre_option
@json_option
@release_driver_option
@strategies_from_option
@source_option
@cext_option
@guarded
def bisect_command(strategy: str, library: str, low: str, high: str, metric: str, rows: int, rounds: int,
                   held: tuple[str, ...], pre: bool, as_json: bool, driver: str | None, source: str | None = None,
                   cext: bool = False) -> None:
    """Find the first release in (--from, --to] whose figure differs from --from's (with --source: the commit)."""
    if source is not None:
        from .commitcli import bisect_from_source

        check_driver([strategy], driver)
        if held:
            raise ValueError("--with: the commit axis pins the matrix's newest environment only")
        return bisect_from_source(source, library, strategy, low, high, metric=metric, rows=rows, rounds=rounds,
                                  cext=cext, as_json=as_json, driver=driver)
    from .bisection import SEVERAL_CHANGES_HINT, bisect_releases
    from .envs import distribution_name, parse_held, release_env
    from .findings import record

    library = distribution_name(library)
    check_driver([strategy], driver)
    pinned = parse_held(held)
    _, versions = resolve_range(library, low, high, pre)
    if len(versions) < 2:
        raise ValueError("--from must be older than --to")
    bound = math.ceil(math.log2(len(versions))) + 2
    with progress_display(bound, f"bisect {strategy}") as update:
        seen: list[str] = []

        def tell(version: str, what: str) -> None:
            if version not in seen:
                seen.append(version)
            update(len(seen), f"{library} {version}: {what}")

        result = bisect_releases(library, versions, strategy, metric=metric, rows=rows, rounds=rounds,
                                 held=pinned, driver=driver, progress=tell)
    data = result.as_dict()
    data["context"] = release_env(library, versions[0], held=pinned).context()
    record({"kind": "bisect", **_dirty_mark(), **driver_mark(driver), **{k: data[k] for k in (
        "strategy", "library", "metric", "rows", "first_changed", "last_unchanged", "values", "notes_url",
        "verdict", "ratio", "ratio_against", "ratio_ci", "p_value", "skipped", "untested_between", "context",
        "environments_built", "environments_used", "from", "to")}})
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for version, value in data["values"].items():
        click.echo(f"  {version}: {value}")
    if result.first_changed:
        before, after = data["values"].get(result.last_unchanged), data["values"].get(result.first_changed)
        click.echo(f"{strategy} {metric} first changed in {library} {result.first_changed} "
                   f"({before} in {result.last_unchanged} -> {after})")
        if data["p_value"] is not None:
            low_ci, high_ci = data["ratio_ci"]
            click.echo(f"  tested side by side with {low}: {data['verdict']} x{data['ratio']:.3f} "
                       f"(interval {low_ci:.3f}-{high_ci:.3f}, p={data['p_value']:.3g})")
        click.echo(f"release notes: {data['notes_url'] or 'no known link'}")
        click.echo(SEVERAL_CHANGES_HINT)
    else:
        click.echo(f"{strategy} {metric}: no change from {low} to {high}")
    for version, reason in result.skipped.items():
        click.echo(f"skipped {version}: {reason}")
    if result.untested_between:
        click.echo(f"the change may be in a skipped release: {', '.join(result.untested_between)}")
    click.echo(f"environments: {result.environments_used} used (bound {result.bound}), "
               f"{result.environments_built} built now; {len(versions)} releases in range")


@releases_group.command("compare")
@click.argument("strategy")
@click.argument("old")
@click.argument("new")
@library_option
@click.option("--metric", type=click.Choice(["time", "cpu", "statements", "calls", "instructions"]), default="time",
              show_default=True)
@rounds_option
@rows_option
@with_option
@click.option("--workload", type=click.Choice(["users", "populated", "wide"]), default=None,
              help="Insert this workload's rows (a finding's workload) [default: the strategy's own, else users].")
@click.option("--plant-slowdown", type=click.FloatRange(1.0), default=None, hidden=True,
              help="Test hook: NEW's inserts of STRATEGY take this factor longer.")
@pre_option
@json_option
@release_driver_option
@strategies_from_option
@source_option
@cext_option
@guarded
def compare_command(strategy: str, old: str, new: str, library: str, metric: str, rounds: int, rows: int,
                    held: tuple[str, ...], workload: str | None, plant_slowdown: float | None, pre: bool,
                    as_json: bool, driver: str | None, source: str | None = None, cext: bool = False) -> None:
    """Measure STRATEGY on releases OLD and NEW side by side, interleaved; verdict on NEW (with --source: commits)."""
    if source is not None:
        from .commitcli import compare_from_source

        check_driver([strategy], driver)
        if held:
            raise ValueError("--with: the commit axis pins the matrix's newest environment only")
        if workload is not None:
            raise ValueError("--workload: the commit axis measures the users workload only")
        return compare_from_source(source, library, strategy, old, new, metric=metric, rows=rows, rounds=rounds,
                                   cext=cext, as_json=as_json, driver=driver,
                                   plant=f"{strategy}:{plant_slowdown}" if plant_slowdown else None)
    from .envs import build, distribution_name, parse_held, release_env
    from .findings import notes_url, record
    from .sidebyside import measure_side_by_side

    library = distribution_name(library)
    check_driver([strategy], driver)
    if workload is not None:  # a strategy without a path for the workload says so before anything is built
        from ..cli.driver_options import on_driver
        from ..data.workloads import get as get_workload
        from ..measure.runner import refuse

        refuse(on_driver(registry.get(strategy), driver), get_workload(workload).rows(min(rows, 100)))
    pinned = parse_held(held)
    resolve_range(library, old, old, pre)
    resolve_range(library, new, new, pre)
    old_env, new_env = release_env(library, old, held=pinned), release_env(library, new, held=pinned)
    with progress_display(rounds, f"compare {strategy}") as update:
        update(0, f"{library} {old}: environment")
        build(old_env)
        update(0, f"{library} {new}: environment")
        build(new_env)
        plant = f"{strategy}:{plant_slowdown}" if plant_slowdown else None
        outcome = measure_side_by_side(
            old_env, new_env, strategy, metric=metric, rounds=rounds, rows=rows, plant_new=plant, driver=driver,
            workload=workload, step=lambda done, total: update(done, f"{old} vs {new}: round {done + 1}/{total}"),
        )
    data = {"strategy": strategy, "driver": driver, **({"workload": workload} if workload else {}),
            "library": library, "old": old, "new": new, "rows": rows,
            "rounds": len(outcome.old_samples), **outcome.as_dict(), "notes_url": notes_url(library, new),
            "context": new_env.context()}
    if plant:
        data["planted_slowdown"] = plant_slowdown
    kept = {k: v for k, v in data.items() if k not in ("old_samples", "new_samples", "driver")}
    finding = {"kind": "compare", **_dirty_mark(), **driver_mark(driver), **kept,
               "values": {f"old:{old}": outcome.old_samples, f"new:{new}": outcome.new_samples}}
    if not plant:
        record(finding)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    if "p_value" in data:
        low, high = data["ratio_ci"]
        click.echo(f"{strategy} {metric}, {library} {new} vs {old}: {outcome.verdict} "
                   f"(x{data['ratio']:.3f}, interval {low:.3f}-{high:.3f}, p={data['p_value']:.3g}; {data['reason']})")
        medians = data["old_summary"]["median"], data["new_summary"]["median"]
        click.echo(f"  {old}: median {medians[0]:.6g}  {new}: median {medians[1]:.6g} "
                   f"({len(outcome.old_samples)} rounds each, order alternating; paired test)")
        if data["context"]:
            click.echo(f"  with {', '.join(f'{k} {v}' for k, v in data['context'].items())}")
    else:
        click.echo(f"{strategy} {metric}, {library} {new} vs {old}: {outcome.verdict} "
                   f"({data['old_value']:g} -> {data['new_value']:g})")
    if outcome.changed and data["notes_url"]:
        click.echo(f"release notes: {data['notes_url']}")


@releases_group.command("envs")
@json_option
def envs_command(as_json: bool) -> None:
    """The cached release environments (under .asv/release-envs)."""
    from .envs import cached_envs, env_root

    found = cached_envs()
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for env in found:
        pins = " ".join(f"{k}=={v}" for k, v in env.get("requirements", {}).items())
        click.echo(f"{Path(env['path']).name}: {pins}")
    click.echo(f"{len(found)} environments in {env_root()}", err=True)


releases_group.add_command(watch_command)
