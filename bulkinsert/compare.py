"""Compare asv results across library versions and flag the release that made a path slower.

asv compares commits of this project; its graphs cannot put a dependency's version on the
x-axis (asv issues #370 and #1394). Here the environments of one run *are* the versions, so
this module reads asv's result files directly, lines the figures of one benchmark and
parameter combination up by SQLAlchemy and psycopg2 version, and compares each release with
the previous one while every other library stays the same.

Noise, per metric kind:

* ``time_`` (several samples): a newer release regresses when its median is more than
  ``threshold`` slower *and* its 99% confidence interval (asv's ``ci_99_a``/``ci_99_b``) lies
  entirely above the older one's. Without a usable interval, the interquartile ranges
  (``q_25``/``q_75``) must not overlap. With a single sample (``asv run --quick``) noise cannot
  be estimated, so the threshold alone decides and the finding says so.
* ``peakmem_`` and single-measurement ``track_`` figures (CPU seconds, rows per second):
  asv records no spread for them, so the threshold alone decides.

A slow-down whose noise could not be estimated (single samples, single measurements) is
reported as ``unconfirmed``: listed, but it fails the exit status only with ``--strict``.
* deterministic counts (server statements per insert; Python function calls under cProfile,
  with the 5% slack SQLAlchemy's test/aaa_profiling allows and 20 calls per insert): any
  change is reported, an increase is a regression.

The site imports :func:`load_results`, :func:`find_regressions` and :func:`version_series`.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import asdict, dataclass, field
from itertools import product
from pathlib import Path
from typing import Any, Iterable, Sequence

import click

DEFAULT_RESULTS_DIR = Path(".asv") / "results"
DEFAULT_THRESHOLD = 0.10
# Libraries whose releases the matrix varies, in the order figures are sorted by.
LIBRARY_ORDER = ("SQLAlchemy", "psycopg2-binary", "psycopg2")
FUNCTION_CALL_SLACK = 0.05
# A handful of calls per insert (a pool checkout, an event hook) is not a changed code path;
# a per-row change is at least one call per row (>= 1,000 at the suite's sizes).
FUNCTION_CALL_MIN_DELTA = 20


@dataclass(frozen=True)
class Metric:
    """How one benchmark's numbers are judged."""

    unit: str
    lower_is_better: bool | None  # None: informational, never flagged
    kind: str  # "sampled", "single" or "count"
    slack: float = 0.0  # for counts: relative change tolerated
    min_delta: float = 0.0  # for counts: absolute change tolerated


def metric_for(benchmark: str, unit: str | None = None) -> Metric:
    """The judging rule for a benchmark, from its name (``time_``, ``peakmem_``, ``track_…``)."""
    method = benchmark.rsplit(".", 1)[-1]
    if method.startswith("time_"):
        return Metric(unit or "seconds", True, "sampled")
    if method.startswith("peakmem_"):
        return Metric(unit or "bytes", True, "single")
    if method == "track_statements":
        return Metric(unit or "statements", True, "count")
    if method == "track_function_calls":
        return Metric(unit or "calls", True, "count", FUNCTION_CALL_SLACK, FUNCTION_CALL_MIN_DELTA)
    if method == "track_rows_per_second":
        return Metric(unit or "rows/s", False, "single")
    if method == "track_cpu_seconds":
        return Metric(unit or "CPU seconds", True, "single")
    return Metric(unit or "unit", None, "single")


@dataclass(frozen=True)
class Figure:
    """One asv result: a benchmark at one parameter combination in one environment."""

    machine: str
    benchmark: str
    params: tuple[tuple[str, str], ...]  # (("strategy", "orm_basic"), ("rows", "1000"))
    env_name: str
    versions: tuple[tuple[str, str], ...]  # requirements of the environment, plus python
    commit: str
    date: int
    value: float | None  # None: skipped (n/a) or failed
    ci_99: tuple[float, float] | None = None
    iqr: tuple[float, float] | None = None
    repeat: int | None = None
    number: int | None = None
    unit: str | None = None

    @property
    def version_map(self) -> dict[str, str]:
        return dict(self.versions)

    @property
    def label(self) -> str:
        """Short environment label: ``SQLAlchemy 1.4.54, psycopg2-binary 2.9.5``."""
        versions = self.version_map
        keys = [k for k in LIBRARY_ORDER if k in versions] or sorted(k for k in versions if k != "python")
        return ", ".join(f"{k} {versions[k]}" for k in keys)

    def params_text(self) -> str:
        return " ".join(f"{name}={value}" for name, value in self.params)


@dataclass
class Finding:
    """A newer release measuring differently from the previous one, other libraries equal."""

    kind: str  # "regression", "unconfirmed", "improvement" or "changed"
    machine: str
    benchmark: str
    params: dict[str, str]
    library: str
    old_version: str
    new_version: str
    old_value: float
    new_value: float
    ratio: float
    unit: str
    noise: str  # how noise was judged for this pair
    context: dict[str, str] = field(default_factory=dict)  # the other varied libraries, held equal

    def describe(self) -> str:
        params = " ".join(f"{k}={v}" for k, v in self.params.items())
        held = ", ".join(f"{k} {v}" for k, v in self.context.items() if k != "python")
        return (
            f"{self.kind.upper()}: {self.benchmark} [{params}] {self.library} "
            f"{self.old_version} -> {self.new_version}: {format_value(self.old_value, self.unit)} -> "
            f"{format_value(self.new_value, self.unit)} (x{self.ratio:.2f}; {self.noise}"
            f"{'; with ' + held if held else ''})"
        )


# -- reading asv's files -------------------------------------------------------------------


def _parse_param(text: str) -> str:
    """asv stores parameter values as their repr: ``"'orm_basic'"``, ``"1000"``."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _units(machine_dir: Path) -> dict[str, tuple[list[str], str | None]]:
    """Parameter names and units per benchmark from ``benchmarks.json`` (next to the machines)."""
    info: dict[str, tuple[list[str], str | None]] = {}
    path = machine_dir.parent / "benchmarks.json"
    if path.is_file():
        try:
            data = json.loads(path.read_text())
        except ValueError:
            return info
        for name, bench in data.items():
            if isinstance(bench, dict):
                info[name] = (list(bench.get("param_names") or []), bench.get("unit"))
    return info


def read_result_file(path: Path, units: dict[str, tuple[list[str], str | None]] | None = None) -> list[Figure]:
    """Every figure in one asv result file (format version 2, asv 0.5/0.6)."""
    data = json.loads(path.read_text())
    if data.get("version") != 2 or "results" not in data:
        return []
    units = units or {}
    machine = str(data.get("params", {}).get("machine", path.parent.name))
    requirements = {str(k): str(v) for k, v in (data.get("requirements") or {}).items()}
    requirements["python"] = str(data.get("python", data.get("params", {}).get("python", "")))
    versions = tuple(sorted(requirements.items()))
    columns = data.get("result_columns") or ["result", "params"]
    figures: list[Figure] = []
    for benchmark, row in data["results"].items():
        record = dict(zip(columns, row))
        values = record.get("result")
        param_values = record.get("params") or []
        combos = list(product(*param_values)) if param_values else [()]
        if not isinstance(values, list):
            values = [values]
        names, unit = units.get(benchmark, ([], None))
        if len(names) != len(param_values):
            names = [f"param{i + 1}" for i in range(len(param_values))]

        for index, combo in enumerate(combos):
            value = _finite(values[index]) if index < len(values) else None

            def stat(key: str, index: int = index, record: dict = record) -> Any:
                column = record.get(f"stats_{key}")
                return column[index] if isinstance(column, list) and index < len(column) else None

            low, high = _finite(stat("ci_99_a", index)), _finite(stat("ci_99_b", index))
            q25, q75 = _finite(stat("q_25", index)), _finite(stat("q_75", index))
            repeat, number = stat("repeat", index), stat("number", index)
            figures.append(
                Figure(
                    machine=machine,
                    benchmark=benchmark,
                    params=tuple((n, _parse_param(str(v))) for n, v in zip(names, combo)),
                    env_name=str(data.get("env_name", "")),
                    versions=versions,
                    commit=str(data.get("commit_hash", "")),
                    date=int(data.get("date") or 0),
                    value=value,
                    ci_99=(low, high) if low is not None and high is not None else None,
                    iqr=(q25, q75) if q25 is not None and q75 is not None else None,
                    repeat=int(repeat) if isinstance(repeat, (int, float)) else None,
                    number=int(number) if isinstance(number, (int, float)) else None,
                    unit=unit,
                )
            )
    return figures


def load_results(
    results_dir: str | Path = DEFAULT_RESULTS_DIR, *, machine: str | None = None, commit: str | None = None
) -> list[Figure]:
    """The latest figure per machine, benchmark, parameters and environment.

    History is kept by asv (one file per commit and environment); this reads, for each
    environment, the file of its most recent commit (by commit date) — or of the given
    ``commit`` prefix.
    """
    root = Path(results_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"no asv results directory at {root}")
    everything: list[Figure] = []
    for machine_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        units = _units(machine_dir)
        for path in sorted(machine_dir.glob("*.json")):
            if path.name == "machine.json":
                continue
            try:
                figures = read_result_file(path, units)
            except (OSError, ValueError):
                continue
            everything.extend(
                f
                for f in figures
                if (machine is None or f.machine == machine) and (commit is None or f.commit.startswith(commit))
            )
    # One commit per environment: its newest, so figures of an older suite layout never mix in.
    newest: dict[tuple, tuple[int, str]] = {}
    for figure in everything:
        env = (figure.machine, figure.versions)
        newest[env] = max(newest.get(env, (0, "")), (figure.date, figure.commit))
    latest: dict[tuple, Figure] = {}
    for figure in everything:
        if (figure.date, figure.commit) == newest[(figure.machine, figure.versions)]:
            latest[(figure.machine, figure.benchmark, figure.params, figure.versions)] = figure
    return list(latest.values())


# -- ordering and comparing ----------------------------------------------------------------


def version_key(version: str) -> tuple:
    """Sort key for release strings: ``2.9.13`` after ``2.9.5``; pre-releases before finals."""
    release = re.match(r"\d+(?:\.\d+)*", version or "")
    numbers = tuple(int(part) for part in release.group(0).split(".")) if release else ()
    suffix = version[release.end() :] if release else version
    return (numbers, 0 if suffix else 1, suffix)


def environment_key(figure: Figure) -> tuple:
    """Order environments by the libraries the matrix varies (SQLAlchemy first)."""
    versions = figure.version_map
    ordered = [k for k in LIBRARY_ORDER if k in versions] + sorted(
        k for k in versions if k not in LIBRARY_ORDER
    )
    return tuple(version_key(versions[k]) for k in ordered)


def version_series(figures: Iterable[Figure]) -> dict[tuple, list[Figure]]:
    """Figures grouped by (machine, benchmark, params), each list ordered by library version."""
    groups: dict[tuple, list[Figure]] = {}
    for figure in figures:
        groups.setdefault((figure.machine, figure.benchmark, figure.params), []).append(figure)
    return {key: sorted(group, key=environment_key) for key, group in sorted(groups.items())}


def varying_libraries(figures: Sequence[Figure]) -> list[str]:
    """Requirements that take more than one version across these figures."""
    seen: dict[str, set[str]] = {}
    for figure in figures:
        for name, version in figure.versions:
            seen.setdefault(name, set()).add(version)
    varying = [name for name, versions in seen.items() if len(versions) > 1]
    return sorted(varying, key=lambda n: (LIBRARY_ORDER.index(n) if n in LIBRARY_ORDER else 99, n))


def judge(old: Figure, new: Figure, metric: Metric, threshold: float) -> tuple[str, str] | None:
    """(kind, noise description) when ``new`` differs from ``old`` beyond noise, else None."""
    if old.value is None or new.value is None or metric.lower_is_better is None:
        return None
    if metric.kind == "count":
        if old.value == new.value:
            return None
        if abs(new.value - old.value) <= metric.min_delta:
            return None
        if old.value and abs(new.value - old.value) / old.value <= metric.slack:
            return None
        worse = new.value > old.value
        noise = (
            "deterministic: any change"
            if not metric.slack
            else f"deterministic, {metric.slack:.0%} and {metric.min_delta:.0f} calls slack"
        )
        return ("regression" if worse else "changed"), noise
    if old.value <= 0 or new.value <= 0:
        return None
    ratio = new.value / old.value
    worse = ratio > 1 + threshold if metric.lower_is_better else ratio < 1 / (1 + threshold)
    better = ratio < 1 / (1 + threshold) if metric.lower_is_better else ratio > 1 + threshold
    if not (worse or better):
        return None
    if metric.kind == "sampled":
        low, high = (old, new) if new.value > old.value else (new, old)
        if low.ci_99 is not None and high.ci_99 is not None and (low.repeat or 0) > 1 and (high.repeat or 0) > 1:
            if high.ci_99[0] <= low.ci_99[1]:
                return None
            noise = "99% confidence intervals apart"
        elif low.iqr is not None and high.iqr is not None and (low.repeat or 0) > 1 and (high.repeat or 0) > 1:
            if high.iqr[0] <= low.iqr[1]:
                return None
            noise = "interquartile ranges apart"
        else:
            noise = "single sample: noise unknown"
    else:
        noise = "single measurement: noise unknown"
    if worse:
        return ("regression" if "unknown" not in noise else "unconfirmed"), noise
    return "improvement", noise


def find_regressions(
    figures: Iterable[Figure], *, threshold: float = DEFAULT_THRESHOLD, include_improvements: bool = False
) -> list[Finding]:
    """Each place a newer release of one library does worse than the previous release.

    Releases are compared pairwise in version order with every other requirement (and the
    Python version) held equal. Slow-downs beyond the threshold whose noise is unknown come
    back as ``unconfirmed``. ``include_improvements`` also returns improvements and the
    decreases of deterministic counts (kind ``improvement``/``changed``).
    """
    findings: list[Finding] = []
    for (machine, benchmark, params), series in version_series(figures).items():
        metric = metric_for(benchmark, series[0].unit)
        varying = varying_libraries(series)
        for library in varying:
            lines: dict[tuple, list[Figure]] = {}
            for figure in series:
                versions = figure.version_map
                if library not in versions:
                    continue
                context = tuple(sorted((k, v) for k, v in figure.versions if k != library))
                lines.setdefault(context, []).append(figure)
            for context, line in lines.items():
                line.sort(key=lambda f: version_key(f.version_map[library]))
                for old, new in zip(line, line[1:]):
                    verdict = judge(old, new, metric, threshold)
                    if verdict is None:
                        continue
                    kind, noise = verdict
                    if kind in ("improvement", "changed") and not include_improvements:
                        continue
                    assert old.value is not None and new.value is not None
                    findings.append(
                        Finding(
                            kind=kind,
                            machine=machine,
                            benchmark=benchmark,
                            params=dict(params),
                            library=library,
                            old_version=old.version_map[library],
                            new_version=new.version_map[library],
                            old_value=old.value,
                            new_value=new.value,
                            ratio=new.value / old.value if old.value else math.inf,
                            unit=metric.unit,
                            noise=noise,
                            context={k: v for k, v in context if k in varying},
                        )
                    )
    return findings


# -- presenting ----------------------------------------------------------------------------


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "seconds":
        if value < 1e-3:
            return f"{value * 1e6:.0f}us"
        return f"{value * 1e3:.1f}ms" if value < 1 else f"{value:.2f}s"
    if unit == "bytes":
        return f"{value / 2**20:.0f}M"
    if value >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}"


def render_tables(figures: Sequence[Figure], findings: Sequence[Finding]) -> str:
    """One table per benchmark: a line per parameter combination, a column per environment."""
    marks: dict[tuple, str] = {}
    for f in findings:
        if f.kind in ("regression", "unconfirmed"):
            env = tuple(sorted(dict(f.context, **{f.library: f.new_version}).items()))
            marks[(f.machine, f.benchmark, tuple(f.params.items()), env)] = "!" if f.kind == "regression" else "?"
    out: list[str] = []
    by_benchmark: dict[tuple[str, str], list[Figure]] = {}
    for figure in figures:
        by_benchmark.setdefault((figure.machine, figure.benchmark), []).append(figure)
    for (machine, benchmark), group in sorted(by_benchmark.items()):
        metric = metric_for(benchmark, group[0].unit)
        varying = set(varying_libraries(group))
        envs = sorted({f.versions: f for f in group}.values(), key=environment_key)
        labels = [_short_label(f) for f in envs]
        param_width = max(len(f.params_text()) for f in group)
        width = max(10, *(len(label) for label in labels))
        out.append(f"{benchmark}  [{metric.unit}]  machine {machine}")
        out.append(" " * param_width + "  " + "  ".join(label.rjust(width) for label in labels))
        cells: dict[tuple, dict[tuple, Figure]] = {}
        for figure in group:
            cells.setdefault(figure.params, {})[figure.versions] = figure
        for params in sorted(cells, key=_params_key):
            row = []
            for env in envs:
                figure = cells[params].get(env.versions)
                text = format_value(figure.value, metric.unit) if figure is not None else "-"
                env_key = tuple(sorted((k, v) for k, v in env.versions if k in varying))
                text = marks.get((machine, benchmark, params, env_key), "") + text
                row.append(text.rjust(width))
            text = " ".join(f"{n}={v}" for n, v in params)
            out.append(text.ljust(param_width) + "  " + "  ".join(row))
        out.append("")
    return "\n".join(out)


def _short_label(figure: Figure) -> str:
    versions = figure.version_map
    parts = [versions[k] for k in LIBRARY_ORDER if k in versions]
    return "/".join(parts) or figure.env_name


def _params_key(params: tuple[tuple[str, str], ...]) -> tuple:
    return tuple((name, int(value)) if value.isdigit() else (name, 0, value) for name, value in params)


def _figure_json(figure: Figure) -> dict[str, Any]:
    data = asdict(figure)
    data["params"] = dict(figure.params)
    data["versions"] = dict(figure.versions)
    return data


@click.command(name="compare")
@click.option(
    "--results-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_RESULTS_DIR,
    show_default=True,
    help="asv results directory (one sub-directory per machine).",
)
@click.option(
    "--threshold",
    type=click.FloatRange(min=0),
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="Relative slow-down a newer release must exceed (besides being beyond noise) to be flagged.",
)
@click.option("--benchmark", "benchmark_pattern", default=None, help="Only benchmarks matching this regex.")
@click.option("--strategy", "strategies", multiple=True, help="Only these strategies (repeatable).")
@click.option("--rows", "rows", multiple=True, type=int, help="Only these row counts (repeatable).")
@click.option("--machine", default=None, help="Only this asv machine name.")
@click.option("--commit", default=None, help="Only results of this commit (hash prefix); default: latest.")
@click.option("--regressions-only", is_flag=True, help="Print the findings, not the tables.")
@click.option(
    "--strict", is_flag=True, help="Also fail on unconfirmed slow-downs (figures without a noise estimate)."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
def compare_command(
    results_dir: Path,
    threshold: float,
    benchmark_pattern: str | None,
    strategies: tuple[str, ...],
    rows: tuple[int, ...],
    machine: str | None,
    commit: str | None,
    regressions_only: bool,
    strict: bool,
    as_json: bool,
) -> None:
    """Compare asv results across SQLAlchemy and psycopg2 releases; exit 1 on a regression.

    Each release is compared with the previous release of the same library, everything else
    equal. Timings must be slower by more than --threshold with 99% confidence intervals
    apart; statement counts flag any increase. Slow-downs of single samples (asv run --quick)
    are "unconfirmed" and fail only with --strict. Exit status: 0 clean, 1 regression, 2 no
    results.
    """
    try:
        figures = load_results(results_dir, machine=machine, commit=commit)
    except FileNotFoundError as exc:
        click.echo(f"error: {exc}; run `make bench` (or asv run) first", err=True)
        sys.exit(2)
    pattern = re.compile(benchmark_pattern) if benchmark_pattern else None
    wanted_rows = {str(r) for r in rows}
    figures = [
        f
        for f in figures
        if (pattern is None or pattern.search(f.benchmark))
        and (not strategies or dict(f.params).get("strategy") in strategies)
        and (not wanted_rows or dict(f.params).get("rows") in wanted_rows)
    ]
    if not figures:
        click.echo(f"error: no matching asv results under {results_dir}", err=True)
        sys.exit(2)
    findings = find_regressions(figures, threshold=threshold, include_improvements=True)
    failing = {"regression", "unconfirmed"} if strict else {"regression"}
    regressions = [f for f in findings if f.kind in failing]
    if as_json:
        payload = {
            "threshold": threshold,
            "noise": __doc__.split("Noise, per metric kind:", 1)[1].split("The site imports", 1)[0].strip(),
            "environments": sorted(
                {f.versions: dict(f.versions) for f in figures}.values(),
                key=lambda v: tuple(version_key(v.get(k, "")) for k in LIBRARY_ORDER),
            ),
            "figures": [_figure_json(f) for f in sorted(figures, key=lambda f: (f.benchmark, f.params))],
            "findings": [asdict(f) for f in findings],
            "regressions": len(regressions),
            "strict": strict,
        }
        click.echo(json.dumps(payload, indent=1, sort_keys=True))
    else:
        if not regressions_only:
            click.echo(render_tables(figures, findings))
        others = [f for f in findings if f.kind in ("improvement", "changed")]
        if others and not regressions_only:
            click.echo(f"{len(others)} improvement(s) or changed count(s) between releases:")
            for finding in others:
                click.echo("  " + finding.describe())
        unconfirmed = [f for f in findings if f.kind == "unconfirmed"]
        if unconfirmed:
            click.echo(
                f"{len(unconfirmed)} unconfirmed slow-down(s) (beyond {threshold:.0%}, noise unknown"
                f"{'; failing: --strict' if strict else ''}):"
            )
            for finding in unconfirmed:
                click.echo("  " + finding.describe())
        confirmed = [f for f in findings if f.kind == "regression"]
        click.echo(
            f"{len(confirmed)} regression(s) (threshold {threshold:.0%}, beyond noise; in the tables "
            "'!' marks a regressed release, '?' an unconfirmed one):"
        )
        for finding in confirmed:
            click.echo("  " + finding.describe())
    sys.exit(1 if regressions else 0)
