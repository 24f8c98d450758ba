"""The command line's workload options (``--workload``, ``--present``, ``--seed``), shared by run and ladder."""

from __future__ import annotations

from typing import Any

import click

_OPTIONS = (
    click.option("--workload", "workload_name", type=click.Choice(["users", "populated", "wide"]), default="users",
                 show_default=True, help="users: the talk's table, empty; populated: users already holding "
                 "--present rows; wide: eleven typed columns with edge values."),
    click.option("--present", type=click.IntRange(min=0),
                 help="Rows already in users for --workload populated [1000000]."),
    click.option("--seed", type=int, default=0, show_default=True, help="Seed of the wide workload's rows."),
)


def workload_options(command: Any) -> Any:
    """Add the workload options to a click command."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def selected_workload(workload_name: str, present: int | None) -> Any:
    """The workload the options name; ``--present`` only with ``populated`` (a usage error otherwise)."""
    from . import workloads

    if present is not None and workload_name != "populated":
        raise click.UsageError("--present applies to --workload populated only")
    return workloads.get(workload_name, present=present)
