"""The count rule: the smaller of a per-row allowance and a ratio, never below a per-insert floor."""

from __future__ import annotations

import pytest

from bulkinsert.analysis.metrics import (
    CALLS_PER_INSERT,
    CALLS_PER_ROW,
    CALLS_RATIO,
    count_tolerance,
    count_verdict,
    creep_points,
)


def test_a_multiplication_on_a_copy_path_is_more() -> None:
    """copy_text_stream 315 -> 5,300 calls at 10,000 rows: x16.8, yet only +0.5 calls per row."""
    verdict = count_verdict("calls", 315, 5_300, 10_000)
    assert verdict.verdict == "more" and verdict.ratio == pytest.approx(16.8, rel=0.01)
    assert (5_300 - 315) / 10_000 <= CALLS_PER_ROW  # the per-row allowance alone would have passed it
    assert verdict.tolerance == CALLS_PER_INSERT


def test_one_more_call_per_row_on_orm_basic_is_more() -> None:
    """orm_basic makes ~113 calls per row (1,131,062 at 10,000 rows): +1 per row is under 1 %."""
    old = 1_131_062
    verdict = count_verdict("calls", old, old + 10_000, 10_000)
    assert verdict.verdict == "more"
    assert 10_000 / old < CALLS_RATIO  # the ratio alone would have passed it
    assert verdict.tolerance == CALLS_PER_ROW * 10_000
    assert count_verdict("calls", 113_106, 113_106 + 1_000, 1_000).verdict == "more"


@pytest.mark.parametrize("rows", [1_000, 10_000])
@pytest.mark.parametrize("share", [-0.05, 0.05])
def test_asyncpgs_event_loop_variation_is_same(rows: int, share: float) -> None:
    """asyncpg's SQLAlchemy paths make ~4.15 calls per row (41,506 at 10,000 rows); its event loop moves that
    by up to 5 % between identical runs."""
    old = round(4.1506 * rows)
    assert count_verdict("calls", old, round(old * (1 + share)), rows).verdict == "same"
    assert count_verdict("calls", old, round(old * (1 + 3 * CALLS_RATIO)), rows).verdict == "more"


def test_the_floor_decides_small_inserts() -> None:
    """20 rows, 3,000 calls: the smaller term is 0.5 x 20 = 10 calls, below the floor of 50 per insert."""
    assert count_tolerance("calls", 20, 3_000) == CALLS_PER_INSERT
    assert count_verdict("calls", 3_000, 3_000 + CALLS_PER_INSERT, 20).verdict == "same"
    assert count_verdict("calls", 3_000, 3_000 + CALLS_PER_INSERT + 1, 20).verdict == "more"
    assert count_verdict("calls", 3_000, 3_000 - CALLS_PER_INSERT - 1, 20).verdict == "fewer"


def test_statements_are_exact() -> None:
    assert count_verdict("statements", 12, 13, 10_000).verdict == "more"
    assert count_verdict("statements", 10_002, 10_001, 10_000).verdict == "fewer"
    assert count_tolerance("statements", 10_000, 12) == 0.0


def test_creep_is_flagged_where_it_crosses_the_rule() -> None:
    """+0.4 calls per row per release at 10,000 rows: every adjacent step is the same (4,000 < 5,000), but
    the third release is 8,000 from the first of the run: there the creep crosses the rule."""
    series = [("2.0.0", 500_000.0), ("2.0.1", 504_000.0), ("2.0.2", 508_000.0), ("2.0.3", 512_000.0),
              ("2.0.4", 516_000.0), ("2.0.5", 520_000.0)]
    assert all(count_verdict("calls", a, b, 10_000).verdict == "same"
               for (_, a), (_, b) in zip(series, series[1:], strict=False))
    found = creep_points(series, "calls", 10_000)
    assert [(c.reference, c.release, c.verdict.verdict) for c in found] == [("2.0.0", "2.0.2", "more"),
                                                                            ("2.0.2", "2.0.4", "more")]


def test_creep_starts_a_new_run_after_a_change_and_skips_unmeasured_releases() -> None:
    series = [("1", 500_000.0), ("2", 520_000.0), ("3", None), ("4", 524_000.0), ("5", 520_000.0)]
    assert creep_points(series, "calls", 10_000) == []  # 2 is a change of its own; 4 and 5 stay near it
    assert creep_points([], "calls", 10_000) == []
