"""``--driver``: which DB-API driver the SQLAlchemy paths run on (``run``, ``ladder``, ``list``),
and ``list``'s description of each strategy with the drivers it runs on."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from .. import registry


def driver_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--driver NAME``; without it every strategy runs on its own driver (psycopg2 for SQLAlchemy)."""
    return click.option(
        "--driver", metavar="NAME",
        help="Driver for the SQLAlchemy paths: psycopg2 (default), psycopg, asyncpg, pg8000 "
             "(ladder: several, comma-separated, measured in the same interleaved rounds); "
             "a strategy fixed to another driver is refused.",
    )(function)


def drivers_of(spec: str | None) -> list[str | None]:
    """The drivers named by ``--driver`` (``[None]``: each strategy's own); unknown ones refused."""
    if not spec:
        return [None]
    names = [part.strip() for part in spec.split(",") if part.strip()]
    known = registry.known_drivers()
    for name in names:
        if name not in known:
            raise KeyError(f"unknown driver {name!r}; known: {', '.join(known)}")
    return list(dict.fromkeys(names))


def on_driver(strategy: registry.Strategy, driver: str | None) -> registry.Strategy:
    """``strategy`` on ``driver`` (an unknown name is a one-line error)."""
    if driver is not None and "," in driver:
        raise KeyError(f"give one driver here, not {driver!r}")
    drivers_of(driver)
    return strategy.with_driver(driver)


def strategy_info(strategy: registry.Strategy) -> dict[str, Any]:
    """One strategy as ``list --json`` gives it: on its chosen driver, and the drivers it has."""
    reason = strategy.unsupported_reason()
    return {
        "name": strategy.name,
        "family": strategy.family,
        "driver": strategy.driver,
        "drivers": list(strategy.drivers),
        "description": strategy.description,
        "talk_step": strategy.talk_step,
        "supported": reason is None,
        "reason": reason,
    }


def print_strategy_table(infos: list[dict[str, Any]]) -> None:
    """``list``'s table: each strategy, its drivers and whether it runs here."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from ..compat import library_versions

    versions = ", ".join(f"{k} {v}" for k, v in library_versions().items())
    table = Table(title=f"bulkinsert strategies ({versions})")
    for column in ("strategy", "family", "driver", "drivers", "runs here", "description"):
        table.add_column(column, overflow="fold")
    for info in infos:
        status = "yes" if info["supported"] else f"no: {info['reason']}"
        table.add_row(*(escape(cell) for cell in (info["name"], info["family"], info["driver"],
                                                   ", ".join(info["drivers"]), status, info["description"])))
    (Console() if sys.stdout.isatty() else Console(width=200)).print(table)
