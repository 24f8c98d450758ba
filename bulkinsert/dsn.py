"""Connection strings: where ``BULKINSERT_DSN`` is read, and how a password is kept out of output.

A leaf module (nothing from the package), so every writer of messages, results and pages can
scrub what it writes. A DSN's password never appears in output, results or the site.
"""

from __future__ import annotations

import os
import re

DSN_ENV = "BULKINSERT_DSN"
# Every connection gives up after this many seconds: a wrong or unreachable DSN fails quickly.
CONNECT_TIMEOUT_SECONDS = 5


def mask_dsn(dsn: str) -> str:
    """Return ``dsn`` with any password replaced by ``***`` (URL and key=value forms)."""
    masked = re.sub(r"(://[^:/@?#]*:)([^@/?#]*)@", r"\1***@", dsn)
    masked = re.sub(r"(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", masked)
    return re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", masked)


def dsn_password(dsn: str) -> str | None:
    """The password a DSN carries, if any (used to scrub it from anything we write)."""
    match = re.search(r"://[^:/@?#]*:([^@/?#]+)@", dsn) or re.search(
        r"(?i)password\s*=\s*'?([^'\s&]+)", dsn
    )
    return match.group(1) if match else None


def scrub(text: str, dsn: str | None = None) -> str:
    """Remove a DSN's password (``dsn``, else ``$BULKINSERT_DSN``'s) from arbitrary text."""
    dsn = dsn if dsn is not None else os.environ.get(DSN_ENV, "")
    password = dsn_password(dsn) if dsn else None
    if password:
        text = text.replace(password, "***")
    return mask_dsn(text)
