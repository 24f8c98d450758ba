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
* its ratio must lie outside the range of the controls' ratios between the same two environments,
  counting the controls whose own step is significant (at least :data:`MIN_CONTROLS` of them):
  what every unrelated path also did is the machine; what one path's noise did is not.

Conservative by design: a step as small as the environments' own spread stays unconfirmed (and
says so, with the side-by-side command that can settle it).
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import registry
from .findingtypes import RUN, Pair
from .metrics import SAMPLED, SINGLE, Metric

MIN_CONTROLS = 3
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
    driver = pair.new.param("driver")
    return uses_library(pair.new.strategy, driver.strip("'") if driver else None, pair.library)


def apply_controls(pairs: Sequence[Pair], metrics: dict[str, Metric]) -> None:
    """Un-test timing pairs that the controls explain; each keeps its ratio and says why.

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
        found = controls.get(_step(pair, metrics), [])
        if len(found) < MIN_CONTROLS:
            continue
        low, high = min(found), max(found)
        if low <= pair.ratio <= high:
            pair.tested = False
            pair.reason += (f"; within the environments' shift: {len(found)} paths that do not use {pair.library} "
                            f"moved x{low:.2f}-x{high:.2f} between the same two environments")


def apply_run_controls(pairs: Sequence[Pair], metrics: dict[str, Metric]) -> None:
    """Two runs compared (``--baseline``): every path uses "the run", so the other paths of the same
    environment are the controls. A step within the range of at least :data:`MIN_CONTROLS` other
    paths that moved significantly between the same two runs is the machine's, not the path's
    (a second full run was x0.65-x0.95 on 163 timings; a uniform shift the other way would have
    looked like regressions reproduced in every environment)."""
    runs = [p for p in pairs if p.works and p.library == RUN and metrics[p.new.benchmark].kind in (SAMPLED, SINGLE)
            and p.ratio > 0]
    moved: dict[tuple, list[Pair]] = {}
    for pair in runs:
        if pair.tested and pair.change not in ("same", None):
            moved.setdefault(_step(pair, metrics), []).append(pair)
    for pair in [p for group in moved.values() for p in group]:
        others = [o.ratio for o in moved[_step(pair, metrics)] if o is not pair]
        if len(others) >= MIN_CONTROLS and min(others) <= pair.ratio <= max(others):
            pair.tested = False
            pair.reason += (f"; within the run's shift: {len(others)} other paths moved x{min(others):.2f}-"
                            f"x{max(others):.2f} between the same two runs of this environment")


def _step(pair: Pair, metrics: dict[str, Metric]) -> tuple:
    """The two environments and the metric a control shares with the pairs it controls."""
    return (pair.library, pair.old.machine, pair.old.env_name, pair.new.env_name, metrics[pair.new.benchmark].name)
