"""The reference floor: the server producing the same names itself."""

from __future__ import annotations

from typing import Sequence

from ..database import Database
from ..registry import Unsupported, strategy
from ..schema import GeneratedNames

GENERATE_SQL = (
    "INSERT INTO users (name) SELECT 'USER' || CASE WHEN i < 10000 THEN lpad(i::text, 4, '0')"
    " ELSE i::text END FROM generate_series(%s::bigint, %s::bigint) AS i"
)


@strategy(family="reference")
def server_generate(db: Database, names: Sequence[str]) -> None:
    """Floor: INSERT ... SELECT generate_series() makes the same USER%04d names in the server."""
    if not isinstance(names, GeneratedNames):
        raise Unsupported(
            "server_generate: the server can only reproduce the generated USER%04d names, "
            "not arbitrary input"
        )
    if not names:
        return
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute(GENERATE_SQL, (names.start, names.start + len(names) - 1))
