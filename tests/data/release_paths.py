"""Strategies whose behaviour the release-tool tests set per SQLAlchemy release, so every verdict is known.

Loaded through ``--strategies-from`` / ``BULKINSERT_STRATEGIES_FROM`` by the tests and by the
measuring process in each release's environment (which inherits the variables below):

* ``BULKINSERT_TEST_EXTRA_CALLS=2.0.31:2,2.0.32:0.4``: ``counted_by_release`` makes that many extra
  Python calls per row in those releases (a planted, exactly known call-count change);
* ``BULKINSERT_TEST_MARKERS=DIR``: ``dies_once`` ends its process on the first insert (it leaves a
  marker in DIR) and inserts from then on; ``always_dies`` ends its process on every insert.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy

from bulkinsert import strategy, users


def _extra_calls_per_row() -> float:
    plan = os.environ.get("BULKINSERT_TEST_EXTRA_CALLS", "")
    chosen = dict(item.split(":", 1) for item in plan.split(",") if ":" in item)
    return float(chosen.get(sqlalchemy.__version__, 0))


def _touch(row: dict) -> dict:
    return row


def _core_insert(db, names) -> None:
    with db.engine.begin() as conn:
        conn.execute(users.insert(), [{"name": name} for name in names])


@strategy(family="core", drivers=("psycopg2", "psycopg"))
def counted_by_release(db, names):
    """Core executemany plus a set number of Python calls per row in chosen SQLAlchemy releases."""
    rows = [{"name": name} for name in names]
    count = len(rows)
    for index in range(int(count * _extra_calls_per_row())):
        _touch(rows[index % count])  # one profiled call each
    with db.engine.begin() as conn:
        conn.execute(users.insert(), rows)


@strategy(family="core")
def dies_once(db, names):
    """Ends its measuring process on the first insert ever (a one-off crash), inserts afterwards."""
    marker = Path(os.environ["BULKINSERT_TEST_MARKERS"]) / "dies_once"
    if not marker.exists():
        marker.write_text("died once\n")
        os._exit(3)
    _core_insert(db, names)


@strategy(family="core")
def always_dies(db, names):
    """Ends its measuring process on every insert."""
    os._exit(4)
