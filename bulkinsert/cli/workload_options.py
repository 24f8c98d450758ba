"""The command line's workload options (``--workload``, ``--present``, ``--seed``, ``--strategies-from``), shared by run
and ladder."""

from __future__ import annotations

from collections.abc import Sequence
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
    """Add the workload options to a click command (and ``--strategies-from``: a file's own workloads)."""
    from ..user_strategies import strategies_from_option

    for option in reversed(_OPTIONS):
        command = option(command)
    return strategies_from_option(command)


def selected_workload(workload_name: str, present: int | None, strategies: Sequence[Any] = ()) -> Any:
    """The workload the options name; ``--present`` only with ``populated`` (a usage error otherwise).

    Without ``--workload``: the workload ``strategies`` were written for, when they share one
    (a user's file, :func:`bulkinsert.data.workloads.register_workload`).
    """
    from ..data import workloads

    source = click.get_current_context().get_parameter_source("workload_name")
    own = {workloads.workload_for(s.name) for s in strategies}
    if source == click.core.ParameterSource.DEFAULT and len(own) == 1 and None not in own:
        return own.pop()

    if present is not None and workload_name != "populated":
        raise click.UsageError("--present applies to --workload populated only")
    return workloads.get(workload_name, present=present)
