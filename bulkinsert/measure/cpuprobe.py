"""How fast each CPU runs right now: a fixed pure-Python loop, pinned to it, before every round.

What the loop measures is the speed a process pinned there gets: slower when the host slows
the virtual CPU, and slower when other work shares that CPU.

On a virtual machine the host can slow a virtual CPU for minutes (another guest busy on the
same physical core): the same load then takes more wall time *and* more CPU time, with nothing
else running in the machine (docs/results/2026-12-03-environment-shifts.md). Interleaved rounds
share a slow spell out fairly only when it covers whole rounds, so ``bulkinsert ladder`` probes
every CPU it may use before each round and reports the spread: a round that ran on a slowed CPU
shows beside the figures it touched, instead of passing for a change in a strategy.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["SLOW", "CpuSpeed", "probe"]

LOOP = 300_000  # iterations of the probe loop, run before every round (docs/results/2026-12-03-environment-shifts.md)
SLOW = 1.2  # a probe this much slower than the same CPU's fastest round marks the round


def _loop_seconds() -> float:
    started = time.perf_counter()
    total = 0
    for number in range(LOOP):
        total += number
    return time.perf_counter() - started


def probe(cpus: Iterable[int]) -> dict[int, float]:
    """Seconds the fixed loop takes on each of ``cpus`` (best of 5: a moment's interruption is not a slow CPU).

    The process is pinned to each CPU in turn and put back where it was.
    """
    original = os.sched_getaffinity(0)
    speeds: dict[int, float] = {}
    try:
        for cpu in cpus:
            os.sched_setaffinity(0, {cpu})
            speeds[cpu] = min(_loop_seconds() for _ in range(5))
    finally:
        os.sched_setaffinity(0, original)
    return speeds


@dataclass
class CpuSpeed:
    """The probes of one run, one ``{cpu: seconds}`` per round."""

    rounds: list[dict[int, float]] = field(default_factory=list)

    def slow_rounds(self) -> list[tuple[int, int, float]]:
        """``(round, cpu, × that CPU's fastest)`` for every probe at least :data:`SLOW` times its CPU's fastest."""
        fastest = self._fastest()
        return [
            (number, cpu, seconds / fastest[cpu])
            for number, speeds in enumerate(self.rounds, start=1)
            for cpu, seconds in speeds.items()
            if seconds >= SLOW * fastest[cpu]
        ]

    def _fastest(self) -> dict[int, float]:
        return {cpu: min(values) for cpu, values in self._per_cpu().items()}

    def unequal(self) -> tuple[int, int, float] | None:
        """``(slowest cpu, fastest cpu, ×)`` when the CPUs' fastest rounds differ by :data:`SLOW` or more.

        With client and server on CPUs of their own, unequal CPUs tilt every ratio between them.
        """
        fastest = self._fastest()
        if len(fastest) < 2:
            return None
        slowest, quickest = max(fastest, key=fastest.__getitem__), min(fastest, key=fastest.__getitem__)
        ratio = fastest[slowest] / fastest[quickest]
        return (slowest, quickest, ratio) if ratio >= SLOW else None

    def summary(self) -> str:
        """One line: each CPU's range over the rounds, which rounds ran on a slowed CPU, unequal CPUs."""
        if not self.rounds:
            return "CPU speed: not probed"
        ranges = ", ".join(
            f"CPU {cpu} {min(values) * 1e3:.1f}–{max(values) * 1e3:.1f} ms"
            for cpu, values in sorted(self._per_cpu().items())
        )
        slow, unequal = self.slow_rounds(), self.unequal()
        notes = []
        if slow:
            notes.append("slowed in " + ", ".join(f"round {number} (CPU {cpu} ×{ratio:.2f})"
                                                  for number, cpu, ratio in slow)
                         + ": read those rounds' samples with care")
        if unequal:
            notes.append(f"CPU {unequal[0]} took ×{unequal[2]:.2f} the time of CPU {unequal[1]} in its best round"
                         " (other work or the host): ratios between processes on them tilt")
        return f"CPU speed before each round (a fixed loop, best of 5): {ranges}; {'; '.join(notes) or 'steady'}"

    def _per_cpu(self) -> dict[int, list[float]]:
        per_cpu: dict[int, list[float]] = {}
        for speeds in self.rounds:
            for cpu, seconds in speeds.items():
                per_cpu.setdefault(cpu, []).append(seconds)
        return per_cpu

    def as_dict(self) -> dict[str, object]:
        return {
            "probe": f"{LOOP:,}-iteration Python loop pinned to each CPU, best of 5, seconds",
            "rounds": [{str(cpu): round(seconds, 6) for cpu, seconds in speeds.items()} for speeds in self.rounds],
            "slow": [{"round": number, "cpu": cpu, "ratio": round(ratio, 3)}
                     for number, cpu, ratio in self.slow_rounds()],
            "unequal": None if (unequal := self.unequal()) is None else
            {"slowest": unequal[0], "fastest": unequal[1], "ratio": round(unequal[2], 3)},
        }
