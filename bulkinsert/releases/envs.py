"""One virtual environment per release, built on demand with uv and reused.

Everything but the swept library is pinned as in the newest environment of the asv matrix
(``asv.conf.json``), and the checkout itself is put on the environment's path (as an editable install would), so
every release is measured against the same project code. An environment is cached under
``.asv/release-envs/<library>-<version>/`` with a stamp of what it was built for; a second
sweep finds the stamp and installs nothing. uv's cache lives beside the environments (same
file system, so files are hard-linked, not copied).

An environment holds the measuring core only (``pyproject.toml``'s ``dependencies``, plus the
peer drivers the matrix pins): the analysis stack (asv, uv, rich, click) never runs in
the measuring process, and leaving it out makes each environment smaller and faster to build.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from ..errors import BulkInsertError
from ..measure import suiteconf
from .index import COMPANIONS, pip_indexes

CHECKOUT = Path(__file__).resolve().parents[2]
ENV_ROOT_VARIABLE = "BULKINSERT_RELEASE_ENVS"
STAMP = "bulkinsert-release-env.json"
STAMP_VERSION = 2  # 2: records the project dependencies (the measuring core) it installed
BUILD_TIMEOUT_SECONDS = 900
# The distributions the project's code imports under other names than the matrix uses.
LIBRARY_ALIASES = {"psycopg2": "psycopg2-binary", "psycopg-binary": "psycopg"}
# The module each library is imported as: a sweep of its releases measures the strategies using it.
LIBRARY_MODULES = {"psycopg": "psycopg", "asyncpg": "asyncpg"}
# Every library whose releases the axis builds environments for (list, sweep, bisect, compare, watch).
RELEASE_LIBRARIES = ("SQLAlchemy", "psycopg2-binary", "psycopg", "asyncpg")


class EnvironmentError_(BulkInsertError):
    """A release's environment could not be built (the message is uv's last line)."""


def env_root() -> Path:
    return Path(os.environ.get(ENV_ROOT_VARIABLE) or CHECKOUT / ".asv" / "release-envs")


def distribution_name(library: str) -> str:
    """The distribution the matrix pins for ``library`` (``psycopg2`` -> ``psycopg2-binary``)."""
    return LIBRARY_ALIASES.get(canonicalize_name(library), library)


def default_strategies(library: str) -> list[str]:
    """The registered strategies that use ``library`` (psycopg, asyncpg); empty for the others.

    A strategy uses it when it names the library as its driver or requires its module.
    """
    from ..registry import load

    module = LIBRARY_MODULES.get(canonicalize_name(distribution_name(library)))
    if module is None:
        return []
    return [s.name for s in load().values() if s.driver == module or module in s.requires]


def matrix_pins(conf_path: Path | None = None) -> dict[str, str]:
    """Each requirement of the asv matrix at its newest listed version: the newest environment."""
    return suiteconf.newest_pins(suiteconf.settings(conf_path or CHECKOUT / "asv.conf.json"))


def matrix_varying(conf_path: Path | None = None) -> set[str]:
    """The matrix's requirements listed at more than one version: what a finding's context names."""
    return suiteconf.varying(suiteconf.settings(conf_path or CHECKOUT / "asv.conf.json"))


@dataclass(frozen=True)
class ReleaseEnv:
    """A release's environment: where it is and what it pins."""

    library: str  # the distribution name as the matrix spells it
    version: str
    requirements: tuple[tuple[str, str], ...]  # every pinned distribution, the swept one included
    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def name(self) -> str:
        """The asv environment name of the results: like asv's own, with its own prefix."""
        python = f"{sys.version_info.major}.{sys.version_info.minor}"
        pins = "-".join(f"{k}{v}" for k, v in sorted(self.requirements, key=lambda kv: kv[0].lower()))
        return f"release-py{python}-{pins}"

    def context(self) -> dict[str, str]:
        """The other varying matrix libraries at this environment's pins: the context it measures in."""
        varying = {canonicalize_name(n) for n in matrix_varying()}
        return {k: v for k, v in self.requirements if k != self.library and canonicalize_name(k) in varying}

    def stamp(self) -> dict:
        return {
            "stamp": STAMP_VERSION,
            "python": sys.version.split()[0],
            "base_python": str(Path(sys.base_prefix)),
            "requirements": dict(self.requirements),
            "dependencies": project_dependencies(),
            "project": str(CHECKOUT),
        }

    @property
    def is_built(self) -> bool:
        try:
            recorded = json.loads((self.path / STAMP).read_text())
            return self.python.exists() and all(recorded.get(k) == v for k, v in self.stamp().items())
        except (OSError, ValueError):
            return False


def release_env(
    library: str, version: str, *, pins: dict[str, str] | None = None, held: dict[str, str] | None = None
) -> ReleaseEnv:
    """The environment of one release (not built yet): the matrix's newest pins, ``library`` at ``version``.

    A library's companions (``psycopg-binary`` for ``psycopg``) are pinned at ``version`` too.

    ``held`` pins other distributions to other releases (``{"psycopg2-binary": "2.9.10"}``: the
    context a finding of ``bulkinsert compare`` was measured in); such an environment has its
    own directory, named after what it holds differently, so it never replaces the default one.
    """
    library = distribution_name(library)
    pinned = dict(pins if pins is not None else matrix_pins())
    differs: list[str] = []
    together = {canonicalize_name(library), *COMPANIONS.get(canonicalize_name(library), ())}
    for name, held_version in (held or {}).items():
        name = distribution_name(name)
        if canonicalize_name(name) in together:
            raise ValueError(f"--with {name}: that is the library whose releases vary")
        known = next((k for k in pinned if canonicalize_name(k) == canonicalize_name(name)), None)
        if known is None:
            raise ValueError(f"--with {name}: not a requirement of the asv matrix ({', '.join(sorted(pinned))})")
        if pinned[known] != held_version:
            pinned[known] = held_version
            differs.append(f"{known}-{held_version}")
    for name in list(pinned):
        if canonicalize_name(name) == canonicalize_name(library):
            library = name
            del pinned[name]
        elif canonicalize_name(name) in together:
            del pinned[name]
    pinned[library] = version
    for companion in COMPANIONS.get(canonicalize_name(library), ()):
        pinned[companion] = version  # installed together at the same release
    requirements = tuple(sorted(pinned.items(), key=lambda kv: kv[0].lower()))
    directory = "+".join([f"{library}-{version}", *sorted(differs)])
    return ReleaseEnv(library, version, requirements, env_root() / directory)


def parse_held(specs: Sequence[str]) -> dict[str, str]:
    """``["psycopg2-binary==2.9.10"]`` -> ``{"psycopg2-binary": "2.9.10"}`` (one-line error otherwise)."""
    held: dict[str, str] = {}
    for spec in specs:
        name, sep, version = spec.partition("==")
        if not sep or not name.strip() or not version.strip():
            raise ValueError(f"--with {spec!r}: expected NAME==VERSION, e.g. psycopg2-binary==2.9.10")
        held[distribution_name(name.strip())] = version.strip()
    return held


def _uv() -> str:
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            raise EnvironmentError_("uv is not installed: pip install uv (the release tools build with it)") from None
        return found


def _index_arguments() -> list[str]:
    """pip's configured indexes for uv, searched like pip does (best match over all of them)."""
    main, *extra = pip_indexes()
    arguments = ["--index-url", main, "--index-strategy", "unsafe-best-match"]
    for url in extra:
        arguments += ["--extra-index-url", url]
    return arguments


def _uv_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("UV_CACHE_DIR", str(env_root().parent / "uv-cache"))
    # Every environment's files hard-linked from the shared cache (uv copies, with a warning, across file systems).
    env.setdefault("UV_LINK_MODE", "hardlink")
    env.pop("VIRTUAL_ENV", None)
    return env


def _run(command: list[str], what: str) -> None:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=_uv_env(), timeout=BUILD_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        raise EnvironmentError_(f"{what}: timed out after {BUILD_TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        detail = next((line for line in reversed(lines) if not line.startswith("help:")), "failed")
        raise EnvironmentError_(f"{what}: {detail}")


def project_dependencies() -> list[str]:
    """The project's measuring core (``pyproject.toml``'s ``dependencies``, no extras), installed around the pins.

    Recorded in the stamp: an environment built before a core dependency was added is rebuilt.
    """
    import tomllib

    with open(CHECKOUT / "pyproject.toml", "rb") as handle:
        return list(tomllib.load(handle)["project"].get("dependencies", []))


def _link_checkout(env: ReleaseEnv) -> None:
    """Put the checkout on the environment's path (a ``.pth`` file, as an editable install does).

    Building an editable wheel costs seconds per environment; the path file costs nothing, and the
    environment then runs exactly the checkout's code, whatever changes in it later.
    """
    site_packages = next(env.path.glob("lib/python*/site-packages"))
    (site_packages / "bulkinsert_checkout.pth").write_text(str(CHECKOUT) + "\n")


def build(env: ReleaseEnv) -> bool:
    """Make sure ``env`` exists; True when it had to be built now, False when it was reused.

    A failed build leaves nothing behind, so the next call tries again.
    """
    if env.is_built:
        return False
    if env.path.exists():
        shutil.rmtree(env.path)
    env.path.parent.mkdir(parents=True, exist_ok=True)
    uv = _uv()
    what = f"{env.library} {env.version}"
    started = time.monotonic()
    try:
        _run([uv, "venv", "--quiet", "--python", sys.executable, str(env.path)], f"{what}: uv venv")
        requirements = [f"{name}=={version}" for name, version in env.requirements]
        _run(
            [uv, "pip", "install", "--quiet", "--python", str(env.python), *_index_arguments(),
             *project_dependencies(), *requirements],
            f"{what} does not install",
        )
        _link_checkout(env)
    except BaseException:
        shutil.rmtree(env.path, ignore_errors=True)
        raise
    stamp = {**env.stamp(), "built_seconds": round(time.monotonic() - started, 1)}
    (env.path / STAMP).write_text(json.dumps(stamp, indent=2))
    return True


def cached_envs() -> list[dict]:
    """Every cached release environment with what it pins (for ``releases envs``)."""
    found = []
    for stamp in sorted(env_root().glob(f"*/{STAMP}")):
        try:
            data = json.loads(stamp.read_text())
        except (OSError, ValueError):
            continue
        found.append({"path": str(stamp.parent), **data})
    return found
