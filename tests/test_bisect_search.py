"""The bisect search itself, over planted change points: the measure function is the seam.

No environment, process or database: ``bisect_releases(..., measure=...)`` gets each visited
release's figure from a table, so the search, its skips and what it reports are tested on
ranges far longer than the real end-to-end test in test_releases.py can afford.
"""

from __future__ import annotations

import math
import random

import pytest

from bulkinsert.analysis.stats import compare_paired
from bulkinsert.releases.bisection import bisect_releases
from bulkinsert.releases.envs import EnvironmentError_
from bulkinsert.releases.sidebyside import PAIRED_TEST, SideBySide, round_order
from bulkinsert.releases.workers import WorkerError

RELEASES = [f"2.0.{n}" for n in range(30, 42)]  # 12 releases


def counts(change_at: str, before: int = 12, after: int = 10_002, back_at: str | None = None) -> dict[str, int]:
    """A statement count per release: ``after`` from ``change_at`` on (and ``before`` again from ``back_at``)."""
    figures, value = {}, before
    for version in RELEASES:
        if version == change_at:
            value = after
        if version == back_at:
            value = before
        figures[version] = value
    return figures


def measured(figures: dict[str, object], visited: list[str], failing: dict[str, Exception] | None = None):
    def measure(version: str) -> object:
        visited.append(version)
        if failing and version in failing:
            raise failing[version]
        return figures[version]

    return measure


@pytest.mark.parametrize("change_at", RELEASES[1:])
def test_finds_every_planted_change_point_within_the_bound(change_at: str) -> None:
    visited: list[str] = []
    result = bisect_releases("SQLAlchemy", RELEASES, "core_upsert_do_nothing",
                             measure=measured(counts(change_at), visited))
    index = RELEASES.index(change_at)
    assert (result.first_changed, result.last_unchanged) == (change_at, RELEASES[index - 1])
    assert result.verdict == "more" and result.ratio == pytest.approx(10_002 / 12)
    assert len(visited) == len(set(visited)) <= math.ceil(math.log2(len(RELEASES))) + 2
    assert result.as_dict()["values"][change_at] == 10_002


def test_no_change_measures_old_and_new_only() -> None:
    visited: list[str] = []
    result = bisect_releases("SQLAlchemy", RELEASES, "core_executemany", measure=measured(counts("never"), visited))
    assert result.first_changed is None and result.last_unchanged == RELEASES[-1] and result.verdict == "same"
    assert visited == [RELEASES[0], RELEASES[-1]]


def test_a_change_that_goes_back_before_new_is_not_seen() -> None:
    """Up in 2.0.33, back down in 2.0.37: NEW equals OLD, so bisect reports no change (documented)."""
    result = bisect_releases("SQLAlchemy", RELEASES, "s", measure=measured(counts("2.0.33", back_at="2.0.37"), []))
    assert result.first_changed is None and result.verdict == "same"


def test_two_changes_with_new_differing_it_finds_one_adjacent_change() -> None:
    """12 -> 10,002 in 2.0.33, -> 20,002 in 2.0.38: the search returns a release differing from OLD's
    figure whose measured predecessor equals OLD's — the first change (the only one adjacent to OLD's value)."""
    figures = counts("2.0.33")
    figures.update({v: 20_002 for v in RELEASES[RELEASES.index("2.0.38"):]})
    result = bisect_releases("SQLAlchemy", RELEASES, "s", measure=measured(figures, []))
    assert (result.first_changed, result.last_unchanged) == ("2.0.33", "2.0.32")


def test_up_and_down_again_with_new_still_changed() -> None:
    """12 -> 10,002 in 2.0.32, back to 12 in 2.0.35, 10,002 again from 2.0.39: *a* change point
    between endpoints that differ — a release differing from OLD right after one equal to OLD."""
    figures = counts("2.0.32", back_at="2.0.35")
    figures.update({v: 10_002 for v in RELEASES[RELEASES.index("2.0.39"):]})
    result = bisect_releases("SQLAlchemy", RELEASES, "s", measure=measured(figures, []))
    assert result.first_changed in ("2.0.32", "2.0.39")
    before = RELEASES[RELEASES.index(result.first_changed) - 1]
    assert result.last_unchanged == before and figures[before] == 12 and figures[result.first_changed] == 10_002


@pytest.mark.parametrize("failure", [EnvironmentError_("2.0.35 does not install: no wheel"),
                                     WorkerError("2.0.35: measuring process exited (1)")])
def test_a_middle_release_that_fails_is_skipped_and_reported(failure: Exception) -> None:
    visited: list[str] = []
    result = bisect_releases("SQLAlchemy", RELEASES, "s", measure=measured(counts("2.0.38"), visited,
                                                                           {"2.0.35": failure}))
    assert (result.first_changed, result.last_unchanged) == ("2.0.38", "2.0.37")
    assert "2.0.35" in visited and result.skipped == {"2.0.35": str(failure)}
    assert result.as_dict()["skipped"] == {"2.0.35": str(failure)} and result.untested_between == []


def test_a_skipped_release_next_to_the_change_is_named_as_possibly_it() -> None:
    failing = {v: EnvironmentError_(f"{v} does not install") for v in ("2.0.35", "2.0.36")}
    result = bisect_releases("SQLAlchemy", RELEASES, "s", measure=measured(counts("2.0.36"), [], failing))
    assert result.first_changed == "2.0.37" and result.last_unchanged == "2.0.34"
    assert result.untested_between == ["2.0.35", "2.0.36"]


def test_old_or_new_failing_ends_the_search() -> None:
    with pytest.raises(EnvironmentError_):
        bisect_releases("SQLAlchemy", RELEASES, "s",
                        measure=measured(counts("2.0.36"), [], {RELEASES[-1]: EnvironmentError_("no")}))


def _side_by_side(factor: float, seed: int) -> SideBySide:
    rng = random.Random(seed)
    old = [0.100 * rng.uniform(0.9, 1.3) for _ in range(15)]
    new = [o * factor * rng.uniform(0.97, 1.03) for o in old]
    judged = compare_paired(old, new)
    detail = {k: v for k, v in judged.as_dict().items() if k not in ("verdict", "old", "new")}
    return SideBySide("time", judged.verdict, old, new, {**detail, "test": PAIRED_TEST})


def test_time_bisect_reports_the_ratio_its_step_tested() -> None:
    factors = {v: (1.0 if RELEASES.index(v) < 7 else 1.8) for v in RELEASES}
    steps = {v: _side_by_side(factors[v], i) for i, v in enumerate(RELEASES)}
    result = bisect_releases("SQLAlchemy", RELEASES, "s", metric="time", measure=lambda v: steps[v])
    assert result.first_changed == RELEASES[7] and result.verdict == "slower"
    tested = steps[RELEASES[7]].detail
    data = result.as_dict()
    assert data["ratio"] == tested["ratio"] and data["ratio_ci"] == tested["ratio_ci"]
    assert data["p_value"] == tested["p_value"] and data["ratio_against"] == RELEASES[0]
    assert 1.7 < data["ratio"] < 1.9


def test_rounds_alternate_their_order() -> None:
    orders = [round_order(n, "old", "new") for n in range(4)]
    assert orders == [("old", "new"), ("new", "old"), ("old", "new"), ("new", "old")]


def test_the_rerun_command_compare_suggests_parses_and_holds_the_context() -> None:
    import shlex

    from bulkinsert.releases.cli import compare_command

    line = ("bulkinsert releases compare copy_text 2.0.58 2.1.9 --library SQLAlchemy --metric time --rows 10000"
            " --with psycopg2-binary==2.9.13")
    context = compare_command.make_context("compare", shlex.split(line)[3:])
    assert context.params["held"] == ("psycopg2-binary==2.9.13",) and context.params["rounds"] == 15
