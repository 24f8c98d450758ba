"""COPY text payloads: typed rows (:class:`TextCopyEncoder`) and the talk's names.

Text format: tab-separated fields, ``\\N`` for NULL, backslash escapes for backslash, tab,
newline and carriage return (with those escaped, ``\\N`` and ``\\.`` in the data are harmless).
The fast paths join values at C speed, check the joined text once, and escape only when
something needs it, so the common case never runs Python code per row. Callers must have
refused NUL and lone surrogates in names already (:func:`bulkinsert.measure.runner.validate_names`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import repeat
from typing import Any

from .common import (
    CHUNK_ROWS,
    PLACEHOLDERS,
    STREAM_CHUNK_ROWS,
    Column,
    base_type,
    check_types,
    escape,
    json_texts,
    needs_escape,
    null_positions,
    with_placeholders,
)

TEXT_NULL = "\\N"
_BOOL_TEXT = {True: "t", False: "f"}.__getitem__


def _escaped_if_needed(fields: list[str]) -> list[str]:
    """``fields``, escaped for COPY text only if one of them needs it (one scan of the join).

    When some field needs it, the whole column is escaped at once: joined by NUL (which no
    ``text`` value and no JSON text can hold), four ``str.replace`` over the join, split again —
    C speed, no Python call per value.
    """
    joined = "\n".join(fields)
    if needs_escape(joined, len(fields)):
        if "\x00" in joined:  # not text PostgreSQL can store; escaped value by value, refused by the server
            return [escape(field) for field in fields]
        return escape("\x00".join(fields)).split("\x00")
    return fields


def _timestamptz_text(values: Column) -> list[str]:
    if None in map(datetime.utcoffset, values):
        raise TypeError("timestamptz needs timezone-aware datetimes (a naive one would take the server's zone)")
    return list(map(datetime.isoformat, values))


_TEXT_ENCODERS: dict[str, Callable[[Column], list[str]]] = {
    "int8": lambda values: list(map(int.__repr__, values)),
    "int4": lambda values: list(map(int.__repr__, values)),
    "numeric": lambda values: list(map(Decimal.__str__, values)),
    "float8": lambda values: list(map(float.__repr__, values)),  # 'nan', 'inf', '-0.0': all read back exactly
    "bool": lambda values: list(map(_BOOL_TEXT, values)),
    "timestamptz": _timestamptz_text,
    "date": lambda values: list(map(date.isoformat, values)),
    # 32 hex digits without hyphens (accepted by uuid_in), formatted in C from the 128-bit int
    "uuid": lambda values: list(map(format, [value.int for value in values], repeat("032x"))),
    "jsonb": lambda values: _escaped_if_needed(list(json_texts(values))),
    "text": lambda values: _escaped_if_needed(list(values)),
    # hex bytea, its backslash escaped for COPY: \\x0001ff
    "bytea": lambda values: list(map("\\\\x".__add__, map(bytes.hex, values))),
}


# ---------------------------------------------------------------------------------------------


class TextCopyEncoder:
    """COPY text format (tab-separated, ``\\N`` for NULL) for rows of the given PostgreSQL types."""

    def __init__(self, types: Sequence[str]) -> None:
        self.types = check_types(types)
        self._encoders = [_TEXT_ENCODERS[base_type(name)] for name in self.types]
        self._placeholders = [PLACEHOLDERS[base_type(name)] for name in self.types]

    def _column(self, encode: Callable[[Column], list[str]], placeholder: Any, values: Column) -> list[str]:
        nulls = null_positions(values)
        fields = encode(with_placeholders(values, nulls, placeholder))
        for index in nulls:
            fields[index] = TEXT_NULL
        return fields

    def text(self, rows: Sequence[Sequence[Any]]) -> str:
        if not rows:
            return ""
        columns = [
            self._column(encode, placeholder, values)
            for encode, placeholder, values in zip(self._encoders, self._placeholders, zip(*rows, strict=True),
                                                   strict=True)
        ]
        return "\n".join(map("\t".join, zip(*columns, strict=True))) + "\n"

    def chunks(self, rows: Sequence[Sequence[Any]], chunk_rows: int = CHUNK_ROWS) -> Iterator[bytes]:
        """The payload as UTF-8 chunks of ``chunk_rows`` rows, built as they are consumed."""
        for start in range(0, len(rows), chunk_rows):
            yield self.text(rows[start : start + chunk_rows]).encode()

    def encode(self, rows: Sequence[Sequence[Any]]) -> bytes:
        return self.text(rows).encode()

    @staticmethod
    def line(types: Sequence[str], row: Sequence[Any]) -> str:
        """One row as a COPY text line, value by value (the line-at-a-time way, for comparison)."""
        fields = [
            TEXT_NULL if value is None else _TEXT_ENCODERS[base_type(name)]([value])[0]
            for name, value in zip(types, row, strict=True)
        ]
        return "\t".join(fields) + "\n"


# -- the talk's names: one column -----------------------------------------------------------------
def _joined_text(names: Sequence[str]) -> str:
    """``names`` joined by newlines, escaped only if some name needs it (no trailing newline)."""
    joined = "\n".join(names)
    if needs_escape(joined, len(names)):
        joined = "\n".join([escape(name) for name in names])
    return joined


def text_copy_bytes(names: Sequence[str]) -> bytes:
    """All names as UTF-8 COPY text data, escaping only if some name needs it: the whole payload in one buffer."""
    if not names:
        return b""
    return (_joined_text(names) + "\n").encode("utf-8")


def text_copy_chunks(names: Sequence[str], chunk_rows: int = STREAM_CHUNK_ROWS) -> Iterator[bytes]:
    """The COPY text payload as UTF-8 chunks of ``chunk_rows`` rows, built as they are sent.

    Only one chunk exists at a time, so the client never holds a copy of the whole input,
    and the server parses chunk *n* while the client builds chunk *n + 1*.
    """
    for start in range(0, len(names), chunk_rows):
        chunk = names[start : start + chunk_rows]
        yield (_joined_text(chunk) + "\n").encode("utf-8")


class ChunkReader:
    """A read()-only file over :func:`text_copy_chunks`, for psycopg2's ``copy_expert``.

    psycopg2 calls ``read(size)`` until it gets an empty result and sends each result as one
    CopyData message; returning whole chunks (whatever ``size``) avoids re-slicing them.
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks

    def read(self, size: int = -1) -> bytes:
        return next(self._chunks, b"")

    def readline(self, size: int = -1) -> bytes:  # pragma: no cover - copy_expert never calls it
        return self.read(size)
