"""Encoding a COPY payload in a second thread while the driver sends it: one mechanism for every COPY path.

psycopg2's ``copy_expert`` calls ``read()`` on a file, then sends the result with libpq
(``PQputCopyData``, the GIL released) until the socket takes it. With a plain generator the
chunks are encoded *inside* ``read()``, so encoding and sending take turns: while the client
encodes, the server has only what sits in the socket buffer to parse, and then waits.
:class:`OverlappedReader` runs the encoder in a producer thread that fills a bounded queue;
``read()`` only takes the next finished chunk. The producer encodes chunk *n + 1* while the
driver sends chunk *n* and the server parses it.

Memory stays flat: at most ``depth`` finished chunks wait in the queue, plus the one the
producer is building and the one libpq is sending. A producer error reaches ``read()``, which
re-raises it, so ``copy_expert`` aborts the COPY (the server rolls it back) and the caller sees
the producer's exception, message unchanged. When the COPY fails on the server's side instead,
:meth:`OverlappedReader.close` stops the producer and waits for it, so no thread outlives the
load. The overlap needs the client and the server on different CPUs; pinned to one CPU they
take turns anyway (docs/results/2026-12-03-overlapped-encoding.md).

Under a profiler (``bulkinsert run --profile``, the ladder's cProfile mode) the chunks are
encoded in the calling thread instead, as before: cProfile follows one thread, and the call
counts and profiles would otherwise lose the encoder.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import InsertError
from ..pg.dbapitimer import DBAPI_TIMER

__all__ = ["QUEUE_DEPTH", "OverlappedReader", "overlapped", "send_overlapped"]

# Finished chunks allowed to wait: two keep the driver busy across one slow chunk, while memory
# stays at about four chunks (two queued, one being built, one in libpq's buffer).
QUEUE_DEPTH = 2

_END: Any = object()


class _Failed:
    """The producer's exception, carried through the queue to the reading thread."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class OverlappedReader:
    """A ``read()``-only file whose chunks a producer thread encodes ahead, at most ``depth`` of them.

    Time ``read()`` spends waiting for a chunk is counted as encode time
    (``DBAPI_TIMER.encoding_block``): it is the encoding the overlap did not hide. Encoding
    that ran while the driver sent is not counted as driver time either, since it ran on
    another thread; the client CPU figure (``time.process_time``) counts both threads.
    """

    def __init__(self, chunks: Iterable[bytes], depth: int = QUEUE_DEPTH) -> None:
        if depth < 1:
            raise ValueError(f"queue depth must be at least 1, got {depth}")
        self._chunks = iter(chunks)
        self._inline = sys.getprofile() is not None  # profiled: encode here, where cProfile sees it
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._finished = False
        self.error: BaseException | None = None  # the producer's exception, once read() has raised it
        self.peak_queued = 0  # most chunks seen waiting at once (the bound, observable)
        self._thread = threading.Thread(target=self._produce, name="copy-encoder", daemon=True)
        if not self._inline:
            self._thread.start()

    def _produce(self) -> None:
        try:
            for chunk in self._chunks:
                if self._stop.is_set():
                    return
                if chunk:  # an empty read() would end the COPY early
                    self._queue.put(chunk)
            self._queue.put(_END)
        except BaseException as error:  # noqa: BLE001 - handed to the reader, which re-raises it
            self._queue.put(_Failed(error))

    def read(self, size: int = -1) -> bytes:
        """The next encoded chunk, whole whatever ``size`` (psycopg2 sends each as one message); b"" at the end."""
        if self._finished:
            return b""
        if self._inline:
            return self._read_inline()
        self.peak_queued = max(self.peak_queued, self._queue.qsize())
        with DBAPI_TIMER.encoding_block():
            item = self._queue.get()
        if item is _END:
            self._finished = True
            return b""
        if isinstance(item, _Failed):
            self._finished = True
            self.error = item.error
            raise item.error
        return item

    def _read_inline(self) -> bytes:
        try:
            with DBAPI_TIMER.encoding_block():
                chunk = next(self._chunks, None)
                while chunk is not None and not chunk:
                    chunk = next(self._chunks, None)
        except BaseException as error:
            self._finished = True
            self.error = error
            raise
        if chunk is None:
            self._finished = True
            return b""
        return chunk

    def readline(self, size: int = -1) -> bytes:  # pragma: no cover - copy_expert never calls it
        return self.read(size)

    def close(self) -> None:
        """Stop the producer and wait for it: drain the queue so a blocked ``put`` returns."""
        self._stop.set()
        self._finished = True
        if self._inline:
            return
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._thread.join()


@contextmanager
def overlapped(chunks: Iterable[bytes], depth: int = QUEUE_DEPTH) -> Iterator[OverlappedReader]:
    """An :class:`OverlappedReader` over ``chunks``, its producer stopped on the way out, error or not."""
    reader = OverlappedReader(chunks, depth)
    try:
        yield reader
    finally:
        reader.close()


def send_overlapped(cursor: Any, sql: str, chunks: Iterable[bytes], depth: int = QUEUE_DEPTH) -> None:
    """``cursor.copy_expert(sql, …)`` with ``chunks`` encoded in a producer thread ahead of the driver.

    When the encoder fails, psycopg2 aborts the COPY (the server discards it; the caller's
    transaction rolls back) and reports only "COPY from stdin failed"; this raises
    :class:`InsertError` naming the encoder's error instead, in one line.
    """
    with overlapped(chunks, depth) as reader:
        try:
            cursor.copy_expert(sql, reader)
        except Exception:
            if reader.error is None:
                raise
            raise InsertError(f"encoding the COPY payload failed: {_one_line(reader.error)}") from reader.error


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    return text if len(text) <= 300 else text[:299] + "…"
