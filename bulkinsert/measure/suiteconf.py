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


def elsewhere_in_matrix(conf: Mapping[str, Any], versions: Mapping[str, str], unused: set[str]) -> str | None:
    """Where the matrix measures paths that do not use the libraries ``unused``, when not here.

    Such a path's figure in an environment whose version of an unused library is a listed but
    not the newest one repeats the figure of the environment with the newest (every other pin
    the same): returns those pins (``"psycopg2-binary 2.9.13"``), or None to measure here. An
    environment outside the matrix's versions (a development virtualenv) always measures.
    """
    listed = {name.lower(): versions_ for name, versions_ in matrix_requirements(conf).items()}
    installed = {name.lower(): version for name, version in versions.items()}
    elsewhere = []
    for name, newest in newest_pins(conf).items():
        key = name.lower()
        here = installed.get(key)
        if key in unused and here is not None and here != newest and here in listed[key]:
            elsewhere.append(f"{name} {newest}")
    return ", ".join(elsewhere) or None


# Requirement names of psycopg2 (the matrix pins the binary wheel).
PSYCOPG2_DISTRIBUTIONS = {"psycopg2", "psycopg2-binary"}


def driver_axis_elsewhere(conf: Mapping[str, Any], versions: Mapping[str, str]) -> str | None:
    """Why an environment with ``versions`` does not measure the driver axis, or None (it does).

    The axis (SQLAlchemy's paths on the drivers other than psycopg2) never loads psycopg2: the
    suite measures it where psycopg2 is the matrix's newest; the site says so in the others.
    """
    home = elsewhere_in_matrix(conf, versions, PSYCOPG2_DISTRIBUTIONS)
    if home is None:
        return None
    return f"measured once per SQLAlchemy release, in the environment with {home} (these paths do not use psycopg2)"
