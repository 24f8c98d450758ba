"""What each benchmark measures, and the one rule for counts: ``compare``, ``bisect`` and the site.

Counts are deterministic, so they are compared exactly — with one allowance for function
calls. A constant cost per insert (a pool checkout, an event hook, a few dozen calls whatever
the row count) is not a regression; a change that scales with the rows is. So calls are
judged per row: an increase is a regression only beyond :data:`CALLS_PER_ROW` calls per row
inserted (and never within :data:`CALLS_PER_INSERT`, for tiny inserts). +33 calls per insert
at 1,000 rows is 0.033 per row: same; +1 call per row is 1.0 per row: more.
"""

from __future__ import annotations

from dataclasses import dataclass

from .stats import CountVerdict, compare_counts

CALLS_PER_ROW = 0.5  # calls per row: below this a change does not scale with the rows
CALLS_PER_INSERT = 50  # calls per insert that are never a regression, however few the rows
STATUS = "status"  # the metric of a path that stopped (or started) working


@dataclass(frozen=True)
class Metric:
    """How one benchmark's figures are judged."""

    name: str  # "time", "cpu", "rows_per_second", "memory", "statements", "calls", or the track name
    kind: str  # "timing" (samples can be recorded), "single" (one measurement), "count", "info"
    lower_is_better: bool = True


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
        return Metric("calls", "count")
    if method == "track_cpu_seconds":
        return Metric("cpu", "single")
    if method == "track_rows_per_second":
        return Metric("rows_per_second", "single", lower_is_better=False)
    return Metric(method.removeprefix("track_"), "info")


def count_tolerance(metric: str, rows: int | None) -> float:
    """How far a count may move and stay "same": 0 statements; calls per the rule above."""
    if metric != "calls":
        return 0.0
    return max(float(CALLS_PER_INSERT), CALLS_PER_ROW * rows) if rows else float(CALLS_PER_INSERT)


def count_verdict(metric: str, old: float, new: float, rows: int | None) -> CountVerdict:
    """The one rule for a counted metric ("statements", "calls") at ``rows`` rows per insert."""
    return compare_counts(old, new, tolerance=count_tolerance(metric, rows))


def describe_count(metric: str, verdict: CountVerdict, rows: int | None) -> str:
    """``deterministic: +10,000 (1.00 per row; tolerance 0.5 per row)``."""
    if metric == "calls" and rows:
        return (f"deterministic: {verdict.delta:+,.0f} ({verdict.delta / rows:+.2f} per row; tolerance "
                f"{CALLS_PER_ROW:g} per row, at least {CALLS_PER_INSERT} per insert)")
    return f"deterministic: {verdict.delta:+,.0f} (tolerance {verdict.tolerance:,.0f})"
