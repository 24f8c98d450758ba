"""The findings file's record and its one reader: what ``compare`` settles re-runs with.

Every ``releases bisect``, ``releases compare`` and broken sweep appends one line to
``.asv/releases/findings.jsonl`` (written by :func:`bulkinsert.releases.findings.record`, with
the machine and commit). The record type and the reader live here, in the analysis layer,
because the verdicts (``verdicts.apply_reruns``) and the site read them, and analysis does not
import the release tools.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

# The checkout the package sits in (bulkinsert/analysis/ is two levels below it).
CHECKOUT = Path(__file__).resolve().parents[2]
FINDINGS_VARIABLE = "BULKINSERT_FINDINGS"


def findings_path() -> Path:
    return Path(os.environ.get(FINDINGS_VARIABLE) or CHECKOUT / ".asv" / "releases" / "findings.jsonl")


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
