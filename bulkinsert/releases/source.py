"""A library's git repository as the source of its commits: refs, first-parent ranges, commit facts.

The commit axis of the release tools reads a library's history from a git repository, a local
path (a clone, bare or not) or a URL (cloned bare once into the cache, fetched on later runs).
What differs per library is declared once in :data:`RECIPES`: the directory its distribution is
built from, how a pure-Python build is asked for, its release tags (SQLAlchemy ``2.0.47`` ->
``rel_2_0_47``), where its changelog fragments live and its upstream for links. Libraries that
cannot be built from a commit here are refused in one line with the reason (:data:`REFUSED`).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import BulkInsertError
from .envs import env_root


class SourceError(BulkInsertError):
    """A source, ref or range that cannot be used (the message is one line)."""


@dataclass(frozen=True)
class Recipe:
    """How one library is built from a commit and how its history reads."""

    library: str  # the distribution name
    module: str  # the import name (whether C extensions were built is read from its files)
    subdirectory: str = ""  # where the distribution's pyproject.toml sits in the repository
    pure_build: dict[str, str] = field(default_factory=dict)  # variables of a pure-Python build
    cext_build: dict[str, str] | None = None  # variables that make C extensions required (None: none exist)
    tag: str = "v{version}"  # a release's tag: {version}, or {underscored} (2_0_47)
    changelog: tuple[str, ...] = ("changelog.d/*", "doc/build/changelog/unreleased_*/*", "news/*")
    upstream: str | None = None  # https://github.com/OWNER/NAME: commit and ticket links
    # What a pure-Python build needs, installed into the environment beforehand: the build then runs
    # there (no isolated build environment per commit, which costs more than the build itself).
    build_requires: tuple[str, ...] = ("setuptools>=77",)

    def tag_of(self, version: str) -> str:
        return self.tag.format(version=version, underscored=version.replace(".", "_"))

    def version_of(self, tag: str) -> str | None:
        """The release a tag names (None when it is not a release tag of this recipe)."""
        placeholder = "underscored" if "{underscored}" in self.tag else "version"
        prefix, _, suffix = self.tag.partition("{" + placeholder + "}")
        if not (tag.startswith(prefix) and tag.endswith(suffix)) or len(tag) <= len(prefix) + len(suffix):
            return None
        core = tag[len(prefix):len(tag) - len(suffix)]
        version = core.replace("_", ".") if placeholder == "underscored" else core
        try:
            return str(Version(version)) if str(Version(version)) == version else None
        except InvalidVersion:
            return None


RECIPES = {
    "sqlalchemy": Recipe(
        "SQLAlchemy", "sqlalchemy", pure_build={"DISABLE_SQLALCHEMY_CEXT": "1"},
        cext_build={"REQUIRE_SQLALCHEMY_CEXT": "1"}, tag="rel_{underscored}",
        changelog=("doc/build/changelog/unreleased_*/*",), upstream="https://github.com/sqlalchemy/sqlalchemy"),
    # psycopg 3's pure-Python package (its psycopg/ directory); it finds the system's libpq at run time.
    # psycopg-binary is left out of the environment, so the measured package is the commit's own Python.
    "psycopg": Recipe(
        "psycopg", "psycopg", subdirectory="psycopg", tag="{version}",
        changelog=("docs/news.rst",), upstream="https://github.com/psycopg/psycopg"),
}
REFUSED = {
    "psycopg2": "psycopg2 is a C extension only (no pure-Python build): a commit's figures would be a local "
                "compiler build against this machine's libpq, not comparable with psycopg2-binary's wheels; "
                "measure its releases instead",
    "asyncpg": "asyncpg's protocol is Cython in git submodules (asyncpg/pgproto) that an exported commit lacks, "
               "and it has no pure-Python build; measure its releases instead",
}
REFUSED["psycopg2-binary"] = REFUSED["psycopg2"]
TICKET = re.compile(r"^\s*(Fixes|Closes|References):\s*(.+?)\s*$", re.MULTILINE | re.IGNORECASE)
GITHUB = re.compile(r"github\.com[/:](?P<path>[^/\s]+/[^/\s]+?)(?:\.git)?/?$")


def recipe_for(library: str) -> Recipe:
    """The declared recipe, a plain one for another pure-Python library, or a one-line refusal."""
    name = canonicalize_name(library)
    if name in REFUSED:
        raise SourceError(f"--source: {library} cannot be built from a commit here: {REFUSED[name]}")
    return RECIPES.get(name) or Recipe(library, name.replace("-", "_"))


@dataclass(frozen=True)
class Commit:
    """What a report says about one commit."""

    sha: str
    subject: str
    date: str  # committer date, ISO 8601
    fixes: tuple[str, ...]  # the Fixes:/Closes:/References: lines' values
    fragments: tuple[tuple[str, str], ...]  # (path, text) of the changelog files the commit added or changed
    url: str | None
    tickets: tuple[str, ...] = ()  # links to the referenced tickets (#NNNN on the upstream)

    @property
    def short(self) -> str:
        return self.sha[:10]

    def as_dict(self) -> dict:
        return {"sha": self.sha, "subject": self.subject, "date": self.date, "fixes": list(self.fixes),
                "tickets": list(self.tickets), "changelog": [{"path": p, "text": t} for p, t in self.fragments],
                "url": self.url}


def _slug(location: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", location).strip("-")[-80:] or "source"


class Source:
    """A library's repository: a local path used in place, or a URL cloned bare into the cache."""

    def __init__(self, location: str, recipe: Recipe, *, update: bool = True) -> None:
        self.location = location
        self.recipe = recipe
        local = Path(location).expanduser()
        if local.exists():
            self.git_dir = local.resolve()
            self.remote = None
        elif "://" in location or location.startswith("git@"):
            self.git_dir = env_root().parent / "commit-sources" / f"{_slug(location)}.git"
            self.remote = location
            self._clone_or_fetch(update)
        else:
            raise SourceError(f"--source {location}: no such directory, and not a URL")
        if self._git("rev-parse", "--git-dir", check=False) is None:
            raise SourceError(f"--source {location}: not a git repository")

    def _clone_or_fetch(self, update: bool) -> None:
        if not self.git_dir.exists():
            self.git_dir.parent.mkdir(parents=True, exist_ok=True)
            self._run(["git", "clone", "--quiet", "--bare", str(self.remote), str(self.git_dir)], "clone")
        elif update:
            self._run(["git", "--git-dir", str(self.git_dir), "fetch", "--quiet", "--prune", "--tags", "origin",
                       "+refs/heads/*:refs/heads/*"], "fetch")

    def _run(self, command: list[str], what: str) -> str:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["failed"])[-1]
            raise SourceError(f"--source {self.location}: git {what}: {last}")
        return done.stdout

    def _git(self, *args: str, check: bool = True) -> str | None:
        done = subprocess.run(["git", "-C", str(self.git_dir), *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            if check:
                last = (done.stderr.strip().splitlines() or ["failed"])[-1]
                raise SourceError(f"git {args[0]}: {last}")
            return None
        return done.stdout

    def resolve(self, ref: str, option: str = "ref") -> str:
        """The full SHA of a tag, branch or commit (branches of a clone: local, else origin's)."""
        for candidate in (ref, f"origin/{ref}"):
            out = self._git("rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}", check=False)
            if out:
                return out.strip()
        raise SourceError(f"{option} {ref}: not a tag, branch or commit of {self.location}")

    def first_parent(self, old: str, new: str) -> list[str]:
        """OLD and every commit on NEW's first-parent line after it, oldest first (OLD's SHA first)."""
        old_sha, new_sha = self.resolve(old, "--from"), self.resolve(new, "--to")
        if self._git("merge-base", "--is-ancestor", old_sha, new_sha, check=False) is None:
            raise SourceError(f"--from {old} is not an ancestor of --to {new}")
        line = (self._git("rev-list", "--first-parent", "--reverse", f"{old_sha}..{new_sha}") or "").split()
        return [old_sha, *line]

    def release_tags(self) -> dict[str, str]:
        """Every release this repository tags, by the recipe's tag pattern: version -> tag."""
        found = {}
        for tag in (self._git("tag", "--list") or "").split():
            version = self.recipe.version_of(tag)
            if version is not None:
                found[version] = tag
        return dict(sorted(found.items(), key=lambda kv: Version(kv[0])))

    def releases_between(self, low: str, high: str) -> list[str]:
        """The tagged releases in [low, high], PEP 440 order; one-line errors for missing bounds."""
        tags = self.release_tags()
        for bound in (low, high):
            if bound not in tags:
                raise SourceError(f"{self.recipe.library} {bound}: no tag {self.recipe.tag_of(bound)} in "
                                  f"{self.location}")
        return [v for v in tags if Version(low) <= Version(v) <= Version(high)]

    def export(self, sha: str, destination: Path) -> Path:
        """The commit's files (``git archive``) in ``destination``, written once per SHA."""
        if (destination / ".bulkinsert-exported").exists():
            return destination
        temporary = destination.with_name(destination.name + ".partial")
        subprocess.run(["rm", "-rf", str(temporary)], check=False)
        temporary.mkdir(parents=True)
        archive = subprocess.Popen(["git", "-C", str(self.git_dir), "archive", sha], stdout=subprocess.PIPE)
        unpacked = subprocess.run(["tar", "-x", "-C", str(temporary)], stdin=archive.stdout, check=False,
                                  capture_output=True)
        if archive.wait() != 0 or unpacked.returncode != 0:
            raise SourceError(f"git archive {sha[:10]}: failed")
        (temporary / ".bulkinsert-exported").write_text(sha + "\n")
        subprocess.run(["rm", "-rf", str(destination)], check=False)
        temporary.rename(destination)
        return destination

    def web(self) -> str | None:
        """The GitHub page of the source (its URL, or a local clone's origin), else the declared upstream."""
        remote = self.remote or (self._git("config", "--get", "remote.origin.url", check=False) or "").strip()
        match = GITHUB.search(remote or "")
        if match:
            return f"https://github.com/{match['path']}"
        return self.recipe.upstream

    def commit(self, sha: str) -> Commit:
        """The commit's subject, date, ticket lines and changelog fragments, with links."""
        head = self._git("show", "-s", "--format=%H%n%s%n%cI%n%b", sha) or ""
        full, subject, date, *body = head.split("\n")
        fixes = tuple(m.group(2) for m in TICKET.finditer("\n".join(body)))
        parents = (self._git("rev-list", "--parents", "-n", "1", full) or "").split()[1:]
        specs = [f":(glob){pattern}" for pattern in self.recipe.changelog]
        if parents:
            changed = self._git("diff", "--name-status", "--no-renames", parents[0], full, "--", *specs) or ""
        else:
            changed = self._git("show", "--format=", "--name-status", full, "--", *specs) or ""
        fragments = []
        for line in changed.splitlines():
            status, _, path = line.partition("\t")
            if status[:1] in ("A", "M"):
                fragments.append((path, (self._git("show", f"{full}:{path}") or "").strip()))
        web = self.web()
        tickets = tuple(f"{web}/issues/{n}" for ref in fixes for n in re.findall(r"#(\d+)", ref)) if web else ()
        return Commit(full, subject, date, fixes, tuple(fragments), f"{web}/commit/{full}" if web else None, tickets)

    def describe(self, shas: Sequence[str]) -> dict[str, Commit]:
        return {sha: self.commit(sha) for sha in shas}
