"""Connection strings: where ``BULKINSERT_DSN`` is read, and how a password is kept out of output.

A leaf module (nothing from the package), so every writer of messages, results and pages can
scrub what it writes. A DSN's password never appears in output, results or the site.

DSNs are read by libpq's own parser (``psycopg2.extensions.parse_dsn``): quoted values, backslash
escapes and a URI's percent-escapes mean what they mean to the connection, so ``password='a b'``
is the password ``a b``, not ``a``. The password is then removed from text in every spelling it
can have there: as libpq reads it, and as written in the DSN (quoted, escaped, percent-encoded).
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote

DSN_ENV = "BULKINSERT_DSN"
# Every connection gives up after this many seconds: a wrong or unreachable DSN fails quickly.
CONNECT_TIMEOUT_SECONDS = 5
MASK = "***"

_URI = re.compile(r"(?i)^\s*postgres(?:ql)?://")
# libpq: the user info ends at the first "@" before any "/"; the password follows its first ":".
_URI_PASSWORD = re.compile(r"(?i)(postgres(?:ql)?://[^@/:\s]*:)([^@/\s]*)(@)")
_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)([^&#\s]*)")
# A key=value password as libpq reads it: single-quoted with backslash escapes, or up to whitespace.
_KEYWORD_PASSWORD = re.compile(r"(?i)(?<![\w.])(password\s*=\s*)('(?:[^'\\]|\\.)*'?|(?:[^\s'\\]|\\.)+)")
_QUOTED = re.compile(r'"([^"]*)"')


class InvalidDsn(ValueError):
    """libpq cannot read the DSN; the message is one line, with no value of the DSN in it."""


def parse_dsn(dsn: str) -> dict[str, str]:
    """The DSN's settings exactly as libpq reads them (key=value or URI); :class:`InvalidDsn` if it cannot."""
    import psycopg2
    from psycopg2.extensions import parse_dsn as libpq_parse_dsn

    try:
        return libpq_parse_dsn(dsn)
    except (psycopg2.Error, ValueError) as exc:
        raise InvalidDsn(f"invalid DSN: {_safe_reason(dsn, str(exc))}") from None


def _safe_reason(dsn: str, message: str) -> str:
    """libpq's reason on one line, with its quotes of the DSN elided unless they quote a key.

    libpq quotes the offending part ("invalid percent-encoded token", the whole URI, the word
    after an unquoted space in a password), which can be the password or a piece of it.
    """
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    reason = re.sub(r"(?i)^invalid dsn:\s*", "", lines[0] if lines else "not a connection string")
    secrets = _written_secrets(dsn)

    def quoted(match: re.Match[str]) -> str:
        fragment = match.group(1)
        punctuation = len(fragment) == 1 and not fragment.isalnum()  # missing "=", matching "]"
        is_key = fragment.isidentifier() and re.search(rf"(?:^|[\s?&]){re.escape(fragment)}\s*=", dsn) is not None
        safe = (punctuation or is_key) and not any(secret in fragment for secret in secrets)
        return match.group(0) if safe else '"…"'

    return _QUOTED.sub(quoted, reason)


def _unescape(value: str) -> str:
    """A key=value value as libpq reads it: quotes removed, ``\\x`` is ``x``."""
    if value.startswith("'"):
        value = value[1:-1] if len(value) > 1 and value.endswith("'") else value[1:]
    return re.sub(r"\\(.)", r"\1", value)


def _written_secrets(dsn: str) -> list[str]:
    """The password(s) as written in ``dsn`` and unquoted, found without libpq (also in an invalid DSN)."""
    found: set[str] = set()
    if _URI.match(dsn):
        userinfo = re.match(r"(?i)\s*postgres(?:ql)?://([^@/]*)@", dsn)
        if userinfo and ":" in userinfo.group(1):
            written = userinfo.group(1).split(":", 1)[1]
            found |= {written, unquote(written)}
        for match in _QUERY_PASSWORD.finditer(dsn):
            found |= {match.group(2), unquote(match.group(2))}
    else:
        for match in _KEYWORD_PASSWORD.finditer(dsn):
            found |= {match.group(2), _unescape(match.group(2))}
    return _longest_first(found)


def _longest_first(secrets: set[str]) -> list[str]:
    """Longest first, so ``'a b'`` goes whole before ``a b`` is looked for."""
    return sorted((secret for secret in secrets if secret), key=lambda secret: (-len(secret), secret))


def dsn_secrets(dsn: str) -> list[str]:
    """Every spelling of the DSN's password(s) that text can contain, longest first.

    As libpq reads it and as written in the DSN: ``'a b'`` and ``a b``, ``p%40ss`` and ``p@ss``.
    A URI can carry two (user info and ``?password=``); libpq uses the last, both are secret.
    """
    found = set(_written_secrets(dsn))
    try:
        found.add(parse_dsn(dsn).get("password", ""))
    except InvalidDsn:
        pass
    return _longest_first(found)


def mask_dsn(dsn: str) -> str:
    """``dsn`` as written with its password replaced by ``***`` (URI and key=value forms)."""
    return scrub(dsn, dsn)


def _mask_text(text: str) -> str:
    """Mask the password of any DSN quoted in ``text`` (one whose password is not known)."""
    masked = _URI_PASSWORD.sub(rf"\1{MASK}\3", text)
    masked = _QUERY_PASSWORD.sub(rf"\1{MASK}", masked)
    return _KEYWORD_PASSWORD.sub(lambda match: match.group(1) + MASK, masked)


def scrub(text: str, dsn: str | None = None) -> str:
    """Remove a DSN's password (``dsn``, else ``$BULKINSERT_DSN``'s) from arbitrary text.

    Every occurrence goes, wherever it is (inside a host name too: a password must never be
    shown); then any password in a DSN quoted in the text is masked as well.
    """
    dsn = dsn if dsn is not None else os.environ.get(DSN_ENV, "")
    for secret in dsn_secrets(dsn) if dsn else []:
        text = text.replace(secret, MASK)
    return _mask_text(text)
