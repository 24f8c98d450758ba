"""COPY payloads, in text and binary format: the one place the package encodes COPY data.

Typed rows (:class:`TextCopyEncoder`, :class:`BinaryCopyEncoder`) arrive as tuples of natural
Python values (``int``, ``Decimal``, ``float``, ``bool``, aware ``datetime``, ``date``,
``UUID``, ``dict``/``list``, ``str``, ``bytes``; ``None`` is NULL). The encoders work a column
at a time: each chunk of rows is transposed once (``zip(*rows)``, in C), every column is
encoded by C-level ``map`` calls over precomputed functions (``struct.pack``, ``str``,
``isoformat``, ``bytes.hex``; ``jsonb`` by orjson in binary), and the rows are put back
together by one ``join`` — so most types run no Python bytecode per value. Python runs per
value only for plain ``numeric`` (binary), for NULLs, and for JSON orjson hands back to the
standard library (:func:`.common.json_documents`).

The talk's names (one ``text`` column) have their own functions, which skip the transposing:
:func:`text_copy_bytes`, :func:`text_copy_chunks`, :func:`binary_copy_bytes`,
:func:`binary_copy_chunks`. :mod:`.text` and :mod:`.binary` hold each format;
:mod:`.numeric` binary ``numeric``; :mod:`.common` what both share.
"""

from __future__ import annotations

from .binary import (
    BINARY_HEADER,
    BINARY_TRAILER,
    BinaryCopyEncoder,
    binary_copy_bytes,
    binary_copy_chunks,
)
from .common import CHUNK_ROWS, STREAM_CHUNK_ROWS, TYPES, base_type, escape
from .numeric import numeric_binary, numeric_scale
from .text import TEXT_NULL, ChunkReader, TextCopyEncoder, text_copy_bytes, text_copy_chunks

escape_text_field = escape  # the name the strategies and tests know it by

__all__ = [
    "BINARY_HEADER",
    "BINARY_TRAILER",
    "CHUNK_ROWS",
    "STREAM_CHUNK_ROWS",
    "TEXT_NULL",
    "TYPES",
    "BinaryCopyEncoder",
    "ChunkReader",
    "TextCopyEncoder",
    "base_type",
    "binary_copy_bytes",
    "binary_copy_chunks",
    "escape_text_field",
    "numeric_binary",
    "numeric_scale",
    "text_copy_bytes",
    "text_copy_chunks",
]
