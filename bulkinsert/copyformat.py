"""Building COPY payloads for the ``users(name)`` column, in text and binary format.

Text format needs four characters escaped (backslash, tab, newline, carriage return); with
those escaped, ``\\N`` and ``\\.`` in the data are harmless too. The fast path checks the
joined text once and escapes only when something needs it.
"""

from __future__ import annotations

import struct
from typing import Sequence

_TEXT_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_BINARY_TRAILER = struct.pack(">h", -1)
_field_header = struct.Struct(">hi").pack


def escape_text_field(value: str) -> str:
    """One value escaped for COPY text format (the talk's line-at-a-time way)."""
    for raw, escaped in _TEXT_ESCAPES:
        value = value.replace(raw, escaped)
    return value


def text_copy_str(names: Sequence[str]) -> str:
    """All names as COPY text data, escaping only if some name needs it.

    Names are joined with NUL (validated absent from the input) so that the escaping runs
    once over one string at C speed, then NUL becomes the row separator.
    """
    if not names:
        return ""
    joined = "\x00".join(names)
    if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
        joined = escape_text_field(joined)
    return joined.replace("\x00", "\n") + "\n"


def text_copy_bytes(names: Sequence[str]) -> bytes:
    """:func:`text_copy_str`, UTF-8 encoded: the whole COPY payload in one buffer."""
    return text_copy_str(names).encode("utf-8")


def binary_copy_bytes(names: Sequence[str]) -> bytes:
    """All names as one COPY BINARY stream (header, one text field per row, trailer)."""
    encoded = [name.encode("utf-8") for name in names]
    body = b"".join([part for value in encoded for part in (_field_header(1, len(value)), value)])
    return _BINARY_HEADER + body + _BINARY_TRAILER
