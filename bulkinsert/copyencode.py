"""COPY payloads for typed rows, in text and binary format, one encoder per PostgreSQL type.

Rows arrive as tuples of natural Python values (``int``, ``Decimal``, ``float``, ``bool``,
aware ``datetime``, ``date``, ``UUID``, ``dict``/``list``, ``str``, ``bytes``; ``None`` is
NULL). The encoders work a column at a time: each chunk of rows is transposed once
(``zip(*rows)``, in C), every column is encoded by C-level ``map`` calls over precomputed
functions (``struct.pack``, ``str``, ``isoformat``, ``bytes.hex``), and the rows are put back
together by one ``join`` — so most types run no Python bytecode per value. Only ``numeric``
(binary), ``jsonb`` and columns holding NULLs run Python per value.

Binary format (``COPY ... (FORMAT BINARY)``): a header, per row a 16-bit field count and per
field a 32-bit length (-1 = NULL) and the type's binary ``send`` representation, then a
trailer. Text format: tab-separated fields, ``\\N`` for NULL, backslash escapes for
backslash, tab, newline and carriage return.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal
from itertools import chain, compress, count, repeat
from operator import floordiv, is_, lt, mod, mul, sub
from typing import Any
from uuid import UUID

__all__ = ["TYPES", "BinaryCopyEncoder", "TextCopyEncoder", "base_type", "numeric_binary", "numeric_scale"]

TYPES = ("int8", "int4", "numeric", "float8", "bool", "timestamptz", "date", "uuid", "jsonb", "text", "bytea")

# Rows per chunk: 8,192 wide rows are ~1.6 MB in binary. Small enough that the server starts on
# the first chunk soon and the last one leaves little to parse after the encoder is done (the
# overlapped send, bulkinsert.copystream), large enough that the per-chunk calls vanish; measured
# less client CPU than 32,768 rows (a chunk that fits in cache), see docs/performance.md.
CHUNK_ROWS = 8_192

Column = Sequence[Any]
Streams = list  # one or more equally long lists of bytes; a field is one item of each

# ---------------------------------------------------------------------------------------------
# Binary
# ---------------------------------------------------------------------------------------------
BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
BINARY_TRAILER = struct.pack(">h", -1)
_NULL_FIELD = struct.pack(">i", -1)
_pack_length = struct.Struct(">i").pack

_POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_POSTGRES_EPOCH_ORDINAL = date(2000, 1, 1).toordinal()
_MICROSECOND = timedelta(microseconds=1)

# numeric's binary sign word: positive, negative, NaN, +Infinity, -Infinity (PostgreSQL >= 14).
_NUMERIC_POS, _NUMERIC_NEG, _NUMERIC_NAN, _NUMERIC_PINF, _NUMERIC_NINF = 0x0000, 0x4000, 0xC000, 0xD000, 0xF000
_numeric_header = struct.Struct(">ihhHh").pack  # field length, ndigits, weight, sign, dscale
# Exact integer scaling of any numeric PostgreSQL accepts (131072 digits before the point).
_WIDE_CONTEXT = Context(prec=min(MAX_PREC, 200_000), Emax=MAX_EMAX, Emin=MIN_EMIN)


def _fixed(fmt: str, convert: Callable[[Column], Iterable[Any]] | None = None) -> Callable[[Column], Streams]:
    """A fixed-width type: length and value packed together by one ``struct`` call per value."""
    packer = struct.Struct(">i" + fmt)
    pack, size = packer.pack, packer.size - 4

    def encode(values: Column) -> Streams:
        converted = convert(values) if convert is not None else values
        return [list(map(pack, repeat(size), converted))]

    return encode


def _date_days(values: Column) -> Iterable[int]:
    return map(sub, map(date.toordinal, values), repeat(_POSTGRES_EPOCH_ORDINAL))


def _timestamptz_microseconds(values: Column) -> Iterable[int]:
    # aware - aware is exact integer arithmetic on (days, seconds, microseconds): no float,
    # no overflow for years up to 9999 at any offset. A naive value raises TypeError here.
    return map(floordiv, map(sub, values, repeat(_POSTGRES_EPOCH)), repeat(_MICROSECOND))


def _uuid_bytes(values: Column) -> Streams:
    ints = map(int.to_bytes, [value.int for value in values], repeat(16), repeat("big"))
    return [[b"\x00\x00\x00\x10"] * len(values), list(ints)]


def _variable(values: Iterable[bytes], prefix: bytes = b"") -> Streams:
    """A variable-width type: one stream of length words, one of data."""
    data = list(values) if not prefix else [prefix + value for value in values]
    return [list(map(_pack_length, map(len, data))), data]


def _text_binary(values: Column) -> Streams:
    return _variable(map(str.encode, values))


def _bytea_binary(values: Column) -> Streams:
    return _variable(map(bytes, values))


def _json_texts(values: Column) -> Iterable[str]:
    """Compact JSON, NaN refused (jsonb cannot store it), by the stdlib's C encoder called directly.

    ``json.dumps`` builds a new encoder per call; making the C one once halves the cost per value.
    """
    if _c_json_encoder is None:  # pragma: no cover - interpreters without the C accelerator
        return map(_json_dumps, values)
    return map("".join, map(_c_json_encoder, values, repeat(0)))


_json_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
_c_json_encoder = (
    json.encoder.c_make_encoder(None, None, json.encoder.encode_basestring, None, ":", ",", False, False, False)
    if json.encoder.c_make_encoder is not None
    else None
)


def _jsonb_binary(values: Column) -> Streams:
    # jsonb's binary form is a version byte (1) and the JSON text; "\x01" is that byte in UTF-8.
    return _variable(map(str.encode, map("\x01".__add__, _json_texts(values))))


def numeric_binary(value: Decimal) -> bytes:
    """One ``numeric`` field (length word included) in PostgreSQL's base-10000 binary form."""
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # 'n' / 'N' (NaN) or 'F' (Infinity)
        special = _NUMERIC_NAN if exponent != "F" else _NUMERIC_NINF if sign else _NUMERIC_PINF
        return _numeric_header(8, 0, 0, special, 0)
    dscale = -exponent if exponent < 0 else 0
    coefficient = int("".join(map(str, digits))) if digits else 0
    if exponent > 0:
        coefficient *= 10**exponent
    pad = -dscale % 4  # align the decimal point on a base-10000 digit boundary
    coefficient *= 10**pad
    groups: list[int] = []
    while coefficient:
        coefficient, group = divmod(coefficient, 10_000)
        groups.append(group)
    if not groups:
        return _numeric_header(8, 0, 0, _NUMERIC_POS, dscale)
    weight = len(groups) - 1 - (dscale + pad) // 4
    trailing = 0
    while groups[trailing] == 0:
        trailing += 1
    groups = groups[trailing:]
    weight_groups = len(groups)
    return _numeric_header(8 + 2 * weight_groups, weight_groups, weight, _NUMERIC_NEG if sign else _NUMERIC_POS,
                           dscale) + struct.pack(f">{weight_groups}H", *reversed(groups))


def _numeric_binary_fixed_scale(scale: int) -> Callable[[Column], Streams]:
    """``numeric(p, scale)``: every value as the same number of base-10000 digits, no Python per value.

    The values are scaled to integers (``scaleb`` + ``int``, in C, with a context wide enough to
    never round), split into digits by whole-column ``map`` passes, and packed by one ``struct``
    call each. Leading zero digits are allowed: the server strips them (``make_result``) and
    applies the column's scale (``apply_typmod``), exactly as for a text value. Values with more
    decimals than ``scale``, NaN or Infinity take the exact per-value path.
    """
    fraction_groups = -(-scale // 4)
    shift = 4 * fraction_groups

    def encode(values: Column) -> Streams:
        if not all(map(Decimal.is_finite, values)):
            return [list(map(numeric_binary, values))]
        scaled = list(map(Decimal.scaleb, values, repeat(shift), repeat(_WIDE_CONTEXT)))
        integers = list(map(int, scaled))
        if not all(map(Decimal.__eq__, scaled, integers)):  # more decimals than the column keeps
            return [list(map(numeric_binary, values))]
        signs = list(map(mul, map(lt, integers, repeat(0)), repeat(_NUMERIC_NEG)))
        remaining = list(map(abs, integers))
        groups_needed = max(1, -(-len(str(max(remaining))) // 4))
        digits = []
        for _ in range(groups_needed):
            digits.append(list(map(mod, remaining, repeat(10_000))))
            remaining = list(map(floordiv, remaining, repeat(10_000)))
        digits.reverse()
        pack = struct.Struct(f">ihhHh{groups_needed}H").pack
        size = 8 + 2 * groups_needed
        weight = groups_needed - fraction_groups - 1
        return [list(map(pack, repeat(size), repeat(groups_needed), repeat(weight), signs, repeat(scale), *digits))]

    return encode


def _numeric_binary_column(values: Column) -> Streams:
    return [list(map(numeric_binary, values))]


def numeric_scale(pg_type: str) -> int | None:
    """The scale of ``numeric(p,s)`` (None for plain ``numeric``)."""
    inside = pg_type[len("numeric(") : -1].split(",") if pg_type.startswith("numeric(") else []
    return int(inside[1]) if len(inside) == 2 else 0 if len(inside) == 1 else None


_BINARY_ENCODERS: dict[str, Callable[[Column], Streams]] = {
    "int8": _fixed("q"),
    "int4": _fixed("i"),
    "numeric": _numeric_binary_column,
    "float8": _fixed("d"),  # the IEEE bits as they are: NaN, ±Infinity, -0.0, subnormals
    "bool": _fixed("?"),
    "timestamptz": _fixed("q", _timestamptz_microseconds),
    "date": _fixed("i", _date_days),
    "uuid": _uuid_bytes,
    "jsonb": _jsonb_binary,
    "text": _text_binary,
    "bytea": _bytea_binary,
}

# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------
TEXT_NULL = "\\N"
_TEXT_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
_BOOL_TEXT = {True: "t", False: "f"}.__getitem__


def _escape(value: str) -> str:
    for raw, escaped in _TEXT_ESCAPES:
        value = value.replace(raw, escaped)
    return value


def _escaped_if_needed(fields: list[str]) -> list[str]:
    """``fields``, escaped for COPY text only if one of them needs it (one scan of the join).

    When some field needs it, the whole column is escaped at once: joined by NUL (which no
    ``text`` value and no JSON text can hold), four ``str.replace`` over the join, split again —
    C speed, no Python call per value.
    """
    joined = "\n".join(fields)
    if "\\" in joined or "\t" in joined or "\r" in joined or joined.count("\n") != len(fields) - 1:
        if "\x00" in joined:  # not text PostgreSQL can store; escaped value by value, refused by the server
            return [_escape(field) for field in fields]
        return _escape("\x00".join(fields)).split("\x00")
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
    "jsonb": lambda values: _escaped_if_needed(list(_json_texts(values))),
    "text": lambda values: _escaped_if_needed(list(values)),
    # hex bytea, its backslash escaped for COPY: \\x0001ff
    "bytea": lambda values: list(map("\\\\x".__add__, map(bytes.hex, values))),
}


# ---------------------------------------------------------------------------------------------
# Encoders
# ---------------------------------------------------------------------------------------------
# A value of each type that stands in for NULL while a column is encoded at C speed; its
# encoding is then replaced by the NULL marker at the (few) NULL positions.
_PLACEHOLDERS: dict[str, Any] = {
    "int8": 0, "int4": 0, "numeric": Decimal(0), "float8": 0.0, "bool": False, "timestamptz": _POSTGRES_EPOCH,
    "date": _POSTGRES_EPOCH.date(), "uuid": UUID(int=0), "jsonb": 0, "text": "", "bytea": b"",
}


def _null_positions(values: Column) -> list[int]:
    """Where ``values`` holds None, by identity in one C-level pass.

    (``None in values`` or ``index(None)`` would call each value's ``__eq__``: Python code for
    ``UUID``, whose ``__eq__`` is written in Python.)
    """
    return list(compress(count(), map(is_, values, repeat(None))))


def _encode_with_nulls(encode: Callable[[Column], list[list[Any]]], values: Column, placeholder: Any,
                       null_markers: Sequence[Any]) -> list[list[Any]]:
    """Encode ``values`` with NULLs: placeholders in, NULL markers into the encoded streams after."""
    nulls = _null_positions(values)
    if not nulls:
        return encode(values)
    filled = list(values)
    for index in nulls:
        filled[index] = placeholder
    streams = encode(filled)
    for stream, marker in zip(streams, null_markers, strict=False):
        for index in nulls:
            stream[index] = marker
    return streams


def base_type(pg_type: str) -> str:
    """``numeric(18,6)`` → ``numeric``; other type names as they are."""
    return pg_type.split("(", 1)[0]


def _check_types(types: Sequence[str]) -> tuple[str, ...]:
    unknown = [name for name in types if base_type(name) not in TYPES]
    if unknown:
        raise ValueError(f"no COPY encoder for type(s) {', '.join(unknown)}; known: {', '.join(TYPES)}")
    return tuple(types)


def _binary_encoder(pg_type: str) -> Callable[[Column], Streams]:
    scale = numeric_scale(pg_type) if base_type(pg_type) == "numeric" else None
    return _numeric_binary_fixed_scale(scale) if scale is not None else _BINARY_ENCODERS[base_type(pg_type)]


class BinaryCopyEncoder:
    """COPY BINARY for rows of the given PostgreSQL types (e.g. ``("int8", "jsonb")``)."""

    def __init__(self, types: Sequence[str]) -> None:
        self.types = _check_types(types)
        self._encoders = [_binary_encoder(name) for name in self.types]
        self._placeholders = [_PLACEHOLDERS[base_type(name)] for name in self.types]
        self._row_header = struct.pack(">h", len(self.types))

    def _column(self, encode: Callable[[Column], Streams], placeholder: Any, values: Column) -> Streams:
        return _encode_with_nulls(encode, values, placeholder, (_NULL_FIELD, b""))

    def rows(self, rows: Sequence[Sequence[Any]]) -> bytes:
        """The rows' part of the stream (no header or trailer)."""
        if not rows:
            return b""
        columns = zip(*rows, strict=True)
        streams = chain.from_iterable(
            self._column(encode, placeholder, values)
            for encode, placeholder, values in zip(self._encoders, self._placeholders, columns, strict=True)
        )
        # One join per row, then one of the rows: twice as fast as one join over every field.
        return b"".join(map(b"".join, zip(repeat(self._row_header), *streams)))

    def chunks(self, rows: Sequence[Sequence[Any]], chunk_rows: int = CHUNK_ROWS) -> Iterator[bytes]:
        """Header, the rows ``chunk_rows`` at a time, trailer: for streaming COPY."""
        yield BINARY_HEADER
        for start in range(0, len(rows), chunk_rows):
            yield self.rows(rows[start : start + chunk_rows])
        yield BINARY_TRAILER

    def encode(self, rows: Sequence[Sequence[Any]]) -> bytes:
        """The whole COPY BINARY stream in one buffer."""
        return BINARY_HEADER + self.rows(rows) + BINARY_TRAILER


class TextCopyEncoder:
    """COPY text format (tab-separated, ``\\N`` for NULL) for rows of the given PostgreSQL types."""

    def __init__(self, types: Sequence[str]) -> None:
        self.types = _check_types(types)
        self._encoders = [_TEXT_ENCODERS[base_type(name)] for name in self.types]
        self._placeholders = [_PLACEHOLDERS[base_type(name)] for name in self.types]

    def _column(self, encode: Callable[[Column], list[str]], placeholder: Any, values: Column) -> list[str]:
        return _encode_with_nulls(lambda filled: [encode(filled)], values, placeholder, (TEXT_NULL,))[0]

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
