"""What both COPY formats share: the types, the chunk sizes, the NULL handling, the JSON texts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from itertools import compress, count, repeat
from typing import Any
from uuid import UUID

import orjson

TYPES = ("int8", "int4", "numeric", "float8", "bool", "timestamptz", "date", "uuid", "jsonb", "text", "bytea")

# Rows per chunk: 2,048 wide rows are ~400 KB in binary. Small enough that the server starts on
# the first chunk at once and the last one leaves little to parse after the encoder is done (the
# overlapped send, bulkinsert.data.copystream), and that a chunk's columns stay in the CPU's cache
# (docs/results/2026-12-03-cheaper-encoder.md); large enough that the per-chunk calls vanish.
CHUNK_ROWS = 2_048

Column = Sequence[Any]


# Rows per chunk when streaming the talk's names: ~64k rows of short names is ~0.5 MB, large
# enough that the per-chunk Python overhead vanishes, small enough that the server starts at once.
STREAM_CHUNK_ROWS = 65_536

POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# The characters COPY text format escapes, and how.
TEXT_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def needs_escape(joined: str, fields: int) -> bool:
    """Whether some of ``fields`` values, joined by newlines into ``joined``, needs a COPY text escape.

    Detecting an embedded newline costs one ``count``: a clean join has exactly ``fields - 1``.
    """
    return "\\" in joined or "\t" in joined or "\r" in joined or joined.count("\n") != fields - 1


def escape(value: str) -> str:
    """One value escaped for COPY text format (the talk's line-at-a-time way)."""
    for raw, escaped in TEXT_ESCAPES:
        value = value.replace(raw, escaped)
    return value


def json_documents(values: Column) -> list[bytes]:
    """Each value as compact UTF-8 JSON, meaning exactly what the standard library's JSON means.

    orjson writes them (a third of the standard library's CPU on the wide rows). Where orjson
    would differ, the standard library's compact encoder decides, with its own result or error:

    - anything orjson refuses (integers beyond 64 bits, keys that are not ``str``, lone
      surrogates, ``datetime`` and dataclasses, nesting deeper than 254): the whole column;
    - NaN and ±Infinity, which orjson writes as ``null``: every value whose JSON holds ``null``
      (a scan of the column's join), so NaN is refused as before (jsonb cannot store it).

    Values only orjson accepts (a ``UUID`` or an ``Enum`` inside a document) are refused before
    any load by :func:`bulkinsert.data.typedrows.validate_rows`, which asks the standard library.
    """
    try:
        documents = list(map(_orjson_dumps, values, repeat(None), repeat(_ORJSON_OPTIONS)))
    except orjson.JSONEncodeError:
        return list(map(str.encode, json_texts(values)))
    if b"null" in b"".join(documents):
        for index in compress(count(), map(bytes.__contains__, documents, repeat(b"null"))):
            documents[index] = _stdlib_json(values[index]).encode()
    return documents


def json_texts(values: Column) -> Iterable[str]:
    """Compact JSON by the standard library alone, for COPY's text format.

    The text format is the exactness check's reference (:mod:`bulkinsert.data.exact`), so it
    keeps an implementation of its own: the check compares orjson's documents with these.
    ``json.dumps`` builds a new encoder per call; making the C one once halves the cost per value.
    """
    if _c_json_encoder is None:  # pragma: no cover - interpreters without the C accelerator
        return map(_json_dumps, values)
    return map("".join, map(_c_json_encoder, values, repeat(0)))


def _stdlib_json(value: Any) -> str:
    return next(iter(json_texts([value])))


_orjson_dumps = orjson.dumps
# Types orjson would write but the standard library refuses go to the fallback instead.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# NaN refused (jsonb cannot store it), compact, non-ASCII as it is.
_json_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
_c_json_encoder = (
    json.encoder.c_make_encoder(None, None, json.encoder.encode_basestring, None, ":", ",", False, False, False)
    if json.encoder.c_make_encoder is not None
    else None
)


# A value of each type that stands in for NULL while a column is encoded at C speed; its
# encoding is then replaced by the NULL marker at the (few) NULL positions.
PLACEHOLDERS: dict[str, Any] = {
    "int8": 0, "int4": 0, "numeric": Decimal(0), "float8": 0.0, "bool": False, "timestamptz": POSTGRES_EPOCH,
    "date": POSTGRES_EPOCH.date(), "uuid": UUID(int=0), "jsonb": 0, "text": "", "bytea": b"",
}


def null_positions(values: Column) -> list[int]:
    """Where ``values`` holds None, by identity.

    (``None in values`` or ``index(None)`` would call each value's ``__eq__``: Python code for
    ``UUID``, whose ``__eq__`` is written in Python. The comprehension measured faster than
    ``compress(count(), map(is_, …))``.)
    """
    return [index for index, value in enumerate(values) if value is None]


def with_placeholders(values: Column, nulls: list[int], placeholder: Any) -> Column:
    """``values`` with a placeholder of the type at each NULL, so the column encodes at C speed.

    The encoders then put their NULL marker at those positions of the encoded column.
    """
    if not nulls:
        return values
    filled = list(values)
    for index in nulls:
        filled[index] = placeholder
    return filled


def base_type(pg_type: str) -> str:
    """``numeric(18,6)`` → ``numeric``; other type names as they are."""
    return pg_type.split("(", 1)[0]


def check_types(types: Sequence[str]) -> tuple[str, ...]:
    unknown = [name for name in types if base_type(name) not in TYPES]
    if unknown:
        raise ValueError(f"no COPY encoder for type(s) {', '.join(unknown)}; known: {', '.join(TYPES)}")
    return tuple(types)

