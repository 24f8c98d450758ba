"""One guard for every command: an expected failure is one password-free line and an exit status.

``bulkinsert``'s root group runs every command inside :func:`guard` (:class:`bulkinsert.cli.main.Guarded`),
so ``run``, ``ladder``, ``compare``, ``report`` and the rest report the same way. The release tools
add the failures of working with package indexes, environments and files (a bad release, an
unreachable index: ``LookupError``, ``OSError``, ``ValueError``) with :func:`guarded`, and print an
unsupported strategy's reason without the ``unsupported:`` label (their exit status says it).
A failure that is none of these is a bug: its traceback is shown.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..errors import BulkInsertError, Unsupported

EXIT_FAILURE = 1
EXIT_UNSUPPORTED = 2  # the strategy cannot run here, or the strategy file is bad: nothing was measured
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Policy:
    """How one family of commands words and numbers its expected failures."""

    label_unsupported: bool  # "unsupported: REASON" (the measuring commands) or the reason alone
    also: tuple[type[Exception], ...]  # further exception types that are expected (exit 1)
    strategy_file_status: int  # a bad --strategies-from file


COMMANDS = Policy(label_unsupported=True, also=(KeyError,), strategy_file_status=EXIT_UNSUPPORTED)
RELEASE_TOOLS = Policy(label_unsupported=False, also=(LookupError, OSError, ValueError),
                       strategy_file_status=EXIT_FAILURE)


def _first_line(exc: BaseException) -> str:
    message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return message.strip().splitlines()[0] if message.strip() else repr(exc)


def failure(exc: BaseException, policy: Policy = COMMANDS) -> tuple[str, int] | None:
    """The one line and exit status of an expected failure; None when it is a bug."""
    from ..measure.failures import describe_failure, is_database_error
    from ..user_strategies import UserStrategiesError

    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", EXIT_INTERRUPTED
    if isinstance(exc, Unsupported):
        return (f"unsupported: {_first_line(exc)}" if policy.label_unsupported else _first_line(exc)), EXIT_UNSUPPORTED
    if isinstance(exc, UserStrategiesError):
        return _first_line(exc), policy.strategy_file_status
    if isinstance(exc, (BulkInsertError, *policy.also)):
        return _first_line(exc), EXIT_FAILURE
    if isinstance(exc, Exception) and is_database_error(exc):
        return f"database error: {describe_failure(exc)}", EXIT_FAILURE
    return None


def fail(message: str, code: int = EXIT_FAILURE) -> None:
    """Print one password-free line to stderr and exit."""
    import click

    from ..pg.server import scrub

    click.echo(f"error: {scrub(message)}", err=True)
    sys.exit(code)


@contextmanager
def guard(policy: Policy = COMMANDS) -> Iterator[None]:
    """Run the block; an expected failure becomes one line on stderr and its exit status."""
    try:
        yield
    except (Exception, KeyboardInterrupt) as exc:
        found = failure(exc, policy)
        if found is None:
            raise
        fail(*found)


def guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """``command`` run inside :func:`guard` with the release tools' policy."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with guard(RELEASE_TOOLS):
            return command(*args, **kwargs)

    return wrapper
