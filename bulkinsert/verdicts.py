"""Verdicts on asv figures across library releases (or across two runs): what changed, and is it sure?

A finding compares one benchmark at one parameter combination between two environments that
differ in exactly one library (``library``: ``old`` → ``new``, adjacent measured releases), every
other library held equal (``context``), on one machine and one project commit. With a baseline
run, the "library" is the run itself (``run``: ``baseline`` → ``current``) and each environment is
compared with itself.

The rules (docs/benchmarks.md, "Rules of `bulkinsert compare`"):

* Pairs of figures from different commits are never compared (counted and reported instead);
  figures of different machines are never paired.
* Timings with recorded samples: :func:`bulkinsert.stats.compare_samples` (rank test at
  ``alpha`` and a minimum effect). A difference it finds is *confirmed* only when the same step
  shows the same change under every other held-equal context that was measured (the two
  psycopg2 releases replicate every SQLAlchemy step, the SQLAlchemy releases every psycopg2
  step, the environments every baseline step). Everything else beyond ``threshold`` —
  single samples, single measurements (``track_`` CPU seconds, rows/s, ``peakmem_``), and
  differences one replicate does not show — is *unconfirmed*, until a side-by-side re-run
  (``bulkinsert releases compare``, recorded in ``.asv/releases/findings.jsonl``) on the same
  machine and commit settles it.
* Server statements: any increase is a regression (exact). Function calls: an increase of more
  than :data:`CALLS_TOLERANCE` calls per insert is a regression — unless, on the same path and
  step, the time confirmed-improved or the statement count fell: then the code path changed
  (verdict ``changed``), which is worth a look but is not a regression.
* Only confirmed findings can be regressions; only regressions fail the exit status.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import stats
from .results import Figure, by_machine, environment_key, varying_libraries, version_key

DEFAULT_THRESHOLD = 0.10  # unconfirmed differences smaller than this are not listed
# A handful of calls per insert (a pool checkout, an event hook) is not a changed code path; a
# per-row change is at least one call per row (>= 1,000 at the suite's sizes).
CALLS_TOLERANCE = 20
RUN = "run"  # the "library" of a baseline comparison


@dataclass(frozen=True)
class Metric:
    """How one benchmark's figures are judged."""

    name: str  # "time", "cpu", "rows_per_second", "memory", "statements", "calls", or the track name
    kind: str  # "timing" (samples can be recorded), "single" (one measurement), "count", "info"
    lower_is_better: bool = True
    tolerance: float = 0.0


def metric_for(benchmark: str) -> Metric:
    """The judging rule of a benchmark, from its asv method name."""
    method = benchmark.rsplit(".", 1)[-1]
    if method.startswith("time_"):
        return Metric("time", "timing")
    if method.startswith("peakmem_"):
        return Metric("memory", "single")
    if method == "track_statements":
        return Metric("statements", "count")
    if method == "track_function_calls":
        return Metric("calls", "count", tolerance=CALLS_TOLERANCE)
    if method == "track_cpu_seconds":
        return Metric("cpu", "single")
    if method == "track_rows_per_second":
        return Metric("rows_per_second", "single", lower_is_better=False)
    return Metric(method.removeprefix("track_"), "info")


@dataclass
class Finding:
    """One metric of one path, between two environments that differ in one library."""

    machine: str
    commit: str
    benchmark: str
    metric: str
    strategy: str | None
    rows: int | None
    params: dict[str, str]
    library: str
    old: str
    new: str
    context: dict[str, str]  # the other varying libraries, held equal
    environment: tuple[tuple[str, str], ...]  # results.environment_key of the NEW environment
    old_value: float
    new_value: float
    ratio: float  # NEW / OLD (Hodges–Lehmann estimate when samples were compared)
    unit: str | None
    change: str  # "slower"/"faster" (timings, memory), "more"/"fewer" (counts)
    verdict: str  # "regression", "improvement", "changed" or "unconfirmed"
    confirmed: bool
    reason: str
    p_value: float | None = None
    ratio_ci: tuple[float, float] | None = None
    old_samples: dict[str, float] | None = None  # stats.SampleSummary of each side
    new_samples: dict[str, float] | None = None
    replicates: list[dict[str, Any]] = field(default_factory=list)
    rerun: str | None = None  # the side-by-side command that settles an unconfirmed timing

    @property
    def step(self) -> tuple[str, str, str]:
        return (self.library, self.old, self.new)

    def as_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["environment"] = dict(self.environment)
        data["ratio_ci"] = list(self.ratio_ci) if self.ratio_ci else None
        return data


@dataclass
class Pair:
    """Two figures to compare, and what the comparison found (change "same" when nothing)."""

    library: str
    old_label: str
    new_label: str
    context: tuple[tuple[str, str], ...]
    old: Figure
    new: Figure
    environment: tuple[tuple[str, str], ...]  # results.environment_key of NEW
    change: str = "same"
    tested: bool = False  # the change is established by a test (samples) or is deterministic
    ratio: float = 1.0
    reason: str = ""
    sample_verdict: stats.SampleVerdict | None = None


@dataclass
class Comparison:
    """Everything a compare run found, plus what it could not compare."""

    findings: list[Finding]
    skipped_commit_pairs: int  # environment pairs measured at different commits
    libraries: list[str]
    pairs: int  # figure pairs compared
    threshold: float = DEFAULT_THRESHOLD


def _series(figures: Iterable[Figure]) -> dict[tuple, list[Figure]]:
    groups: dict[tuple, list[Figure]] = {}
    for figure in figures:
        if figure.value is not None:
            groups.setdefault((figure.benchmark, figure.params), []).append(figure)
    return groups


def library_pairs(figures: Sequence[Figure], libraries: Sequence[str], skipped: set) -> list[Pair]:
    """Adjacent measured releases of each varying library, all else equal, same commit (one machine)."""
    pairs: list[Pair] = []
    for series in _series(figures).values():
        for library in libraries:
            lines: dict[tuple, list[Figure]] = {}
            for figure in series:
                key = environment_key(figure, libraries)
                context = tuple(item for item in key if item[0] != library)
                lines.setdefault(context, []).append(figure)
            for context, line in lines.items():
                line.sort(key=lambda f: version_key(f.versions.get(library, "")))
                for old, new in zip(line, line[1:], strict=False):
                    if old.commit != new.commit:
                        skipped.add(frozenset((old.env_name, new.env_name)))
                        continue
                    pairs.append(Pair(library, old.versions[library], new.versions[library], context, old, new,
                                      environment_key(new, libraries)))
    return pairs


def baseline_pairs(figures: Sequence[Figure], baseline: Sequence[Figure], libraries: Sequence[str], skipped: set):
    """Each figure with the same environment's figure of the baseline run (one machine)."""
    before = {(f.benchmark, f.params, f.requirements): f for f in baseline if f.value is not None}
    pairs: list[Pair] = []
    for new in figures:
        old = before.get((new.benchmark, new.params, new.requirements))
        if old is None or new.value is None:
            continue
        if old.commit != new.commit:
            skipped.add(frozenset((("baseline", old.env_name), ("current", new.env_name))))
            continue
        key = environment_key(new, libraries)
        pairs.append(Pair(RUN, "baseline", "current", key, old, new, key))
    return pairs


def judge(pair: Pair, metric: Metric, *, threshold: float, alpha: float, min_effect: float) -> None:
    """Fill in the pair's change: tested (samples, counts) or only beyond the listing threshold."""
    old, new = pair.old, pair.new
    assert old.value is not None and new.value is not None
    if metric.kind == "info":
        return
    if metric.kind == "count":
        counted = stats.compare_counts(old.value, new.value, tolerance=metric.tolerance)
        pair.ratio, pair.tested = counted.ratio, True
        if counted.verdict != "same":
            pair.change = counted.verdict
            pair.reason = f"deterministic: {counted.delta:+,.0f} (tolerance {metric.tolerance:.0f} per insert)"
        return
    if old.value <= 0 or new.value <= 0:
        return
    pair.ratio = new.value / old.value
    if metric.kind == "timing" and old.samples and new.samples:
        verdict = stats.compare_samples(old.samples, new.samples, alpha=alpha, min_effect=min_effect)
        pair.sample_verdict, pair.ratio, pair.reason = verdict, verdict.ratio, verdict.reason
        if verdict.changed:
            pair.change, pair.tested = verdict.verdict, True
            return
    elif metric.kind == "timing":
        pair.reason = "no samples recorded (asv run --record-samples): noise unknown"
    else:
        pair.reason = "single measurement: noise unknown"
    worse = pair.ratio > 1 + threshold if metric.lower_is_better else pair.ratio < 1 / (1 + threshold)
    better = pair.ratio < 1 / (1 + threshold) if metric.lower_is_better else pair.ratio > 1 + threshold
    if worse or better:
        pair.change = "slower" if worse else "faster"


def _rerun_command(pair: Pair, metric: Metric, figure: Figure) -> str | None:
    if pair.library == RUN or metric.name not in ("time", "cpu") or figure.strategy is None:
        return None
    rows = f" --rows {figure.rows}" if figure.rows else ""
    # The re-run holds the finding's context (the other libraries' releases), not the newest ones.
    held = "".join(f" --with {name}=={version}" for name, version in pair.context if name != "python" and version)
    return (
        f"bulkinsert releases compare {figure.strategy} {pair.old_label} {pair.new_label} "
        f"--library {pair.library} --metric {metric.name}{rows}{held}"
    )


def _finding(pair: Pair, metric: Metric, verdict: str, confirmed: bool, reason: str) -> Finding:
    old, new = pair.old, pair.new
    assert old.value is not None and new.value is not None
    sample = pair.sample_verdict
    return Finding(
        machine=new.machine,
        commit=new.commit,
        benchmark=new.benchmark,
        metric=metric.name,
        strategy=new.strategy,
        rows=new.rows,
        params=dict(new.params),
        library=pair.library,
        old=pair.old_label,
        new=pair.new_label,
        context=dict(pair.context) if pair.library != RUN else {},
        environment=pair.environment,
        old_value=old.value,
        new_value=new.value,
        ratio=pair.ratio,
        unit=new.unit,
        change=pair.change,
        verdict=verdict,
        confirmed=confirmed,
        reason=reason,
        p_value=sample.p_value if sample else None,
        ratio_ci=sample.ratio_ci if sample else None,
        old_samples=sample.as_dict()["old"] if sample else None,
        new_samples=sample.as_dict()["new"] if sample else None,
        rerun=None if confirmed else _rerun_command(pair, metric, new),
    )


def _path_key(pair: Pair) -> tuple:
    return (pair.new.strategy, pair.new.rows, pair.library, pair.old_label, pair.new_label, pair.context)


def _step_key(pair: Pair) -> tuple:
    """The same release step of the same figure: its replicates differ only in the held-equal context."""
    return (pair.new.benchmark, pair.new.params, pair.library, pair.old_label, pair.new_label)


def verdicts(pairs: Sequence[Pair], metrics: dict[str, Metric]) -> list[Finding]:
    """Findings from judged pairs: replicates for timings, the path rule for call counts."""
    steps: dict[tuple, list[Pair]] = {}
    paths: dict[tuple, dict[str, Pair]] = {}
    for pair in pairs:
        steps.setdefault(_step_key(pair), []).append(pair)
        paths.setdefault(_path_key(pair), {})[metrics[pair.new.benchmark].name] = pair
    findings: list[Finding] = []
    confirmed_time: dict[tuple, bool] = {}
    for pair in pairs:
        metric = metrics[pair.new.benchmark]
        if pair.change == "same" or metric.kind not in ("timing", "single"):
            continue
        others = [p for p in steps[_step_key(pair)] if p is not pair]
        missing = [", ".join(f"{k} {v}" for k, v in p.context) for p in others
                   if not (p.change == pair.change and p.tested)]
        confirmed, reason, verdict = pair.tested and not missing, pair.reason, "unconfirmed"
        if pair.tested and missing:
            reason += f"; not reproduced with {'; '.join(missing)}"
        elif confirmed:
            reason += f"; reproduced in {len(others)} replicate(s)" if others else "; no replicate measured"
            verdict = "regression" if pair.change == "slower" else "improvement"
            if metric.name == "time" and pair.change == "faster":
                confirmed_time[_path_key(pair)] = True
        finding = _finding(pair, metric, verdict, confirmed, reason)
        finding.replicates = [
            {"context": dict(p.context), "change": p.change, "tested": p.tested, "ratio": p.ratio,
             "p_value": p.sample_verdict.p_value if p.sample_verdict else None}
            for p in others
        ]
        findings.append(finding)
    for pair in pairs:
        metric = metrics[pair.new.benchmark]
        if pair.change == "same" or metric.kind != "count":
            continue
        if pair.change == "fewer":
            findings.append(_finding(pair, metric, "improvement", True, pair.reason))
            continue
        verdict, reason = "regression", pair.reason
        if metric.name == "calls":
            path = paths[_path_key(pair)]
            statements = path.get("statements")
            why = []
            if confirmed_time.get(_path_key(pair)):
                why.append(f"time x{path['time'].ratio:.2f} (confirmed)")
            if statements is not None and statements.change == "fewer":
                why.append(f"statements {statements.old.value:,.0f} -> {statements.new.value:,.0f}")
            if why:
                verdict, reason = "changed", f"{reason}; changed code path: {', '.join(why)}"
        findings.append(_finding(pair, metric, verdict, True, reason))
    return findings


def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    name = str(canonicalize_name(name))
    return "psycopg2-binary" if name == "psycopg2" else name


def apply_reruns(findings: Sequence[Finding], reruns: Iterable[dict[str, Any]]) -> int:
    """Settle unconfirmed timings with recorded side-by-side re-runs; returns how many were settled.

    A re-run (``bulkinsert releases compare``, one line of ``.asv/releases/findings.jsonl``)
    settles a finding of the same strategy, rows, metric, library step, machine and project
    commit: ``slower`` confirms it as a regression (``faster`` as an improvement); ``same``
    leaves it unconfirmed and says so. The newest matching re-run wins.
    """
    newest: dict[tuple, dict[str, Any]] = {}
    for rerun in reruns:
        if rerun.get("kind") != "compare" or "verdict" not in rerun:
            continue
        key = (rerun.get("strategy"), rerun.get("rows"), rerun.get("metric"), _canonical(str(rerun.get("library"))),
               rerun.get("old"), rerun.get("new"), rerun.get("machine"), rerun.get("commit"))
        newest[key] = rerun
    settled = 0
    for finding in findings:
        if finding.confirmed or finding.metric not in ("time", "cpu") or finding.library == RUN:
            continue
        rerun = newest.get((finding.strategy, finding.rows, finding.metric, _canonical(finding.library),
                            finding.old, finding.new, finding.machine, finding.commit))
        if rerun is None:
            continue
        settled += 1
        detail = f"x{rerun['ratio']:.3f}, p={rerun['p_value']:.2g}" if "ratio" in rerun and "p_value" in rerun else ""
        if rerun["verdict"] == finding.change:
            finding.confirmed, finding.rerun = True, None
            finding.verdict = "regression" if finding.change == "slower" else "improvement"
            finding.reason += f"; confirmed side by side ({detail})"
        else:
            finding.reason += f"; side-by-side re-run says {rerun['verdict']} ({detail})"
    return settled


def compare_figures(
    figures: Sequence[Figure],
    *,
    baseline: Sequence[Figure] | None = None,
    reruns: Iterable[dict[str, Any]] = (),
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = stats.DEFAULT_ALPHA,
    min_effect: float = stats.DEFAULT_MIN_EFFECT,
) -> Comparison:
    """Every finding between adjacent releases (or against a baseline run), machine by machine."""
    findings: list[Finding] = []
    skipped: set = set()
    compared = 0
    everything = list(figures) + list(baseline or [])
    libraries = varying_libraries(everything)
    baseline_by_machine = by_machine(baseline or [])
    for machine, group in by_machine(figures).items():
        if baseline is not None:
            pairs = baseline_pairs(group, baseline_by_machine.get(machine, []), libraries, skipped)
        else:
            pairs = library_pairs(group, libraries, skipped)
        metrics = {f.benchmark: metric_for(f.benchmark) for f in group}
        for pair in pairs:
            judge(pair, metrics[pair.new.benchmark], threshold=threshold, alpha=alpha, min_effect=min_effect)
        compared += len(pairs)
        findings.extend(verdicts(pairs, metrics))
    apply_reruns(findings, reruns)
    order = {"regression": 0, "improvement": 1, "changed": 2, "unconfirmed": 3}
    findings.sort(key=lambda f: (order[f.verdict], f.machine, f.strategy or "", f.rows or 0, f.library,
                                 version_key(f.old), f.benchmark, sorted(f.context.items())))
    return Comparison(findings, len(skipped), libraries, compared, threshold)
