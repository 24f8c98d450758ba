"""The overlapped COPY send (bulkinsert/data/copystream.py), against the real embedded server."""

from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Iterator

import pytest

from bulkinsert import InsertError, run_insert
from bulkinsert.data.copystream import OverlappedReader, overlapped, send_overlapped
from bulkinsert.data.workloads import wide
from bulkinsert.pg.database import Database
from bulkinsert.strategies import wide as wide_paths

MB = 2**20


def _encoders_alive() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "copy-encoder"]


class _Counting:
    """A reader that counts the chunks the driver took, to compare with those the producer made."""

    def __init__(self, reader: OverlappedReader, made: list[int]) -> None:
        self.reader, self.made, self.taken, self.most_ahead = reader, made, 0, 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.reader.read(size)
        if chunk:
            self.taken += 1
        self.most_ahead = max(self.most_ahead, self.made[0] - self.taken)
        return chunk


def test_the_queue_bounds_what_the_producer_builds_ahead(db: Database) -> None:
    """64 MB through a real COPY, 1 MB chunks, depth 2: never more than a few chunks alive at once."""
    made = [0]

    def chunks() -> Iterator[bytes]:
        for number in range(64):
            made[0] += 1
            yield b"%02d" % number + b"x" * (MB - 3) + b"\n"  # one 1 MB row per chunk

    tracemalloc.start()
    try:
        with db.dbapi() as conn, conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE sink (line text) ON COMMIT DROP")
            with overlapped(chunks(), depth=2) as reader:
                counting = _Counting(reader, made)
                cur.copy_expert("COPY sink FROM STDIN", counting)
            cur.execute("SELECT count(*), sum(length(line)) FROM sink")
            rows, characters = cur.fetchone()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (rows, characters) == (64, 64 * (MB - 1))
    assert reader.peak_queued <= 2
    # queued (2) + the one the producer holds while put() blocks + the one libpq is sending
    assert counting.most_ahead <= 4
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB for 64 MB sent"


def test_an_encoder_error_is_one_line_and_the_copy_is_rolled_back(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks already sent when the encoder fails are discarded with the COPY; the error names the cause."""
    real = wide_paths.BINARY

    class FailsOnTheThirdRowChunk:
        def chunks(self, rows: object) -> Iterator[bytes]:
            for number, chunk in enumerate(real.chunks(rows, chunk_rows=1000)):
                if number == 3:
                    raise ValueError("row 2001 cannot be encoded\nsecond line")
                yield chunk

    monkeypatch.setattr(wide_paths, "BINARY", FailsOnTheThirdRowChunk())
    rows = wide.rows(5000, seed=3)
    one_line = r"^encoding the COPY payload failed: ValueError: row 2001 cannot be encoded$"
    with pytest.raises(InsertError, match=one_line):
        run_insert("copy_binary", rows, db=db)
    assert wide.row_count(db) == 0
    assert not _encoders_alive()


def test_a_server_side_failure_stops_the_producer(db: Database) -> None:
    """A duplicate early in a long load: the server's error is reported and the encoder thread ends."""
    names = [f"n{number}" for number in range(300_000)]
    names[1] = names[0]
    with pytest.raises(InsertError, match="duplicate name"):
        run_insert("copy_text_stream", names, db=db)
    assert not _encoders_alive()
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM users")
        assert cur.fetchone()[0] == 0


def test_overlapped_sends_every_byte_in_order(db: Database) -> None:
    """Many small chunks, depth 1: the server stores exactly what was produced, in order."""
    lines = [f"{number}\tline {number}\n".encode() for number in range(20_000)]
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE sink (n integer, line text) ON COMMIT DROP")
        send_overlapped(cur, "COPY sink FROM STDIN", iter(lines), depth=1)
        cur.execute("SELECT array_agg(n ORDER BY n) = array_agg(n), count(*), min(n), max(n) FROM sink")
        assert cur.fetchone() == (True, 20_000, 0, 19_999)
    assert not _encoders_alive()


def test_a_queue_depth_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="queue depth must be at least 1, got 0"):
        OverlappedReader(iter([]), depth=0)


def test_under_a_profiler_the_encoder_runs_where_cprofile_sees_it(db: Database) -> None:
    """cProfile follows one thread: profiled loads encode inline, so call counts keep the encoder."""
    import cProfile
    import pstats

    def chunks() -> Iterator[bytes]:
        yield b""  # skipped: an empty read() would end the COPY
        for number in range(50):
            yield f"{number}\n".encode()

    profile = cProfile.Profile()
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE sink (n integer) ON COMMIT DROP")
        profile.enable()
        try:
            send_overlapped(cur, "COPY sink FROM STDIN", chunks())
        finally:
            profile.disable()
        cur.execute("SELECT count(*), sum(n) FROM sink")
        assert cur.fetchone() == (50, sum(range(50)))
    seen = {function for (_, _, function) in pstats.Stats(profile).stats}  # type: ignore[attr-defined]
    assert "chunks" in seen
    assert not _encoders_alive()


def test_empty_chunks_do_not_end_the_copy_early(db: Database) -> None:
    with db.dbapi() as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE sink (n integer) ON COMMIT DROP")
        send_overlapped(cur, "COPY sink FROM STDIN", iter([b"1\n", b"", b"2\n", b"", b"3\n"]))
        cur.execute("SELECT array_agg(n ORDER BY n) FROM sink")
        assert cur.fetchone()[0] == [1, 2, 3]
