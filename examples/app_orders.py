"""An application's own insert paths, measured without forking bulkinsert.

Run it with ``--strategies-from examples/app_orders.py`` (or ``BULKINSERT_STRATEGIES_FROM``);
see docs/how-to/your-own-path.md. The model is shaped like an application's: a foreign key to a
customers table, a server default (``status``, ``created_at``) and a JSONB column. Two paths:

- ``app_orders_insert``: ORM bulk INSERT, ``session.execute(insert(Order), dicts)``;
- ``app_orders_upsert``: the same rows as ``INSERT … ON CONFLICT (number) DO NOTHING`` — how an
  importer re-runs a file without doubling orders.

Written for SQLAlchemy 1.4 and 2.x (``declarative_base`` from ``sqlalchemy.orm``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import declarative_base

from bulkinsert import register_workload, strategy

Base = declarative_base()
CUSTOMERS = 200


class Customer(Base):  # type: ignore[misc,valid-type]
    __tablename__ = "app_customers"

    id = sa.Column(sa.BigInteger, primary_key=True)
    name = sa.Column(sa.Text, nullable=False)


class Order(Base):  # type: ignore[misc,valid-type]
    __tablename__ = "app_orders"

    id = sa.Column(sa.BigInteger, primary_key=True, autoincrement=True)
    number = sa.Column(sa.BigInteger, nullable=False, unique=True)
    customer_id = sa.Column(sa.BigInteger, sa.ForeignKey("app_customers.id"), nullable=False)
    status = sa.Column(sa.Text, nullable=False, server_default="new")
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())
    total = sa.Column(sa.Numeric(12, 2), nullable=False)
    details = sa.Column(postgresql.JSONB(none_as_null=True))


COLUMNS = ("number", "customer_id", "total", "details")


def order_rows(count: int, seed: int) -> list[tuple]:
    """``count`` orders for existing customers, the same for the same seed."""
    pick = random.Random(seed)
    rows = []
    for number in range(1, count + 1):
        lines = [{"sku": f"SKU-{pick.randrange(1000):03d}", "qty": pick.randrange(1, 5)}
                 for _ in range(pick.randrange(1, 4))]
        details = None if number % 10 == 0 else {"lines": lines, "note": "gift" if number % 7 == 0 else ""}
        total = Decimal(pick.randrange(100, 100_000)) / 100
        rows.append((number, pick.randrange(1, CUSTOMERS + 1), total, details))
    return rows


def reset_tables(db: Any) -> None:
    """Both tables exist, the customers are there, no orders: the state before every load."""
    with db.engine.begin() as conn:
        Base.metadata.create_all(conn, checkfirst=True)
        conn.execute(sa.text("TRUNCATE app_orders RESTART IDENTITY"))
        conn.execute(sa.text(
            "INSERT INTO app_customers (id, name) SELECT i, 'customer ' || i "
            "FROM generate_series(1, :n) AS i ON CONFLICT (id) DO NOTHING"
        ), {"n": CUSTOMERS})


def _dicts(rows: Sequence[tuple]) -> list[dict[str, Any]]:
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


@strategy(family="orm")
def app_orders_insert(db: Any, rows: Sequence[tuple]) -> None:
    """The app's ORM bulk INSERT of orders (FK, server defaults, JSONB)."""
    if not rows:
        return
    with db.session() as session:
        session.execute(sa.insert(Order), _dicts(rows))
        session.commit()


@strategy(family="upsert")
def app_orders_upsert(db: Any, rows: Sequence[tuple]) -> None:
    """The app's re-runnable import: ORM INSERT … ON CONFLICT (number) DO NOTHING."""
    if not rows:
        return
    statement = postgresql.insert(Order).on_conflict_do_nothing(index_elements=[Order.number])
    with db.session() as session:
        session.execute(statement, _dicts(rows))
        session.commit()


register_workload(
    "app_orders",
    Order,
    [("number", "int8"), ("customer_id", "int8"), ("total", "numeric(12,2)"), ("details", "jsonb")],
    key="number",
    rows=order_rows,
    reset=reset_tables,
    strategies=("app_orders_insert", "app_orders_upsert"),
    description="app_orders: FK to app_customers, server defaults, JSONB details",
)
