"""Where a release changed a figure: release-note links and the findings file.

Every ``releases bisect``, ``releases compare`` and broken sweep appends one record per line to
``.asv/releases/findings.jsonl``, with the machine and project commit it was measured on.
:class:`RecordedFinding` is the record (schema version :data:`SCHEMA_VERSION`): :func:`record`
is its one writer and :func:`read_records` its one reader — ``compare`` and the site settle
unconfirmed timings with the side-by-side re-runs among them (``verdicts.apply_reruns``), and
the releases page lists them all.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .envs import CHECKOUT
from .provenance import machine_name, project_commit

FINDINGS_VARIABLE = "BULKINSERT_FINDINGS"


def findings_path() -> Path:
    return Path(os.environ.get(FINDINGS_VARIABLE) or CHECKOUT / ".asv" / "releases" / "findings.jsonl")


def notes_url(library: str, version: str) -> str | None:
    """The release's entry in the library's own change log (None when there is no known anchor)."""
    try:
        parsed = Version(version)
    except InvalidVersion:
        return None
    name = canonicalize_name(library)
    if name == "sqlalchemy":
        series = f"{parsed.major}{parsed.minor}"
        return f"https://docs.sqlalchemy.org/en/{series}/changelog/changelog_{series}.html#change-{version}"
    if name in ("psycopg2", "psycopg2-binary"):
        return f"https://www.psycopg.org/docs/news.html#what-s-new-in-psycopg-{version.replace('.', '-')}"
    if name == "psycopg":
        return f"https://www.psycopg.org/psycopg3/docs/news.html#psycopg-{version.replace('.', '-')}"
    if name == "asyncpg":
        return f"https://github.com/MagicStack/asyncpg/releases/tag/v{version}"
    return None


SCHEMA_VERSION = 1


@dataclass
class RecordedFinding:
    """One line of findings.jsonl: what a release tool measured, where and when.

    The named fields are what every reader relies on; anything else a tool records (values,
    samples, bisection steps) stays in ``extra`` and is written back unchanged.
    """

    kind: str  # "compare" (side by side), "bisect", "broken" (a sweep's release that fails a path)
    library: str
    strategy: str | None = None
    metric: str | None = None
    rows: int | None = None
    old: str | None = None  # compare: the release compared against
    new: str | None = None  # compare: the release judged
    verdict: str | None = None  # compare: "slower", "faster", "same", "more", "fewer"
    ratio: float | None = None
    p_value: float | None = None
    machine: str | None = None
    commit: str | None = None
    timestamp: str | None = None
    schema: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        named = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        return {**self.extra, **{k: v for k, v in named.items() if v is not None}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RecordedFinding:
        """A record from a line (or a tool's dict); ValueError when it is not one."""
        if not isinstance(data, Mapping) or not data.get("library") or not data.get("kind"):
            raise ValueError("not a finding: needs a kind and a library")
        schema = data.get("schema", SCHEMA_VERSION)
        if not isinstance(schema, int) or schema > SCHEMA_VERSION:
            raise ValueError(f"finding of schema {schema!r}; this version reads up to {SCHEMA_VERSION}")
        names = {f.name for f in fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        for name in ("rows",):
            if known.get(name) is not None:
                known[name] = int(known[name])
        for name in ("ratio", "p_value"):
            if not isinstance(known.get(name), int | float) or isinstance(known.get(name), bool):
                known.pop(name, None)  # bisect may record a ratio it could not compute; a dict is a page's
        for name in ("kind", "library", "strategy", "metric", "old", "new", "verdict", "machine", "commit",
                     "timestamp"):
            if known.get(name) is not None:
                known[name] = str(known[name])
        extra = {k: v for k, v in data.items() if k not in names}
        for name in ("ratio", "p_value"):
            if name in data and name not in known:
                extra[name] = data[name]
        return cls(**known, extra=extra)


def record(finding: RecordedFinding | Mapping[str, Any], *, path: Path | None = None) -> Path:
    """Append one finding with the machine, commit and time it was made (a dict is read as a record)."""
    typed = finding if isinstance(finding, RecordedFinding) else RecordedFinding.from_dict(finding)
    commit, _date = project_commit()
    typed.machine, typed.commit = machine_name(), commit
    typed.timestamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    target = path or findings_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(typed.to_dict(), sort_keys=True) + "\n")
    return target


def read_records(path: Path | None = None, problems: list[str] | None = None) -> list[RecordedFinding]:
    """Every recorded finding, oldest first; a damaged line is skipped (and told to ``problems``)."""
    target = path or findings_path()
    if not target.is_file():
        return []
    found = []
    for number, line in enumerate(target.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            found.append(RecordedFinding.from_dict(json.loads(line)))
        except (ValueError, TypeError) as exc:
            if problems is not None:
                problems.append(f"{target.name} line {number} skipped: {exc}")
    return found


def read_findings(path: Path | None = None) -> list[dict[str, Any]]:
    """Every recorded finding as a dict, oldest first (kept for callers of the untyped file)."""
    return [found.to_dict() for found in read_records(path)]
