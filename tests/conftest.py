"""Every test runs against the real embedded PostgreSQL (or $BULKINSERT_DSN), never a mock.

Each test run takes a database of its own on the shared server, so two runs at once (or a
test run during a benchmark run) never touch each other's tables.
"""

from __future__ import annotations

import os
import random
import shutil
import string
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

RUN_DATABASE = f"bulkinsert_test_{os.getpid()}"
os.environ.setdefault("BULKINSERT_DATABASE", RUN_DATABASE)
# The tests' inserts check correctness, not time: they do not queue behind a benchmark run for
# the server's measuring turn (bulkinsert/pg/turns.py). The tests of turns switch them back on.
os.environ["BULKINSERT_TURNS"] = "0"

from bulkinsert import registry  # noqa: E402
from bulkinsert.errors import Unsupported  # noqa: E402
from bulkinsert.pg import processes, server  # noqa: E402
from bulkinsert.pg.database import Database  # noqa: E402

# Inputs every strategy must store exactly (or refuse before writing anything).
_rng = random.Random(20131)
BAD_NAMES: list[str] = [
    "plain",
    "tab\there",
    "new\nline",
    "carriage\rreturn",
    "crlf\r\nend",
    "back\\slash",
    "\\N",
    "\\.",
    "line1\n\\.\nline3",
    "trailing backslash\\",
    "'single' quotes",
    '"double" quotes',
    "%s",
    "%(name)s",
    "100%",
    "%%",
    "'); DROP TABLE users; --",
    "Robert'); DELETE FROM users WHERE ('1'='1",
    "ünïcødé",
    "日本語のテキスト",
    "emoji 😀🚀",
    "",
    " ",
    "\x01\x02\x7f control",
    "{curly}",
    "x" * 100_000,
    "".join(_rng.choice(string.ascii_letters + "\t\n\\") for _ in range(2_000)),
]


def _held_out_names() -> list[str]:
    """A second hostile set, of another style than BAD_NAMES: COPY's own escapes and end marker
    alone and at line ends, every control character alone, line and paragraph separators, a BOM,
    the last code point, and long names whose escapes and multi-byte characters straddle the
    8 KiB buffers drivers send COPY data in; then seeded mixtures of all of them."""
    rng = random.Random(26)
    fixed = ["\\", "\\.", "\\.\n", "\n\\.", "\r\n\\.\r\n", "\\\r\n", "\\\\", "\\t", "\\x41", "\\101"]
    fixed += [chr(code) for code in [*range(1, 32), 0x7F, *range(0x80, 0xA0, 7)]]
    fixed += ["\u2028", "\u2029", "\ufeffbom", "\U0010ffff", "e\u0301", "\u202eright-to-left"]
    fixed += ["a" * (8_191 - k) + tail for k in range(3) for tail in ("\\", "\n", "é", "😀")]
    alphabet = "\\\n\r\t.N\x01\x1b\x7f\u2028é😀 ab"
    mixed = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 400))) for _ in range(300)]
    return list(dict.fromkeys(fixed + mixed))


HELD_OUT_NAMES: list[str] = _held_out_names()


@contextmanager
def registrations_restored(*, variable: bool = True) -> Iterator[None]:
    """The strategies, workloads, strategy files and (``variable``) ``BULKINSERT_STRATEGIES_FROM`` as
    they were; a caller that sets the variable through ``monkeypatch`` leaves it to ``monkeypatch``.

    A CLI call with ``--strategies-from`` registers a file's strategies in this process and sets
    the variable for its children; left behind, they would reach every later test and every
    process those tests start.
    """
    from bulkinsert import user_strategies
    from bulkinsert.data import workloads

    registry.load()
    strategies, known, loaded = set(registry.REGISTRY), set(workloads.WORKLOADS), dict(user_strategies._LOADED)
    value = os.environ.get(user_strategies.ENV_VARIABLE)
    try:
        yield
    finally:
        for name in set(registry.REGISTRY) - strategies:
            del registry.REGISTRY[name]
        for name in set(workloads.WORKLOADS) - known:
            del workloads.WORKLOADS[name]
        user_strategies._LOADED.clear()
        user_strategies._LOADED.update(loaded)
        if variable and value is None:
            os.environ.pop(user_strategies.ENV_VARIABLE, None)
        elif variable:
            os.environ[user_strategies.ENV_VARIABLE] = value


@pytest.fixture(autouse=True)
def strategies_as_they_were() -> Iterator[None]:
    """Every test ends with the strategies and strategy files it started with."""
    with registrations_restored():
        yield


def all_strategies() -> list[registry.Strategy]:
    return list(registry.load().values())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> object:
    """On a server through BULKINSERT_DSN, a strategy that cannot run there skips, saying why.

    e.g. ``server_copy_file`` against a server in a container, which cannot read the files this
    client writes. On the embedded server every supported strategy must run: no skip there.
    """
    try:
        return (yield)
    except Unsupported as exc:
        if not os.environ.get(server.DSN_ENV):
            raise
        pytest.skip(f"not possible on the BULKINSERT_DSN server: {exc}")


@pytest.fixture(scope="session")
def db() -> Iterator[Database]:
    database = Database(instrument=True)
    yield database
    database.close()
    if not os.environ.get(server.DSN_ENV) and os.environ["BULKINSERT_DATABASE"] == RUN_DATABASE:
        server.drop_database(server.embedded_server().dsn("postgres"), RUN_DATABASE)


@pytest.fixture()
def clean_db(db: Database) -> Database:
    db.use_engine({})
    db.reset()
    return db


@pytest.fixture()
def private_pgdata() -> Iterator[Path]:
    """A data directory for a second, private embedded server that a test may kill or stop.

    Not under pytest's temporary root: every pytest session resets that to mode 0700, and as
    root the server runs as its own user, who must still reach the directory when another test
    run starts meanwhile.
    """
    if os.environ.get(server.DSN_ENV):
        pytest.skip("BULKINSERT_DSN points at an external server")
    base = Path(tempfile.mkdtemp(prefix="bulkinsert-test-server-"))
    base.chmod(0o755)
    path = base / "pgdata"
    yield path
    private = server.EmbeddedServer(path)
    if private.is_running():
        private.stop()
    # The reaper takes the server's lock once more before it sees the server down (the lock
    # file would come back after the directory is gone): wait for it to exit first.
    try:
        reaper_pid = int((path / ".reaper.pid").read_text())
    except (OSError, ValueError):
        reaper_pid = None
    if reaper_pid is not None:
        wait_until(lambda: not processes.pid_alive(reaper_pid), timeout=15)
    shutil.rmtree(base, ignore_errors=True)


def statement_counts_unavailable(db: Database) -> str | None:
    """Why this server gives no statement counts (a stock server through BULKINSERT_DSN has no
    pg_stat_statements preloaded), or None when it gives them."""
    db.statements_executed()
    return db.statements_unavailable


def assert_statements_counted(db: Database, statements: int | None) -> None:
    """At least one server statement; on a server without pg_stat_statements, no count at all
    (never a made-up one) and a recorded reason."""
    if statement_counts_unavailable(db) is not None:
        assert statements is None
    else:
        assert isinstance(statements, int) and statements >= 1


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def private_env(pgdata: Path, **extra: str) -> dict[str, str]:
    """Environment for a child process using the private server at ``pgdata``."""
    env = {k: v for k, v in os.environ.items() if k != server.DSN_ENV}
    env.update(
        BULKINSERT_DATA_DIR=str(pgdata), BULKINSERT_SERVER_LINGER="2", BULKINSERT_DATABASE="bulkinsert_private"
    )
    env.update(extra)
    return env
