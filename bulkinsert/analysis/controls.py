"""Controls: paths that do not use the library a step varies, and what they say about the step.

Two environments of one run differ in one library, but they are also measured at different
minutes of a shared machine. A quick run measured while other jobs loaded the machine moved
every path of the psycopg2 2.9.13 environments x0.9-x2.6 against 2.9.5, psycopg 3 and asyncpg
paths included, and the rank test "confirmed" `core_insertmanyvalues` on asyncpg x1.76 slower
in two replicates: a psycopg2 regression in a path that never loads psycopg2. So before a timing
step can count as tested:

* the path must use the library that differs (:func:`uses_library`): a path that does not is a
  *control* of that step, never a finding (paths on psycopg 3 or asyncpg for a psycopg2 step; the
  peers, which never touch SQLAlchemy, for a SQLAlchemy step);
* a step is excused only by a shift the controls *agree* on (:func:`agreed_shift`): at least
  :data:`MIN_CONTROLS` controls whose own step is significant moved the same way, within a
  factor of ``1 +`` :data:`CLUSTER_WIDTH` of the median of all the significant controls, and
  they are at least half of them. Their median is the environments' shift; controls that
  moved both ways, or by very different amounts, agree on nothing, and the step is judged
  as measured. (A range of controls excuses nothing: x0.80, x0.85 and x1.50 would "hold" a
  clean x1.30 regression.)
* when they agree, the step is judged on what remains once that shift is divided out of its
  samples: the same rank test and minimum effect on NEW / shift against OLD, and what remains
  must also lie beyond the scatter of the agreeing controls around their shift. A path that
  moved with the environment is not tested (it says so); one that moved beyond it is judged on
  the difference, in either direction.

Adding controls can therefore un-test a step only when they moved the same way as the step,
by about as much (``tests/test_controls.py`` checks this as a property).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from .. import registry
from . import stats
from .findingtypes import RUN, Pair
from .metrics import SAMPLED, SINGLE, Metric

MIN_CONTROLS = 3
CLUSTER_WIDTH = 0.10  # an agreeing control lies within x1.10 of the controls' median shift
# The distributions of each driver the release axis varies, by the driver name strategies use.
DRIVER_OF_DISTRIBUTION = {"psycopg2": "psycopg2", "psycopg2-binary": "psycopg2", "psycopg": "psycopg",
                          "psycopg-binary": "psycopg", "asyncpg": "asyncpg", "pg8000": "pg8000"}


def uses_library(strategy_name: str | None, driver: str | None, library: str) -> bool:
    """Whether a path can be affected by ``library`` (an unknown path or library: assumed so)."""
    strategy = registry.load().get(strategy_name or "")
    if strategy is None:
        return True
    driver = driver or strategy.driver
    name = library.lower()
    if name == "sqlalchemy":  # every path but the peers takes its connection from SQLAlchemy's pool, timed
        return strategy.family != "peer"
    if name == "greenlet":  # SQLAlchemy's asyncio engine
        return (strategy.family in ("orm", "core") or len(strategy.drivers) > 1) and driver == "asyncpg"
    if name in DRIVER_OF_DISTRIBUTION:
        return driver == DRIVER_OF_DISTRIBUTION[name]
    return True


def _uses(pair: Pair) -> bool:
    """By the figure's identity: its strategy and resolved driver (a sweep's ``name+driver`` included)."""
    identity = pair.new.identity
    return uses_library(identity.strategy, identity.driver, pair.library)


@dataclass(frozen=True)
class Shift:
    """What the controls of a step agree on: the environments' shift and how closely."""

    ratio: float  # the median ratio of the agreeing controls
    scatter: float  # the largest |log(control / shift)| among them
    agreeing: int
    moved: int  # controls whose own step is significant

    def describe(self, who: str) -> str:
        low, high = self.ratio * math.exp(-self.scatter), self.ratio * math.exp(self.scatter)
        return f"{self.agreeing} of {self.moved} {who} moved x{self.ratio:.2f} (x{low:.2f}-x{high:.2f})"


def agreed_shift(moved: Sequence[float]) -> Shift | None:
    """The shift that the ratios of significantly moved controls agree on, or None.

    Agreement: at least :data:`MIN_CONTROLS` of them, and at least half, lie on the same side of
    x1 as their median and within a factor ``1 + CLUSTER_WIDTH`` of it.
    """
    logs = [math.log(r) for r in moved if r > 0]
    if len(logs) < MIN_CONTROLS:
        return None
    centre = statistics.median(logs)
    if centre == 0:
        return None
    width = math.log(1 + CLUSTER_WIDTH)
    cluster = [v for v in logs if v * centre > 0 and abs(v - centre) <= width]
    if len(cluster) < MIN_CONTROLS or 2 * len(cluster) < len(logs):
        return None
    shift = statistics.median(cluster)
    return Shift(math.exp(shift), max(abs(v - shift) for v in cluster), len(cluster), len(logs))


def judge_beyond_shift(pair: Pair, shift: Shift, who: str, whose: str = "the environments'") -> None:
    """Judge a changed timing on what remains after the agreed shift is divided out of NEW."""
    measured = pair.sample_verdict
    remains = pair.ratio / shift.ratio
    beyond = abs(math.log(remains)) > shift.scatter
    if measured is not None and pair.old.samples and pair.new.samples:
        verdict = stats.compare_samples(pair.old.samples, [v / shift.ratio for v in pair.new.samples],
                                        alpha=measured.alpha, min_effect=measured.min_effect,
                                        **pair.round_labels)
        pair.sample_verdict, remains = verdict, verdict.ratio
        beyond = beyond and abs(math.log(remains)) > shift.scatter
        changed = verdict.changed and beyond
        detail = f"x{remains:.3f} remains (p={verdict.p_value:.3g})"
        change = verdict.verdict
    else:  # no samples: a figure beyond the listing threshold stays listed, never tested
        changed, detail, change = False, f"x{remains:.3f} remains", pair.change
    if changed:
        pair.change = change
        pair.reason += f"; against {whose} shift ({shift.describe(who)}) {detail}"
    else:
        pair.tested = False
        pair.reason += f"; within {whose} shift: {shift.describe(who)}; {detail}"


def apply_controls(pairs: Sequence[Pair], metrics: dict[str, Metric]) -> None:
    """Un-test timing pairs that the controls explain, judge the rest beyond the agreed shift.

    Release steps are judged against the paths that do not use the varying library; two runs
    compared (``--baseline``) against the other paths of the environment (:func:`apply_run_controls`).
    """
    apply_run_controls(pairs, metrics)
    timed = [p for p in pairs if p.works and p.library != RUN and metrics[p.new.benchmark].kind in (SAMPLED, SINGLE)
             and p.ratio > 0]
    controls: dict[tuple, list[float]] = {}
    for pair in timed:
        # A control shows a shift only where its own rank test says it moved: a 5 ms COPY whose
        # samples drift by chance is noise, not a shift: such controls once hid a planted slowdown
        # (docs/results/2026-12-03-quick-run-repeated-and-planted.md).
        if not _uses(pair) and pair.tested and pair.change not in ("same", None):
            controls.setdefault(_step(pair, metrics), []).append(pair.ratio)
    for pair in timed:
        if not pair.tested or pair.change in ("same", None):
            continue
        if not _uses(pair):
            pair.tested = False
            pair.reason += f"; {pair.new.strategy} does not use {pair.library}: a control of this step, not a finding"
            continue
        shift = agreed_shift(controls.get(_step(pair, metrics), []))
        if shift is not None:
            judge_beyond_shift(pair, shift, f"paths that do not use {pair.library}")


def apply_run_controls(pairs: Sequence[Pair], metrics: dict[str, Metric]) -> None:
    """Two runs compared (``--baseline``): every path uses "the run", so the other paths of the same
    environment are the controls: a shift at least :data:`MIN_CONTROLS` of them agree on (as
    :func:`agreed_shift`) is the machine's, and each path is judged on what remains beyond it."""
    runs = [p for p in pairs if p.works and p.library == RUN and metrics[p.new.benchmark].kind in (SAMPLED, SINGLE)
            and p.ratio > 0]
    moved: dict[tuple, list[Pair]] = {}
    for pair in runs:
        if pair.tested and pair.change not in ("same", None):
            moved.setdefault(_step(pair, metrics), []).append(pair)
    shifts = {id(pair): agreed_shift([o.ratio for o in group if o is not pair])
              for group in moved.values() for pair in group}
    for group in moved.values():
        for pair in group:
            shift = shifts[id(pair)]
            if shift is not None:
                judge_beyond_shift(pair, shift, "other paths of this environment", "the run's")


def _step(pair: Pair, metrics: dict[str, Metric]) -> tuple:
    """The two environments and the metric a control shares with the pairs it controls."""
    return (pair.library, pair.old.machine, pair.old.env_name, pair.new.env_name, metrics[pair.new.benchmark].name)
