"""Verdicts on asv figures across library releases (or across two runs): what changed, and is it sure?

A finding compares one benchmark at one parameter combination between two environments that
differ in exactly one library (``library``: ``old`` → ``new``, adjacent measured releases), every
other library held equal (``context``), on one machine and one project commit. With a baseline
run, the "library" is the run itself (``run``: ``baseline`` → ``current``) and each environment is
compared with itself.

The rules (docs/explanation/verdict-rules.md, "Rules"):

* One identity per figure (:class:`bulkinsert.analysis.results.Identity`: benchmark, workload,
  strategy, driver, rows, machine, environment, commit, dirty mark). A pair is two figures whose
  identities differ in the environment alone; replicates, the path rule for calls and re-runs
  match on the whole rest of it, so a figure of one driver (or workload, suite, machine) never
  pairs with, excuses or confirms another's.
* Pairs of figures from different commits are never compared (counted and reported instead);
  figures of different machines are never paired; figures of a dirty work tree are never judged.
* Status is a metric: a path that works (a figure) in OLD and fails or breaks in NEW
  (:mod:`bulkinsert.analysis.status`) is a confirmed regression (metric ``status``); the reverse is an
  improvement ("fixed"). Failed in OLD and broken in NEW is a regression too (it now loads wrong
  rows silently); broken, then failed, is ``changed``. Skipped (n/a) on either side is not a finding.
* Timings with recorded samples: :func:`bulkinsert.analysis.stats.compare_samples` (rank test at
  ``alpha`` and a minimum effect). A difference it finds is *confirmed* only with evidence
  beyond the one test: at least one *tested replicate* (the same step under another held-equal
  context — the two psycopg2 releases replicate every SQLAlchemy step, the environments every
  baseline step) shows the same change, and no measured replicate contradicts it — or a
  side-by-side re-run (``bulkinsert releases compare``, recorded in
  ``.asv/releases/findings.jsonl``) on the same machine and commit agrees. Otherwise it is
  *unconfirmed* and says why (e.g. "no replicate: the other release's figure failed"), as are
  single measurements (``track_`` CPU seconds, rows/s, ``peakmem_``) beyond ``threshold``.
* Counts: :mod:`bulkinsert.analysis.metrics` (one rule for compare, bisect and the site). Statements:
  any increase is a regression. Calls: an increase that scales with the rows (beyond
  ``CALLS_PER_ROW`` per row) is — unless, on the same path (suite, workload, strategy, driver,
  rows), machine, commit and step, the time confirmed-improved or the statement count fell: then the code path
  changed (verdict ``changed``), worth a look but not a regression.
* Only confirmed findings can be regressions; only regressions fail the exit status.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from . import stats
from . import status as status_
from .controls import apply_controls
from .families import apply_discoveries
from .findingrecords import RecordedFinding, read_records
from .findingtypes import DEFAULT_THRESHOLD, RUN, Comparison, Finding, Pair, finding_of
from .metrics import (
    COUNTED,
    RATIO,
    SAMPLED,
    SINGLE,
    STATUS,
    STATUS_KIND,
    Metric,
    count_verdict,
    describe_count,
    metric_for,
)
from .results import (
    DEFAULT_WORKLOAD,
    SWEEP_MACHINE_SUFFIX,
    Figure,
    Identity,
    by_machine,
    default_driver,
    environment_key,
    from_dirty_tree,
    varying_libraries,
    version_key,
)

STATUS_METRIC = Metric(STATUS, STATUS_KIND)


def series_key(identity: Identity, params: tuple[tuple[str, str], ...]) -> tuple:
    """Everything of an identity but the environment and the commit: the figures a step may pair."""
    return (identity.benchmark, identity.workload, identity.strategy, identity.driver, identity.rows,
            identity.machine, identity.dirty, params)


def _series(figures: Iterable[Figure]) -> dict[tuple, list[Figure]]:
    """Figures per identity (environment aside); skipped ones (n/a) take no part in any pair."""
    groups: dict[tuple, list[Figure]] = {}
    for figure in figures:
        if figure.status != status_.SKIPPED:
            groups.setdefault(series_key(figure.identity, figure.params), []).append(figure)
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
    def same_figure(figure: Figure) -> tuple:
        return (*series_key(figure.identity, figure.params), figure.requirements)

    before = {same_figure(f): f for f in baseline if f.status != status_.SKIPPED}
    pairs: list[Pair] = []
    for new in figures:
        old = before.get(same_figure(new))
        if old is None or new.status == status_.SKIPPED:
            continue
        if old.commit != new.commit:
            skipped.add(frozenset((("baseline", old.env_name), ("current", new.env_name))))
            continue
        key = environment_key(new, libraries)
        pairs.append(Pair(RUN, "baseline", "current", key, old, new, key))
    return pairs


def judge(pair: Pair, metric: Metric, *, threshold: float, alpha: float, min_effect: float) -> None:
    """Fill in the pair's change: status, tested (samples, counts) or only beyond the listing threshold."""
    old, new = pair.old, pair.new
    if not pair.works:
        judge_status(pair)
        return
    if old.value is None or new.value is None:  # measured, yet no value recorded: nothing to judge
        pair.reason = "no value recorded"
        return
    if metric.kind == RATIO:
        return
    if metric.kind == COUNTED:
        counted = count_verdict(metric.name, old.value, new.value, new.rows, new.identity.driver)
        pair.ratio, pair.tested = counted.ratio, True
        if counted.verdict != "same":
            pair.change, pair.reason = counted.verdict, describe_count(metric.name, counted, new.rows)
        return
    if old.value <= 0 or new.value <= 0:
        return
    pair.ratio = new.value / old.value
    if metric.kind == SAMPLED and old.samples and new.samples:
        verdict = stats.compare_samples(old.samples, new.samples, alpha=alpha, min_effect=min_effect,
                                        **pair.round_labels)
        pair.sample_verdict, pair.ratio, pair.reason = verdict, verdict.ratio, verdict.reason
        if verdict.changed:
            pair.change, pair.tested = verdict.verdict, True
            return
    elif metric.kind == SAMPLED:
        pair.reason = "no samples recorded (asv run --record-samples): noise unknown"
    else:
        pair.reason = "single measurement: noise unknown"
    worse = pair.ratio > 1 + threshold if metric.lower_is_better else pair.ratio < 1 / (1 + threshold)
    better = pair.ratio < 1 / (1 + threshold) if metric.lower_is_better else pair.ratio > 1 + threshold
    if worse or better:
        pair.change = "slower" if worse else "faster"


def judge_status(pair: Pair) -> None:
    """Works in OLD, fails or breaks in NEW (or the reverse): a change established by the run itself."""
    old, new = pair.old, pair.new
    if old.works and new.status in status_.NOT_WORKING:
        pair.change, pair.tested = new.status, True
        why = new.reason or "reason not recorded (asv keeps no error text)"
        pair.reason = f"{new.status} in {pair.new_label}: {why}"
    elif new.works and old.status in status_.NOT_WORKING:
        pair.change, pair.tested = "fixed", True
        why = f": {old.reason}" if old.reason else ""
        pair.reason = f"{old.status} in {pair.old_label}{why}; works in {pair.new_label}"
    elif old.status in status_.NOT_WORKING and new.status in status_.NOT_WORKING and old.status != new.status:
        pair.change, pair.tested = new.status, True  # failed <-> broken: still not working, differently
        before = f": {old.reason}" if old.reason else ""
        pair.reason = (f"{old.status} in {pair.old_label}{before}; {new.status} in {pair.new_label}: "
                       f"{new.reason or 'reason not recorded'}")


def rerun_command(pair: Pair, metric: Metric, figure: Figure) -> str | None:
    """``releases compare`` of the figure's whole identity: its path, driver, workload and held context."""
    identity = figure.identity
    if pair.library == RUN or metric.name not in ("time", "cpu") or identity.strategy is None:
        return None
    rows = f" --rows {identity.rows}" if identity.rows else ""
    # Another driver than the strategy's own is named (a record without one measured its own).
    driver = f" --driver {identity.named_driver}" if identity.named_driver else ""
    workload = f" --workload {identity.workload}" if identity.workload != DEFAULT_WORKLOAD else ""
    # The re-run holds the finding's context (the other libraries' releases), not the newest ones.
    held = "".join(f" --with {name}=={version}" for name, version in pair.context if name != "python" and version)
    return (
        f"bulkinsert releases compare {identity.strategy} {pair.old_label} {pair.new_label} "
        f"--library {pair.library} --metric {metric.name}{rows}{driver}{workload}{held}"
    )


def path_of(figure: Figure) -> tuple:
    """The insert path a figure measures: suite, workload, strategy, driver and rows (``Identity.path``).

    The main suite's benchmarks (time, statements, calls, ...) measure one path per strategy,
    driver and rows on the ``users`` workload; a workload benchmark's ``workload`` parameter, the
    driver axis's other drivers and the scale suite are other paths, so their figures never
    excuse a main-suite call count.
    """
    return figure.identity.path


def _path_key(pair: Pair) -> tuple:
    identity = pair.new.identity
    return (*path_of(pair.new), identity.machine, identity.commit, pair.library, pair.old_label, pair.new_label,
            pair.context)


def _step_key(pair: Pair) -> tuple:
    """The same release step of the same figure: its replicates differ only in the held-equal context."""
    identity = pair.new.identity
    return (series_key(identity, pair.new.params), identity.commit, pair.library, pair.old_label, pair.new_label)


def _held(pair: Pair) -> str:
    return ", ".join(f"{k} {v}" for k, v in pair.context) or "the same environment"


def _no_replicate(pair: Pair, unusable: Sequence[Pair]) -> str:
    """Why a tested timing has no replicate to agree with it."""
    if unusable:
        return "no replicate: " + "; ".join(
            f"with {_held(p)} the figure {p.new.status if p.old.works else p.old.status}" for p in unusable)
    if pair.library == RUN:
        return "no replicate: only one environment compared with the baseline"
    return "no replicate: no other held-equal release measured"


def _timing_verdict(pair: Pair, others: Sequence[Pair]) -> tuple[bool, str]:
    """Confirmed only with a tested replicate agreeing and none measured disagreeing."""
    measured = [p for p in others if p.works]
    agreeing = [p for p in measured if p.tested and p.change == pair.change]
    missing = [_held(p) for p in measured if p not in agreeing]
    if not pair.tested:
        return False, pair.reason
    if missing:
        return False, f"{pair.reason}; not reproduced with {'; '.join(missing)}"
    if not agreeing:
        return False, f"{pair.reason}; {_no_replicate(pair, [p for p in others if not p.works])}"
    return True, f"{pair.reason}; reproduced in {len(agreeing)} replicate(s)"


def _replicates(others: Sequence[Pair]) -> list[dict[str, Any]]:
    return [{"context": dict(p.context), "change": p.change, "tested": p.tested, "ratio": p.ratio if p.works else None,
             "status": p.new.status if p.old.works else p.old.status,
             "p_value": p.sample_verdict.p_value if p.sample_verdict else None} for p in others]


def verdicts(pairs: Sequence[Pair], metrics: dict[str, Metric]) -> list[Finding]:
    """Findings from judged pairs: status changes, replicates for timings, the path rule for counts."""
    steps: dict[tuple, list[Pair]] = {}
    # Every measured pair of a path and step, per metric: two benchmarks may measure one path
    # (the driver axis's psycopg2 counts and the main suite's), and neither hides the other.
    paths: dict[tuple, dict[str, list[Pair]]] = {}
    for pair in pairs:
        steps.setdefault(_step_key(pair), []).append(pair)
        if pair.works:
            paths.setdefault(_path_key(pair), {}).setdefault(metrics[pair.new.benchmark].name, []).append(pair)
    findings: list[Finding] = []
    confirmed_time: dict[tuple, bool] = {}
    for pair in pairs:
        if pair.works or pair.change == "same":
            continue
        verdict = "improvement" if pair.change == "fixed" else "regression"
        if pair.change == status_.FAILED and pair.old.status == status_.BROKEN:
            verdict = "changed"  # it now raises where it loaded wrong rows: not working still, no longer silent
        findings.append(finding_of(pair, STATUS_METRIC, verdict, True, pair.reason))
    for pair in pairs:
        metric = metrics[pair.new.benchmark]
        if not pair.works or pair.change == "same" or metric.kind not in (SAMPLED, SINGLE):
            continue
        others = [p for p in steps[_step_key(pair)] if p is not pair]
        confirmed, reason = _timing_verdict(pair, others)
        verdict = "unconfirmed"
        if confirmed:
            verdict = "regression" if pair.change == "slower" else "improvement"
            if metric.name == "time" and pair.change == "faster":
                confirmed_time[_path_key(pair)] = True
        finding = finding_of(pair, metric, verdict, confirmed, reason, rerun_command(pair, metric, pair.new))
        finding.replicates = _replicates(others)
        findings.append(finding)
    for pair in pairs:
        metric = metrics[pair.new.benchmark]
        if not pair.works or pair.change == "same" or metric.kind != COUNTED:
            continue
        if pair.change == "fewer":
            findings.append(finding_of(pair, metric, "improvement", True, pair.reason))
            continue
        verdict, reason = "regression", pair.reason
        if metric.name == "calls":
            path = paths[_path_key(pair)]
            statements = path.get("statements", [])
            why = []
            if confirmed_time.get(_path_key(pair)):
                faster = [p for p in path.get("time", []) if p.change == "faster"]
                why.append(f"time x{faster[0].ratio:.2f} (confirmed)")
            if statements and all(p.change == "fewer" for p in statements):
                why.append(f"statements {statements[0].old.value:,.0f} -> {statements[0].new.value:,.0f}")
            if why:
                verdict, reason = "changed", f"{reason}; changed code path: {', '.join(why)}"
        findings.append(finding_of(pair, metric, verdict, True, reason))
    return findings


def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    name = str(canonicalize_name(name))
    return "psycopg2-binary" if name == "psycopg2" else name


def _context_key(context: dict[str, str]) -> frozenset[tuple[str, str]]:
    """A context as a comparable key: canonical library names, the interpreter left out."""
    return frozenset((_canonical(name), str(version)) for name, version in context.items() if name != "python")


def _host(machine: str | None) -> str | None:
    """The computer a figure or re-run was measured on: a sweep's ``<machine>-releases`` is ``<machine>``."""
    return machine.removesuffix(SWEEP_MACHINE_SUFFIX) if machine else machine


def _rerun_path(strategy: str | None, driver: Any, workload: Any) -> tuple:
    """A re-run's or a finding's path: strategy, resolved driver (none named: the strategy's own), workload."""
    name = (strategy or "").partition("+")[0] or None
    labelled = (strategy or "").partition("+")[2]
    return (name, str(driver or labelled or default_driver(name) or ""), str(workload or DEFAULT_WORKLOAD))


def apply_reruns(findings: Sequence[Finding], reruns: Iterable[RecordedFinding | dict[str, Any]]) -> int:
    """Settle unconfirmed timings with recorded side-by-side re-runs; returns how many were settled.

    A re-run (``bulkinsert releases compare``, a ``compare`` record of findings.jsonl, or the
    side-by-side re-run of a ``watch`` record, its ``rerun_verdict``) settles a finding of the same
    identity: strategy, driver (a record that names none measured the strategy's own), workload,
    rows, metric, library step, computer (a sweep's machine is its computer's) and project commit, measured
    in the finding's own context (the other libraries at the releases the finding held equal, as
    ``releases compare --with`` records them). It measures a main-suite path, so it never settles
    a finding of the scale suite. ``slower`` confirms it as a regression (``faster`` as an
    improvement); any other verdict leaves it unconfirmed — also one the rank test and its
    replicates had confirmed (a quick run confirmed ``orm_pk_preload`` x1.07 slower from 2.0.58 to
    2.1.9; side by side, paired, it was x1.017, p=0.026). A re-run that recorded no context, or was
    measured from a dirty work tree, settles nothing: neither says what it measured. The newest
    matching re-run wins.
    """
    newest: dict[tuple, tuple[RecordedFinding, str]] = {}
    for rerun in reruns:
        if not isinstance(rerun, RecordedFinding):
            try:
                rerun = RecordedFinding.from_dict(rerun)
            except (ValueError, TypeError):
                continue
        verdict = rerun.verdict if rerun.kind == "compare" else rerun.extra.get("rerun_verdict")
        if rerun.kind not in ("compare", "watch") or not isinstance(verdict, str) or rerun.extra.get("dirty"):
            continue  # a watch record counts by what its side-by-side re-run measured, when it measured
        context = rerun.extra.get("context")
        if not isinstance(context, dict):
            continue
        path = _rerun_path(rerun.strategy, rerun.extra.get("driver"), rerun.extra.get("workload"))
        newest[(*path, rerun.rows, rerun.metric, _canonical(rerun.library), rerun.old, rerun.new,
                _host(rerun.machine), rerun.commit, _context_key(context))] = (rerun, verdict)
    settled = 0
    refuted: set[tuple] = set()  # steps a re-run contradicted: no longer a replicate that agrees
    by_rerun: set[int] = set()  # findings a re-run settled, whatever their replicates say

    def key(finding: Finding, context: Any) -> tuple:
        return (*_rerun_path(finding.strategy, finding.driver, finding.workload), finding.rows, finding.metric,
                _canonical(finding.library), finding.old, finding.new, _host(finding.machine), finding.commit,
                _context_key(context))

    for finding in findings:
        if finding.metric not in ("time", "cpu") or finding.library == RUN or finding.benchmark.startswith("scale."):
            continue
        match = newest.get(key(finding, finding.context))
        if match is None:
            continue
        found, said = match
        settled += 1
        by_rerun.add(id(finding))
        if said != finding.change:
            refuted.add(key(finding, finding.context))
        detail = ""
        if found.ratio is not None and found.p_value is not None:
            detail = f"x{found.ratio:.3f}, p={found.p_value:.2g}"
        if said == finding.change:
            if not finding.confirmed:
                finding.reason += f"; confirmed side by side ({detail})"
            finding.confirmed, finding.rerun = True, None
            finding.verdict = "regression" if finding.change == "slower" else "improvement"
        else:
            if finding.confirmed:
                finding.confirmed, finding.verdict = False, "unconfirmed"
            finding.reason += f"; side-by-side re-run says {said} ({detail})"
    # A finding confirmed by its replicates alone stands only while one of them still agrees.
    for finding in findings:
        if not refuted or not finding.confirmed or id(finding) in by_rerun or finding.metric not in ("time", "cpu"):
            continue
        agreeing = [r for r in finding.replicates if r.get("tested") and r.get("change") == finding.change]
        if agreeing and all(key(finding, r["context"]) in refuted for r in agreeing):
            finding.confirmed, finding.verdict = False, "unconfirmed"
            held = "; ".join(", ".join(f"{k} {v}" for k, v in sorted(r["context"].items())) for r in agreeing)
            finding.reason += f"; its replicate with {held} did not hold side by side"
    return settled


def compare_figures(
    figures: Sequence[Figure],
    *,
    baseline: Sequence[Figure] | None = None,
    reruns: Iterable[RecordedFinding | dict[str, Any]] = (),
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = stats.DEFAULT_ALPHA,
    min_effect: float = stats.DEFAULT_MIN_EFFECT,
    keep_dirty: bool = False,
) -> Comparison:
    """Every finding between adjacent releases (or against a baseline run), machine by machine.

    Figures of a dirty work tree are left out unless ``keep_dirty`` (``releases watch`` of a dirty
    tree judges its own sweep: one machine, so never mixed with clean figures).
    """
    findings: list[Finding] = []
    skipped: set = set()
    compared = 0
    if not keep_dirty:
        figures = [f for f in figures if not from_dirty_tree(f)]
        baseline = None if baseline is None else [f for f in baseline if not from_dirty_tree(f)]
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
        apply_controls(pairs, metrics)  # what paths that do not use the varying library did too
        apply_discoveries(pairs, alpha, threshold)  # rank tests held to their family's Benjamini-Hochberg level
        compared += len(pairs)
        findings.extend(verdicts(pairs, metrics))
    apply_reruns(findings, reruns)
    order = {"regression": 0, "improvement": 1, "changed": 2, "unconfirmed": 3}

    findings.sort(key=lambda f: (order[f.verdict], f.machine, f.strategy or "", f.rows or 0, f.library,
                                 version_key(f.old), f.benchmark, sorted(f.context.items())))
    return Comparison(findings, len(skipped), libraries, compared, threshold)


def judge_results(
    figures: Sequence[Figure],
    *,
    baseline: Sequence[Figure] | None = None,
    findings_file: Path | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = stats.DEFAULT_ALPHA,
    min_effect: float = stats.DEFAULT_MIN_EFFECT,
) -> Comparison:
    """The one verdict path of ``compare`` and the site: the figures' findings with the recorded
    side-by-side re-runs (findings.jsonl, default ``.asv/releases/findings.jsonl``) applied."""
    return compare_figures(figures, baseline=baseline, reruns=read_records(findings_file), threshold=threshold,
                           alpha=alpha, min_effect=min_effect)
