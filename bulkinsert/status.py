"""Whether a figure was measured at all, and why not: ok, failed, broken or skipped.

asv keeps two kinds of missing value and no error text: ``null`` when the benchmark raised
(asv's "failed") and ``NaN`` when it raised ``NotImplementedError`` (asv's "skipped", n/a).
A failed insert and an insert that loaded the wrong rows (the suite's row check in the
teardown raises) are both ``null`` there. So the suite writes one *status note* per failure
next to the results (``<results_dir>/status.jsonl``, a file asv ignores): the benchmark class,
parameters, environment and commit, ``failed`` (the insert raised) or ``broken`` (the row
check found the wrong rows), and the one-line reason. A ``null`` figure with a note takes the
note's status and reason; one without a note is ``failed``, reason unknown. A note never
overrides a figure that has a value.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

OK = "ok"
FAILED = "failed"  # asv null: the benchmark raised
BROKEN = "broken"  # asv null, and the suite's row check said why: wrong rows loaded
SKIPPED = "skipped"  # asv NaN: NotImplementedError, the strategy does not apply (n/a)
NOT_WORKING = (FAILED, BROKEN)
NOTES_FILE = "status.jsonl"

NoteKey = tuple[str, str, str, tuple[tuple[str, str], ...]]  # commit, env_name, class, params


def notes_path(results_dir: str | os.PathLike[str]) -> Path:
    return Path(results_dir) / NOTES_FILE


def one_line(text: object) -> str:
    """The first non-empty line of an error, short enough for a table's tooltip."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0][:300] if lines else ""


def record_note(results_dir: str | os.PathLike[str], *, commit: str, env_name: str, benchmark_class: str,
                params: Mapping[str, str], status: str, reason: str) -> Path:
    """Append one status note (written by the suite when a benchmark fails or its check breaks it)."""
    if status not in NOT_WORKING:
        raise ValueError(f"a status note is {' or '.join(NOT_WORKING)}, not {status!r}")
    note = {"commit": commit, "env_name": env_name, "class": benchmark_class,
            "params": {str(k): str(v) for k, v in params.items()}, "status": status, "reason": one_line(reason),
            "timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    target = notes_path(results_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(note, sort_keys=True) + "\n")
    return target


def read_notes(results_dir: str | os.PathLike[str]) -> dict[NoteKey, tuple[str, str]]:
    """{(commit, env_name, class, params): (status, reason)}; the newest note of a key wins."""
    target = notes_path(results_dir)
    if not target.exists():
        return {}
    notes: dict[NoteKey, tuple[str, str]] = {}
    for line in target.read_text(encoding="utf-8").splitlines():
        try:
            note: dict[str, Any] = json.loads(line)
            key = (str(note["commit"]), str(note["env_name"]), str(note["class"]),
                   tuple(sorted((str(k), str(v)) for k, v in dict(note["params"]).items())))
            if note["status"] in NOT_WORKING:
                notes[key] = (str(note["status"]), str(note.get("reason") or ""))
        except (ValueError, KeyError, TypeError):
            continue  # a damaged line is skipped, not fatal
    return notes


def note_key(commit: str, env_name: str, benchmark: str, params: tuple[tuple[str, str], ...]) -> NoteKey:
    """The key of a figure's note: asv's ``module.Class.method`` is matched on ``Class``."""
    parts = benchmark.split(".")
    return (commit, env_name, parts[-2] if len(parts) >= 2 else benchmark, tuple(sorted(params)))
