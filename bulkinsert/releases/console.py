"""The release tools' console: expected failures as one line, and a progress bar on stderr.

Shared by ``bulkinsert releases`` (cli.py) and ``releases watch`` (watchcli.py), which cli.py
registers: kept apart from both so neither imports the other back.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from ..errors import BulkInsertError, Unsupported
from ..server import scrub


def guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """The release tools' expected failures as one password-free line on stderr: exit 1, 2 if unsupported."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (BulkInsertError, LookupError, OSError, ValueError) as exc:
            message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
            click.echo(f"error: {scrub(message.strip().splitlines()[0] if message.strip() else repr(exc))}", err=True)
            sys.exit(2 if isinstance(exc, Unsupported) else 1)

    return wrapper


@contextmanager
def progress_display(total: int, label: str) -> Iterator[Callable[[int, str], None]]:
    """A rich progress bar on stderr; ``update(done, text)`` moves it."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(label, total=total)

        def update(done: int, text: str) -> None:
            progress.update(task, completed=done, description=text)

        yield update
