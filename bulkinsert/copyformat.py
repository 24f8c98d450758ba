"""Building COPY payloads for the ``users(name)`` column, in text and binary format.

Text format needs four characters escaped (backslash, tab, newline, carriage return); with
those escaped, ``\\N`` and ``\\.`` in the data are harmless too. The fast paths join names at C
speed, check the joined text once, and escape (per name) only when something needs it, so the
common case never runs Python code per row. Callers must have refused NUL and lone surrogates
already (:func:`bulkinsert.runner.validate_names`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from itertools import chain, repeat

_TEXT_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_BINARY_TRAILER = struct.pack(">h", -1)
_field_header = struct.Struct(">hi").pack

# Rows per chunk when streaming: ~64k rows of short names is ~0.5 MB, large enough that the
# per-chunk Python overhead vanishes, small enough that the server starts work at once.
STREAM_CHUNK_ROWS = 65_536


def escape_text_field(value: str) -> str:
    """One value escaped for COPY text format (the talk's line-at-a-time way)."""
    for raw, escaped in _TEXT_ESCAPES:
        value = value.replace(raw, escaped)
    return value


def _joined_text(names: Sequence[str]) -> str:
    """``names`` joined by newlines, escaped only if some name needs it (no trailing newline).

    Detecting an embedded newline costs one ``count``: a clean join has exactly
    ``len(names) - 1`` of them.
    """
    joined = "\n".join(names)
    if (
        "\\" in joined
        or "\t" in joined
        or "\r" in joined
        or joined.count("\n") != len(names) - 1
    ):
        joined = "\n".join([escape_text_field(name) for name in names])
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


def _binary_rows(names: Sequence[str]) -> bytes:
    """Rows of one text field each, built with C-level iterators only (no Python code per row)."""
    encoded = list(map(str.encode, names))
    headers = map(_field_header, repeat(1), map(len, encoded))
    return b"".join(chain.from_iterable(zip(headers, encoded, strict=True)))


def binary_copy_bytes(names: Sequence[str]) -> bytes:
    """All names as one COPY BINARY stream (header, one text field per row, trailer)."""
    return _BINARY_HEADER + _binary_rows(names) + _BINARY_TRAILER


def binary_copy_chunks(names: Sequence[str], chunk_rows: int = STREAM_CHUNK_ROWS) -> Iterator[bytes]:
    """The COPY BINARY stream in chunks of ``chunk_rows`` rows (header first, trailer last)."""
    yield _BINARY_HEADER
    for start in range(0, len(names), chunk_rows):
        yield _binary_rows(names[start : start + chunk_rows])
    yield _BINARY_TRAILER
