"""The one reader (and writer) of asv result files, on asv's own ``asv.results``.

``bulkinsert compare``, the site and the release tools all see the same figures through this
module, so they agree on what a figure is: one benchmark at one parameter combination in one
environment, with the machine and project commit it was measured on, the environment's full
requirements, and asv's statistics and raw samples where they were recorded.

Two rules hold everywhere:

* versions sort by PEP 440 (:func:`version_key`): 2.1.0b1 < 2.1.0 < 2.1.0.post1 < 2.1.1;
* results of different machines are never mixed: every grouping keys on ``Figure.machine``;
* a figure is what its :class:`Identity` says (benchmark, workload, strategy, driver, rows, machine,
  environment, project commit, dirty mark): every verdict, re-run, chart and feed entry keys on it,
  so a figure of one driver never stands for another driver's.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from . import roundnotes
from . import status as status_
from .metrics import figure_driver

DEFAULT_RESULTS_DIR = Path(".asv") / "results"
# Libraries the matrix varies, in the order tables and keys list them; others follow by name.
LIBRARY_ORDER = ("SQLAlchemy", "psycopg2-binary", "psycopg2", "psycopg", "asyncpg", "python")
_UNPARSABLE = Version("0")
# Results measured from a work tree with uncommitted changes are filed on a machine of this
# suffix (``releases sweep --allow-dirty``): shown, never judged, since no commit names their code.
DIRTY_MACHINE_SUFFIX = "-dirty"
# A release sweep files its figures on ``<machine>-releases``: its own machine, on the same computer.
SWEEP_MACHINE_SUFFIX = "-releases"


def from_dirty_tree(figure: Figure) -> bool:
    """Whether the figure was measured from uncommitted code (kept out of every verdict)."""
    return figure.machine.endswith(DIRTY_MACHINE_SUFFIX)


def version_key(version: str) -> Version:
    """PEP 440 sort key for a release string (2.9.5 < 2.9.13, 2.1.0b1 < 2.1.0 < 2.1.0.post1).

    A string that is not a PEP 440 version (a local build, "?") sorts before every release
    instead of failing the sort.
    """
    try:
        return Version(str(version).strip())
    except InvalidVersion:
        return _UNPARSABLE


DEFAULT_WORKLOAD = "users"  # the workload of every benchmark without a ``workload`` parameter
DRIVER_SEPARATOR = "+"  # a strategy's label on another driver than its own: ``orm_basic+asyncpg``


def default_driver(strategy: str | None) -> str | None:
    """The driver a registered strategy runs on unless told otherwise (None: not registered here)."""
    return figure_driver(strategy) if strategy else None


@dataclass(frozen=True)
class Identity:
    """What a figure is a figure of. Two figures are the same measurement only when every field but
    ``environment`` (the one thing a release comparison varies) and ``commit`` agree.

    ``driver`` is always resolved: the ``driver`` parameter, the ``+driver`` of a sweep's strategy
    label, else the strategy's own driver (None for a strategy this checkout does not know).
    ``named_driver`` is the driver when it is not the strategy's own: what every verdict line,
    chart series and feed entry names.
    """

    benchmark: str
    workload: str
    strategy: str | None
    driver: str | None
    rows: int | None
    machine: str
    environment: tuple[tuple[str, str], ...]  # every requirement of the environment, python included
    commit: str
    dirty: bool
    named_driver: str | None = None

    @property
    def suite(self) -> str:
        """``scale`` (the 1,000,000-row suite) or ``main``: a path of one never stands for the other."""
        return "scale" if self.benchmark.startswith("scale.") else "main"

    @property
    def path(self) -> tuple[str, str, str | None, str | None, int | None]:
        """The insert path: suite, workload, strategy, driver and rows (what a call count's excuse must share)."""
        return (self.suite, self.workload, self.strategy, self.driver, self.rows)

    @property
    def label(self) -> str:
        """``orm_basic``, ``orm_basic on asyncpg``, ``core_executemany on psycopg (wide)``."""
        text = self.strategy or "?"
        if self.named_driver:
            text += f" on {self.named_driver}"
        return text if self.workload == DEFAULT_WORKLOAD else f"{text} ({self.workload})"


def identity_of(figure: Figure) -> Identity:
    """The figure's :class:`Identity` (see there for how the driver is resolved)."""
    label = figure.strategy
    name, _, labelled = label.partition(DRIVER_SEPARATOR) if label else (label, "", "")
    own = default_driver(name)
    driver = figure_driver(label, figure.param("driver"))  # the one resolution, shared with the count rule
    return Identity(
        benchmark=figure.benchmark,
        workload=figure.param("workload") or DEFAULT_WORKLOAD,
        strategy=name,
        driver=driver,
        rows=figure.rows,
        machine=figure.machine,
        environment=figure.requirements,
        commit=figure.commit,
        dirty=from_dirty_tree(figure),
        named_driver=driver if driver != own else None,
    )


@dataclass(frozen=True)
class Figure:
    """One asv result: a benchmark at one parameter combination in one environment."""

    machine: str
    benchmark: str
    env_name: str
    commit: str
    date: int
    params: tuple[tuple[str, str], ...]  # (("strategy", "orm_basic"), ("rows", "10000"))
    requirements: tuple[tuple[str, str], ...]  # every requirement of the environment, plus ("python", "3.11")
    value: float | None  # None: not measured (``status`` says why)
    samples: tuple[float, ...] | None = None  # raw samples (asv run --record-samples)
    rounds: tuple[int, ...] | None = None  # the round of each sample, when known (round_labels)
    ci_99: tuple[float, float] | None = None
    iqr: tuple[float, float] | None = None
    repeat: int | None = None
    number: int | None = None
    unit: str | None = None
    status: str = status_.OK  # ok, failed, broken or skipped (bulkinsert.analysis.status)
    reason: str | None = None  # why it failed or broke, when the suite noted it

    @property
    def works(self) -> bool:
        """Measured: the benchmark ran and its checks passed."""
        return self.status == status_.OK

    @property
    def versions(self) -> dict[str, str]:
        return dict(self.requirements)

    def param(self, name: str) -> str | None:
        return dict(self.params).get(name)

    @property
    def strategy(self) -> str | None:
        return self.param("strategy")

    @property
    def rows(self) -> int | None:
        rows = self.param("rows")
        return int(rows) if rows is not None and rows.isdigit() else None

    @functools.cached_property
    def identity(self) -> Identity:
        """:func:`identity_of` the figure, worked out once (every pairing and key asks for it)."""
        return identity_of(self)

    @property
    def method(self) -> str:
        """``time_insert`` of ``insert_time.InsertTime.time_insert``."""
        return self.benchmark.rsplit(".", 1)[-1]

    def label(self, libraries: Sequence[str] | None = None) -> str:
        """``SQLAlchemy 1.4.54, psycopg2-binary 2.9.5`` (the given libraries, else the matrix's)."""
        versions = self.versions
        names = list(libraries) if libraries is not None else [n for n in LIBRARY_ORDER[:3] if n in versions]
        return ", ".join(f"{name} {versions.get(name, '-')}" for name in names) or self.env_name


def _library_order(name: str) -> tuple[int, str]:
    return (LIBRARY_ORDER.index(name) if name in LIBRARY_ORDER else len(LIBRARY_ORDER), name.lower())


def varying_libraries(figures: Iterable[Figure]) -> list[str]:
    """Requirements (python included) that take more than one version across these figures."""
    seen: dict[str, set[str]] = {}
    for figure in figures:
        for name, version in figure.requirements:
            seen.setdefault(name, set()).add(version)
    return sorted((name for name, versions in seen.items() if len(versions) > 1), key=_library_order)


def environment_key(figure: Figure, libraries: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """(library, version) of the varying libraries: the key of an environment in findings and pages."""
    versions = figure.versions
    return tuple((name, versions.get(name, "")) for name in libraries)


def environment_order(figure: Figure, libraries: Sequence[str]) -> tuple[Version, ...]:
    """Sort key of an environment: the varying libraries' versions, PEP 440, in library order."""
    versions = figure.versions
    return tuple(version_key(versions.get(name, "")) for name in libraries)


# -- reading -------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    """A finite float, or None for asv's null (failed) and NaN (skipped)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _status(value: Any) -> str:
    """asv's ``null`` is a failed benchmark, ``NaN`` a skipped one (NotImplementedError)."""
    if value is None or isinstance(value, bool):
        return status_.FAILED
    try:
        number = float(value)
    except (TypeError, ValueError):
        return status_.FAILED
    return status_.SKIPPED if math.isnan(number) else status_.OK


def _interval(low: Any, high: Any) -> tuple[float, float] | None:
    a, b = _number(low), _number(high)
    return (a, b) if a is not None and b is not None else None


def _param_text(text: Any) -> str:
    """asv stores parameter values as their repr: ``"'orm_basic'"``, ``"1000"``."""
    text = str(text)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _benchmark_info(results_dir: Path) -> dict[str, dict[str, Any]]:
    """benchmarks.json (written by asv next to the machine directories): units and param names."""
    path = results_dir / "benchmarks.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {name: bench for name, bench in data.items() if isinstance(bench, dict)}


def _machines(results_dir: Path) -> list[str]:
    return sorted(p.parent.name for p in results_dir.glob("*/machine.json"))


def round_labels(count: int, rounds: Any, repeat: Any, samples_per_round: int | None = None) -> tuple[int, ...] | None:
    """The round of each of a figure's ``count`` samples, when the run's sampling implies it; else None.

    asv appends each round's samples to one list, in the order the rounds ran, and keeps no
    boundaries. A round takes between ``repeat``'s minimum and maximum samples (``[min, max,
    seconds]``, or one number for exactly that many), so the boundaries are implied only when
    every round took the same number: ``count`` is ``rounds`` times the minimum, or times the
    maximum. asv's benchmarks.json records ``rounds`` but not ``repeat``, so results say it only
    through the suite's round notes (:mod:`bulkinsert.analysis.roundnotes`, read by
    :func:`load_figures`) or ``samples_per_round``, a number stated for results without notes.
    asv's default ``repeat`` (0) has no fixed count — its range depends on the asv release — so
    it labels nothing.
    """
    try:
        total_rounds = int(rounds)
    except (TypeError, ValueError):
        return None
    if total_rounds < 2 or count < total_rounds:
        return None
    if samples_per_round is not None:
        fixed = [samples_per_round]
    elif isinstance(repeat, int) and not isinstance(repeat, bool) and repeat > 0:
        fixed = [repeat]
    elif isinstance(repeat, (list, tuple)) and len(repeat) == 3 and all(_number(v) is not None for v in repeat[:2]):
        fixed = [int(repeat[0]), int(repeat[1])]
    else:
        return None
    for per_round in fixed:
        if per_round > 0 and count == total_rounds * per_round:
            return tuple(index // per_round for index in range(count))
    return None


def figures_of(result: Any, info: Mapping[str, Mapping[str, Any]] | None = None,
               samples_per_round: int | None = None) -> list[Figure]:
    """Every figure of one loaded ``asv.results.Results`` (one machine, commit and environment).

    A figure's ``rounds`` are filled where :func:`round_labels` knows them."""
    info = info or {}
    machine = str(result.params.get("machine", ""))
    python = str(result.params.get("python", ""))
    requirements = {str(k): str(v) for k, v in (result._requirements or {}).items()}
    if python:
        requirements.setdefault("python", python)
    required = tuple(sorted(requirements.items(), key=lambda item: _library_order(item[0])))
    figures: list[Figure] = []
    for benchmark in sorted(result.get_all_result_keys()):
        grid = result.get_result_params(benchmark) or []
        names = list(info.get(benchmark, {}).get("param_names") or [])
        names += [f"param{i + 1}" for i in range(len(names), len(grid))]
        values = result.get_result_value(benchmark, grid)
        stats = result.get_result_stats(benchmark, grid)
        samples = result.get_result_samples(benchmark, grid)
        for index, combination in enumerate(itertools.product(*grid)):
            stat = (stats[index] if stats and index < len(stats) else None) or {}
            sample = samples[index] if samples and index < len(samples) else None
            kept = tuple(float(s) for s in sample if _number(s) is not None) if sample else None
            raw = values[index] if index < len(values) else None
            figures.append(
                Figure(
                    machine=machine,
                    benchmark=benchmark,
                    env_name=str(result.env_name),
                    commit=str(result.commit_hash),
                    date=int(result.date or 0),
                    params=tuple((name, _param_text(value)) for name, value in zip(names, combination, strict=False)),
                    requirements=required,
                    value=_number(raw),
                    samples=kept or None,
                    rounds=round_labels(len(kept), info.get(benchmark, {}).get("rounds"),
                                        info.get(benchmark, {}).get("repeat"), samples_per_round) if kept else None,
                    ci_99=_interval(stat.get("ci_99_a"), stat.get("ci_99_b")),
                    iqr=_interval(stat.get("q_25"), stat.get("q_75")),
                    repeat=int(stat["repeat"]) if _number(stat.get("repeat")) is not None else None,
                    number=int(stat["number"]) if _number(stat.get("number")) is not None else None,
                    unit=info.get(benchmark, {}).get("unit"),
                    status=_status(raw) if index < len(values) else status_.SKIPPED,
                )
            )
    return figures


def load_figures(
    results_dir: str | os.PathLike[str], *, machine: str | None = None, commit: str | None = None,
    samples_per_round: int | None = None,
) -> list[Figure]:
    """Every figure under an asv results directory.

    Of each (machine, environment) only its newest commit is kept — or, with ``commit`` (a hash
    prefix), only that commit. Environments are told apart by their full requirements. A failed
    figure takes the status and reason of the suite's status note, if there is one. A figure's
    samples get their rounds from the suite's round notes, else from ``samples_per_round``
    (:func:`round_labels`).
    Raises FileNotFoundError when the directory holds no machine's results.
    """
    from asv import results as asv_results

    root = Path(results_dir)
    machines = _machines(root) if root.is_dir() else []
    if machine is not None:
        machines = [m for m in machines if m == machine]
    if not machines:
        which = f" for machine {machine!r}" if machine else ""
        raise FileNotFoundError(f"no asv results{which} under {root}")
    info = _benchmark_info(root)
    everything: list[Figure] = []
    for name in machines:
        for result in asv_results.iter_results_for_machine(str(root), name):
            if commit is not None and not str(result.commit_hash).startswith(commit):
                continue
            everything.extend(figures_of(result, info, samples_per_round))
    newest: dict[tuple[str, tuple], tuple[int, str]] = {}
    for figure in everything:
        env = (figure.machine, figure.requirements)
        newest[env] = max(newest.get(env, (0, "")), (figure.date, figure.commit))
    notes = status_.read_notes(root)
    round_notes = roundnotes.read_round_notes(root)
    kept = []
    for f in everything:
        if (f.date, f.commit) != newest[(f.machine, f.requirements)]:
            continue
        if notes and f.status == status_.FAILED:
            note = status_.note_for(notes, benchmark=f.benchmark, params=f.params, commit=f.commit,
                                    env_name=f.env_name, versions=f.versions)
            if note is not None:
                f = replace(f, status=note.status, reason=note.reason)
        if round_notes and f.samples and f.rounds is None:
            labels = roundnotes.labels_from_notes(
                round_notes, benchmark_class=status_.class_of(f.benchmark), params=f.params, commit=f.commit,
                env_name=f.env_name, count=len(f.samples), rounds=int(info.get(f.benchmark, {}).get("rounds") or 1))
            f = replace(f, rounds=labels)
        kept.append(f)
    return kept


def by_machine(figures: Iterable[Figure]) -> dict[str, list[Figure]]:
    """Figures per machine: the only way figures are grouped before they are compared."""
    groups: dict[str, list[Figure]] = {}
    for figure in figures:
        groups.setdefault(figure.machine, []).append(figure)
    return dict(sorted(groups.items()))


# -- writing -------------------------------------------------------------------------------


def _param_repr(value: str) -> str:
    """How asv stores a parameter value: ints bare, strings quoted (``'orm_basic'``)."""
    return value if value.lstrip("-").isdigit() else repr(value)


def _stats_of(figure: Figure | None) -> dict[str, float] | None:
    """asv's per-combination statistics dict of a figure without samples (None when it has none)."""
    if figure is None or figure.samples or figure.value is None:
        return None
    stats: dict[str, float] = {}
    if figure.ci_99 is not None:
        stats["ci_99_a"], stats["ci_99_b"] = figure.ci_99
    if figure.iqr is not None:
        stats["q_25"], stats["q_75"] = figure.iqr
    if figure.repeat is not None:
        stats["repeat"] = figure.repeat
    if figure.number is not None:
        stats["number"] = figure.number
    return stats or None


def _written_value(figure: Figure | None) -> float | None:
    """asv's ``null`` only for a figure that failed or broke; no value otherwise is ``NaN`` (n/a)."""
    if figure is None or (figure.value is None and figure.status not in status_.NOT_WORKING):
        return math.nan
    return figure.value


def write_figures(
    results_dir: str | os.PathLike[str],
    figures: Iterable[Figure],
    *,
    machine_info: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write figures as asv result files (one per machine, commit and environment).

    For tools that measure outside ``asv run`` (the release sweep): the files are asv's own
    format, written by ``asv.results.Results.save``, so ``asv publish``, ``compare`` and the site
    read them with everything else. A figure with samples gets asv's statistics computed from
    them (its value becomes their median); one without keeps its value and has no statistics.
    The benchmark's version is taken from ``benchmarks.json`` when present, so ``asv publish``
    does not drop the results as stale. Existing results of the same file are replaced. A figure
    without a value is written as asv would: ``NaN`` when skipped, ``null`` when failed or
    broken (with a status note carrying the status and reason, as the suite writes one).
    """
    import datetime

    from asv import results as asv_results
    from asv.runner import BenchmarkResult

    root = Path(results_dir)
    info = _benchmark_info(root)
    files: dict[tuple[str, str, str], list[Figure]] = {}
    for figure in figures:
        files.setdefault((figure.machine, figure.commit, figure.env_name), []).append(figure)
    written: list[Path] = []
    for (machine, commit, env_name), group in sorted(files.items()):
        first = group[0]
        requirements = {k: v for k, v in first.requirements if k != "python"}
        python = first.versions.get("python", "")
        params = {**(machine_info or {}), "machine": machine, "python": python, **requirements}
        result = asv_results.Results(params, requirements, commit, first.date, python, env_name, {})
        benchmarks: dict[str, list[Figure]] = {}
        for figure in group:
            benchmarks.setdefault(figure.benchmark, []).append(figure)
        for benchmark, members in sorted(benchmarks.items()):
            names = [name for name, _ in members[0].params]
            axes: list[list[str]] = [[] for _ in names]
            for figure in members:
                for axis, (_, value) in zip(axes, figure.params, strict=True):
                    if value not in axis:
                        axis.append(value)
            cells = {tuple(v for _, v in f.params): f for f in members}
            values, samples, numbers = [], [], []
            for combination in itertools.product(*axes):
                figure = cells.get(combination)
                has_samples = figure is not None and bool(figure.samples)
                # asv drops the samples of a combination whose value is n/a; the value it keeps is
                # recomputed from the samples anyway.
                values.append(figure.samples[0] if has_samples else _written_value(figure))
                if figure is not None and figure.value is None and figure.status in status_.NOT_WORKING:
                    status_.record_note(root, commit=commit, env_name=env_name,
                                        benchmark_class=status_.class_of(benchmark),
                                        params=dict(figure.params), status=figure.status,
                                        reason=figure.reason or "")
                samples.append(list(figure.samples) if has_samples else None)
                numbers.append((figure.number or 1) if has_samples else None)
            result.add_result(
                {
                    "name": benchmark,
                    "version": info.get(benchmark, {}).get("version", benchmark),
                    "params": [[_param_repr(v) for v in axis] for axis in axes],
                },
                BenchmarkResult(result=values, samples=samples, number=numbers, errcode=0, stderr="", profile=None),
                started_at=datetime.datetime.now(datetime.UTC),
                record_samples=True,
            )
            # asv computes statistics only from samples; keep those a figure carries without them
            # (asv has no public setter for this, so the one private write of the module is here).
            kept = [_stats_of(cells.get(c)) for c in itertools.product(*axes)]
            computed = result._stats.get(benchmark) or [None] * len(kept)
            merged = [c if c is not None else k for c, k in zip(computed, kept, strict=True)]
            result._stats[benchmark] = merged if any(m is not None for m in merged) else None
        machine_dir = root / machine
        machine_dir.mkdir(parents=True, exist_ok=True)
        machine_json = machine_dir / "machine.json"
        if not machine_json.exists():
            machine_json.write_text(json.dumps({**(machine_info or {}), "machine": machine, "version": 1}, indent=4))
        result.save(str(root))
        written.append(root / asv_results.get_filename(machine, commit, env_name))
    return written
