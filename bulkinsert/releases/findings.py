"""Where a release changed a figure: release-note links and the findings file the site reads.

Every ``releases bisect`` and ``releases compare`` appends one JSON object per line to
``.asv/releases/findings.jsonl``, with the machine and project commit it was measured on, so
the releases page can mark and list it next to the swept figures.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .envs import CHECKOUT

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


def record(finding: dict[str, Any], *, path: Path | None = None) -> Path:
    """Append one finding (a JSON object) with the machine, commit and time it was made."""
    from .sweep import machine_name, project_commit

    commit, _date = project_commit()
    stamped = {
        **finding,
        "machine": machine_name(),
        "commit": commit,
        "timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    target = path or findings_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(stamped, sort_keys=True) + "\n")
    return target


def read_findings(path: Path | None = None) -> list[dict[str, Any]]:
    """Every recorded finding, oldest first (a damaged line is skipped, not fatal)."""
    target = path or findings_path()
    if not target.exists():
        return []
    found = []
    for line in target.read_text(encoding="utf-8").splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found
