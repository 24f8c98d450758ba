"""Where a release changed a figure: release-note links and the findings file.

Every ``releases bisect``, ``releases compare`` and broken sweep appends one record per line to
``.asv/releases/findings.jsonl``, with the machine and project commit it was measured on.
:func:`record` is the one writer of :class:`~bulkinsert.analysis.findingrecords.RecordedFinding`
(its reader, :func:`~bulkinsert.analysis.findingrecords.read_records`, sits in the analysis
layer): ``compare`` and the site settle unconfirmed timings with the side-by-side re-runs among
them (``verdicts.apply_reruns``), and the releases page lists them all.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..analysis.findingrecords import RecordedFinding, findings_path, read_records
from .provenance import machine_name, project_commit


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


def read_findings(path: Path | None = None) -> list[dict[str, Any]]:
    """Every recorded finding as a dict, oldest first (kept for callers of the untyped file)."""
    return [found.to_dict() for found in read_records(path)]
