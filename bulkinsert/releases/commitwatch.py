"""``releases watch --source … --branch main``: a library's branch, measured commit by commit.

Each run measures the commits on the branch's first-parent line since the newest one already
measured (every commit, or every Nth with ``--every N`` and a bisection between two measured
commits whose figures differ), judges each against the one before it by the count rule, and
records a finding naming the commit that changed a figure. A change is confirmed when the
bisection (or, for adjacent commits, a second measurement of both) repeats both figures: counts
are deterministic, but a claim still rests on two measurements.

The state is the commit figures file (``.asv/releases/commit-figures.jsonl``, one line per commit
and strategy: its value, or why it was not measured). It is also what the releases page draws as
figures by commit. The first run measures the branch's head and its parent only.

Counted metrics only (statements, calls): a timing between two commits is a side-by-side
question for ``releases bisect --source … --metric time`` on one machine, not for a scheduled
job on a shared runner.
"""

from __future__ import annotations

import datetime
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from ..analysis.metrics import count_verdict, figure_driver
from .bisection import SKIPPED_FAILURES
from .commitbisect import CommitMeasurer, search_points
from .commits import CommitBuildError
from .envs import env_root
from .sidebyside import COUNTED
from .source import Source
from .workers import Unmeasurable, Worker

FIGURES_VARIABLE = "BULKINSERT_COMMIT_FIGURES"

_SOURCE_OPTIONS = [
    click.option("--source", default=None, metavar="PATH_OR_URL",
                 help="Watch a library's git branch instead of its releases (with --branch; the first --library)."),
    click.option("--branch", default="main", show_default=True, help="With --source: the branch to watch."),
    click.option("--every", type=click.IntRange(1), default=1, show_default=True,
                 help="With --source: measure every Nth new commit (and the newest); a change between two "
                      "measured commits is bisected."),
    click.option("--cext/--pure", "cext", default=False, show_default=True,
                 help="With --source: build commits with C extensions, or pure Python."),
    click.option("--metric", "watch_metric", type=click.Choice(sorted(COUNTED)), default="statements",
                 show_default=True, help="With --source: the counted figure watched."),
]


def watch_source_options(command: Any) -> Any:
    """The ``--source`` options of ``releases watch``."""
    for option in reversed(_SOURCE_OPTIONS):
        command = option(command)
    return command


def figures_path() -> Path:
    return Path(os.environ.get(FIGURES_VARIABLE) or env_root().parent / "releases" / "commit-figures.jsonl")


def read_figures(path: Path | None = None) -> list[dict[str, Any]]:
    """Every recorded commit figure, oldest first (unreadable lines are passed over)."""
    try:
        lines = (path or figures_path()).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("sha"):
            found.append(data)
    return found


def append_figures(records: Sequence[dict[str, Any]]) -> None:
    path = figures_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        for item in records:
            handle.write(json.dumps(item, sort_keys=True) + "\n")


@dataclass
class BranchWatch:
    library: str
    branch: str
    head: str
    base: str | None  # the newest commit measured before this run (None on a first run: the head's parent)
    new_commits: list[str]  # first-parent commits after base, oldest first
    measured: dict[str, dict[str, Any]] = field(default_factory=dict)  # sha -> strategy -> value (or "error: …")
    findings: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failing(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if f["confirmed"] and f["verdict"] == "regression"]

    def as_dict(self) -> dict[str, Any]:
        return {"library": self.library, "branch": self.branch, "head": self.head, "base": self.base,
                "new_commits": [{"sha": s, "measured": s in self.measured, "values": self.measured.get(s)}
                                for s in self.new_commits],
                "findings": self.findings, "seconds": round(self.seconds, 1)}


def _key(item: dict[str, Any], library: str, metric: str, rows: int, cext: bool) -> bool:
    return (item.get("library") == library and item.get("metric") == metric and item.get("rows") == rows
            and bool(item.get("cext")) == cext)


def watch_branch(source: Source, branch: str, strategies: Sequence[str], *, metric: str = "statements",
                 rows: int, every: int = 1, cext: bool = False, driver: str | None = None,
                 tell: Callable[[str], None] | None = None) -> BranchWatch:
    """Measure the branch's new commits; a finding for every commit that changed a watched figure."""
    started = time.monotonic()
    say = tell or (lambda _text: None)
    library = source.recipe.library
    head = source.resolve(branch, "--branch")
    line = (source._git("rev-list", "--first-parent", "--max-count=5000", head) or "").split()  # newest first
    figures = [f for f in read_figures() if _key(f, library, metric, rows, cext) and f.get("strategy") in strategies]
    done: dict[str, dict[str, Any]] = {}
    for item in figures:
        done.setdefault(item["sha"], {})[item["strategy"]] = item.get("value", f"error: {item.get('error')}")
    base = next((sha for sha in line if set(strategies) <= set(done.get(sha, {}))), None)
    if base is None:
        base, new = (line[1] if len(line) > 1 else None), [head]
        first_run = True
    else:
        new = list(reversed(line[:line.index(base)]))
        first_run = False
    result = BranchWatch(library, branch, head, base, new)
    if not new:
        result.seconds = time.monotonic() - started
        return result
    measurer = CommitMeasurer(source, strategy=strategies[0], metric=metric, rows=rows, rounds=2, cext=cext,
                              driver=driver, tell=lambda label, what: say(f"{library} {label}: {what}"))
    points = new[every - 1::every]
    if new[-1] not in points:
        points.append(new[-1])
    if first_run and base is not None:
        points.insert(0, base)
    records: list[dict[str, Any]] = []
    for sha in points:
        result.measured[sha] = measure_commit(measurer, sha, strategies)
        records += figure_records(source, library, branch, sha, result.measured[sha], metric, rows, cext)
    values = {**done, **result.measured}
    previous = base
    for sha in [p for p in points if p != base]:
        if previous is not None:
            for strategy in strategies:
                found = _judge(source, measurer, values, previous, sha, strategy, metric, rows, every)
                if found:
                    result.findings.append(found)
        if all(isinstance(values[sha].get(s), (int, float)) for s in strategies):
            previous = sha
    append_figures(records)
    result.seconds = time.monotonic() - started
    return result


def measure_commit(measurer: CommitMeasurer, sha: str, strategies: Sequence[str]) -> dict[str, Any]:
    """Every strategy's figure in one process of the commit's environment (or why there is none)."""
    try:
        env = measurer.env(sha, sha[:10])
        values: dict[str, Any] = {}
        with Worker(env) as worker:
            for strategy in strategies:
                try:
                    answer = worker.measure(strategy, measurer.rows, calls=measurer.metric == "calls",
                                            driver=measurer.driver)
                    values[strategy] = answer[COUNTED[measurer.metric]]
                except Unmeasurable as exc:
                    values[strategy] = f"unsupported: {exc}"
        return values
    except SKIPPED_FAILURES as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return {s: f"error: {reason}" for s in strategies}


def figure_records(source: Source, library: str, branch: str, sha: str, values: dict[str, Any], metric: str,
                    rows: int, cext: bool) -> list[dict[str, Any]]:
    commit = source.commit(sha)
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    common = {"library": library, "branch": branch, "sha": sha, "subject": commit.subject, "date": commit.date,
              "url": commit.url, "metric": metric, "rows": rows, "cext": cext, "measured_at": now}
    out = []
    for strategy, value in values.items():
        if isinstance(value, str) and value.startswith("error: "):
            out.append({**common, "strategy": strategy, "error": value[len("error: "):]})
        else:
            out.append({**common, "strategy": strategy, "value": value})
    return out


def _judge(source: Source, measurer: CommitMeasurer, values: dict[str, dict[str, Any]], previous: str, sha: str,
           strategy: str, metric: str, rows: int, every: int) -> dict[str, Any] | None:
    """A finding when ``sha``'s figure differs from ``previous``'s; bisected when commits lie between."""
    old, new = values[previous].get(strategy), values[sha].get(strategy)
    if not all(isinstance(v, (int, float)) for v in (old, new)):
        return None
    if count_verdict(metric, old, new, rows, figure_driver(strategy)).verdict == "same":
        return None
    measurer.strategy = strategy
    labels = {s[:10]: s for s in source.first_parent(previous, sha)}
    try:
        search = search_points(measurer, labels, kind="commit")  # measures both ends again: the repeat
    except (CommitBuildError, *SKIPPED_FAILURES) as exc:
        raise CommitBuildError(f"{strategy}: bisecting {previous[:10]}..{sha[:10]}: {exc}") from None
    bisect = search.bisect
    repeated = bisect.values.get(previous[:10]) == old and bisect.values.get(sha[:10]) == new
    first, last = bisect.first_changed, bisect.last_unchanged
    if first is None:
        return None
    commit = search.commits[labels[first]]
    before, after = bisect.values.get(last), bisect.values.get(first)
    verdict = count_verdict(metric, before, after, rows, figure_driver(strategy)).verdict
    confirmed = repeated and verdict != "same"
    data = {"library": source.recipe.library, "strategy": strategy, "metric": metric, "rows": rows,
            "old": last, "new": first, "old_value": before, "new_value": after, "unit": metric,
            "ratio": after / before if before else None, "change": verdict, "confirmed": confirmed,
            "verdict": ("regression" if verdict == "more" else "improvement") if confirmed else "unconfirmed",
            "reason": (f"deterministic: {before} -> {after} in commit {first} ({commit.subject}); "
                       f"{'measured twice' if repeated else 'not repeated'}"
                       + (f"; bisected {len(labels)} commits" if len(labels) > 2 else "")),
            "axis": "commit", "commit": commit.as_dict(), "notes_url": commit.url, "cext": measurer.cext,
            "skipped": bisect.skipped, "every": every}
    from .findings import record

    record({"kind": "watch", **{k: data[k] for k in ("library", "strategy", "metric", "rows", "old", "new", "ratio",
                                                      "confirmed", "change", "reason", "axis", "cext")},
            "verdict": verdict if confirmed else "same", "watch_verdict": data["verdict"], "notes_url": commit.url,
            "commit_subject": commit.subject, "tickets": list(commit.tickets),
            "values": {f"old:{last}": before, f"new:{first}": after}})
    return data


def watch_source(options: dict[str, Any]) -> bool:
    """The command's run for ``--source``; True when it confirmed a regression."""
    from ..registry import get
    from .drivers import check_driver
    from .source import recipe_for
    from .watch import strategies_for

    started = time.monotonic()
    library = (options.get("libraries") or ("SQLAlchemy",))[0]
    recipe = recipe_for(library)
    chosen = [s.strip() for s in options["strategies"].split(",") if s.strip()] if options.get("strategies") else None
    for name in chosen or ():
        get(name)
    strategies = strategies_for(recipe.library, chosen)
    check_driver(strategies, options.get("driver"))
    source = Source(options["source"], recipe)
    result = watch_branch(source, options["branch"], strategies, metric=options["watch_metric"], rows=options["rows"],
                          every=options["every"], cext=options["cext"], driver=options.get("driver"),
                          tell=lambda text: click.echo(text, err=True))
    if options.get("as_json"):
        click.echo(json.dumps(result.as_dict(), indent=2))
    if not result.new_commits:
        click.echo(f"nothing new: {recipe.library} {options['branch']} is at {result.head[:10]}, measured; "
                   f"checked in {time.monotonic() - started:.1f} s", err=bool(options.get("as_json")))
        return False
    if not options.get("as_json"):
        for sha in result.new_commits:
            values = result.measured.get(sha)
            shown = ", ".join(f"{k} {v}" for k, v in values.items()) if values else "not measured (--every)"
            click.echo(f"{recipe.library} {sha[:10]}: {shown}")
        for f in result.findings:
            click.echo(f"{'confirmed' if f['confirmed'] else 'unconfirmed'} {f['verdict']}: {f['library']} "
                       f"{f['old']} -> {f['new']} {f['strategy']} {f['metric']} {f['old_value']} -> {f['new_value']}: "
                       f"{f['commit']['subject']} {f['commit']['url'] or ''}")
    click.echo(f"watched {len(result.new_commits)} new commits in {result.seconds:.0f} s", err=True)
    return bool(result.failing)
