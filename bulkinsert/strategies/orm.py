"""ORM strategies: the talk's first two steps and what the ORM has added since."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from .. import compat
from ..data.schema import ID_SEQUENCE, User
from ..pg.database import Database
from ..registry import strategy


@strategy(family="orm", drivers=compat.SQLALCHEMY_DRIVERS, talk_step=1, roles=("baseline", "per_row"))
def orm_basic(db: Database, names: Sequence[str]) -> None:
    """ORM: Session.add() one User per name, one commit (the talk's 13.7 s)."""
    with db.session() as session:
        for name in names:
            session.add(User(name=name))
        session.commit()


@strategy(family="orm", drivers=compat.SQLALCHEMY_DRIVERS, talk_step=2, roles=("per_row_sa13",))
def orm_pk_preload(db: Database, names: Sequence[str]) -> None:
    """ORM with primary keys assigned up front, reserved from the sequence in one query."""
    with db.session() as session:
        ids = session.execute(
            sa.text(f"SELECT nextval('{ID_SEQUENCE}') FROM generate_series(1, :n)"), {"n": len(names)}
        ).fetchall()
        for (user_id,), name in zip(ids, names, strict=True):
            session.add(User(id=user_id, name=name))
        session.commit()


@strategy(family="orm", drivers=compat.SQLALCHEMY_DRIVERS, roles=("per_row_sa13",))
def orm_bulk_save_objects(db: Database, names: Sequence[str]) -> None:
    """ORM Session.bulk_save_objects() with User objects (no identity map bookkeeping)."""
    with db.session() as session:
        session.bulk_save_objects([User(name=name) for name in names])
        session.commit()


@strategy(family="orm", drivers=compat.SQLALCHEMY_DRIVERS, roles=("per_row_sa13",))
def orm_bulk_insert_mappings(db: Database, names: Sequence[str]) -> None:
    """ORM Session.bulk_insert_mappings() with a list of dicts."""
    with db.session() as session:
        session.bulk_insert_mappings(User, [{"name": name} for name in names])
        session.commit()


@strategy(family="orm", drivers=compat.SQLALCHEMY_DRIVERS, check=compat.require_orm_bulk_insert,
          roles=("watch_default",))
def orm_bulk_insert(db: Database, names: Sequence[str]) -> None:
    """2.0-style ORM bulk INSERT: session.execute(insert(User), list of dicts)."""
    if not names:
        return  # an empty parameter list would run one INSERT of defaults (NULL name)
    with db.session() as session:
        session.execute(sa.insert(User), [{"name": name} for name in names])
        session.commit()
