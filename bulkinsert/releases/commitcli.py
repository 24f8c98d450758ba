"""``releases bisect --source``: the commit axis of the bisect command, and its report.

Kept apart from :mod:`.cli` so that module only adds the options and hands over; the search is
:mod:`.commitbisect`, the builds :mod:`.commits`, the repository :mod:`.source`.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

import click

from .console import progress_display

source_option = click.option(
    "--source", default=None, metavar="PATH_OR_URL",
    help="The library's git repository (a local clone, or a URL cloned into the cache): --from/--to are then "
         "refs (tag, branch, SHA) whose commits are searched, or releases (2.0.47) searched by their tags and "
         "then into the commits between them.")
cext_option = click.option(
    "--cext/--pure", default=False, show_default=True,
    help="With --source: build every commit with C extensions (required to build), or pure Python (counts are "
         "the same; timings are of the pure-Python library, not of the wheels users install).")


def bisect_from_source(source_location: str, library: str, strategy: str, low: str, high: str, *, metric: str,
                       rows: int, rounds: int, cext: bool, as_json: bool, driver: str | None) -> None:
    """Bisect commits (refs as bounds) or releases then commits (release bounds); print and record it."""
    from .commitbisect import bisect_commits, bisect_release_then_commits, looks_like_releases
    from .findings import record
    from .source import Source, recipe_for

    source = Source(source_location, recipe_for(library))
    with progress_display(0, f"bisect {strategy} by commit") as update:

        def tell(label: str, what: str) -> None:
            update(0, f"{source.recipe.library} {label}: {what}")

        if looks_like_releases(source, (low, high)):
            both = bisect_release_then_commits(source, low, high, strategy, metric=metric, rows=rows, rounds=rounds,
                                               cext=cext, driver=driver, tell=tell)
            stages = [("release", both.releases), ("commit", both.commits)]
        else:
            stages = [("commit", bisect_commits(source, low, high, strategy, metric=metric, rows=rows,
                                                rounds=rounds, cext=cext, driver=driver, tell=tell))]
    data: dict[str, Any] = {"source": source_location, "library": source.recipe.library,
                            **{kind: found.as_dict() if found else None for kind, found in stages}}
    answer = stages[-1][1]
    if answer is not None:
        _record(record, answer, source_location, driver)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for kind, found in stages:
        if found is not None:
            _print_stage(kind, found, strategy, metric)


def _record(record: Any, found: Any, source: str, driver: str | None) -> None:
    data = found.as_dict()
    commit = data["first_changed_commit"]
    record({"kind": "bisect", "axis": "commit", "source": source, "cext": found.cext,
            **({"driver": driver} if driver else {}),
            **({"commit_subject": commit["subject"], "commit_url": commit["url"], "fixes": commit["fixes"],
                "tickets": commit["tickets"], "changelog": commit["changelog"]} if commit else {}),
            **{k: data[k] for k in ("strategy", "library", "metric", "rows", "first_changed", "last_unchanged",
                                    "values", "verdict", "ratio", "ratio_against", "ratio_ci", "p_value", "skipped",
                                    "untested_between", "environments_built", "environments_used", "from", "to")}})


def _print_stage(kind: str, found: Any, strategy: str, metric: str) -> None:
    result = found.bisect
    values = {label: f"{v:.6g}" if isinstance(v := result.values[label], float) else v
              for label in result.releases if label in result.values}
    for label, value in values.items():
        click.echo(f"  {kind} {label}: {value}")
    if result.first_changed is None:
        click.echo(f"{kind}: {strategy} {metric}: no change from {result.releases[0]} to {result.releases[-1]}")
    else:
        before, after = values.get(result.last_unchanged), values.get(result.first_changed)
        commit = found.commits.get(found.labels[result.first_changed])
        if kind == "release":
            click.echo(f"release: {strategy} {metric} first changed in {result.library} {result.first_changed} "
                       f"({before} in {result.last_unchanged} -> {after}; built from tag commit "
                       f"{commit.short if commit else '?'})")
        else:
            name = commit.short if commit else result.first_changed
            click.echo(f"commit: {strategy} {metric} first changed in {name}"
                       f" ({before} in {result.last_unchanged} -> {after}): {result.verdict}")
        step = next((s for s in result.steps if s["release"] == result.first_changed), {})
        if "p_value" in step:
            low_ci, high_ci = step["ratio_ci"]
            click.echo(f"  tested side by side with {result.releases[0]}: {step['verdict']} x{step['ratio']:.3f} "
                       f"(interval {low_ci:.3f}-{high_ci:.3f}, p={step['p_value']:.3g})")
        if kind == "commit" and commit is not None:
            click.echo(f"  {commit.sha} {commit.subject}")
            click.echo(f"  date {commit.date}")
            for line, ticket in zip(commit.fixes, commit.tickets or [None] * len(commit.fixes), strict=False):
                click.echo(f"  Fixes: {line}" + (f"  {ticket}" if ticket else ""))
            if commit.url:
                click.echo(f"  {commit.url}")
            for path, text in commit.fragments:
                click.echo(f"  changelog {path}:")
                click.echo(textwrap.indent(text, "    "))
            if not commit.fragments:
                click.echo("  changelog: the commit adds or changes no changelog fragment")
    for label, reason in result.skipped.items():
        commit = found.commits.get(found.labels[label])
        click.echo(f"skipped {kind} {label}{' ' + commit.subject if commit else ''}: {reason}")
    if result.untested_between:
        click.echo(f"the change may be in a skipped {kind}: {', '.join(result.untested_between)}")
    built = found.built_seconds
    per = f", {sum(built.values()) / len(built):.1f} s per build" if built else ""
    click.echo(f"{kind} search: {result.environments_used} environments used (bound {result.bound}), "
               f"{len(built)} built now{per}; {'C extensions' if found.cext else 'pure Python'}; "
               f"{len(result.releases)} {kind}s in range; {found.seconds:.1f} s")


def compare_from_source(source_location: str, library: str, strategy: str, old: str, new: str, *, metric: str,
                        rows: int, rounds: int, cext: bool, as_json: bool, driver: str | None,
                        plant: str | None) -> None:
    """Two commits (or tagged releases) of a source side by side, as ``releases compare`` does releases."""
    from .commitbisect import CommitMeasurer, looks_like_releases
    from .findings import record
    from .sidebyside import measure_side_by_side
    from .source import Source, recipe_for

    source = Source(source_location, recipe_for(library))
    if looks_like_releases(source, (old, new)):
        tags = source.release_tags()
        for version in (old, new):
            if version not in tags:
                raise LookupError(f"{source.recipe.library} {version}: no tag {source.recipe.tag_of(version)} in "
                                  f"{source_location}")
        old_sha, new_sha = source.resolve(tags[old]), source.resolve(tags[new])
    else:
        old_sha, new_sha = source.resolve(old, "OLD"), source.resolve(new, "NEW")
    with progress_display(rounds, f"compare {strategy} by commit") as update:
        measurer = CommitMeasurer(source, strategy=strategy, metric=metric, rows=rows, rounds=rounds, cext=cext,
                                  driver=driver, tell=lambda label, what: update(0, f"{label}: {what}"))
        measurer.labels = {old_sha[:10]: old_sha, new_sha[:10]: new_sha}
        measurer.prepare(list(measurer.labels))
        old_env, new_env = measurer.env(old_sha, old_sha[:10]), measurer.env(new_sha, new_sha[:10])
        outcome = measure_side_by_side(old_env, new_env, strategy, metric=metric, rounds=rounds, rows=rows,
                                       plant_new=plant, driver=driver,
                                       step=lambda done, total: update(done, f"round {done + 1}/{total}"))
    commits = source.describe([old_sha, new_sha])
    data = {"strategy": strategy, "library": source.recipe.library, "source": source_location, "old": old_sha[:10],
            "new": new_sha[:10], "rows": rows, "cext": cext, "rounds": len(outcome.old_samples), **outcome.as_dict(),
            "old_commit": commits[old_sha].as_dict(), "new_commit": commits[new_sha].as_dict()}
    if not plant:
        kept = {k: v for k, v in data.items() if k not in ("old_samples", "new_samples", "old_commit", "new_commit")}
        record({"kind": "compare", "axis": "commit", **kept, "notes_url": commits[new_sha].url,
                **({"driver": driver} if driver else {}),
                "values": {f"old:{old_sha[:10]}": outcome.old_samples, f"new:{new_sha[:10]}": outcome.new_samples}})
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    head = f"{strategy} {metric}, {source.recipe.library} {new_sha[:10]} vs {old_sha[:10]}: {outcome.verdict}"
    if "p_value" in data:
        low, high = data["ratio_ci"]
        click.echo(f"{head} (x{data['ratio']:.3f}, interval {low:.3f}-{high:.3f}, p={data['p_value']:.3g}; "
                   f"{data['reason']})")
    else:
        click.echo(f"{head} ({data['old_value']:g} -> {data['new_value']:g})")
    for sha in (old_sha, new_sha):
        link = f" {commits[sha].url}" if commits[sha].url else ""
        click.echo(f"  {sha[:10]} {commits[sha].subject} ({commits[sha].date}){link}")
    click.echo(f"  {'C-extension' if cext else 'pure-Python'} builds")


def sweep_from_source(source_location: str, library: str, low: str, high: str, strategies: list[str], *, rows: int,
                      cext: bool, as_json: bool, driver: str | None) -> bool:
    """Every commit on --to's first-parent line after --from (or every tagged release in range): statements.

    The figures go to the commit figures file (the releases page's "By commit" section), under the
    branch name "--from..--to". True when at least one commit was measured.
    """
    from .commitbisect import CommitMeasurer, looks_like_releases
    from .commitwatch import append_figures, figure_records, measure_commit
    from .source import Source, recipe_for

    source = Source(source_location, recipe_for(library))
    if looks_like_releases(source, (low, high)):
        tags = source.release_tags()
        points = {v: source.resolve(tags[v]) for v in source.releases_between(low, high)}
    else:
        points = {sha[:10]: sha for sha in source.first_parent(low, high)}
    measured: dict[str, dict[str, Any]] = {}
    with progress_display(len(points), f"{source.recipe.library} commits") as update:
        measurer = CommitMeasurer(source, strategy=strategies[0], metric="statements", rows=rows, rounds=2, cext=cext,
                                  driver=driver, tell=lambda label, what: update(len(measured), f"{label}: {what}"))
        records = []
        for label, sha in points.items():
            measured[label] = measure_commit(measurer, sha, strategies)
            records += figure_records(source, source.recipe.library, f"{low}..{high}", sha, measured[label],
                                       "statements", rows, cext)
        append_figures(records)
    if as_json:
        click.echo(json.dumps({"library": source.recipe.library, "source": source_location, "cext": cext,
                               "rows": rows, "metric": "statements", "values": measured}, indent=2))
    else:
        previous: dict[str, Any] = {}
        for label, values in measured.items():
            marks = []
            for name in strategies:
                value = values.get(name)
                moved = name in previous and isinstance(value, int) and value != previous[name]
                marks.append(f"{name} {value}{' (changed)' if moved else ''}")
                if isinstance(value, int):
                    previous[name] = value
            click.echo(f"{label}: {', '.join(marks)}")
    return any(isinstance(v, int) for values in measured.values() for v in values.values())
