"""The CPU speed probe: it times every CPU it is given, leaves the process where it was, names slow rounds."""

from __future__ import annotations

import os

from bulkinsert.measure.cpuprobe import SLOW, CpuSpeed, probe


def test_probe_times_each_cpu_and_puts_the_process_back() -> None:
    allowed = os.sched_getaffinity(0)
    cpus = sorted(allowed)
    os.sched_setaffinity(0, {cpus[0]})
    try:
        speeds = probe(cpus)
        assert os.sched_getaffinity(0) == {cpus[0]}
    finally:
        os.sched_setaffinity(0, allowed)
    assert set(speeds) == set(cpus)
    assert all(0 < seconds < 5 for seconds in speeds.values())


def test_a_round_on_a_slowed_cpu_is_named_and_a_steady_run_is_not() -> None:
    steady = CpuSpeed([{0: 0.020, 1: 0.021}, {0: 0.021, 1: 0.020}, {0: 0.0205, 1: 0.0215}])
    assert steady.slow_rounds() == []
    assert steady.summary().endswith("steady")
    assert "CPU 0 20.0–21.0 ms" in steady.summary() and "CPU 1 20.0–21.5 ms" in steady.summary()

    slowed = CpuSpeed([{0: 0.020, 1: 0.020}, {0: 0.020, 1: 0.020 * SLOW}, {0: 0.020 * (SLOW - 0.01), 1: 0.020}])
    assert [(number, cpu) for number, cpu, _ in slowed.slow_rounds()] == [(2, 1)]
    assert f"round 2 (CPU 1 ×{SLOW:.2f})" in slowed.summary()
    record = slowed.as_dict()
    assert record["slow"] == [{"round": 2, "cpu": 1, "ratio": SLOW}]
    assert record["rounds"][1] == {"0": 0.02, "1": round(0.020 * SLOW, 6)}
    assert record["unequal"] is None and "took ×" not in slowed.summary()


def test_cpus_unequal_in_every_round_are_named() -> None:
    """Another process busy on CPU 0 all along: no round stands out, but the CPUs differ."""
    busy = CpuSpeed([{0: 0.028, 1: 0.014}, {0: 0.029, 1: 0.0145}])
    assert busy.slow_rounds() == []
    assert busy.unequal() == (0, 1, 2.0)
    assert "CPU 0 took ×2.00 the time of CPU 1" in busy.summary()
    assert busy.as_dict()["unequal"] == {"slowest": 0, "fastest": 1, "ratio": 2.0}


def test_nothing_probed_says_so() -> None:
    assert CpuSpeed().summary() == "CPU speed: not probed" and CpuSpeed().slow_rounds() == []
