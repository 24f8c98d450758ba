"""The talk's schema: ``users(id serial primary key, name unique)``, declared once."""

from __future__ import annotations

import sqlalchemy as sa

from ..compat import declarative_base

Base = declarative_base()

UNIQUE_NAME_CONSTRAINT = "users_name_key"


class User(Base):  # type: ignore[misc,valid-type]
    __tablename__ = "users"
    __table_args__ = (sa.UniqueConstraint("name", name=UNIQUE_NAME_CONSTRAINT),)

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    name = sa.Column(sa.String, nullable=False)

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, name={self.name!r})"


users = User.__table__
ID_SEQUENCE = "users_id_seq"

# Quick reset between runs: empty the table, restart its identity, and put the unique
# constraint back if an interrupted deferred-index load left it missing.
RESET_SQL = "TRUNCATE users RESTART IDENTITY"
# The talk's size: rows per insert when none is asked for (run, ladder, site, releases compare/bisect).
DEFAULT_ROWS = 10_000


def restore_constraints_sql(table: str, constraints: dict[str, str]) -> str:
    """A ``DO`` block adding back each of ``table``'s ``constraints`` (name → definition) that is missing.

    An interrupted deferred-index load leaves them dropped; every reset puts them back.
    """
    checks = "".join(
        f"""
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = '{name}'
                 AND conrelid = '{table}'::regclass) THEN
    ALTER TABLE {table} ADD CONSTRAINT {name} {definition};
  END IF;"""
        for name, definition in constraints.items()
    )
    return f"DO $$\nBEGIN{checks}\nEND $$\n"


RESTORE_CONSTRAINT_SQL = restore_constraints_sql("users", {UNIQUE_NAME_CONSTRAINT: "UNIQUE (name)"})


def default_names(rows: int, start: int = 0) -> GeneratedNames:
    """The talk's names: ``USER0000``, ``USER0001``, … (``USER%04d``)."""
    return GeneratedNames(rows, start)


class GeneratedNames(list):
    """A plain list of ``USER%04d`` names that remembers how it was made.

    Only :func:`~bulkinsert.strategies.reference.server_generate` looks at ``start``: it lets the
    server produce exactly these names itself, as a floor to compare every client path against.
    """

    def __init__(self, rows: int, start: int = 0) -> None:
        super().__init__(f"USER{i:04d}" for i in range(start, start + rows))
        self.start = start
