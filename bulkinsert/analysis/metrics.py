"""What each benchmark measures, and the one rule for counts: ``compare``, ``bisect`` and the site.

:data:`METRICS` is the one table of the suite's metrics: the asv method that records each, the
key the suite's measuring pass and the release worker answer under, its unit, its kind and which
way is better. The package names ``benchmarks/`` only here.

Counts are deterministic, so they are compared exactly — with one allowance for function
calls, whichever of two is smaller, never below a floor:

* **per row** (:data:`CALLS_PER_ROW`): a change that scales with the rows is a regression, a
  constant cost per insert (a pool checkout, an event hook) is not; but on a cheap path (a COPY
  makes ~0.03 calls per row) half a call per row is a multiplication, so on its own it would
  pass x16.8;
* **ratio** (:data:`CALLS_RATIO`): a multiplication is a regression whatever the rows; but a
  path that makes ~100 calls per row (``orm_basic``) hides one more call per row in 1 %, so on
  its own it would pass per-row creep;
* **floor** (:data:`CALLS_PER_INSERT`): a constant number of calls per insert is never a
  regression, however few the rows or calls.

So the allowance is ``max(floor, min(per_row * rows, ratio * old))``: 315 -> 5,300 calls at
10,000 rows is beyond 50 (more); +1 call per row on ``orm_basic`` is beyond 0.5 per row (more);
asyncpg's event loop, which moves a count of ~4 calls per row by up to 5 % between identical
runs, stays within both (same). Statements are exact: no allowance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .stats import CountVerdict, compare_counts

CALLS_PER_ROW = 0.5  # calls per row: below this a change does not scale with the rows
CALLS_PER_INSERT = 50  # calls per insert that are never a regression, however few the rows
CALLS_RATIO = 0.10  # a count may move by this share of itself, when that is less than the per-row allowance
# Client instructions (valgrind): two runs of one environment agree to within this share of the
# count, and never closer than the floor (A/A runs, docs/explanation/instructions.md).
INSTRUCTIONS_SHARE = 0.015  # of the older count (two processes whose environments differ: docs/results)
INSTRUCTIONS_PER_INSERT = 10_000  # instructions per insert, however few the rows
# ... and per driver, where a client loop's turns depend on when the server's bytes arrive
# (asyncpg's event loop, psycopg 3's pipeline): the share A/A runs showed on that driver.
INSTRUCTIONS_DRIVER_SHARE = (("asyncpg", 0.04), ("psycopg", 0.12))
STATUS = "status"  # the metric of a path that stopped (or started) working


# What a metric's figures are, and so how they are judged:
SAMPLED = "sampled"  # a timing: asv can record its samples, judged by a rank test
SINGLE = "single"  # one value per run (a median of a pass, a peak): judged beyond a threshold only
COUNTED = "counted"  # deterministic: judged exactly, within its count tolerance
RATIO = "ratio"  # a share or a ratio that describes a run: listed, never judged
STATUS_KIND = "status"  # works / fails: the status rule (bulkinsert.analysis.status)


@dataclass(frozen=True)
class Metric:
    """One metric: how it is recorded, named and judged."""

    name: str  # the judging name: "time", "cpu", "statements", "calls", ... (compare, bisect --metric)
    kind: str  # SAMPLED, SINGLE, COUNTED, RATIO or STATUS_KIND
    lower_is_better: bool = True
    method: str = ""  # the asv benchmark method that records it
    benchmark: str = ""  # the main suite's benchmark (module.Class.method) that a sweep files it under
    attribute: str = ""  # the key the suite's measuring pass and the release worker answer under
    unit: str = ""
    on_pages: bool = False  # a column of the site's environment tables
    side_by_side: bool = False  # the release worker measures it: `releases sweep/bisect --metric`
    per_row_tolerance: float = 0.0  # a count may grow by this per row inserted and stay "same"
    per_insert_tolerance: float = 0.0  # ... and by this much per insert, however few the rows
    ratio_tolerance: float = 0.0  # ... but by no more than this share of itself (when set), above the per-insert floor
    driver_ratio_tolerance: tuple[tuple[str, float], ...] = ()  # (driver, share): that driver's own ratio_tolerance


METRICS: tuple[Metric, ...] = (
    Metric("time", SAMPLED, method="time_insert", benchmark="insert_time.InsertTime.time_insert",
           attribute="seconds", unit="seconds", on_pages=True, side_by_side=True),
    Metric("cpu", SINGLE, method="track_cpu_seconds", benchmark="throughput.Throughput.track_cpu_seconds",
           attribute="cpu_seconds", unit="CPU seconds", on_pages=True, side_by_side=True),
    Metric("rows_per_second", SINGLE, lower_is_better=False, method="track_rows_per_second",
           benchmark="throughput.Throughput.track_rows_per_second", attribute="rows_per_second", unit="rows/s",
           on_pages=True),
    Metric("memory", SINGLE, method="peakmem_insert", benchmark="insert_memory.InsertMemory.peakmem_insert",
           attribute="peak_memory", unit="bytes", on_pages=True),
    Metric("statements", COUNTED, method="track_statements",
           benchmark="server_statements.ServerStatements.track_statements", attribute="statements",
           unit="statements", on_pages=True, side_by_side=True),
    Metric("calls", COUNTED, method="track_function_calls", benchmark="code_path.CodePath.track_function_calls",
           attribute="function_calls", unit="calls", on_pages=True, side_by_side=True,
           per_row_tolerance=CALLS_PER_ROW, per_insert_tolerance=CALLS_PER_INSERT, ratio_tolerance=CALLS_RATIO),
    Metric("instructions", COUNTED, method="track_instructions",
           benchmark="client_instructions.ClientInstructions.track_instructions", attribute="instructions",
           unit="instructions", on_pages=True, side_by_side=True, ratio_tolerance=INSTRUCTIONS_SHARE,
           per_insert_tolerance=INSTRUCTIONS_PER_INSERT, driver_ratio_tolerance=INSTRUCTIONS_DRIVER_SHARE),
    Metric("dbapi_share", RATIO, method="track_dbapi_share", benchmark="driver_share.DriverShare.track_dbapi_share",
           attribute="dbapi_share", unit="fraction of wall time", on_pages=True),
    Metric("encode_share", RATIO, method="track_encode_share",
           benchmark="driver_share.DriverShare.track_encode_share", attribute="encode_share",
           unit="fraction of wall time"),
    Metric("profiler_overhead", RATIO, method="track_profiler_overhead",
           benchmark="code_path.CodePath.track_profiler_overhead", attribute="profiler_overhead",
           unit="profiled / plain wall time", on_pages=True),
    Metric("floor_ratio", RATIO, method="track_floor_ratio", benchmark="scale.ScaleTrack.track_floor_ratio",
           attribute="floor_ratio", unit="x the floor"),
    Metric("peak_memory_ratio", RATIO, method="track_peak_memory_ratio",
           benchmark="scale.ScaleMemory.track_peak_memory_ratio", attribute="ratio_to_input", unit="x input size"),
)
_BY_NAME = {metric.name: metric for metric in METRICS}
_BY_METHOD = {metric.method: metric for metric in METRICS}
ATTRIBUTES = frozenset(metric.attribute for metric in METRICS)
# Each counted metric under its judging name and its attribute ("function_calls" -> "calls"):
# a series keyed either way is judged by the one count rule.
COUNTS = {key: metric.name for metric in METRICS if metric.kind == COUNTED for key in (metric.name, metric.attribute)}


def metric(name: str) -> Metric:
    """The table's row of a judging name ("time", "calls"); an unknown name is an error."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; expected one of {', '.join(_BY_NAME)}") from None


def metric_for(benchmark: str) -> Metric:
    """The judging rule of a benchmark, from its asv method name (any ``time_``/``peakmem_`` method
    is a time/memory; a ``track_`` method the table does not know is a ratio, listed only)."""
    method = benchmark.rsplit(".", 1)[-1]
    if method in _BY_METHOD:
        return _BY_METHOD[method]
    if method.startswith("time_"):
        return _BY_NAME["time"]
    if method.startswith("peakmem_"):
        return _BY_NAME["memory"]
    return Metric(method.removeprefix("track_"), RATIO, method=method)


def unit_of(method: str) -> str:
    """The unit a benchmark method records its figures in (asv's ``unit`` attribute)."""
    return metric_for(method).unit


def format_value(value: float | None, unit: str | None) -> str:
    """A figure as the tables and reports write it, by its unit (``12.3ms``, ``1,000``, ``n/a``)."""
    if value is None:
        return "n/a"
    if unit == "seconds":
        if value < 1e-3:
            return f"{value * 1e6:.0f}us"
        return f"{value * 1e3:.1f}ms" if value < 1 else f"{value:.2f}s"
    if unit == "bytes":
        return f"{value / 2**20:.0f}M"
    if value >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}"


def count_tolerance(name: str, rows: int | None, old: float | None = None, driver: str | None = None) -> float:
    """How far a count may move from ``old`` and stay "same": 0 statements; calls per the rule above,
    ``max(per insert, min(per row * rows, ratio * old))`` (a term without its input is left out).

    ``driver``: the driver the figure ran on (part of its identity); a metric with a share of its
    own for that driver (``driver_ratio_tolerance``) uses it as the ratio. None: the metric's ratio.
    """
    row = _BY_NAME.get(name)
    if row is None or row.kind != COUNTED:
        return 0.0
    ratio = dict(row.driver_ratio_tolerance).get(driver, row.ratio_tolerance) if driver else row.ratio_tolerance
    terms = []
    if rows and row.per_row_tolerance:
        terms.append(row.per_row_tolerance * rows)
    if old is not None and ratio:
        terms.append(ratio * abs(old))
    return max(float(row.per_insert_tolerance), min(terms)) if terms else float(row.per_insert_tolerance)


def count_verdict(metric: str, old: float, new: float, rows: int | None, driver: str | None = None) -> CountVerdict:
    """The one rule for a counted metric ("statements", "calls") at ``rows`` rows per insert, on ``driver``."""
    return compare_counts(old, new, tolerance=count_tolerance(metric, rows, old, driver))


def figure_driver(strategy: str | None, driver: str | None = None) -> str | None:
    """The driver a figure ran on: ``driver`` when one was asked for, else the label's
    (``orm_basic+asyncpg``), else the strategy's own (``sa_asyncpg_copy``: asyncpg); None for a
    name the registry does not know."""
    if driver:
        return driver
    if not strategy:
        return None
    name, plus, labelled = strategy.partition("+")
    if plus and labelled:
        return labelled
    from .. import registry

    try:
        return registry.get(name).driver
    except (KeyError, ValueError):
        return None


def describe_count(metric: str, verdict: CountVerdict, rows: int | None) -> str:
    """``deterministic: +10,000 (1.00 per row, x1.010; allowed 5,000: ...)``."""
    row = _BY_NAME.get(metric)
    if row is not None and row.per_row_tolerance and rows:
        return (f"deterministic: {verdict.delta:+,.0f} ({verdict.delta / rows:+.2f} per row, x{verdict.ratio:.3f}; "
                f"allowed {verdict.tolerance:,.0f}: the smaller of {row.per_row_tolerance:g} per row and "
                f"{row.ratio_tolerance:.0%}, at least {row.per_insert_tolerance:g} per insert)")
    return f"deterministic: {verdict.delta:+,.0f} (tolerance {verdict.tolerance:,.0f})"


@dataclass(frozen=True)
class Creep:
    """A count that moved step by step within the rule until it crossed it."""

    reference: str  # the first release of the run of "same" steps
    release: str  # the release whose count differs from the reference's by the rule
    old: float
    new: float
    verdict: CountVerdict


def creep_points(points: Sequence[tuple[str, float | None]], metric: str, rows: int | None,
                 driver: str | None = None) -> list[Creep]:
    """Where a count creeps: every release compared with the first of its run of "same" steps.

    ``points`` are (release, count) in release order; an unmeasured release (None) is passed
    over. Adjacent steps can each stay within the allowance while the count drifts away; so
    within each run of adjacent "same" steps every release is also compared with the run's
    first, and the release where that comparison crosses the rule is returned — it then starts
    a new run. A step that is itself a change also starts a new run; it is not returned here
    (:func:`bulkinsert.analysis.changepoints.count_change_points` returns both).
    """
    measured = [(release, value) for release, value in points if value is not None]
    found: list[Creep] = []
    if not measured:
        return found
    (start, reference), (_, previous) = measured[0], measured[0]
    for release, value in measured[1:]:
        if count_verdict(metric, previous, value, rows, driver).verdict != "same":
            start, reference = release, value  # a change of its own: a new run starts here
        else:
            verdict = count_verdict(metric, reference, value, rows, driver)
            if verdict.verdict != "same":
                found.append(Creep(start, release, reference, value, verdict))
                start, reference = release, value
        previous = value
    return found
