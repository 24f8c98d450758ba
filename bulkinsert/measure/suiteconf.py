"""asv.conf.json, read in one place: the suite's settings and its SQLAlchemy x psycopg2 matrix.

The analysis side (``bulkinsert site``, ``releases``) reads it with asv's own loader,
:meth:`asv.config.Config.load` (its comment syntax, its checks, its defaults). A measuring
process — a benchmark in an asv environment, the release worker — has no asv (the lean
core: tests/test_lean.py), so :func:`read_without_asv` reads the same file with the standard
library; the matrix helpers take either.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asv.config import Config

# The checkout's own file; an asv environment installs the package elsewhere, so the suite
# passes its checkout's path instead.
CONF_PATH = Path(__file__).resolve().parents[2] / "asv.conf.json"


def load(path: Path | None = None) -> Config:
    """asv's Config of ``path`` (default: the checkout's); asv raises its UserError when it is absent."""
    from asv.config import Config

    return Config.load(str(path or CONF_PATH))


def settings(path: Path | None = None) -> dict[str, Any]:
    """The settings as a mapping, asv's defaults filled in; empty when there is no file."""
    path = path or CONF_PATH
    return dict(vars(load(path))) if path.is_file() else {}


def read_without_asv(path: Path | None = None) -> dict[str, Any]:
    """The file's own settings for a process without asv (``//`` comment lines dropped, as asv does)."""
    text = (path or CONF_PATH).read_text(encoding="utf-8")
    return json.loads(re.sub(r"^\s*//.*$", "", text, flags=re.M))


def _version_order(version: str) -> tuple[int, ...]:
    """The matrix lists final releases only, so their numbers order them (no packaging needed)."""
    return tuple(int(part) for part in re.findall(r"\d+", version))


def matrix_requirements(conf: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each requirement of the matrix with the versions it lists (``matrix.req``, or asv's old flat form)."""
    matrix = conf.get("matrix") or {}
    requirements = matrix.get("req") or matrix
    listed: dict[str, list[str]] = {}
    for name, versions in requirements.items():
        values = versions if isinstance(versions, list) else [versions]
        if values and all(isinstance(v, str) for v in values):  # "" (asv: not installed) included
            listed[name] = values
    return listed


def newest_pins(conf: Mapping[str, Any]) -> dict[str, str]:
    """Each requirement at its newest listed version: the matrix's newest environment."""
    pins = {}
    for name, versions in matrix_requirements(conf).items():
        listed = [v for v in versions if v]
        if listed:
            pins[name] = max(listed, key=_version_order)
    return pins


def varying(conf: Mapping[str, Any]) -> set[str]:
    """The requirements listed at more than one version: what a finding's context names."""
    return {name for name, versions in matrix_requirements(conf).items() if len(set(versions)) > 1}
