"""DSNs are read by libpq's parser, and their password never reaches output.

The unit checks run on libpq's real parser; the command-line checks run the real process
against the real embedded server (a trust-auth server ignores the password, so a DSN that
carries one works) or against a closed port (libpq's real connection error).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from psycopg2.extensions import make_dsn

from bulkinsert.pg.database import Database
from bulkinsert.pg.dsn import DSN_ENV, InvalidDsn, dsn_secrets, mask_dsn, parse_dsn, scrub

CLOSED = "host=127.0.0.1 port=1 user=bench dbname=nowhere"


def bulkinsert(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bulkinsert", *args],
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize(
    ("dsn", "password"),
    [
        ("host=h password='a b' dbname=d", "a b"),
        ("host=h password=a\\ b dbname=d", "a b"),
        ("host=h password='it\\'s  two' dbname=d", "it's  two"),
        ("host=h password = 'x=y' dbname=d", "x=y"),
        ("postgresql://u:p%40ss%20w%2Frd@h:5/d", "p@ss w/rd"),
        ("postgresql:///d?host=/tmp&password=x%26y", "x&y"),
    ],
)
def test_the_password_is_what_libpq_reads_and_is_scrubbed_in_every_spelling(dsn: str, password: str) -> None:
    assert parse_dsn(dsn)["password"] == password
    assert password in dsn_secrets(dsn)
    masked = mask_dsn(dsn)
    assert password not in masked and "***" in masked
    assert masked.endswith("/d") or masked.endswith("dbname=d") or masked.endswith("password=***")
    written = f"connecting with {dsn} (password {password!r}) failed"
    assert password not in scrub(written, dsn) and "failed" in scrub(written, dsn)


def test_a_uri_with_two_passwords_loses_both() -> None:
    dsn = "postgresql://u:first%21@h/d?password=second"
    assert parse_dsn(dsn)["password"] == "second"  # libpq: the query parameter wins
    text = scrub(f"{dsn} first! second", dsn)
    assert "first" not in text and "second" not in text


def test_a_spaced_password_masks_itself_not_every_letter_of_libpqs_message() -> None:
    """``password='a b'`` was read as ``a``, and every "a" of the message was masked."""
    import psycopg2

    dsn = f"{CLOSED} password='a b'"
    with pytest.raises(psycopg2.OperationalError) as caught:
        psycopg2.connect(dsn, connect_timeout=5)
    message = str(caught.value).strip().splitlines()[0]
    assert "a" in message  # libpq's own words, e.g. "connection to server at ... failed"
    assert scrub(message, dsn) == message


def test_a_password_inside_the_host_name_and_libpqs_words_is_masked_there_too() -> None:
    password = "127.0.0"  # in the host name, and so in libpq's message about it
    proc = bulkinsert("run", "copy_text", "--rows", "10", "--dsn", f"{CLOSED} password={password}")
    assert proc.returncode == 1
    assert password not in proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: cannot connect to host=") and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://bench:S3cr%20et%2Fpw@127.0.0.1:1/nowhere",
        "postgresql://bench:S3cr et@127.0.0.1:1/nowhere",
        f"{CLOSED} password='S3cr et\\'pw'",
    ],
)
def test_unreachable_dsn_message_holds_no_spelling_of_the_password(dsn: str) -> None:
    proc = bulkinsert("run", "copy_text", "--rows", "10", "--dsn", dsn, env={DSN_ENV: dsn})
    assert proc.returncode == 1
    output = proc.stdout + proc.stderr
    assert "S3cr" not in output and "cannot connect" in output and "***" in output
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("dsn", "pieces"),
    [
        ("host=127.0.0.1 password=S3cret pieces dbname=x", ("S3cret", "pieces")),  # unquoted space
        ("host=127.0.0.1 password='S3cret", ("S3cret",)),  # unterminated quote
        ("postgresql://u:S3cr%zzet@127.0.0.1/x", ("S3cr", "zzet")),  # bad percent-escape
        ("postgresql://u:S3cret@[::1/x", ("S3cret",)),  # libpq quotes the whole URI
        ("nonsense password=S3cret", ("S3cret",)),
    ],
)
def test_invalid_dsn_is_one_line_without_the_password(dsn: str, pieces: tuple[str, ...]) -> None:
    with pytest.raises(InvalidDsn) as caught:
        parse_dsn(dsn)
    assert str(caught.value).startswith("invalid DSN: ")
    proc = bulkinsert("run", "copy_text", "--rows", "10", "--dsn", dsn)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: invalid DSN: ") and len(proc.stderr.strip().splitlines()) == 1
    assert not [piece for piece in pieces if piece in proc.stdout + proc.stderr]


def test_invalid_dsn_keeps_libpqs_pointer_to_a_misspelt_key() -> None:
    with pytest.raises(InvalidDsn, match='invalid connection option "hots"'):
        parse_dsn("hots=127.0.0.1 password=S3cret")


def test_a_quoted_spaced_password_works_on_the_real_server_and_never_shows(db: Database) -> None:
    if os.environ.get(DSN_ENV):
        pytest.skip("needs the embedded server (trust authentication ignores the password)")
    dsn = make_dsn(db.dsn, password="a b'c Planted")  # libpq's quoting, key=value form
    assert "://" not in dsn and parse_dsn(dsn)["password"] == "a b'c Planted"
    ok = bulkinsert("run", "copy_text", "--rows", "200", "--json", "--dsn", dsn, env={DSN_ENV: dsn})
    assert ok.returncode == 0, ok.stderr
    missing = bulkinsert("run", "copy_text", "--dsn", dsn.replace(f"dbname={parse_dsn(dsn)['dbname']}",
                                                                  "dbname=no_such_db"), env={DSN_ENV: dsn})
    assert missing.returncode == 1 and "no_such_db" in missing.stderr
    for proc in (ok, missing):
        assert "Planted" not in proc.stdout + proc.stderr
