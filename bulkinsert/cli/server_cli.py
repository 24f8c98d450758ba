"""``bulkinsert server``: look after the embedded PostgreSQL from the command line."""

from __future__ import annotations

import subprocess
import sys

import click


@click.group("server")
def server_group() -> None:
    """The embedded PostgreSQL server (ignored when $BULKINSERT_DSN is set)."""


@server_group.command("status")
def server_status() -> None:
    """Say whether the embedded server is running, and where its data lives."""
    from ..pg.server import embedded_server

    server = embedded_server()
    state = "running" if server.is_running() else "stopped"
    click.echo(f"embedded PostgreSQL {state}; data directory {server.pgdata}")


@server_group.command("stop")
def server_stop() -> None:
    """Stop the embedded server now."""
    from ..pg.server import embedded_server

    stopped = embedded_server().stop()
    click.echo("stopped" if stopped else "not running")


@server_group.command("hold", context_settings={"ignore_unknown_options": True})
@click.option("--own-database", is_flag=True, help="Give COMMAND a database of its own, dropped afterwards.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def server_hold(own_database: bool, command: tuple[str, ...]) -> None:
    """Keep one embedded server up while COMMAND runs (e.g. ``-- asv run``); exit with its status.

    With ``--own-database`` concurrent runs (two ``make bench``, or tests during a benchmark
    run) never share a table.
    """
    from ..pg.server import held_server

    with held_server(own_database=own_database) as env:
        try:
            code = subprocess.call(list(command), env=env)
        except FileNotFoundError:
            click.echo(f"error: command not found: {command[0]}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            code = 130
    sys.exit(code)
