"""A library's published releases, read from the package index the way pip reads it.

The index is pip's own configuration (``pip config list``: ``PIP_INDEX_URL``, ``index-url`` and
``extra-index-url`` from every configuration file), read through the simple repository API —
JSON (PEP 691) where the index offers it, the HTML page (PEP 503) otherwise, ``file://``
indexes included. A release is listed once, ordered by PEP 440; pre-releases only when asked;
a release whose every file is yanked (PEP 592) is left out and reported; a release with no
file that installs on the running Python (wheel tags, ``Requires-Python``) is reported and
skipped. None of these is ever fatal.

A library installed as a pair (:data:`COMPANIONS`: ``psycopg`` with its C speedups,
``psycopg-binary``, at the same release) lists only the releases whose companion installs here
too; the others are reported as not installable, with the companion's reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import sys_tags
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

DEFAULT_INDEX = "https://pypi.org/simple"
JSON_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
TIMEOUT_SECONDS = 60
# Distributions swept together with a library, always at the library's own release.
COMPANIONS: dict[str, tuple[str, ...]] = {"psycopg": ("psycopg-binary",)}


@dataclass(frozen=True)
class IndexFile:
    """One distribution file of the simple API."""

    filename: str
    version: Version
    kind: str  # "wheel" or "sdist"
    requires_python: str | None
    yanked: bool
    tags: frozenset = field(default=frozenset(), compare=False)


@dataclass(frozen=True)
class Release:
    version: str
    files: tuple[IndexFile, ...] = field(repr=False)

    @property
    def key(self) -> Version:
        return Version(self.version)

    @property
    def yanked(self) -> bool:
        return all(f.yanked for f in self.files)

    def install_problem(self, python: Version | None = None) -> str | None:
        """Why no file of this release installs on ``python`` (the running one), or None."""
        target = python or Version(".".join(map(str, sys.version_info[:3])))
        supported = set(sys_tags())
        usable = [f for f in self.files if not f.yanked]
        fitting = [f for f in usable if _python_allows(f.requires_python, target)]
        if usable and not fitting:
            return f"requires Python {usable[0].requires_python} (running {target})"
        if any(f.kind == "sdist" or f.tags & supported for f in fitting):
            return None
        return f"no wheel for this platform and Python {target.major}.{target.minor}, and no sdist"


@dataclass
class ReleaseList:
    """What the index says: releases that can be measured, and why the others cannot."""

    library: str
    indexes: list[str]
    releases: list[Release]
    yanked: list[str]
    uninstallable: dict[str, str]  # version -> reason
    prereleases_left_out: list[str]

    @property
    def versions(self) -> list[str]:
        return [r.version for r in self.releases]

    def between(self, low: str | None, high: str | None) -> list[str]:
        """Versions in [low, high] (either bound open when None), PEP 440 order."""
        low_key = Version(low) if low else None
        high_key = Version(high) if high else None
        return [
            v
            for v in self.versions
            if (low_key is None or Version(v) >= low_key) and (high_key is None or Version(v) <= high_key)
        ]

    def as_dict(self) -> dict:
        return {
            "library": self.library,
            "indexes": [_display_url(u) for u in self.indexes],
            "releases": self.versions,
            "yanked": self.yanked,
            "uninstallable": self.uninstallable,
            "prereleases_left_out": self.prereleases_left_out,
        }


def _python_allows(requires_python: str | None, python: Version) -> bool:
    if not requires_python:
        return True
    try:
        return SpecifierSet(requires_python).contains(python, prereleases=True)
    except InvalidSpecifier:
        return True  # pip ignores an unparsable Requires-Python too


def _display_url(url: str) -> str:
    """An index URL without credentials (an index URL may carry a token)."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        return url.replace(parts.netloc, parts.hostname or "", 1)
    return url


def pip_indexes() -> list[str]:
    """pip's configured index URLs, the main one first: what ``pip install`` would search.

    Read with ``pip config list`` (environment variables, then per-command, then global
    settings), so every place pip reads is honoured; the default index when none is set.
    """
    try:
        output = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        output = ""
    settings: dict[str, str] = {}
    for line in output.splitlines():
        key, _, value = line.partition("=")
        settings[key.strip()] = value.strip().strip("'\"")
    order = (":env:", "install", "global")
    main = next((settings[f"{s}.index-url"] for s in order if f"{s}.index-url" in settings), DEFAULT_INDEX)
    extra = next((settings[f"{s}.extra-index-url"] for s in order if f"{s}.extra-index-url" in settings), "")
    urls = [main] + extra.split()
    return list(dict.fromkeys(u.rstrip("/") for u in urls if u))


class _AnchorParser(HTMLParser):
    """The file links of a PEP 503 project page, with their data-* attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._current: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._current, self._text = dict(attrs), []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._current is not None:
            self.anchors.append((self._current, "".join(self._text).strip()))
            self._current = None


def _read(url: str) -> tuple[str, str]:
    """(content type, body) of an index page; ``file://`` pages are the directory's index.html."""
    if url.startswith("file://"):
        path = Path(unquote(urlsplit(url).path))
        for name, kind in (("index.json", "application/vnd.pypi.simple.v1+json"), ("index.html", "text/html")):
            if (path / name).is_file():
                return kind, (path / name).read_text(encoding="utf-8")
        raise FileNotFoundError(str(path))
    request = urllib.request.Request(url, headers={"Accept": JSON_ACCEPT, "User-Agent": "bulkinsert-releases"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - configured index
        return response.headers.get("Content-Type", ""), response.read().decode("utf-8")


def _file_entries(content_type: str, body: str) -> Iterable[tuple[str, str | None, bool]]:
    """(filename, requires-python, yanked) of every file on a project page."""
    if "json" in content_type:
        for item in json.loads(body).get("files", []):
            yield item["filename"], item.get("requires-python"), bool(item.get("yanked"))
        return
    parser = _AnchorParser()
    parser.feed(body)
    for attrs, text in parser.anchors:
        filename = text or unquote(urlsplit(attrs.get("href") or "").path.rsplit("/", 1)[-1])
        yield filename, attrs.get("data-requires-python"), "data-yanked" in attrs


def _parse_file(filename: str, requires_python: str | None, yanked: bool, project: str) -> IndexFile | None:
    """The file's version and kind, or None for what pip ignores (eggs, other projects)."""
    try:
        if filename.endswith(".whl"):
            name, version, _build, tags = parse_wheel_filename(filename)
            kind = "wheel"
        elif filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            tags, kind = frozenset(), "sdist"
        else:
            return None
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    if canonicalize_name(name) != project:
        return None
    return IndexFile(filename, version, kind, requires_python, yanked, frozenset(tags))


def index_files(library: str, indexes: Sequence[str] | None = None) -> tuple[list[IndexFile], list[str]]:
    """Every file of ``library`` on every configured index (an index without it is skipped)."""
    project = canonicalize_name(library)
    urls = list(indexes) if indexes is not None else pip_indexes()
    files: dict[str, IndexFile] = {}
    errors: list[str] = []
    for base in urls:
        page = urljoin(base.rstrip("/") + "/", f"{project}/")
        try:
            content_type, body = _read(page)
        except FileNotFoundError:
            continue
        except OSError as exc:
            errors.append(f"{_display_url(base)}: {exc}")
            continue
        for filename, requires_python, yanked in _file_entries(content_type, body):
            parsed = _parse_file(filename, requires_python, yanked, project)
            if parsed is not None and filename not in files:
                files[filename] = parsed
    if not files and errors:
        raise OSError(f"cannot read the package index for {library}: {errors[0]}")
    return list(files.values()), urls


def list_releases(library: str, *, pre: bool = False, indexes: Sequence[str] | None = None) -> ReleaseList:
    """The releases of ``library`` that can be measured here, in PEP 440 order."""
    files, urls = index_files(library, indexes)
    if not files:
        raise LookupError(f"no releases of {library!r} on the package index ({', '.join(map(_display_url, urls))})")
    grouped: dict[Version, list[IndexFile]] = {}
    for item in files:
        grouped.setdefault(item.version, []).append(item)
    releases, yanked, uninstallable, left_out = [], [], {}, []
    companions = {name: _installable(name, pre, indexes) for name in COMPANIONS.get(canonicalize_name(library), ())}
    for version in sorted(grouped):
        release = Release(str(version), tuple(grouped[version]))
        if (version.is_prerelease or version.is_devrelease) and not pre:
            left_out.append(release.version)
        elif release.yanked:
            yanked.append(release.version)
        elif (problem := release.install_problem()) is not None:
            uninstallable[release.version] = problem
        elif (problem := _companion_problem(companions, version)) is not None:
            uninstallable[release.version] = problem
        else:
            releases.append(release)
    return ReleaseList(library, urls, releases, yanked, uninstallable, left_out)


def _installable(library: str, pre: bool, indexes: Sequence[str] | None) -> tuple[dict[Version, str], set[Version]]:
    """A companion's releases that install here, and why the others do not (version -> reason)."""
    try:
        listing = list_releases(library, pre=True, indexes=indexes)
    except LookupError:
        return {}, set()
    problems = {Version(v): reason for v, reason in listing.uninstallable.items()}
    problems.update({Version(v): "yanked" for v in listing.yanked})
    return problems, {r.key for r in listing.releases} | {Version(v) for v in listing.prereleases_left_out}


def _companion_problem(companions: dict[str, tuple[dict[Version, str], set[Version]]], version: Version) -> str | None:
    """Why a companion of the library cannot be installed at ``version``, or None."""
    for name, (problems, installable) in companions.items():
        if version in installable:
            continue
        return f"{name} {version}: {problems.get(version, 'not on the package index')}"
    return None
