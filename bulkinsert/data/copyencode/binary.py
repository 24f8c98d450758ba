"""COPY BINARY payloads: typed rows (:class:`BinaryCopyEncoder`) and the talk's names.

Binary format (``COPY ... (FORMAT BINARY)``): a header, per row a 16-bit field count and per
field a 32-bit length (-1 = NULL) and the type's binary ``send`` representation, then a
trailer.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, timedelta
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal
from itertools import chain, repeat
from operator import add, attrgetter, floordiv, lt, mod, mul, sub
from typing import Any

from .common import (
    CHUNK_ROWS,
    PLACEHOLDERS,
    POSTGRES_EPOCH,
    STREAM_CHUNK_ROWS,
    Column,
    Streams,
    base_type,
    check_types,
    encode_with_nulls,
    json_documents,
)

BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
BINARY_TRAILER = struct.pack(">h", -1)
_NULL_FIELD = struct.pack(">i", -1)
_pack_length = struct.Struct(">i").pack
_pack_jsonb_head = struct.Struct(">iB").pack  # field length, jsonb's version byte
_uuid_int = attrgetter("int")
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
    return map(floordiv, map(sub, values, repeat(POSTGRES_EPOCH)), repeat(_MICROSECOND))


def _uuid_bytes(values: Column) -> Streams:
    ints = map(int.to_bytes, map(_uuid_int, values), repeat(16), repeat("big"))
    return [[b"\x00\x00\x00\x10"] * len(values), list(ints)]


def _variable(values: Iterable[bytes], prefix: bytes = b"") -> Streams:
    """A variable-width type: one stream of length words, one of data."""
    data = list(values) if not prefix else [prefix + value for value in values]
    return [list(map(_pack_length, map(len, data))), data]


def _text_binary(values: Column) -> Streams:
    return _variable(map(str.encode, values))


def _bytea_binary(values: Column) -> Streams:
    return _variable(map(bytes, values))


def _jsonb_binary(values: Column) -> Streams:
    # jsonb's binary form is a version byte (1) and the JSON text: the byte is packed with the length.
    documents = json_documents(values)
    return [list(map(_pack_jsonb_head, map(add, map(len, documents), repeat(1)), repeat(1))), documents]


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

    quantum = Decimal(1).scaleb(-scale)

    def encode(values: Column) -> Streams:
        if not all(map(Decimal.is_finite, values)):
            return [list(map(numeric_binary, values))]
        scaled = list(map(Decimal.scaleb, values, repeat(shift), repeat(_WIDE_CONTEXT)))
        integers = list(map(int, scaled))
        # Every value with exactly the column's scale (one cheap pass) scales to an integer;
        # otherwise compare: a value with more decimals than the column keeps takes the exact path.
        if not all(map(Decimal.same_quantum, values, repeat(quantum))) and not all(
                map(Decimal.__eq__, scaled, integers)):
            return [list(map(numeric_binary, values))]
        signs = list(map(mul, map(lt, integers, repeat(0)), repeat(_NUMERIC_NEG)))
        magnitudes = list(map(abs, integers))
        groups_needed = max(1, -(-len(str(max(magnitudes))) // 4))
        digits = _base_10000_digits(magnitudes, groups_needed)
        pack = struct.Struct(f">ihhHh{groups_needed}H").pack
        size = 8 + 2 * groups_needed
        weight = groups_needed - fraction_groups - 1
        return [list(map(pack, repeat(size), repeat(groups_needed), repeat(weight), signs, repeat(scale), *digits))]

    return encode


def _base_10000_digits(magnitudes: list[int], count: int) -> list[list[int]]:
    """The ``count`` base-10000 digits of every magnitude, most significant first, by whole-column passes.

    Split at 10**8 first: the parts fit in one machine digit of a Python int, where ``//`` and
    ``%`` are cheapest (a fifth fewer passes' time than dividing by 10,000 all the way).
    """
    digits: list[list[int]] = []  # least significant first
    rest = magnitudes
    while count - len(digits) > 2:
        low = list(map(mod, rest, repeat(100_000_000)))
        rest = list(map(floordiv, rest, repeat(100_000_000)))
        digits += (list(map(mod, low, repeat(10_000))), list(map(floordiv, low, repeat(10_000))))
    if count - len(digits) == 2:
        digits += (list(map(mod, rest, repeat(10_000))), list(map(floordiv, rest, repeat(10_000))))
    else:
        digits.append(rest)
    digits.reverse()
    return digits


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


def _binary_encoder(pg_type: str) -> Callable[[Column], Streams]:
    scale = numeric_scale(pg_type) if base_type(pg_type) == "numeric" else None
    return _numeric_binary_fixed_scale(scale) if scale is not None else _BINARY_ENCODERS[base_type(pg_type)]


class BinaryCopyEncoder:
    """COPY BINARY for rows of the given PostgreSQL types (e.g. ``("int8", "jsonb")``)."""

    def __init__(self, types: Sequence[str]) -> None:
        self.types = check_types(types)
        self._encoders = [_binary_encoder(name) for name in self.types]
        self._placeholders = [PLACEHOLDERS[base_type(name)] for name in self.types]
        self._row_header = struct.pack(">h", len(self.types))

    def _column(self, encode: Callable[[Column], Streams], placeholder: Any, values: Column) -> Streams:
        return encode_with_nulls(encode, values, placeholder, (_NULL_FIELD, b""))

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



# -- the talk's names: one text field per row -------------------------------------------------------
_name_field_header = struct.Struct(">hi").pack


def _binary_rows(names: Sequence[str]) -> bytes:
    """Rows of one text field each, built with C-level iterators only (no Python code per row)."""
    encoded = list(map(str.encode, names))
    headers = map(_name_field_header, repeat(1), map(len, encoded))
    return b"".join(chain.from_iterable(zip(headers, encoded, strict=True)))


def binary_copy_bytes(names: Sequence[str]) -> bytes:
    """All names as one COPY BINARY stream (header, one text field per row, trailer)."""
    return BINARY_HEADER + _binary_rows(names) + BINARY_TRAILER


def binary_copy_chunks(names: Sequence[str], chunk_rows: int = STREAM_CHUNK_ROWS) -> Iterator[bytes]:
    """The COPY BINARY stream in chunks of ``chunk_rows`` rows (header first, trailer last)."""
    yield BINARY_HEADER
    for start in range(0, len(names), chunk_rows):
        yield _binary_rows(names[start : start + chunk_rows])
    yield BINARY_TRAILER
