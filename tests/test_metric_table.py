"""The one metric table agrees with the asv suite it describes and with everything that reads it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bulkinsert.analysis import metrics
from bulkinsert.analysis.metrics import METRICS, metric, metric_for

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _suite_methods() -> dict[str, set[str]]:
    """``module.Class`` -> its benchmark methods, read from the suite's source."""
    found: dict[str, set[str]] = {}
    for path in sorted(BENCHMARKS.glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef):
                methods = {item.name for item in node.body if isinstance(item, ast.FunctionDef)
                           and item.name.startswith(("time_", "track_", "peakmem_"))}
                if methods:
                    found[f"{path.stem}.{node.name}"] = methods
    return found


def test_every_benchmark_of_the_table_exists_in_the_suite() -> None:
    suite = _suite_methods()
    for row in METRICS:
        owner, _, method = row.benchmark.rpartition(".")
        assert method == row.method, row
        assert method in suite.get(owner, set()), f"{row.benchmark} is not in benchmarks/"


def test_every_method_of_the_suite_has_a_row() -> None:
    known = {row.method for row in METRICS}
    for owner, methods in _suite_methods().items():
        assert methods <= known, (owner, methods - known)


def test_names_methods_and_keys_are_each_unique() -> None:
    for field in ("name", "method", "attribute"):
        values = [getattr(row, field) for row in METRICS]
        assert len(values) == len(set(values)), field


def test_judging_rules_as_before() -> None:
    assert metric_for("insert_time.InsertTime.time_insert").kind == metrics.SAMPLED
    assert metric_for("workload_time.WorkloadTime.time_insert").name == "time"
    assert metric_for("scale.ScaleTrack.track_rows_per_second").lower_is_better is False
    assert metric_for("code_path.CodePath.track_function_calls").kind == metrics.COUNTED
    assert metric_for("new_module.New.track_something").kind == metrics.RATIO
    assert metrics.count_tolerance("statements", 10_000) == 0.0
    assert metrics.count_tolerance("calls", 10_000) == 10_000 * metrics.CALLS_PER_ROW
    assert metrics.count_tolerance("calls", 10) == metrics.CALLS_PER_INSERT
    with pytest.raises(KeyError, match="unknown metric 'walltime'"):
        metric("walltime")


def test_readers_are_views_of_the_table() -> None:
    from bulkinsert.releases import sidebyside
    from bulkinsert.site.data import METRIC_OF_METHOD

    assert sidebyside.SAMPLED == {"time": "seconds", "cpu": "cpu_seconds"}
    assert sidebyside.COUNTED == {"statements": "statements", "calls": "function_calls", "instructions": "instructions"}
    assert METRIC_OF_METHOD["time_insert"] == "seconds"
    assert METRIC_OF_METHOD["peakmem_insert"] == "peak_memory"
    assert "track_encode_share" not in METRIC_OF_METHOD


def test_a_track_benchmark_refuses_a_key_the_table_does_not_have() -> None:
    from benchmarks.base import MetricBenchmark

    bench = MetricBenchmark()
    bench.entry = {"statements": 3, "statments": 3}
    assert bench.metric("statements") == 3.0
    with pytest.raises(KeyError, match="statments"):
        bench.metric("statments")
