"""Whether a figure was measured at all, and why not: ok, failed, broken or skipped.

asv keeps two kinds of missing value and no error text: ``null`` when the benchmark raised
(asv's "failed") and ``NaN`` when it raised ``NotImplementedError`` (asv's "skipped", n/a).
A failed insert and an insert that loaded the wrong rows (the suite's row check in the
teardown raises) are both ``null`` there. So the suite writes one *status note* per failure
next to the results (``<results_dir>/status.jsonl``, a file asv ignores): the benchmark class,
parameters, the environment (asv's name and commit where asv passes them, and the installed
SQLAlchemy/psycopg2 versions always), ``failed`` (the insert raised) or ``broken`` (the row
check found the wrong rows), and the one-line reason. A ``null`` figure with a note takes the
note's status and reason; one without a note is ``failed``, reason unknown. A note never
overrides a figure that has a value.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OK = "ok"
FAILED = "failed"  # asv null: the benchmark raised
BROKEN = "broken"  # asv null, and the suite's row check said why: wrong rows loaded
SKIPPED = "skipped"  # asv NaN: NotImplementedError, the strategy does not apply (n/a)
NOT_WORKING = (FAILED, BROKEN)
NOTES_FILE = "status.jsonl"

# Distributions whose installed versions a note records, to find its environment's figures
# when asv does not tell the benchmark its environment's name or commit (an existing env).
NOTED_DISTRIBUTIONS = ("SQLAlchemy", "psycopg2-binary", "psycopg2")


@dataclass(frozen=True)
class Note:
    """Why one benchmark combination has no figure, in one environment."""

    benchmark_class: str
    params: tuple[tuple[str, str], ...]  # sorted
    status: str
    reason: str
    commit: str = ""  # ASV_COMMIT, when asv set it
    env_name: str = ""  # ASV_ENV_NAME, when asv set it
    versions: tuple[tuple[str, str], ...] = ()

    def matches(self, commit: str, env_name: str, versions: Mapping[str, str]) -> bool:
        """Whether a figure of that commit, environment and requirements is the one noted."""
        return ((not self.commit or self.commit == commit) and (not self.env_name or self.env_name == env_name)
                and all(versions.get(name, version) == version for name, version in self.versions))


def notes_path(results_dir: str | os.PathLike[str]) -> Path:
    return Path(results_dir) / NOTES_FILE


def one_line(text: object) -> str:
    """The first non-empty line of an error, short enough for a table's tooltip."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0][:300] if lines else ""


def installed_versions() -> dict[str, str]:
    """The noted distributions installed in this environment."""
    from importlib import metadata

    found = {}
    for name in NOTED_DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def record_note(results_dir: str | os.PathLike[str], *, benchmark_class: str, params: Mapping[str, str],
                status: str, reason: object, commit: str = "", env_name: str = "",
                versions: Mapping[str, str] | None = None) -> Path:
    """Append one status note (written by the suite when a benchmark fails or its check breaks it)."""
    if status not in NOT_WORKING:
        raise ValueError(f"a status note is {' or '.join(NOT_WORKING)}, not {status!r}")
    note = {"commit": commit, "env_name": env_name, "class": benchmark_class,
            "params": {str(k): str(v) for k, v in params.items()}, "status": status, "reason": one_line(reason),
            "versions": dict(versions or {}),
            "timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    target = notes_path(results_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(note, sort_keys=True) + "\n")
    return target


def read_notes(results_dir: str | os.PathLike[str]) -> dict[tuple, list[Note]]:
    """{(class, params): notes, oldest first}; a damaged line is skipped, not fatal."""
    target = notes_path(results_dir)
    if not target.exists():
        return {}
    notes: dict[tuple, list[Note]] = {}
    for line in target.read_text(encoding="utf-8").splitlines():
        try:
            data: dict[str, Any] = json.loads(line)
            params = tuple(sorted((str(k), str(v)) for k, v in dict(data["params"]).items()))
            note = Note(str(data["class"]), params, str(data["status"]), str(data.get("reason") or ""),
                        str(data.get("commit") or ""), str(data.get("env_name") or ""),
                        tuple(sorted((str(k), str(v)) for k, v in dict(data.get("versions") or {}).items())))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        if note.status in NOT_WORKING:
            notes.setdefault((note.benchmark_class, note.params), []).append(note)
    return notes


def class_of(benchmark: str) -> str:
    """``Class`` of asv's ``module.Class.method``: what the suite knows itself as."""
    parts = benchmark.split(".")
    return parts[-2] if len(parts) >= 2 else benchmark


def note_for(notes: Mapping[tuple, list[Note]], *, benchmark: str, params: tuple[tuple[str, str], ...],
             commit: str, env_name: str, versions: Mapping[str, str]) -> Note | None:
    """The newest note that matches a figure, or None."""
    for note in reversed(notes.get((class_of(benchmark), tuple(sorted(params))), [])):
        if note.matches(commit, env_name, versions):
            return note
    return None
