"""Planted slowdowns and faults: known changes that the verdicts must find, read in one place.

Two test hooks, read by the asv suite (``benchmarks/faults.py``) and the release worker alike,
so both follow the same rules:

* ``BULKINSERT_PLANT_SLOWDOWN=STRATEGY:FACTOR[,…]`` — every timed insert of STRATEGY takes
  FACTOR (>= 1) times as long (how small a slowdown ``compare`` confirms);
* ``BULKINSERT_PLANT_FAULT=STRATEGY:raise|wrong-rows[,…]`` — STRATEGY's insert raises, or loads
  one row too few, so the benchmark fails or its row check breaks it (what ``compare`` says
  when a release breaks a path).

* ``BULKINSERT_PLANT_WORK=STRATEGY:UNITS[,…]`` — after STRATEGY's insert, UNITS units of
  pure-Python CPU work per row inserted (a fixed loop, never a sleep): a client slowdown that
  changes the instructions the insert executes by the same amount on every run (read by the
  instructions' measuring process, :mod:`bulkinsert.measure.instructions`).

Any entry may end in ``@LIBRARY==VERSION`` (e.g. ``copy_text:raise@SQLAlchemy==2.1.9``): it then
applies only in an environment where that library is installed at that version — one
environment of a matrix, as a release that broke the path would be.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata

SLOWDOWN_VARIABLE = "BULKINSERT_PLANT_SLOWDOWN"
FAULT_VARIABLE = "BULKINSERT_PLANT_FAULT"
WORK_VARIABLE = "BULKINSERT_PLANT_WORK"
FAULTS = ("raise", "wrong-rows")


class PlantedError(RuntimeError):
    """The fault a ``raise`` plant makes the insert raise."""


@dataclass(frozen=True)
class Planted:
    """What to plant in this process: {strategy: factor}, {strategy: fault}, {strategy: units per row}."""

    slowdowns: dict[str, float] = field(default_factory=dict)
    faults: dict[str, str] = field(default_factory=dict)
    work: dict[str, int] = field(default_factory=dict)


def _installed(library: str) -> str | None:
    try:
        return metadata.version(library)
    except metadata.PackageNotFoundError:
        return None


def _applies(condition: str, variable: str, installed: Mapping[str, str | None] | None) -> bool:
    """``SQLAlchemy==2.1.9``: whether this environment has that library at that version."""
    library, sep, version = condition.partition("==")
    if not sep or not library.strip() or not version.strip():
        raise ValueError(f"{variable}: condition must be LIBRARY==VERSION, got {condition!r}")
    found = installed.get(library.strip()) if installed is not None else _installed(library.strip())
    return found == version.strip()


def _entries(text: str, variable: str, installed: Mapping[str, str | None] | None) -> dict[str, str]:
    entries: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        body, _, condition = part.partition("@")
        name, sep, action = body.partition(":")
        if not sep or not name.strip() or not action.strip():
            raise ValueError(f"{variable}: expected STRATEGY:VALUE[@LIBRARY==VERSION], got {part!r}")
        if condition and not _applies(condition, variable, installed):
            continue
        entries[name.strip()] = action.strip()
    return entries


def parse_planted(slowdown: str = "", fault: str = "", *, work: str = "",
                  installed: Mapping[str, str | None] | None = None) -> Planted:
    """Parse the hooks' texts; a malformed entry is a one-line ValueError, never ignored.

    ``installed`` ({library: version}) stands in for the environment's installed versions.
    """
    slowdowns: dict[str, float] = {}
    for name, text in _entries(slowdown, SLOWDOWN_VARIABLE, installed).items():
        try:
            factor = float(text)
        except ValueError:
            raise ValueError(f"{SLOWDOWN_VARIABLE}: factor of {name} is not a number: {text!r}") from None
        if not factor >= 1:
            raise ValueError(f"{SLOWDOWN_VARIABLE}: factor of {name} must be >= 1, got {text}")
        slowdowns[name] = factor
    faults = _entries(fault, FAULT_VARIABLE, installed)
    for name, kind in faults.items():
        if kind not in FAULTS:
            raise ValueError(f"{FAULT_VARIABLE}: fault of {name} must be one of {', '.join(FAULTS)}, got {kind!r}")
    units: dict[str, int] = {}
    for name, text in _entries(work, WORK_VARIABLE, installed).items():
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"{WORK_VARIABLE}: units per row of {name} must be a whole number >= 1, got {text!r}")
        units[name] = int(text)
    return Planted(slowdowns, faults, units)


def planted_from_environment(environ: Mapping[str, str] | None = None) -> Planted:
    """The plants of this process, from its environment variables."""
    environ = os.environ if environ is None else environ
    return parse_planted(environ.get(SLOWDOWN_VARIABLE, ""), environ.get(FAULT_VARIABLE, ""),
                         work=environ.get(WORK_VARIABLE, ""))
