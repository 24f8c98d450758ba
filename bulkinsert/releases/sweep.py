"""Measure strategies on every release of a range and store the figures as asv results.

Per release: its environment (every missing one built first, several at once, before anything is
timed; :mod:`.schedule`), one long-lived measuring process (the next one started ahead on a CPU
the measurement does not use), then per strategy one insert under cProfile (function calls
and server statements) and ``samples`` plain inserts (wall time, client CPU; ``samples=0``
records the deterministic figures only, e.g. for sweeps sharded over CI runners). After the
profiled insert, outside every timed region, the table is compared with the inserted rows by the
tests' own exactness check (:func:`bulkinsert.data.exact.check_exact`); a release that loads them
wrongly gets a ``broken`` reason and a ``{"kind": "broken", …}`` record in the findings file the
releases page reads (:mod:`.findings`). The figures are
written with :func:`bulkinsert.analysis.results.write_figures` under the suite's own benchmark names
and parameters, one asv environment per release and the checkout's commit, so ``asv publish``
and the site's releases page read them — but on a machine of their own,
``<machine>-releases`` (:func:`sweep_machine`): warm in-process samples of a sweep are not asv's
samples, and a release environment whose pins equal a matrix environment's must not become its
replicate. ``bulkinsert compare`` never pairs figures of different machines, so a sweep figure is
never judged against a matrix figure.

A checkout with uncommitted changes is refused (its figures would be filed under a commit whose
code was not measured); ``allow_dirty`` measures it anyway and files the results on
``<machine>-releases-dirty``, apart from every clean figure.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..analysis import status as status_
from ..analysis.metrics import metric
from ..analysis.results import DIRTY_MACHINE_SUFFIX, SWEEP_MACHINE_SUFFIX
from ..errors import BulkInsertError
from ..measure import suiteconf
from .envs import CHECKOUT, EnvironmentError_, ReleaseEnv, release_env
from .findings import record
from .provenance import machine_name, project_commit
from .schedule import build_all, default_build_jobs, spare_cpus
from .workers import Unmeasurable, Worker, WorkerError

# A sweep files its figures under the main suite's benchmarks of these metrics.
_TIME, _STATEMENTS, _CALLS = metric("time"), metric("statements"), metric("calls")
_INSTRUCTIONS = metric("instructions")
_SWEEP_BENCHMARKS = tuple((m.benchmark, m.unit) for m in (_TIME, _STATEMENTS, _CALLS))
# A release sweep records statements and calls at the quick suite's TRACK_ROWS: a per-row path
# shows at 1,000 rows as plainly as at 10,000 (1,002 statements against 3), at a tenth of the
# inserts' cost, which is what a sweep over dozens of releases spends its time on.
DEFAULT_ROWS = 1_000
DEFAULT_SAMPLES = 3
DEFAULT_RESULTS_DIR = CHECKOUT / ".asv" / "results"


class DirtyWorkTree(BulkInsertError):
    """The checkout has uncommitted changes and the sweep was not told to measure it anyway."""


@dataclass
class StrategyFigures:
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    statements: int | None = None
    function_calls: int | None = None
    instructions: int | None = None  # counted under valgrind when the sweep was asked for them
    instructions_note: str | None = None  # why not, when asked (valgrind missing, the path failed there)
    unsupported: str | None = None
    error: str | None = None
    broken: str | None = None  # the exactness check's one line: the loaded table differs from the rows
    statements_unavailable: str | None = None  # why the server gave no statement count: n/a, not a failure
    lost: bool = False  # never attempted: the process died on an earlier strategy (``error`` says which)
    attempts: int = 1  # processes that ran it: a failure or a broken check is repeated once in a fresh one
    first_attempt: str | None = None  # what the first attempt gave, when the retry was needed

    @property
    def works(self) -> bool:
        """Measured in full: no error, rows loaded exactly, runs on this release."""
        return not (self.error or self.broken or self.unsupported)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"statements": self.statements, "function_calls": self.function_calls}
        if self.instructions is not None or self.instructions_note:
            data["instructions"] = self.instructions
        if self.instructions_note:
            data["instructions_note"] = self.instructions_note
        if self.seconds:
            data["seconds"] = statistics.median(self.seconds)
            data["cpu_seconds"] = statistics.median(self.cpu_seconds)
            data["samples"] = {"seconds": self.seconds, "cpu_seconds": self.cpu_seconds}
        if self.unsupported:
            data["unsupported"] = self.unsupported
        if self.error:
            data["error"] = self.error
        if self.broken:
            data["broken"] = self.broken
        if self.statements_unavailable:
            data["statements_unavailable"] = self.statements_unavailable
        if self.attempts > 1:
            data["attempts"], data["first_attempt"] = self.attempts, self.first_attempt
        return data


@dataclass
class ReleaseFigures:
    version: str
    env: ReleaseEnv
    built: bool
    strategies: dict[str, StrategyFigures] = field(default_factory=dict)


@dataclass
class SweepResult:
    library: str
    rows: int
    releases: list[ReleaseFigures] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # version -> why it could not be measured
    written: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    dirty: bool = False
    machine: str = ""
    driver: str | None = None  # the SQLAlchemy paths' driver (None: each strategy's own)

    @property
    def environments_built(self) -> int:
        return sum(r.built for r in self.releases)

    def creep(self) -> list[Any]:
        """Slow creep of a count across the releases (:func:`count_creep`), each a finding."""
        return count_creep(figures_of_sweep(self, machine=self.machine or "sweep", commit="", date=0), self.library)

    def as_dict(self) -> dict[str, Any]:
        return {
            "library": self.library,
            "driver": self.driver,
            "rows": self.rows,
            "seconds": round(self.seconds, 1),
            "environments_built": self.environments_built,
            "releases": {
                r.version: {name: figures.as_dict() for name, figures in r.strategies.items()} for r in self.releases
            },
            "failed": self.failed,
            "creep": [{k: getattr(f, k) for k in ("strategy", "metric", "old", "new", "old_value", "new_value",
                                                    "change", "reason")} for f in self.creep()],
            "machine": self.machine,
            "dirty": self.dirty,
            "results": [str(p) for p in self.written],
        }


def sweep_machine(*, dirty: bool = False) -> str:
    """The machine a sweep's results are filed on: ``make bench``'s with ``-releases`` (``-dirty``) added."""
    base = machine_name()
    name = base if base.endswith(SWEEP_MACHINE_SUFFIX) else base + SWEEP_MACHINE_SUFFIX
    return name + DIRTY_MACHINE_SUFFIX if dirty else name


def work_tree_dirty(checkout: Path = CHECKOUT) -> bool:
    """Whether tracked files of the checkout differ from its commit (untracked files do not count)."""
    done = subprocess.run(["git", "-C", str(checkout), "status", "--porcelain", "--untracked-files=no"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise DirtyWorkTree(f"cannot tell whether {checkout} has uncommitted changes: "
                            f"{(done.stderr.strip().splitlines() or ['git status failed'])[0]}")
    return bool(done.stdout.strip())


def refuse_dirty(allow_dirty: bool, checkout: Path = CHECKOUT) -> bool:
    """Raise :class:`DirtyWorkTree` for uncommitted changes unless allowed; returns whether the tree is dirty."""
    dirty = work_tree_dirty(checkout)
    if dirty and not allow_dirty:
        raise DirtyWorkTree(f"{checkout} has uncommitted changes: a sweep files its figures under the commit; "
                            "commit first, or pass --allow-dirty (results go to the '-releases-dirty' machine)")
    return dirty


def measure_release(
    worker: Worker, strategies: Sequence[str], rows: int, samples: int, step: Callable[[str], None],
    driver: str | None = None, placed: Callable[[Worker], None] | None = None,
) -> dict[str, StrategyFigures]:
    """Every strategy in one release's process: one profiled insert, then ``samples`` plain ones.

    The profiled insert is checked for exactness afterwards (untimed); a difference is kept as
    ``broken`` and the samples are still taken. When the process dies, every strategy it had not
    measured yet is ``lost`` (failed, with the reason) — never left without a figure or a status;
    :func:`measure_with_retry` measures them in a fresh process. ``driver``: the SQLAlchemy paths'
    driver (None: each strategy's own). ``placed(worker)`` is called once, after the first insert
    that placed the process on its CPUs (``worker.placement``).
    """
    found: dict[str, StrategyFigures] = {}
    on = {"driver": driver} if driver else {}  # without one, the request as before drivers
    for position, name in enumerate(strategies):
        figures = found[name] = StrategyFigures()
        try:
            step(f"{name}: calls")
            profiled = worker.measure(name, rows, calls=True, check=True, **on)
            if placed is not None and worker.placement is not None:
                placed(worker)
                placed = None
            if profiled.get("not_exact"):
                figures.broken = profiled["not_exact"]
            figures.function_calls = profiled["function_calls"]
            figures.statements = profiled["statements"]  # the server's count: the same under cProfile
            figures.statements_unavailable = profiled.get("statements_unavailable")
            for index in range(samples):
                step(f"{name}: sample {index + 1}/{samples}")
                answer = worker.measure(name, rows, **on)
                figures.seconds.append(answer["seconds"])
                figures.cpu_seconds.append(answer["cpu_seconds"])
                figures.statements = answer["statements"]
        except Unmeasurable as exc:
            figures.unsupported = str(exc)
        except WorkerError as exc:
            figures.error = str(exc)
            if worker.process is not None and worker.process.poll() is not None:
                why = f"not measured: the measuring process died during {name} ({exc})"
                for rest in strategies[position + 1:]:
                    found[rest] = StrategyFigures(error=why, lost=True)
                break
    return found


def measure_with_retry(
    start: Callable[[], Worker], strategies: Sequence[str], rows: int, samples: int,
    step: Callable[[str], None], driver: str | None = None, first: Worker | None = None,
    placed: Callable[[Worker], None] | None = None,
) -> dict[str, StrategyFigures]:
    """One release's figures, a failure or a broken check confirmed by a second process before it stands.

    ``first`` (or ``start()``) measures every strategy; a strategy that failed or loaded the wrong
    rows is measured once more in a fresh process (``start()``), after those the first process
    never reached because it died. The second attempt's figures stand, with what the first
    gave in ``first_attempt``: a one-off crash of the process is not a regression of the release.
    A process that cannot be started twice leaves the strategies it would have measured failed,
    with its reason. Raises :class:`WorkerError` only when no process ever started.
    """
    final: dict[str, StrategyFigures] = {}
    earlier: dict[str, StrategyFigures] = {}  # the failed first attempts, by strategy
    queue, starts_failed, started_any = list(strategies), 0, False
    worker = first
    while queue:
        try:
            if worker is None:
                worker = start()
            with worker:
                worker.ready()
                started_any = True
                measured = measure_release(worker, queue, rows, samples, step, driver, placed)
        except WorkerError as exc:
            starts_failed += 1
            worker = None
            if starts_failed < 2:
                continue
            if not started_any:
                raise
            why = f"the measuring process did not start again ({exc})"
            for name in queue:
                before = earlier.get(name)
                if before is None:
                    final[name] = StrategyFigures(error=f"not measured: {why}", lost=True)
                    continue
                if before.error:  # its first attempt stands, unrepeated, and says so
                    before.error = f"{before.error}; not measured again: {why}"
                final[name] = before
            break
        worker = None
        lost = [name for name in queue if measured[name].lost]
        again = []
        for name in queue:
            figures = measured[name]
            if figures.lost:
                continue
            if not figures.works and not figures.unsupported and name not in earlier:
                earlier[name] = figures
                again.append(name)
                continue
            final[name] = _with_first(figures, earlier.get(name))
        queue = lost + again
    return {name: final[name] for name in strategies}


def _with_first(figures: StrategyFigures, first: StrategyFigures | None) -> StrategyFigures:
    """The second attempt's figures, saying what the first gave (and, for a failure, that it repeated)."""
    if first is None:
        return figures
    said = first.error or first.broken or ""
    figures.attempts, figures.first_attempt = 2, said
    if figures.error:
        figures.error = f"{figures.error} (in both attempts)"
    if figures.broken:
        figures.broken = f"{figures.broken} (in both attempts)"
    return figures


def record_confirmed_broken(env: ReleaseEnv, measured: dict[str, StrategyFigures], rows: int,
                            driver: str | None = None) -> None:
    """A broken mark for each strategy whose rows came out wrong in both attempts."""
    for name, figures in measured.items():
        if figures.broken:
            record_broken(env, name, rows, figures.broken, driver)


def record_broken(env: ReleaseEnv, strategy: str, rows: int, error: str, driver: str | None = None) -> None:
    """The releases page's broken mark: this release loaded the strategy's rows wrongly (on ``driver``)."""
    record({"kind": "broken", "library": env.library, "release": env.version, "strategy": strategy,
            "error": error, "rows": rows, "workload": "users", **({"driver": driver} if driver else {}),
            **({"dirty": True} if work_tree_dirty() else {})})


def sweep(
    library: str,
    versions: Sequence[str],
    strategies: Sequence[str],
    *,
    rows: int = DEFAULT_ROWS,
    samples: int = DEFAULT_SAMPLES,
    results_dir: Path | None = DEFAULT_RESULTS_DIR,
    progress: Callable[[str, int, int, str], None] | None = None,
    allow_dirty: bool = False,
    driver: str | None = None,
    build_jobs: int | None = None,
    start_ahead: bool = True,
    instructions: bool = False,
) -> SweepResult:
    """Measure ``strategies`` on each of ``versions`` and write asv results (unless ``results_dir`` is None).

    ``progress(version, index, total, what)`` is told where the sweep is. A release that does
    not install, or whose process fails, is recorded in ``failed`` and the sweep goes on.
    Raises :class:`DirtyWorkTree` before measuring when the checkout has uncommitted changes and
    ``allow_dirty`` is false. ``driver`` runs the SQLAlchemy paths on it (None: each strategy's own);
    the figures are then filed under the strategy label (``core_executemany+psycopg``).
    Environments are built first, ``build_jobs`` at a time (None: :func:`.schedule.default_build_jobs`);
    ``start_ahead`` starts the next release's process on a spare CPU while one measures (:mod:`.schedule`).
    ``instructions``: then every release's client instructions too, all its strategies in one more
    process under valgrind (:mod:`bulkinsert.measure.instructions`).
    """
    started = time.monotonic()
    dirty = refuse_dirty(allow_dirty)
    result = SweepResult(library, rows, dirty=dirty, machine=sweep_machine(dirty=dirty), driver=driver)
    tell = progress or (lambda *_: None)
    envs = [release_env(library, v) for v in versions]
    total = len(envs)
    for index, env in enumerate(envs):
        if not env.is_built:
            tell(versions[index], index, total, "environment")
    jobs = build_jobs or default_build_jobs(total)
    outcomes = build_all(envs, jobs, done=lambda index, _: tell(versions[index], index, total, "environment built"))
    for version, outcome in zip(versions, outcomes, strict=True):
        if isinstance(outcome, EnvironmentError_):
            result.failed[version] = str(outcome)
    ready = [index for index, outcome in enumerate(outcomes) if not isinstance(outcome, EnvironmentError_)]
    upcoming: Worker | None = None
    try:
        for position, index in enumerate(ready):
            version, env = versions[index], envs[index]
            worker, upcoming = upcoming, None
            tell(version, index, total, "measuring process")

            def start_next(placed: Worker, position: int = position) -> None:
                """Once this process has placed itself: the next one imports on the CPUs it left."""
                nonlocal upcoming
                cpus = spare_cpus(placed.placement)
                if start_ahead and cpus and position + 1 < len(ready) and upcoming is None:
                    upcoming = Worker(envs[ready[position + 1]], ahead=True, cpus=cpus)

            try:
                measured = measure_with_retry(
                    lambda env=env: Worker(env), strategies, rows, samples,
                    lambda what, v=version, i=index: tell(v, i, total, what), driver, first=worker, placed=start_next,
                )
            except WorkerError as exc:
                result.failed[version] = f"{exc} (in both attempts)"
                continue
            record_confirmed_broken(env, measured, rows, driver)
            if instructions:
                tell(version, index, total, "instructions (valgrind)")
                count_instructions(env, measured, rows, driver)
            result.releases.append(ReleaseFigures(version, env, outcomes[index] is True, measured))
    finally:
        if upcoming is not None:
            upcoming.close()
    result.failed = {v: result.failed[v] for v in versions if v in result.failed}  # release order, as measured
    if results_dir is not None and result.releases:
        result.written = write_results(result, results_dir)
    result.seconds = time.monotonic() - started
    return result


def figures_of_sweep(result: SweepResult, *, machine: str, commit: str, date: int) -> list[Any]:
    """The sweep as :class:`bulkinsert.analysis.results.Figure` objects under the suite's benchmark names."""
    from ..analysis.results import Figure

    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    figures = []
    for release in result.releases:
        requirements = tuple(release.env.requirements) + (("python", python),)
        for name, measured in release.strategies.items():
            # On another driver the label (core_executemany+psycopg): never paired with the psycopg2 figures.
            params = (("strategy", strategy_label(name, result.driver)), ("rows", str(result.rows)))
            common = dict(machine=machine, env_name=release.env.name, commit=commit, date=date,
                          params=params, requirements=requirements)
            failure = _failure(measured)
            if failure is not None:  # a path that fails or loads the wrong rows is a status, not a figure
                figures += [Figure(benchmark=benchmark, value=None, unit=unit, status=failure[0], reason=failure[1],
                                   **common) for benchmark, unit in _SWEEP_BENCHMARKS]
                continue
            if measured.unsupported:  # n/a on this release, with its reason: a skip, never a missing figure
                figures += [Figure(benchmark=benchmark, value=None, unit=unit, status=status_.SKIPPED,
                                   reason=measured.unsupported, **common) for benchmark, unit in _SWEEP_BENCHMARKS]
                continue
            if measured.seconds:  # --samples 0: no time figure
                figures.append(Figure(benchmark=_TIME.benchmark, value=statistics.median(measured.seconds),
                                      samples=tuple(measured.seconds), number=1, unit=_TIME.unit, **common))
            for counted in (_STATEMENTS, _CALLS):
                value = _number(getattr(measured, counted.attribute))
                if value is None:  # e.g. a server without pg_stat_statements: n/a, and why
                    why = (measured.statements_unavailable if counted is _STATEMENTS else None) or \
                        f"{counted.name} not recorded by the measuring process"
                    figures.append(Figure(benchmark=counted.benchmark, value=None, unit=counted.unit,
                                          status=status_.SKIPPED, reason=why, **common))
                else:
                    figures.append(Figure(benchmark=counted.benchmark, value=value, unit=counted.unit, **common))
            if measured.instructions is not None or measured.instructions_note:  # asked for: a figure or n/a
                if measured.instructions is None:
                    figures.append(Figure(benchmark=_INSTRUCTIONS.benchmark, value=None, unit=_INSTRUCTIONS.unit,
                                          status=status_.SKIPPED, reason=measured.instructions_note, **common))
                else:
                    figures.append(Figure(benchmark=_INSTRUCTIONS.benchmark, value=_number(measured.instructions),
                                          unit=_INSTRUCTIONS.unit, **common))
    return figures


def count_creep(figures: Sequence[Any], library: str) -> list[Any]:
    """Slow creep of a count: each release also against the first release of its run of "same" steps.

    A count that grows by less than the count rule per release passes every adjacent comparison;
    judged against the start of the run it is flagged at the release where the total crosses the
    rule (one finding, OLD the run's first release). The run then starts again there; any
    adjacent change starts it again too. Only releases where the path works take part, and only
    figures of one machine, commit and held-equal environment form a line.
    """
    from ..analysis.findingtypes import DEFAULT_THRESHOLD, Pair, finding_of
    from ..analysis.metrics import COUNTED, creep_points, metric_for
    from ..analysis.results import version_key
    from ..analysis.verdicts import judge

    lines: dict[tuple, list[Any]] = {}
    for figure in figures:
        rule = metric_for(figure.benchmark)
        if rule.kind == COUNTED and figure.works and figure.value is not None and library in figure.versions:
            held = tuple(item for item in figure.requirements if item[0] != library)  # all else equal
            lines.setdefault((figure.machine, figure.commit, figure.benchmark, figure.params, held), []).append(figure)
    found = []
    for line in lines.values():
        line.sort(key=lambda f: version_key(f.versions[library]))
        rule = metric_for(line[0].benchmark)
        at = {f.versions[library]: f for f in line}
        points = [(f.versions[library], f.value) for f in line]
        for creep in creep_points(points, rule.name, line[-1].rows):  # the one creep rule
            pair = Pair(library, creep.reference, creep.release, (), at[creep.reference], at[creep.release], ())
            judge(pair, rule, threshold=DEFAULT_THRESHOLD, alpha=0.0, min_effect=0.0)
            verdict = "regression" if pair.change == "more" else "improvement"
            reason = f"{pair.reason}; crept since {creep.reference}, every release on the way within the rule"
            found.append(finding_of(pair, rule, verdict, True, reason))
    return found


def count_instructions(env: ReleaseEnv, measured: dict[str, StrategyFigures], rows: int, driver: str | None) -> None:
    """Every measured strategy's client instructions in ``env``, one process under valgrind."""
    from ..measure.instructions import measure_many
    from .workers import DEFAULT_DATABASE

    names = [name for name, figures in measured.items() if not (figures.unsupported or figures.error or figures.broken)]
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environ.setdefault("BULKINSERT_DATABASE", DEFAULT_DATABASE)
    counted, reason = measure_many([(name, rows, driver) for name in names], python=env.python, cwd=env.path,
                                   environ=environ)
    for (name, _rows, _driver), figure in counted.items():
        measured[name].instructions = figure.instructions
        if figure.instructions is None:
            measured[name].instructions_note = reason or figure.skip or figure.error


def strategy_label(name: str, driver: str | None) -> str:
    """``name`` on ``driver`` as the suite names it: the bare name on the strategy's own driver."""
    if driver is None:
        return name
    from ..registry import get

    return get(name).with_driver(driver).label


def _failure(measured: StrategyFigures) -> tuple[str, str] | None:
    """``(status, reason)`` of a strategy that raised or loaded the wrong rows in a release."""
    if measured.error:
        return status_.FAILED, measured.error
    if measured.broken:
        return status_.BROKEN, measured.broken
    return None


def _number(value: int | None) -> float | None:
    return None if value is None else float(value)


def write_results(result: SweepResult, results_dir: Path) -> list[Path]:
    """Write the sweep as asv result files, creating ``benchmarks.json`` first if asv has not."""
    from asv.machine import Machine

    from ..analysis.results import write_figures

    ensure_benchmarks_json(results_dir)
    commit, date = project_commit()
    info = {k: str(v) for k, v in Machine.get_defaults().items() if k != "machine"}
    figures = figures_of_sweep(result, machine=result.machine or sweep_machine(), commit=commit, date=date)
    return write_figures(results_dir, figures, machine_info=info)


def ensure_benchmarks_json(results_dir: Path) -> None:
    """asv's ``benchmarks.json`` (names, parameters, versions of the suite), discovered if missing.

    ``asv publish`` needs it and drops results whose benchmark version differs from it; the
    discovery is asv's own (``asv.benchmark discover``), run with this interpreter.
    """
    import json
    import tempfile

    from asv import runner
    from asv.benchmarks import Benchmarks
    if (results_dir / "benchmarks.json").exists():
        return
    conf = suiteconf.load(CHECKOUT / "asv.conf.json")
    conf.results_dir = str(results_dir)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "benchmarks.out.json"
        subprocess.run(
            [sys.executable, runner.BENCHMARK_RUN_SCRIPT, "discover", str(CHECKOUT / "benchmarks"), str(out)],
            cwd=scratch, check=True, capture_output=True, text=True,
        )
        discovered = json.loads(out.read_text())
    results_dir.mkdir(parents=True, exist_ok=True)
    Benchmarks(conf, discovered).save()
