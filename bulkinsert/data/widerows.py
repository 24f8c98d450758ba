"""The ``wide`` workload's rows: the edge values first, then seeded random rows.

Rows are tuples in the order of :data:`bulkinsert.data.workloads.WIDE_COLUMNS`: ``big`` (the
row's unique key), ``small``, ``price``, ``ratio``, ``flag``, ``created``, ``day``, ``uid``,
``doc``, ``note``, ``blob``. The same ``(count, seed)`` always gives the same rows (Python's
``random.Random`` is stable across releases for the calls used here).
"""

from __future__ import annotations

import functools
import random
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

__all__ = ["EDGE_ROWS", "wide_rows"]

UTC = UTC
_OFFSETS = tuple(
    timezone(timedelta(hours=h, minutes=m)) for h, m in ((0, 0), (5, 30), (-8, 0), (14, 0), (-12, 0), (5, 45), (9, 0),
                                                         (-3, -30))
)
_MAX_SUBNORMAL = 2.2250738585072009e-308
_MIN_SUBNORMAL = 5e-324
assert _MIN_SUBNORMAL > 0 and _MAX_SUBNORMAL < sys.float_info.min

# Every nullable column is NULL in one row; every special float, numeric extreme, instant and
# byte value appears at least once. ``big`` keys of edge rows sit outside the random rows' range.
EDGE_ROWS: tuple[tuple[Any, ...], ...] = (
    (2**63 - 1, 2**31 - 1, Decimal("999999999999.999999"), sys.float_info.max, True,
     datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), date(9999, 12, 31), UUID(int=2**128 - 1),
     {"deep": [[[{"k": [1, [2, [3, {"z": None, "t": True}]]]}]]]}, "ünïcødé 日本語 😀 ʻokina", bytes(range(256))),
    (-(2**63), -(2**31), Decimal("-999999999999.999999"), -sys.float_info.max, False,
     datetime(1, 1, 1, 0, 0, 0, 0, tzinfo=UTC), date(1, 1, 1), UUID(int=0), [], "", b""),
    (-(2**63) + 1, None, None, None, None, None, None, None, None, None, None),
    (2**63 - 2, 0, Decimal("0.000000"), float("nan"), False,
     datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-8))), date(1969, 12, 31),
     UUID("00000000-0000-4000-8000-000000000001"),
     {"": "", 'quote"': "back\\slash", "tab\t": "new\nline\r", "\\N": "\\.", "emoji😀": ["ü", {"🚀": 0}]},
     "tab\there\nnew line\r\\back\\slash \\N \\.", b"\x00\\\t\n\r\\N"),
    (2**63 - 3, 1, Decimal("0.000001"), float("inf"), True,
     datetime(1900, 1, 1, 0, 0, 0, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))), date(1900, 2, 28),
     UUID("ffffffff-ffff-ffff-ffff-000000000000"), "a top-level string", "\\N", b"\xff"),
    (2**63 - 4, -1, Decimal("-0.000001"), float("-inf"), True,
     datetime(1970, 1, 1, 0, 0, 0, 0, tzinfo=UTC), date(1970, 1, 1),
     UUID("12345678-1234-5678-1234-567812345678"), {"big": 12345678901234567890, "f": 0.1, "neg": -1.5e-300},
     "\\.", b"\\x00"),
    (2**63 - 5, 2, Decimal("123456.789012"), -0.0, None,
     datetime(2262, 4, 11, 23, 47, 16, 854776, tzinfo=timezone(timedelta(hours=-2))), date(2000, 2, 29),
     UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), [1, "two", 3.5, True, False, None, {"x": []}],
     "'; DROP TABLE wide; -- %s %(x)s", bytes(range(255, -1, -1))),
    (2**63 - 6, -2, Decimal("-123456.789012"), _MIN_SUBNORMAL, False,
     datetime(2000, 1, 1, 0, 0, 0, 0, tzinfo=UTC), date(2000, 1, 1),
     UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), {"nested": {"a": {"b": {"c": {"d": [1, 2, {"e": "ü"}]}}}}},
     " ", b"\n"),
    (2**63 - 7, 3, Decimal("1.000000"), -_MIN_SUBNORMAL, True,
     datetime(2038, 1, 19, 3, 14, 8, 123456, tzinfo=timezone(timedelta(hours=-3, minutes=-30))), date(2038, 1, 19),
     UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8"), 42, "x" * 10_000, b"\x00" * 1000),
    (2**63 - 8, 4, Decimal("-0.000000"), _MAX_SUBNORMAL, False,
     datetime(1066, 10, 14, 9, 30, 0, 500000, tzinfo=timezone(timedelta(hours=5, minutes=45))), date(1582, 10, 15),
     UUID("6ba7b812-9dad-11d1-80b4-00c04fd430c8"), {"unicode": "\u2028\u2029\ufeff", "esc": "\\u0041"},
     "\x01\x02\x7f control", bytes([0x5C, 0x30, 0x30, 0x30])),
    (2**63 - 9, 5, Decimal("0.100000"), 0.1, True,
     datetime(2024, 2, 29, 12, 0, 0, 1, tzinfo=timezone(timedelta(hours=-12))), date(2024, 2, 29),
     UUID("6ba7b814-9dad-11d1-80b4-00c04fd430c8"), [None], "1/3", None),
    (2**63 - 10, 6, Decimal("3.141593"), 1 / 3, None,
     datetime(2100, 1, 1, 0, 0, 0, 999999, tzinfo=timezone(timedelta(hours=9))), None,
     None, {"f": 1e308, "i": -(2**53) - 1}, None, b"\x80\x81"),
)

_RANDOM_KEY_RANGE = 2**62  # random rows' keys: an odd-multiplier bijection on [0, 2**62), shifted
_KEY_MULTIPLIER = 0x9E3779B97F4A7C15 | 1
_TIME_BASE = datetime(1900, 1, 1, tzinfo=UTC)
_TIME_SPAN_US = int((datetime(2100, 1, 1, tzinfo=UTC) - _TIME_BASE) / timedelta(microseconds=1))
_DAY_LOW, _DAY_HIGH = date(1800, 1, 1).toordinal(), date(2200, 1, 1).toordinal()
_WORDS = ("alpha", "beta", "gamma", "straße", "café", "日本", "😀", "tab\tin", "new\nline", "back\\slash", "\\N", "")
_SPECIAL_FLOATS = (float("nan"), float("inf"), float("-inf"), -0.0, 0.0, _MIN_SUBNORMAL, _MAX_SUBNORMAL)


def _random_row(rng: random.Random, index: int) -> tuple[Any, ...]:
    # getrandbits and random() rather than randrange/choice: a third of the cost, same determinism.
    bits, random_ = rng.getrandbits, rng.random
    big = (index * _KEY_MULTIPLIER) % _RANDOM_KEY_RANGE - _RANDOM_KEY_RANGE // 2
    roll = random_()
    ratio = _SPECIAL_FLOATS[bits(3) % 7] if roll < 0.01 else (random_() - 0.5) * 2e9 if roll < 0.6 else random_()
    created = (_TIME_BASE + timedelta(microseconds=int(random_() * _TIME_SPAN_US))).astimezone(_OFFSETS[bits(3)])
    words = [_WORDS[int(random_() * len(_WORDS))] for _ in range(1 + bits(2) % 3)]
    return (
        big,
        None if roll > 0.95 else bits(32) - 2**31,
        Decimal(bits(61) % (2 * 10**18 - 1) - (10**18 - 1)).scaleb(-6),
        ratio,
        None if roll < 0.02 else roll < 0.5,
        None if roll > 0.97 else created,
        date.fromordinal(_DAY_LOW + int(random_() * (_DAY_HIGH - _DAY_LOW))),
        UUID(int=bits(128)),
        None if roll > 0.9 else {"i": index, "tags": words, "score": round(random_(), 6), "ok": roll < 0.7},
        None if 0.85 < roll < 0.95 else " ".join(words),
        None if 0.05 < roll < 0.15 else rng.randbytes(bits(6) % 48),
    )


def wide_rows(count: int, seed: int = 0) -> list[tuple[Any, ...]]:
    """``count`` rows: the edge rows first (all of them once ``count`` allows), then random ones.

    The rows of the last two ``(count, seed)`` asked for are kept, so interleaved rounds and
    repeated runs in one process generate them once; each call returns a new list.
    """
    return list(_cached_rows(count, seed))


@functools.lru_cache(maxsize=2)
def _cached_rows(count: int, seed: int) -> tuple[tuple[Any, ...], ...]:
    rows = list(EDGE_ROWS[:count])
    rng = random.Random(seed)
    rows.extend(_random_row(rng, index) for index in range(1, count - len(rows) + 1))
    return tuple(rows)
