"""One environment per commit of a library, built from that commit and cached per SHA.

Everything but the library is pinned exactly as for the release axis (the newest environment of
the asv matrix, the project's measuring core, the checkout on the path: :mod:`.envs`); the
library itself is the commit's tree (``git archive``, kept under ``.asv/commit-trees/<sha>``)
installed by ``uv pip install``. A build is pure Python or with C extensions, chosen once for a
whole bisect, sweep or watch and part of the cache key; the stamp records what was actually built
(``cext_built``), and a build that comes out otherwise than asked is refused, so one search never
mixes the two. A commit that does not install or import raises :class:`CommitBuildError`, which
the searches treat as a release that does not install: skipped and reported.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from . import envs
from .index import COMPANIONS
from .source import Recipe, Source

# Prints whether the imported module's directory holds compiled extensions (.so / .pyd).
# A package's directory is searched; a single module is compiled when its own file is.
_CEXT_PROBE = ("import importlib, pathlib, sys; f = pathlib.Path(importlib.import_module(sys.argv[1]).__file__); "
               "files = f.parent.rglob('*') if f.name.startswith('__init__.') else [f]; "
               "print(any(p.suffix in ('.so', '.pyd') for p in files))")


class CommitBuildError(envs.EnvironmentError_):
    """A commit that does not build, install or import (the message is the last line of why)."""


@dataclass(frozen=True)
class CommitEnv(envs.ReleaseEnv):
    """A commit's environment; ``version`` is the short SHA (what the measuring process reports)."""

    sha: str = ""
    cext: bool = False  # C extensions asked for (False: the pure-Python build)
    subdirectory: str = ""

    def stamp(self) -> dict:
        return {**super().stamp(), "sha": self.sha, "cext": self.cext}

    @property
    def built_seconds(self) -> float | None:
        """How long its build took (None when it was not built here)."""
        try:
            return json.loads((self.path / envs.STAMP).read_text()).get("built_seconds")
        except (OSError, ValueError):
            return None


def commit_pins(library: str) -> dict[str, str]:
    """The matrix's newest pins without the library and its companions (they come from the commit)."""
    together = {canonicalize_name(library), *COMPANIONS.get(canonicalize_name(library), ())}
    return {k: v for k, v in envs.matrix_pins().items() if canonicalize_name(k) not in together}


def commit_env(recipe: Recipe, sha: str, *, cext: bool = False, pins: dict[str, str] | None = None) -> CommitEnv:
    pinned = dict(pins if pins is not None else commit_pins(recipe.library))
    requirements = tuple(sorted({**pinned, recipe.library: f"git+{sha}"}.items(), key=lambda kv: kv[0].lower()))
    kind = "cext" if cext else "pure"
    path = envs.env_root() / "commits" / f"{canonicalize_name(recipe.library)}-{sha[:12]}-{kind}"
    return CommitEnv(recipe.library, sha[:10], requirements, path, sha=sha, cext=cext,
                     subdirectory=recipe.subdirectory)


def other_dependencies(library: str) -> list[str]:
    """The project's measuring core without the library (which comes from the commit)."""
    from packaging.requirements import Requirement

    name = canonicalize_name(library)
    return [r for r in envs.project_dependencies() if canonicalize_name(Requirement(r).name) != name]


def tree_root() -> Path:
    return envs.env_root().parent / "commit-trees"


def _run(command: list[str], what: str, extra: dict[str, str] | None = None) -> str:
    variables = {**envs._uv_env(), **(extra or {})}
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=variables,
                              timeout=envs.BUILD_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise CommitBuildError(f"{what}: timed out after {envs.BUILD_TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        detail = next((line for line in reversed(lines) if not line.startswith(("help:", "hint:"))), "failed")
        raise CommitBuildError(f"{what}: {detail}")
    return done.stdout


_BUILD_WHEEL = ("import importlib, sys; name, _, attr = sys.argv[1].partition(':'); b = importlib.import_module(name); "
                "b = getattr(b, attr) if attr else b; print(b.build_wheel(sys.argv[2]))")


def _build_wheel(env: CommitEnv, project: Path, what: str, variables: dict[str, str]) -> Path:
    """The commit's wheel, built by its declared build backend inside ``env`` (PEP 517, no isolation).

    Called directly rather than through uv, whose stricter reading of ``pyproject.toml`` refuses
    trees that setuptools builds (SQLAlchemy's main branch declares extras that normalize alike).
    """
    import tomllib

    try:
        with open(project / "pyproject.toml", "rb") as handle:
            backend = tomllib.load(handle).get("build-system", {}).get("build-backend")
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CommitBuildError(f"{what} does not build: pyproject.toml: {exc}") from None
    out = env.path / "wheel"
    out.mkdir(parents=True, exist_ok=True)
    variables = {**variables, "PYTHONPATH": ""}
    command = [str(env.python), "-c", _BUILD_WHEEL, backend or "setuptools.build_meta:__legacy__", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=project, timeout=envs.BUILD_TIMEOUT_SECONDS,
                          env={**envs._uv_env(), **variables}, check=False)
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise CommitBuildError(f"{what} does not build: {lines[-1] if lines else 'failed'}")
    return out / done.stdout.strip().splitlines()[-1]


def build_commit(env: CommitEnv, source: Source) -> bool:
    """Make sure ``env`` exists; True when it was built now. A failed build leaves nothing behind."""
    if env.is_built:
        return False
    recipe = source.recipe
    if env.cext and recipe.cext_build is None:
        raise CommitBuildError(f"{recipe.library} has no C extensions to build: use the pure-Python build")
    tree = source.export(env.sha, tree_root() / env.sha)
    if env.path.exists():
        shutil.rmtree(env.path)
    env.path.parent.mkdir(parents=True, exist_ok=True)
    uv = envs._uv()
    what = f"{recipe.library} {env.version}"
    started = time.monotonic()
    try:
        _run([uv, "venv", "--quiet", "--python", sys.executable, str(env.path)], f"{what}: uv venv")
        pins = [f"{name}=={version}" for name, version in env.requirements if name != recipe.library]
        _run([uv, "pip", "install", "--quiet", "--python", str(env.python), *envs._index_arguments(),
              *other_dependencies(recipe.library), *pins, *([] if env.cext else recipe.build_requires)],
             f"{what}: the pinned requirements do not install")
        project = tree / recipe.subdirectory
        if env.cext:  # in an isolated environment with the commit's own build requirements (e.g. Cython)
            _run([uv, "pip", "install", "--quiet", "--no-deps", "--python", str(env.python), *envs._index_arguments(),
                  str(project)], f"{what} does not build", dict(recipe.cext_build or {}))
        else:
            wheel = _build_wheel(env, project, what, recipe.pure_build)
            _run([uv, "pip", "install", "--quiet", "--no-deps", "--python", str(env.python), str(wheel)],
                 f"{what} does not install")
        probe = _run([str(env.python), "-c", _CEXT_PROBE, recipe.module], f"{what} does not import",
                     {"PYTHONPATH": "", **(recipe.pure_build if not env.cext else {})})
        cext_built = probe.strip().endswith("True")
        if cext_built != env.cext:
            raise CommitBuildError(f"{what}: C extensions {'built' if cext_built else 'not built'}, "
                                   f"but this search measures {'C-extension' if env.cext else 'pure-Python'} builds")
        envs._link_checkout(env)
    except BaseException:
        shutil.rmtree(env.path, ignore_errors=True)
        raise
    stamp = {**env.stamp(), "cext_built": cext_built, "built_seconds": round(time.monotonic() - started, 1)}
    (env.path / envs.STAMP).write_text(json.dumps(stamp, indent=2))
    return True
