"""Refuse, before anything is written, typed values a column cannot store exactly.

Per column and mostly at C speed (``set(map(type, …))``, ``min``/``max``), so 1,000,000 wide
rows are checked in seconds, before the timer. Each refusal is one line naming the table, the
column, the row and the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from ..errors import InsertError
from .copyencode import base_type, numeric_scale

# ``workload``/``column`` below are bulkinsert.data.workloads.Workload / Column (not imported: that
# module imports this one).
__all__ = ["validate_rows"]

_ALLOWED_TYPES: dict[str, tuple[type, ...]] = {
    "int8": (int,),
    "int4": (int,),
    "numeric": (Decimal,),
    "float8": (float,),
    "bool": (bool,),
    "timestamptz": (datetime,),
    "date": (date,),
    "uuid": (UUID,),
    "jsonb": (dict, list, str, int, float, bool),
    "text": (str,),
    "bytea": (bytes,),
}
_INT_RANGE = {"int8": (-(2**63), 2**63 - 1), "int4": (-(2**31), 2**31 - 1)}


def _refuse(workload: Any, column: Any, values: Sequence[Any], bad: Callable[[Any], bool],
            why: str) -> None:
    index = next(i for i, value in enumerate(values) if value is not None and bad(value))
    shown = repr(values[index])
    shown = shown if len(shown) <= 60 else shown[:60] + "…"
    raise InsertError(f"{workload.table.name}.{column.name}: row #{index} {shown} {why}; nothing was inserted")


def _check_column(workload: Any, column: Any, values: Sequence[Any]) -> None:
    pg_type = base_type(column.pg_type)
    allowed = _ALLOWED_TYPES[pg_type]
    kinds = set(map(type, values))
    if None in values:
        if not column.nullable:
            raise InsertError(f"{workload.table.name}.{column.name}: row #{values.index(None)} is None in a "
                              "NOT NULL column; nothing was inserted")
        kinds.discard(type(None))
    if column.pg_type not in ("bool", "jsonb") and bool in kinds:
        kinds.add(object)  # True is an int, but not a number anyone meant to store
    if column.pg_type == "date" and datetime in kinds:
        _refuse(workload, column, values, lambda v: isinstance(v, datetime), "is a datetime in a date column")
    if not all(issubclass(kind, allowed) for kind in kinds):
        names = "/".join(kind.__name__ for kind in allowed)
        _refuse(workload, column, values, lambda v: isinstance(v, bool) or not isinstance(v, allowed),
                f"is not {names}")
    present = [value for value in values if value is not None]
    if not present:
        return
    if column.pg_type in _INT_RANGE:
        low, high = _INT_RANGE[column.pg_type]
        if min(present) < low or max(present) > high:
            _refuse(workload, column, values, lambda v: not low <= v <= high, f"is out of range for {column.pg_type}")
    elif pg_type == "numeric" and numeric_scale(column.pg_type) is not None:
        scale = numeric_scale(column.pg_type)
        _refuse_if(workload, column, values,
                   lambda v: v.is_finite() and v.as_tuple().exponent < -scale,  # type: ignore[operator]
                   f"has more than {scale} decimal places; numeric(…,{scale}) would round it")
    elif column.pg_type == "timestamptz" and None in map(datetime.utcoffset, present):
        _refuse(workload, column, values, lambda v: v.utcoffset() is None,
                "is a naive datetime; timestamptz needs an offset (it would take the server's time zone)")
    elif column.pg_type in ("text", "jsonb"):
        _check_texts(workload, column, values)


def _refuse_if(workload: Any, column: Any, values: Sequence[Any], bad: Callable[[Any], bool],
               why: str) -> None:
    if any(bad(value) for value in values if value is not None):
        _refuse(workload, column, values, bad, why)


# A \u0000 escape (after an even number of backslashes): jsonb refuses NUL characters.
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000|\x00")


def _check_texts(workload: Any, column: Any, values: Sequence[Any]) -> None:
    import json

    if column.pg_type == "jsonb":
        def dumps(value: Any) -> str:
            try:
                return json.dumps(value, allow_nan=False)
            except (TypeError, ValueError):
                return "\x00"  # not JSON (NaN, a set, …): refused below
        def storable(value: Any) -> bool:
            return _JSON_NUL.search(dumps(value)) is None

        if not all(storable(value) for value in values if value is not None):
            _refuse(workload, column, values, lambda v: not storable(v),
                    "is not JSON jsonb can store (NaN/Infinity, a non-JSON type, or a NUL character)")
        return
    joined = "".join(value for value in values if value is not None)
    if "\x00" in joined:
        _refuse(workload, column, values, lambda v: "\x00" in v, "contains a NUL character, which text cannot store")
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        _refuse(workload, column, values, lambda v: not encodable(v), "is not valid Unicode (lone surrogate)")


def encodable(text: str) -> bool:
    """Whether ``text`` is valid Unicode (no lone surrogate), i.e. encodes as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def validate_rows(workload: Any, rows: Sequence[Any]) -> None:
    """Refuse typed rows a column cannot store exactly, with a one-line :class:`InsertError`.

    Per column, mostly at C speed (``set(map(type, …))``, ``min``/``max``), before the timer.
    Names of the single-column workloads go through :func:`bulkinsert.measure.runner.validate_names`.
    """
    width = len(workload.columns)
    for index, row in enumerate(rows):
        if type(row) is not tuple or len(row) != width:
            raise InsertError(
                f"{workload.table.name}: row #{index} is not a tuple of {width} values "
                f"({', '.join(workload.column_names)}); nothing was inserted"
            )
    if not rows:
        return
    for column, values in zip(workload.columns, zip(*rows, strict=True), strict=True):
        _check_column(workload, column, values)
