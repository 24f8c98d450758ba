"""``--driver``: which DB-API driver the SQLAlchemy paths run on (``run``, ``ladder``, ``list``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from . import registry


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
