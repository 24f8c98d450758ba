"""``bulkinsert compare``: the figures of one asv run across library releases, and what changed.

asv compares commits of this project; its graphs cannot put a dependency's version on the
x-axis (asv issues #370 and #1394). Here the environments of one run *are* the versions: this
command prints one table per benchmark (a column per environment, the median with its spread)
and then the findings of :mod:`bulkinsert.analysis.verdicts`, grouped per path, confirmed first.
With ``--baseline`` it compares each environment with the same environment of another run —
how the false-alarm rate is measured (docs/explanation/verdict-rules.md, "How often compare is wrong").

A path that works in the older release and fails or breaks in the newer one is a confirmed
regression (metric ``status``); its table cell reads ``✗failed``/``✗broken``.
Exit status: 0 without a confirmed regression (unconfirmed findings included), 1 with one,
2 when there are no results to compare.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from . import stats
from .metrics import STATUS, format_value
from .results import (
    DEFAULT_RESULTS_DIR,
    Figure,
    by_machine,
    environment_key,
    environment_order,
    load_figures,
    varying_libraries,
)
from .verdicts import DEFAULT_THRESHOLD, RUN, Comparison, Finding, judge_results

EXIT_REGRESSION = 1
EXIT_NO_RESULTS = 2


def spread(figure: Figure) -> float | None:
    """Half the interquartile range relative to the median: the ``±`` of a table cell."""
    if figure.value is None or figure.value <= 0:
        return None
    if figure.samples and len(figure.samples) > 1:
        summary = stats.SampleSummary.of(figure.samples)
        return (summary.q75 - summary.q25) / 2 / summary.median if summary.median > 0 else None
    if figure.iqr is not None and (figure.repeat or 0) > 1:
        return (figure.iqr[1] - figure.iqr[0]) / 2 / figure.value
    return None


def cell(figure: Figure | None) -> str:
    if figure is None:
        return "-"
    if figure.status in ("failed", "broken"):
        return f"✗{figure.status}"
    text = format_value(figure.value, figure.unit)
    width = spread(figure)
    if width is None:
        return text
    return f"{text} ±{width:.1%}" if width < 0.1 else f"{text} ±{width:.0%}"


def _params_text(params: tuple[tuple[str, str], ...]) -> str:
    return " ".join(f"{name}={value}" for name, value in params)


def _params_order(params: tuple[tuple[str, str], ...]) -> tuple:
    return tuple((name, int(value), "") if value.isdigit() else (name, 0, value) for name, value in params)


def render_tables(figures: Sequence[Figure], findings: Sequence[Finding]) -> str:
    """One table per machine and benchmark: a line per parameter combination, a column per environment.

    ``!`` marks a confirmed regression of the column's release, ``?`` an unconfirmed slow-down.
    """
    libraries = varying_libraries(figures)
    marks: dict[tuple, str] = {}
    for f in findings:
        if f.verdict == "regression" or (f.verdict == "unconfirmed" and f.change == "slower"):
            key = (f.machine, f.benchmark, tuple(f.params.items()), f.environment)
            marks[key] = "!" if f.verdict == "regression" or marks.get(key) == "!" else "?"
    out: list[str] = []
    for machine, group in by_machine(figures).items():
        by_benchmark: dict[str, list[Figure]] = {}
        for figure in group:
            by_benchmark.setdefault(figure.benchmark, []).append(figure)
        for benchmark, members in sorted(by_benchmark.items()):
            envs = sorted({f.requirements: f for f in members}.values(), key=lambda f: environment_order(f, libraries))
            labels = ["/".join(f.versions.get(lib, "-") for lib in libraries) or f.env_name for f in envs]
            cells: dict[tuple, dict[tuple, Figure]] = {}
            for figure in members:
                cells.setdefault(figure.params, {})[figure.requirements] = figure
            rows = []
            for params in sorted(cells, key=_params_order):
                texts = []
                for env in envs:
                    figure = cells[params].get(env.requirements)
                    mark = marks.get((machine, benchmark, params, environment_key(env, libraries)), "")
                    texts.append(mark + cell(figure))
                rows.append((_params_text(params), texts))
            first = max(len(text) for text, _ in rows)
            width = max(10, *(len(label) for label in labels), *(len(t) for _, texts in rows for t in texts))
            unit = members[0].unit or ""
            out.append(f"{benchmark}  [{unit}]  machine {machine}")
            out.append(" " * first + "  " + "  ".join(label.rjust(width) for label in labels))
            out.extend(text.ljust(first) + "  " + "  ".join(t.rjust(width) for t in texts) for text, texts in rows)
            out.append("")
    return "\n".join(out)


def _describe_metric(finding: Finding) -> str:
    if finding.metric == STATUS:
        return f"status {finding.old_status} -> {finding.new_status}: {finding.change} ({finding.reason})"
    if finding.metric in ("statements", "calls"):
        return f"{finding.metric} {finding.old_value:,.0f} -> {finding.new_value:,.0f}"
    text = (
        f"{finding.metric} {format_value(finding.old_value, finding.unit)} -> "
        f"{format_value(finding.new_value, finding.unit)} x{finding.ratio:.2f}"
    )
    if finding.p_value is not None and finding.ratio_ci is not None:
        text += f" (p={finding.p_value:.2g}, CI x{finding.ratio_ci[0]:.2f}-{finding.ratio_ci[1]:.2f})"
    return text


def _path_summary(group: Sequence[Finding]) -> str:
    verdicts = {f.verdict for f in group}
    if "regression" in verdicts:
        return "REGRESSION"
    if "changed" in verdicts:
        faster = any(f.metric == "time" and f.verdict == "improvement" for f in group)
        return "changed code path" + (" (faster)" if faster else "")
    if "improvement" in verdicts:
        return "improvement"
    slower = any(f.change == "slower" for f in group)
    return "unconfirmed " + ("slow-down" if slower else "speed-up")


def _held(context: dict[str, str], environment: tuple[tuple[str, str], ...]) -> str:
    """What a finding held equal: the other libraries, or (two runs compared) its environment."""
    return (", ".join(f"{k} {v}" for k, v in sorted(context.items()))
            or ", ".join(f"{k} {v}" for k, v in environment) or "same environment")


def _unconfirmed_block(head: str, group: Sequence[Finding]) -> str:
    """Two lines: which metrics were slower under which held-equal context, and the command to settle it."""
    slower = [f for f in group if f.change == "slower"]
    parts = []
    for f in slower:
        parts.append(f"{f.metric} x{f.ratio:.2f} with {_held(f.context, f.environment)}")
    why = "no samples" if all(f.p_value is None for f in slower) else "not reproduced in every replicate"
    lines = [f"{head}: {'; '.join(parts)} ({why})"]
    reruns = sorted({f.rerun for f in slower if f.rerun})
    lines.extend(f"      confirm side by side: {command}" for command in reruns)
    return "\n".join(lines)


def render_findings(comparison: Comparison, *, verbose: bool = False) -> str:
    """Findings per path and release step (contexts folded into one block), confirmed first.

    Unconfirmed slow-downs a rank test found (but a replicate did not reproduce) are listed
    with the command that settles them; those without any noise estimate (no samples, single
    measurements) are only counted unless ``verbose`` — listing hundreds of them taught users
    to ignore the list.
    """
    blocks: dict[tuple, list[Finding]] = {}
    for finding in comparison.findings:
        # Another driver or workload is a path of its own (its label names it): never folded into
        # the psycopg2 series' block.
        key = (finding.machine, finding.label or finding.strategy, finding.rows, finding.library,
               finding.old, finding.new)
        blocks.setdefault(key, []).append(finding)
    confirmed, unconfirmed = [], []
    quiet_speedups = untested = 0
    machines = {finding.machine for finding in comparison.findings}
    for (machine, label, rows, library, old, new), group in blocks.items():
        summary = _path_summary(group)
        if summary == "unconfirmed speed-up":
            quiet_speedups += 1
            continue
        where = f"  [{machine}]" if len(machines) > 1 else ""
        head = f"  {label} rows={rows}  {library} {old} -> {new}{where}: {summary}"
        if summary.startswith("unconfirmed"):
            if verbose or any(f.p_value is not None and f.change == "slower" for f in group):
                unconfirmed.append(_unconfirmed_block(head, group))
            else:
                untested += 1
            continue
        lines = [head]
        contexts: dict[tuple, list[Finding]] = {}
        for finding in group:
            contexts.setdefault((tuple(sorted(finding.context.items())), finding.environment), []).append(finding)
        for (context, environment), members in contexts.items():
            held = _held(dict(context), environment)
            parts = []
            for f in members:
                mark = "" if f.confirmed else "?"
                parts.append(mark + _describe_metric(f))
            lines.append(f"      with {held}: " + "; ".join(parts))
        confirmed.append("\n".join(lines))
    out = [f"Confirmed ({len(confirmed)} path step(s); exit status 1 only on a REGRESSION):", *confirmed]
    out.append(
        f"Unconfirmed slow-downs ({len(unconfirmed)} path step(s): noise not excluded; '?' marks the "
        "unconfirmed metric; exit status 0):"
    )
    out.extend(unconfirmed)
    if untested:
        out.append(
            f"({untested} more path step(s) slower beyond {comparison.threshold:.0%} without any noise estimate — "
            "no samples recorded, or single measurements — not listed: --verbose or --json)"
        )
    if quiet_speedups:
        out.append(f"({quiet_speedups} unconfirmed speed-up(s) not listed: --json has them)")
    out.append(step_summary(comparison))
    return "\n".join(out)


def step_summary(comparison: Comparison) -> str:
    """Per release step: confirmed and unconfirmed timing differences (where false alarms show)."""
    steps: dict[tuple[str, str, str], list[int]] = {}
    for f in comparison.findings:
        if f.metric in ("statements", "calls", STATUS):
            continue
        counts = steps.setdefault((f.library, f.old, f.new), [0, 0, 0])
        if f.verdict == "regression":
            counts[0] += 1
        elif f.confirmed:
            counts[1] += 1
        elif f.change == "slower":
            counts[2] += 1
    lines = ["Timing and memory findings per step (confirmed slower / confirmed faster / unconfirmed slower):"]
    for (library, old, new), (slower, faster, maybe) in steps.items():
        lines.append(f"  {library} {old} -> {new}: {slower} / {faster} / {maybe}")
    if comparison.skipped_commit_pairs:
        lines.append(
            f"{comparison.skipped_commit_pairs} environment pairs skipped: measured at different commits — re-run them"
        )
    return "\n".join(lines)


def _shown(pattern: str | None, strategies: Sequence[str], rows: Sequence[int]):
    """Whether a (benchmark, strategy, rows) is shown under ``--benchmark``, ``--strategy`` and ``--rows``.

    The filters choose what is *shown*, never what is judged: a verdict rests on replicates,
    controls and the path's other metrics, so every figure is judged first and the filters then
    pick findings and table rows (a filtered run gives its figures the full run's verdicts).
    """
    try:
        regex = re.compile(pattern) if pattern else None
    except re.error as exc:
        raise click.BadParameter(f"not a regular expression: {exc}", param_hint="--benchmark") from None
    wanted = set(strategies)

    def shown(benchmark: str, strategy: str | None, count: int | None) -> bool:
        name = (strategy or "").partition("+")[0]
        return ((regex is None or regex.search(benchmark) is not None)
                and (not wanted or strategy in wanted or name in wanted)
                and (not rows or count in rows))

    return shown


def _select(figures: list[Figure], shown) -> list[Figure]:
    return [f for f in figures if shown(f.benchmark, f.strategy, f.rows)]


def _load(path: Path, machine: str | None, commit: str | None) -> list[Figure]:
    try:
        return load_figures(path, machine=machine, commit=commit)
    except FileNotFoundError as exc:
        click.echo(f"error: {exc}; run `make bench` (or asv run) first", err=True)
        sys.exit(EXIT_NO_RESULTS)


@click.command(name="compare")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_RESULTS_DIR,
              show_default=True, help="asv results directory (one sub-directory per machine).")
@click.option("--baseline", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Another run's results directory: compare each environment with itself there.")
@click.option("--threshold", type=click.FloatRange(min=0), default=DEFAULT_THRESHOLD, show_default=True,
              help="List an unconfirmed difference only beyond this relative size.")
@click.option("--min-effect", type=click.FloatRange(min=0), default=stats.DEFAULT_MIN_EFFECT, show_default=True,
              help="Smallest timing change a rank test may confirm.")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=stats.DEFAULT_ALPHA,
              show_default=True, help="Significance level of the rank test.")
@click.option("--reruns", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Side-by-side re-runs that settle unconfirmed timings [default: .asv/releases/findings.jsonl].")
@click.option("--benchmark", "benchmark_pattern", default=None, help="Only benchmarks matching this regex.")
@click.option("--strategy", "strategies", multiple=True, help="Only these strategies (repeatable).")
@click.option("--rows", "rows", multiple=True, type=int, help="Only these row counts (repeatable).")
@click.option("--machine", default=None, help="Only this asv machine name.")
@click.option("--commit", default=None, help="Only results of this commit (hash prefix); default: newest.")
@click.option("--findings-only", is_flag=True, help="Print the findings, not the tables.")
@click.option("--verbose", "-v", is_flag=True, help="Also list slow-downs without any noise estimate.")
@click.option("--json", "as_json", is_flag=True, help="Every finding as a JSON object on stdout.")
@click.option("--markdown", is_flag=True, help="Confirmed findings as a Markdown table, then counts (CI summaries).")
def compare_command(
    results_dir: Path,
    baseline: Path | None,
    threshold: float,
    min_effect: float,
    alpha: float,
    reruns: Path | None,
    benchmark_pattern: str | None,
    strategies: tuple[str, ...],
    rows: tuple[int, ...],
    machine: str | None,
    commit: str | None,
    findings_only: bool,
    verbose: bool,
    as_json: bool,
    markdown: bool = False,
) -> None:
    """Compare asv results across SQLAlchemy and psycopg2 releases; exit 1 on a confirmed regression.

    Adjacent releases of one library are compared with everything else equal, on one machine
    and one commit. Timings need recorded samples (asv run --record-samples), a rank test and a
    minimum effect, reproduced by at least one other release held equal (or a side-by-side
    re-run); statements flag any increase; calls an increase that scales with the rows
    unless the path got faster or sent fewer statements; a path that fails or breaks in the
    newer release is a regression. Everything else is unconfirmed (exit 0). Exit status: 0,
    1 regression, 2 no results.
    """
    shown = _shown(benchmark_pattern, strategies, rows)
    everything = _load(results_dir, machine, commit)
    figures = _select(everything, shown)
    before = None if baseline is None else _load(baseline, machine, commit)
    if not figures:
        click.echo(f"error: no matching asv results under {results_dir}", err=True)
        sys.exit(EXIT_NO_RESULTS)
    judged = judge_results(everything, baseline=before, findings_file=reruns, threshold=threshold, alpha=alpha,
                           min_effect=min_effect)
    comparison = dataclasses.replace(
        judged, findings=[f for f in judged.findings if shown(f.benchmark, f.strategy, f.rows)])
    regressions = [f for f in comparison.findings if f.verdict == "regression"]
    if as_json or markdown:
        payload = {
            "mode": "baseline" if baseline is not None else "releases",
            "libraries": comparison.libraries if baseline is None else [RUN],
            "threshold": threshold,
            "min_effect": min_effect,
            "alpha": alpha,
            "pairs_compared": comparison.pairs,
            "skipped_commit_pairs": comparison.skipped_commit_pairs,
            "regressions": len(regressions),
            "findings": [f.as_dict() for f in comparison.findings],
        }
        if markdown:
            from .report import render_markdown

            click.echo(render_markdown(payload), nl=False)
        else:
            click.echo(json.dumps(payload, indent=1, sort_keys=True))
    else:
        if not findings_only:
            click.echo(render_tables(figures, comparison.findings))
        click.echo(render_findings(comparison, verbose=verbose))
        click.echo(f"{len(regressions)} confirmed regression(s).")
    sys.exit(EXIT_REGRESSION if regressions else 0)
