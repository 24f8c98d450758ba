"""``--driver`` on the release tools: which driver a release's SQLAlchemy paths run on.

Checked in the parent before any environment is built: the driver must be one the strategy
runs on (else the strategy's own one-line reason), and a release environment must install it,
which it does for the drivers the asv matrix pins (``envs.matrix_pins``); pg8000 is not there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

from ..errors import Unsupported

# The distribution a release environment needs for each driver (asyncpg's SQLAlchemy paths need
# greenlet too, which the matrix pins beside it).
DRIVER_DISTRIBUTIONS = {"psycopg2": "psycopg2-binary", "psycopg": "psycopg", "asyncpg": "asyncpg", "pg8000": "pg8000"}


def release_driver_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--driver NAME`` for sweep, bisect, compare and watch; without it each strategy's own driver."""
    return click.option(
        "--driver", metavar="NAME", default=None,
        help="Driver for the SQLAlchemy paths in every release's environment: psycopg2, psycopg, asyncpg "
             "(those the asv matrix pins) [default: each strategy's own].",
    )(function)


def check_driver(names: Sequence[str], driver: str | None) -> None:
    """Refuse, in one line (:class:`Unsupported`), a driver a strategy or a release environment lacks."""
    from ..cli.driver_options import on_driver
    from ..registry import get
    from .envs import matrix_pins

    for name in names:
        strategy = on_driver(get(name), driver)  # unknown strategy or driver: KeyError, one line
        if driver is not None and driver not in strategy.drivers:
            raise Unsupported(f"{strategy.label}: runs on driver {', '.join(strategy.drivers)} only, not {driver}")
    if driver is None:
        return
    distribution = DRIVER_DISTRIBUTIONS.get(driver, driver)
    if distribution not in matrix_pins():
        raise Unsupported(f"driver {driver}: release environments do not install {distribution} "
                          "(not in the asv matrix); use psycopg2, psycopg or asyncpg")


def driver_mark(driver: str | None) -> dict[str, str]:
    """``{"driver": NAME}`` for a finding measured on another driver than the strategy's own, else ``{}``."""
    return {"driver": driver} if driver else {}
