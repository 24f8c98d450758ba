"""The COPY BINARY encoder's fast paths (runs of fixed-width fields, orjson, time zones) against references.

Every load is compared in the server with the same rows sent by the text encoder (the
exactness check's reference, which shares none of those fast paths).
"""

from __future__ import annotations

import io
import json
import math
import random
import struct
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bulkinsert.data.copyencode import BINARY_HEADER, BinaryCopyEncoder, TextCopyEncoder
from bulkinsert.data.copyencode.common import json_documents, json_texts
from bulkinsert.data.workloads import wide
from bulkinsert.pg.database import Database

WIDE_TYPES = tuple(wide.types)
_POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _rows_in_order(order: Sequence[int], count: int = 600, seed: int = 3) -> list[tuple[Any, ...]]:
    return [tuple(row[index] for index in order) for row in wide.rows(count, seed=seed)]


def _same_in_server(db: Database, types: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Load ``rows`` by both encoders into two tables; the server finds no row in one and not the other."""
    columns = ", ".join(f"c{index} {pg_type}" for index, pg_type in enumerate(types))
    with db.dbapi() as conn, conn.cursor() as cur:
        for table, encoder, option in (("by_binary", BinaryCopyEncoder(types), " (FORMAT BINARY)"),
                                       ("by_text", TextCopyEncoder(types), "")):
            cur.execute(f"CREATE TEMP TABLE {table} ({columns}) ON COMMIT DROP")
            cur.copy_expert(f"COPY {table} FROM STDIN{option}", io.BytesIO(encoder.encode(rows)))
        # float8 compared by its text too: -0 = 0 as numbers, and -0.0 must stay -0.0
        texts = ", ".join(f"c{index}::text" for index in range(len(types)))
        cur.execute(f"SELECT count(*) FROM ((SELECT {texts} FROM by_binary EXCEPT ALL SELECT {texts} FROM by_text) "
                    f"UNION ALL (SELECT {texts} FROM by_text EXCEPT ALL SELECT {texts} FROM by_binary)) differing")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT count(*) FROM by_binary")
        assert cur.fetchone()[0] == len(rows)


@pytest.mark.parametrize(
    "order",
    [
        range(len(WIDE_TYPES)),  # the wide table: runs, a whole numeric, three variable fields
        range(len(WIDE_TYPES) - 1, -1, -1),  # variable first, the field count alone in the first run
        (2, 8, 2, 10),  # numeric first, whole fields and variable ones back to back
        (1, 3, 4, 5, 6, 7),  # fixed-width only: one run per row, NULLs in most of its fields
        (5,),
        (9,),
    ],
    ids=["wide", "reversed", "numeric-first", "fixed-only", "timestamptz", "text"],
)
def test_binary_matches_text_in_the_server_whatever_the_column_order(db: Database, order: Sequence[int]) -> None:
    order = tuple(order)
    types = [WIDE_TYPES[index] for index in order]
    _same_in_server(db, types, _rows_in_order(order))


def test_columns_all_null_or_null_in_every_field(db: Database) -> None:
    types = list(WIDE_TYPES[1:])  # every nullable column
    rows = [tuple(None for _ in types)] * 5 + _rows_in_order(range(1, len(WIDE_TYPES)), count=40)
    rows += [tuple(None if (row + column) % 3 == 0 else value for column, value in enumerate(rows[5 + row]))
             for row in range(30)]
    _same_in_server(db, types, rows)
    _same_in_server(db, ["int4", "float8"], [(None, None)] * 3)


def _timestamptz_field(value: datetime) -> int:
    payload = BinaryCopyEncoder(["timestamptz"]).encode([(value,)])
    field_count, length, micros = struct.unpack(">hiq", payload[len(BINARY_HEADER):len(BINARY_HEADER) + 14])
    assert (field_count, length) == (1, 8)
    return micros


@pytest.mark.parametrize("zone", [timezone(timedelta(hours=-3, minutes=-30)), UTC,
                                  ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")], ids=str)
def test_timestamptz_is_the_instant_in_any_zone(zone: Any) -> None:
    """Fixed offsets take the same-zone shortcut, DST zones the aware subtraction: both the instant."""
    rng = random.Random(5)
    # around DST changes (March/October/November) and far from them
    instants = [datetime(2024, month, day, hour, minute, tzinfo=UTC) for month, day in ((3, 10), (3, 31), (10, 27),
                (11, 3), (7, 1)) for hour in range(0, 24, 3) for minute in (0, 59)]
    instants += [_POSTGRES_EPOCH + timedelta(microseconds=rng.randrange(-6 * 10**16, 6 * 10**16)) for _ in range(50)]
    values = [instant.astimezone(zone) for instant in instants]
    expected = [(instant - _POSTGRES_EPOCH) // timedelta(microseconds=1) for instant in instants]
    assert [_timestamptz_field(value) for value in values] == expected
    # a column mixing zones, fixed and DST, encodes every value the same as alone
    mixed = [value if index % 2 else value.astimezone(timezone(timedelta(hours=5, minutes=45)))
             for index, value in enumerate(values)]
    one_pass = BinaryCopyEncoder(["timestamptz"]).encode([(value,) for value in mixed])
    micros = [struct.unpack(">q", one_pass[at + 6:at + 14])[0]
              for at in range(len(BINARY_HEADER), len(one_pass) - 2, 14)]
    assert micros == expected


def test_timestamptz_refuses_a_naive_value() -> None:
    with pytest.raises(TypeError):
        BinaryCopyEncoder(["timestamptz"]).encode([(datetime(2024, 1, 1, tzinfo=UTC),), (datetime(2024, 1, 1),)])


# -- jsonb documents: orjson, meaning what the standard library's JSON means --------------------------
_DOCUMENTS = [
    {"a": 1, "nested": [1.5e300, -0.0, 1e16, 0.1, None, True, "null"]},
    {1: "an int key", 2.5: "a float key", None: "a None key"},  # orjson refuses: the stdlib decides
    {"big": 2**70, "small": -(2**70)},  # beyond 64 bits: the stdlib decides
    ["ünïcødé 日本語 😀", "\u2028\u2029", "tab\tnew\nline", "\\N", '"quoted"'],
    "a top-level string", 42, -1.5, [], {},
]


def test_json_documents_mean_what_the_standard_library_means() -> None:
    documents = json_documents(_DOCUMENTS)
    assert [json.loads(document) for document in documents] == [json.loads(text) for text in json_texts(_DOCUMENTS)]
    assert all(isinstance(document, bytes) for document in documents)


@pytest.mark.parametrize("bad, error", [
    ({"x": math.nan}, ValueError), ([1, math.inf], ValueError), ({"x": -math.inf}, ValueError),
    ("\ud800 a lone surrogate", UnicodeEncodeError), ({"when": datetime(2024, 1, 1)}, TypeError),
])
def test_json_documents_refuse_what_the_standard_library_refuses(bad: Any, error: type[Exception]) -> None:
    """orjson would write NaN as null and a datetime as a string: the standard library refuses both."""
    with pytest.raises(error):
        json_documents([{"fine": 1}, bad, {"fine": 2}])


def test_jsonb_documents_with_fallbacks_load_exactly(db: Database) -> None:
    values = [{"k": str(key)} for key in range(20)] + [{"big": 2**70}] + [{"n": None, "s": "null"}] + [None]
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE docs (n int, doc jsonb) ON COMMIT DROP")
        payload = BinaryCopyEncoder(["int4", "jsonb"]).encode(list(enumerate(values)))
        cur.copy_expert("COPY docs FROM STDIN (FORMAT BINARY)", io.BytesIO(payload))
        cur.execute("SELECT doc::text FROM docs ORDER BY n")
        loaded = [None if text is None else json.loads(text, parse_float=Decimal) for (text,) in cur.fetchall()]
    assert loaded == values
