"""A synthetic library repository for the commit axis: built commit by commit, with known answers.

``fakechunks`` is a tiny pure-Python package; the test-only strategy of :data:`STRATEGY_FILE`
inserts the rows as multi-row INSERTs of ``fakechunks.CHUNK`` rows each (so the server's
statement count is ``rows / CHUNK``), then calls ``fakechunks.pace(seconds)``, which busy-waits
``(PACE - 1)`` times the insert's time inside the timed region (a library that became slower).
Commit dates and authors are fixed, so the SHAs (and the environments cached per SHA) are the
same in every run.

main, first-parent order::

    c0 v1.0.0  CHUNK 100, PACE 1.0
    c1         merge of a feature branch (two commits)
    c2, c3     documentation
    c4         does not build (its pyproject.toml is broken)
    c5         builds again
    c6         CHUNK 100 -> 50           (Fixes: #42, changelog fragment 42.rst)
    c7         PACE 1.0 -> 1.3           (Fixes: #43, changelog fragment 43.rst)
    c8         documentation

release branch rel_1_0 from v1.0.0: r1 (tag v1.0.1), r2 the CHUNK backport (Fixes: #42),
r3 (tag v1.0.2).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

LIBRARY = "fakechunks"
STRATEGY = "fakechunks_insert"

STRATEGY_SOURCE = '''
import time

from bulkinsert import strategy


@strategy(family="dbapi")
def fakechunks_insert(db, names):
    """Multi-row INSERTs of the row count the fakechunks library chooses (test only)."""
    import fakechunks

    started = time.perf_counter()
    with db.dbapi() as conn, conn.cursor() as cur:
        for chunk in fakechunks.chunks(list(names)):
            cur.execute("INSERT INTO users (name) VALUES " + ",".join(["(%s)"] * len(chunk)), chunk)
    fakechunks.pace(time.perf_counter() - started)
'''

PYPROJECT = '''[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "fakechunks"
version = "1.0.0"

[tool.setuptools]
py-modules = ["fakechunks"]
'''

MODULE = '''"""How many rows go in one INSERT, and how long the library takes about it."""
import time

CHUNK = {chunk}
PACE = {pace}


def chunks(rows):
    return [rows[i:i + CHUNK] for i in range(0, len(rows), CHUNK)]


def pace(seconds):
    until = time.perf_counter() + seconds * (PACE - 1.0)
    while time.perf_counter() < until:
        pass
'''


@dataclass
class FakeRepository:
    path: Path
    commits: dict[str, str] = field(default_factory=dict)  # name (c0, r2, f1...) -> SHA
    _clock: int = 1_700_000_000

    def git(self, *args: str) -> str:
        self._clock += 60
        when = f"@{self._clock} +0000"
        variables = {**os.environ, "GIT_AUTHOR_NAME": "Fake", "GIT_AUTHOR_EMAIL": "fake@example.org",
                     "GIT_COMMITTER_NAME": "Fake", "GIT_COMMITTER_EMAIL": "fake@example.org",
                     "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, "GIT_CONFIG_NOSYSTEM": "1",
                     "HOME": str(self.path)}
        return subprocess.run(["git", "-C", str(self.path), *args], capture_output=True, text=True, check=True,
                              env=variables).stdout.strip()

    def write(self, name: str, text: str) -> None:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def commit(self, name: str, message: str, **files: str) -> str:
        for path, text in files.items():
            self.write(path.replace("__", "/"), text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        self.commits[name] = self.git("rev-parse", "HEAD")
        return self.commits[name]


def module(chunk: int = 100, pace: float = 1.0) -> str:
    return MODULE.format(chunk=chunk, pace=pace)


def fragment(ticket: int, text: str) -> str:
    return f".. change::\n    :tags: bug\n    :tickets: {ticket}\n\n    {text}\n"


def build_repository(path: Path) -> FakeRepository:
    """The history above, in ``path`` (created)."""
    path.mkdir(parents=True)
    repo = FakeRepository(path)
    repo.git("init", "-q", "-b", "main")
    repo.commit("c0", "first release", **{"pyproject.toml": PYPROJECT, "fakechunks.py": module(), "README": "x\n"})
    repo.git("tag", "v1.0.0")
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("f1", "feature: notes", **{"NOTES": "a\n"})
    repo.commit("f2", "feature: more notes", **{"NOTES": "a\nb\n"})
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge branch 'feature'", "feature")
    repo.commits["c1"] = repo.git("rev-parse", "HEAD")
    repo.commit("c2", "docs: usage", **{"README": "usage\n"})
    repo.commit("c3", "docs: more usage", **{"README": "usage\nmore\n"})
    repo.commit("c4", "packaging: a broken pyproject", **{"pyproject.toml": "[project\nname = \n"})
    repo.commit("c5", "packaging: fix the pyproject", **{"pyproject.toml": PYPROJECT})
    repo.commit("c6", "smaller chunks\n\nFixes: #42", **{
        "fakechunks.py": module(chunk=50),
        "doc__build__changelog__unreleased_1__42.rst": fragment(42, "Chunks of 50 rows.")})
    repo.commit("c7", "pace the inserts\n\nFixes: #43", **{
        "fakechunks.py": module(chunk=50, pace=1.3),
        "doc__build__changelog__unreleased_1__43.rst": fragment(43, "Inserts are paced.")})
    repo.commit("c8", "docs: pacing", **{"README": "usage\nmore\npacing\n"})
    repo.git("checkout", "-q", "-b", "rel_1_0", "v1.0.0")
    repo.commit("r1", "docs on the release branch", **{"README": "release\n"})
    repo.git("tag", "v1.0.1")
    repo.commit("r2", "smaller chunks (backport)\n\nFixes: #42", **{
        "fakechunks.py": module(chunk=50),
        "doc__build__changelog__unreleased_1__42.rst": fragment(42, "Chunks of 50 rows.")})
    repo.commit("r3", "docs: release notes", **{"README": "release\nnotes\n"})
    repo.git("tag", "v1.0.2")
    repo.git("checkout", "-q", "main")
    return repo
