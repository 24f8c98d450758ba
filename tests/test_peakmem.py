"""One peak-memory child program for the scale suite and the wide workload (python -m bulkinsert.measure.peakmem)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bulkinsert import registry
from bulkinsert.measure import peakmem


@pytest.mark.parametrize(("workload", "rows"), [("users", 20_000), ("wide", 500)])
def test_a_fresh_process_reports_the_insert_it_checked(workload: str, rows: int) -> None:
    answer = peakmem.run("copy_binary", rows, workload, timeout=300)
    assert answer["workload"] == workload and answer["rows"] == rows
    assert answer["input_bytes"] > rows * 40  # at least a str (or a tuple) per row
    assert answer["rss_peak"] >= answer["rss_before"] > 0
    assert answer["ratio_to_input"] == answer["peak_increase"] / answer["input_bytes"]


def test_a_failure_is_one_line_from_the_child() -> None:
    with pytest.raises(RuntimeError, match=r"no_such_strategy at 10 rows \(users\) failed: error: KeyError"):
        peakmem.run("no_such_strategy", 10, timeout=120)


def test_bad_arguments_get_the_usage_line() -> None:
    done = subprocess.run([sys.executable, "-m", "bulkinsert.measure.peakmem", "copy_text", "many"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and done.stderr.strip().startswith("usage: python -m bulkinsert.measure.peakmem")


def test_deep_size_counts_what_a_row_holds() -> None:
    row = ("abc", {"k": [1, 2]})
    assert peakmem.deep_size(row) > sys.getsizeof(row) + sys.getsizeof("abc") + sys.getsizeof({"k": [1, 2]})


# The scale suite's paths on another driver than psycopg2, and a SQLAlchemy path on an asyncio one:
# the child runs each on its own driver's engine, as the timed benchmarks do.
ON_OTHER_DRIVERS = [name for name in registry.with_role("scale") if registry.get(name).driver != "psycopg2"]


@pytest.mark.parametrize("label", [*ON_OTHER_DRIVERS, "orm_bulk_insert+asyncpg"])
def test_a_path_runs_on_its_own_driver_in_the_child(label: str) -> None:
    name, _, driver = label.partition("+")
    reason = registry.get(name).with_driver(driver or None).unsupported_reason()
    if reason is not None:  # declared by the registry (a SQLAlchemy too old for the dialect), not a symptom
        pytest.skip(f"{label}: {reason}")
    answer = peakmem.run(label, 2_000, timeout=300)
    assert answer["strategy"] == label and answer["rows"] == 2_000
    assert answer["rss_peak"] >= answer["rss_before"] > 0
