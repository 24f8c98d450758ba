"""Strategies of one's own, from a file or module outside the package: no fork needed.

A user file registers functions with the same ``@strategy`` decorator as the built-in ones
(``from bulkinsert import strategy``) and may declare its own table and rows with
:func:`bulkinsert.data.workloads.register_workload`. It is loaded by :func:`bulkinsert.registry.load`
whenever ``BULKINSERT_STRATEGIES_FROM`` names it, so the CLI, the asv suite and the release
worker (a process in another environment, which inherits the variable) all see the same
strategies. ``--strategies-from`` sets that variable to the file's absolute path.

Everything that can be wrong with the file is one line (:class:`UserStrategiesError`): a missing
file, a syntax error, a module that does not import, a name that clashes with a built-in
strategy, a function that does not take ``(db, names)``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import zlib
from pathlib import Path
from typing import Any

from .errors import BulkInsertError
from .registry import EXTRA_LOADERS, REGISTRY

ENV_VARIABLE = "BULKINSERT_STRATEGIES_FROM"

# absolute path of a loaded file -> the names it registered (loading it again is a no-op)
_LOADED: dict[str, tuple[str, ...]] = {}


class UserStrategiesError(BulkInsertError):
    """The user's strategy file cannot be used (one line: which file, what is wrong)."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def resolve(spec: str) -> Path:
    """The file ``spec`` names: a ``.py`` path, or an importable module's source file."""
    spec = spec.strip()
    if not spec:
        raise UserStrategiesError("--strategies-from: empty; give a .py file or a module name")
    if spec.endswith(".py") or os.sep in spec or spec.startswith("."):
        path = Path(spec).expanduser().resolve()
        if not path.is_file():
            raise UserStrategiesError(f"--strategies-from {spec}: no such file")
        return path
    try:
        found = importlib.util.find_spec(spec)
    except (ImportError, ValueError) as exc:
        raise UserStrategiesError(f"--strategies-from {spec}: module not importable: {_first_line(exc)}") from None
    if found is None or not found.origin or not found.origin.endswith(".py"):
        raise UserStrategiesError(f"--strategies-from {spec}: no module {spec!r} on the Python path")
    return Path(found.origin).resolve()


def _check_signature(name: str, function: Any, where: str) -> None:
    """A strategy is called ``function(db, names)``: exactly two positional parameters."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        raise UserStrategiesError(f"{where}: strategy {name!r} is not a function") from None
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required_others = [p for p in parameters if p not in positional and p.default is p.empty
                       and p.kind == p.KEYWORD_ONLY]
    if len(positional) != 2 or required_others or any(p.kind == p.VAR_POSITIONAL for p in parameters):
        shown = f"{name}{inspect.signature(function)}"
        raise UserStrategiesError(f"{where}: strategy {shown} must take two positional parameters (db, names)")


def load(spec: str) -> tuple[str, ...]:
    """Import the user's file or module once; returns the strategy names it registered.

    The built-in strategies are registered first, so a clashing name is refused, not shadowed;
    on any error the file's strategies and workloads are taken out again.
    """
    from .data import workloads

    path = resolve(spec)
    where = str(path)
    if where in _LOADED:  # the same file, however it was named
        return _LOADED[where]
    importlib.import_module(f"{__package__}.strategies")  # the built-ins, before any user name
    before, workloads_before = set(REGISTRY), set(workloads.WORKLOADS)
    module_name = f"bulkinsert_user_{path.stem}_{zlib.crc32(where.encode()):08x}"
    try:
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise UserStrategiesError(f"{where}: not a Python file")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[module_name] = module  # declarative models and dataclasses look themselves up here
        try:
            loader_spec.loader.exec_module(module)
        except SyntaxError as exc:
            raise UserStrategiesError(f"{where}:{exc.lineno}: syntax error: {exc.msg}") from None
        except ValueError as exc:
            if "registered twice" in str(exc):
                clash = str(exc).split("'")[1] if "'" in str(exc) else ""
                owner = "a built-in strategy" if clash in before else "another strategy of the file"
                raise UserStrategiesError(f"{where}: strategy {clash!r} clashes with {owner}; rename it") from None
            raise UserStrategiesError(f"{where}: {_first_line(exc)}") from None
        except UserStrategiesError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever the user's module raises, one line
            raise UserStrategiesError(f"{where}: import failed: {type(exc).__name__}: {_first_line(exc)}") from None
        added = tuple(name for name in REGISTRY if name not in before)
        for name in added:
            _check_signature(name, REGISTRY[name].function, where)
    except BaseException:
        for name in set(REGISTRY) - before:
            del REGISTRY[name]
        for name in set(workloads.WORKLOADS) - workloads_before:
            del workloads.WORKLOADS[name]
        sys.modules.pop(module_name, None)
        raise
    _LOADED[where] = added
    return added


def load_from_environment() -> tuple[str, ...]:
    """Load the file ``BULKINSERT_STRATEGIES_FROM`` names (nothing when unset)."""
    spec = os.environ.get(ENV_VARIABLE, "").strip()
    return load(spec) if spec else ()


if load_from_environment not in EXTRA_LOADERS:
    EXTRA_LOADERS.append(load_from_environment)


def mark_from_file(infos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``bulkinsert list``'s rows, each with ``from_file``: registered by a user's file, not built in."""
    mine = {name for names in _LOADED.values() for name in names}
    return [{**info, "from_file": info["name"] in mine} for info in infos]


def use(spec: str) -> Path:
    """Load ``spec`` now and name its absolute path in the environment, for every child process."""
    path = resolve(spec)
    load(str(path))
    os.environ[ENV_VARIABLE] = str(path)
    return path


def option_callback(ctx: Any, param: Any, value: str | None) -> str | None:
    """``--strategies-from``: load the file before the command runs; bad input is one line, exit 2
    (:class:`UserStrategiesError`, worded by :mod:`bulkinsert.cli.guard`)."""
    if value:
        use(value)
    return value


def strategies_from_option(command: Any) -> Any:
    """The click option shared by list, run, ladder and the release tools."""
    import click

    return click.option(
        "--strategies-from", "strategies_from", metavar="PATH", callback=option_callback, is_eager=True,
        expose_value=False, help="A .py file or module name whose @strategy functions join the built-in "
                                 "ones (also: $BULKINSERT_STRATEGIES_FROM).",
    )(command)
