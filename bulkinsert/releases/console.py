"""The release tools' console: a progress bar on stderr (their one-line errors: :mod:`bulkinsert.cli.guard`).

Shared by ``bulkinsert releases`` (cli.py) and ``releases watch`` (watchcli.py), which cli.py
registers: kept apart from both so neither imports the other back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


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
