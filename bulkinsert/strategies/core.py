"""SQLAlchemy Core executemany, under every executemany path SQLAlchemy offers on each driver."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from .. import compat
from ..data.schema import users
from ..pg.database import Database
from ..registry import strategy

ALL_DRIVERS = compat.SQLALCHEMY_DRIVERS
MODE = compat.executemany_engine_kwargs  # (mode, driver) -> create_engine arguments, or Unsupported


def _core_insert(db: Database, names: Sequence[str]) -> None:
    if not names:
        return  # SQLAlchemy runs an empty parameter list as one INSERT of defaults (NULL name)
    with db.engine.begin() as conn:
        conn.execute(users.insert(), [{"name": name} for name in names])


@strategy(family="core", drivers=ALL_DRIVERS, talk_step=3,
          roles=("per_row_sa13", "sweep_default", "watch_default"))
def core_executemany(db: Database, names: Sequence[str]) -> None:
    """Core: table.insert() with a list of dicts, the installed SQLAlchemy's default path."""
    _core_insert(db, names)


@strategy(family="core", drivers=ALL_DRIVERS, engine_options=partial(MODE, "plain"),
          roles=("per_row", "placement_check"))
def core_executemany_plain(db: Database, names: Sequence[str]) -> None:
    """Core executemany through psycopg2's own cursor.executemany (one INSERT per row)."""
    _core_insert(db, names)


@strategy(family="core", drivers=ALL_DRIVERS, engine_options=partial(MODE, "batch"))
def core_executemany_batch(db: Database, names: Sequence[str]) -> None:
    """Core executemany with executemany_mode='batch' (psycopg2.extras.execute_batch), 1.3/1.4."""
    _core_insert(db, names)


@strategy(family="core", drivers=ALL_DRIVERS, engine_options=partial(MODE, "values"))
def core_executemany_values(db: Database, names: Sequence[str]) -> None:
    """Core executemany with executemany_mode='values' (psycopg2.extras.execute_values), 1.3/1.4."""
    _core_insert(db, names)


@strategy(family="core", drivers=ALL_DRIVERS, engine_options=partial(MODE, "insertmanyvalues"))
def core_insertmanyvalues(db: Database, names: Sequence[str]) -> None:
    """Core executemany with SQLAlchemy 2.x insertmanyvalues (batched multi-row INSERTs)."""
    _core_insert(db, names)
