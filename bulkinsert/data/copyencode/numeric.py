"""``numeric`` in COPY BINARY: PostgreSQL's base-10000 form, field by field or a whole column at once."""

from __future__ import annotations

import struct
from collections.abc import Callable
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal
from itertools import repeat
from operator import floordiv, lt, mod, mul

from .common import Column

# numeric's binary sign word: positive, negative, NaN, +Infinity, -Infinity (PostgreSQL >= 14).
_NUMERIC_POS, _NUMERIC_NEG, _NUMERIC_NAN, _NUMERIC_PINF, _NUMERIC_NINF = 0x0000, 0x4000, 0xC000, 0xD000, 0xF000
_numeric_header = struct.Struct(">ihhHh").pack  # field length, ndigits, weight, sign, dscale
# Exact integer scaling of any numeric PostgreSQL accepts (131072 digits before the point).
_WIDE_CONTEXT = Context(prec=min(MAX_PREC, 200_000), Emax=MAX_EMAX, Emin=MIN_EMIN)


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


def numeric_column(values: Column) -> list[bytes]:
    """Plain ``numeric``: every value by :func:`numeric_binary`."""
    return list(map(numeric_binary, values))


def numeric_fixed_scale(scale: int) -> Callable[[Column], list[bytes]]:
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

    def encode(values: Column) -> list[bytes]:
        if not all(map(Decimal.is_finite, values)):
            return numeric_column(values)
        scaled = list(map(Decimal.scaleb, values, repeat(shift), repeat(_WIDE_CONTEXT)))
        integers = list(map(int, scaled))
        # Every value with exactly the column's scale (one cheap pass) scales to an integer;
        # otherwise compare: a value with more decimals than the column keeps takes the exact path.
        if not all(map(Decimal.same_quantum, values, repeat(quantum))) and not all(
                map(Decimal.__eq__, scaled, integers)):
            return numeric_column(values)
        signs = list(map(mul, map(lt, integers, repeat(0)), repeat(_NUMERIC_NEG)))
        magnitudes = list(map(abs, integers))
        groups_needed = max(1, -(-len(str(max(magnitudes))) // 4))
        digits = _base_10000_digits(magnitudes, groups_needed)
        pack = struct.Struct(f">ihhHh{groups_needed}H").pack
        size = 8 + 2 * groups_needed
        weight = groups_needed - fraction_groups - 1
        return list(map(pack, repeat(size), repeat(groups_needed), repeat(weight), signs, repeat(scale), *digits))

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


def numeric_scale(pg_type: str) -> int | None:
    """The scale of ``numeric(p,s)`` (None for plain ``numeric``)."""
    inside = pg_type[len("numeric(") : -1].split(",") if pg_type.startswith("numeric(") else []
    return int(inside[1]) if len(inside) == 2 else 0 if len(inside) == 1 else None
