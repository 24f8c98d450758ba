"""The exceptions every part of the package shares.

A leaf module: it imports nothing from the package, so ``compat``, ``registry``, ``runner`` and
``server`` can all raise these without importing each other. Each message is one line and
never carries a DSN's password.
"""

from __future__ import annotations

__all__ = ["BulkInsertError", "DatabaseUnavailable", "InsertError", "Unsupported"]


class BulkInsertError(Exception):
    """Base of the errors the package reports to its user with a one-line message."""


class Unsupported(BulkInsertError):
    """A strategy cannot run with the installed libraries; the message says why."""


class InsertError(BulkInsertError):
    """An insert was refused or failed; the table is as it was before."""


class DatabaseUnavailable(BulkInsertError, RuntimeError):
    """The database could not be reached or started."""
