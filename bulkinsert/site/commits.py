"""The releases page's commit section: a watched branch's figures by commit, change points linked.

Read from the commit figures file that ``releases watch --source`` appends to (beside the
findings file) and from the findings it recorded (``axis: "commit"``): one table per library,
branch, metric and row count, newest commit first, a cell marked where the figure differs from
the commit measured before it, and each change point linked to its commit and its tickets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..analysis.findingrecords import read_records

FIGURES_FILE = "commit-figures.jsonl"  # beside findings.jsonl
SHOWN_COMMITS = 40  # the newest measured commits per table; the file has them all


def _figures(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and item.get("sha") and item.get("strategy"):
            found.append(item)
    return found


def commit_sections(findings_path: Path | None) -> list[dict[str, Any]]:
    """One table per (library, branch, metric, rows): rows of commits, newest first."""
    if findings_path is None:
        return []
    figures = _figures(findings_path.parent / FIGURES_FILE)
    if not figures:
        return []
    changes: dict[tuple[str, str, str], dict[str, Any]] = {}
    for found in read_records(findings_path):
        if found.extra.get("axis") == "commit" and found.new and found.strategy and found.metric:
            changes[(found.new, found.strategy, found.metric)] = {
                "url": found.extra.get("notes_url"), "tickets": found.extra.get("tickets") or [],
                "confirmed": bool(found.extra.get("confirmed"))}
    tables: dict[tuple, dict[str, Any]] = {}
    for item in figures:  # oldest first: a later measurement of a commit replaces an earlier one
        key = (item.get("library"), item.get("branch"), item.get("metric"), item.get("rows"), bool(item.get("cext")))
        table = tables.setdefault(key, {"library": key[0], "branch": key[1], "metric": key[2], "rows": key[3],
                                        "build": "C extensions" if key[4] else "pure Python", "commits": {},
                                        "strategies": []})
        if item["strategy"] not in table["strategies"]:
            table["strategies"].append(item["strategy"])
        commit = table["commits"].setdefault(item["sha"], {"sha": item["sha"], "short": item["sha"][:10],
                                                           "subject": item.get("subject", ""),
                                                           "date": str(item.get("date", ""))[:10],
                                                           "url": item.get("url"), "cells": {}})
        commit["cells"][item["strategy"]] = {"value": item.get("value"), "error": item.get("error")}
    sections = []
    for table in tables.values():
        ordered = sorted(table["commits"].values(), key=lambda c: c["date"])
        previous: dict[str, Any] = {}
        for commit in ordered:
            for strategy, cell in commit["cells"].items():
                value = cell["value"]
                cell["changed"] = value is not None and strategy in previous and previous[strategy] != value
                cell["change"] = changes.get((commit["short"], strategy, table["metric"]))
                if value is not None:
                    previous[strategy] = value
        table["commits"] = list(reversed(ordered))[:SHOWN_COMMITS]
        table["measured"] = len(ordered)
        sections.append(table)
    return sections
