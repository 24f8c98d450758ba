"""Encoding and sending a COPY in turns, or overlapped: wall time, client CPU and the server's CPU.

The ladder reports the client's CPU only. Whether encoding overlaps the server's parsing shows
in the server backend's CPU too (read from ``/proc``, so the embedded server on this machine):
taking turns, (client + server CPU) ÷ wall stays at or under 1; overlapped, it can reach 2 when
both have a CPU of their own. Every path loads the same rows into the emptied table, interleaved
within a round; ``file`` is the server's own ``COPY … FROM '<file>'`` of the same payload::

    flock /tmp/bulkinsert-heavy.lock .venv/bin/python -m benchmarks.overlap \
        --workload wide --rows 100000 --placement split --rounds 5

``--placement`` pins the client (this process, so its encoder thread too) and every process of
the embedded server: ``split`` on two CPUs, ``same`` on one, ``none`` leaves them to the
scheduler. Medians are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median
from typing import Any

PLACEMENTS = {"split": ({0}, {1}), "same": ({0}, {0}), "none": (None, None)}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (a server backend), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pin(placement: str) -> None:
    from bulkinsert.pg.server import data_dir

    client, server = PLACEMENTS[placement]
    allowed = os.sched_getaffinity(0)
    postmaster = int((data_dir() / "postmaster.pid").read_text().split()[0])
    children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    for pid, cpus in [(0, client), *((int(child), server) for child in [postmaster, *children])]:
        try:
            os.sched_setaffinity(pid, cpus if cpus is not None else allowed)
        except ProcessLookupError:
            pass  # a backend that ended meanwhile


def _paths(workload: str, rows: int) -> tuple[str, bytes, dict[str, Callable[[Any], None]]]:
    from bulkinsert.data import workloads
    from bulkinsert.data.copyencode import ChunkReader, text_copy_chunks
    from bulkinsert.data.copystream import send_overlapped
    from bulkinsert.strategies import wide

    if workload == "wide":
        data, sql, chunks = workloads.get("wide").rows(rows, 0), wide.COPY_BINARY_SQL, wide.BINARY.chunks
        payload = wide.BINARY.encode(data)
    else:
        data, sql, chunks = workloads.get("users").rows(rows, 0), "COPY users (name) FROM STDIN", text_copy_chunks
        payload = b"".join(chunks(data))
    return sql, payload, {
        # before the overlap: chunks of 32,768 rows built inside read(), between the driver's sends
        "in turns": lambda cur: cur.copy_expert(sql, ChunkReader(chunks(data, 32_768))),
        "overlapped": lambda cur: send_overlapped(cur, sql, chunks(data)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=["wide", "users"], default="wide")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--placement", choices=list(PLACEMENTS), default="split")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    from bulkinsert.pg.database import Database

    sql, payload, paths = _paths(args.workload, args.rows)
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"bulkinsert-overlap-{os.getpid()}"
    folder.mkdir(mode=0o755, exist_ok=True)
    file = folder / "payload.copy"
    file.write_bytes(payload)
    file.chmod(0o644)  # the embedded server runs as another OS user when we are root
    server_sql = sql.replace("STDIN", f"'{file}'")
    paths = {"file": lambda cur: cur.execute(server_sql), **paths}
    table = "wide" if args.workload == "wide" else "users"
    samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in paths}
    try:
        with Database(None, instrument=False) as db:
            _pin(args.placement)
            for _ in range(args.rounds):
                for name, load in paths.items():
                    with db.dbapi() as conn, conn.cursor() as cur:
                        cur.execute(f"TRUNCATE {table} RESTART IDENTITY")
                    with db.dbapi() as conn, conn.cursor() as cur:
                        cur.execute("SELECT pg_backend_pid()")
                        backend = cur.fetchone()[0]
                        server, client, wall = _cpu_seconds(backend), time.process_time(), time.perf_counter()
                        load(cur)
                        conn.commit()
                        samples[name].append((time.perf_counter() - wall, time.process_time() - client,
                                              _cpu_seconds(backend) - server))
    finally:
        file.unlink(missing_ok=True)
        folder.rmdir()
    floor = median(sample[0] for sample in samples["file"])
    print(f"{args.workload}, {args.rows:,} rows, placement {args.placement}, {args.rounds} interleaved rounds, "
          f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print("| path | wall s | client CPU s | server CPU s | × file | (client + server CPU) ÷ wall | samples s |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, taken in samples.items():
        wall, client, server = (median(sample[index] for sample in taken) for index in range(3))
        print(f"| {name} | {wall:.3f} | {client:.3f} | {server:.2f} | {wall / floor:.2f} | "
              f"{(client + server) / wall:.2f} | {', '.join(f'{sample[0]:.2f}' for sample in taken)} |")


if __name__ == "__main__":
    main()
