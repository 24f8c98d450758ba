"""``python -m bulkinsert`` / ``bulkinsert``: list, run, ladder, compare, site, server."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

try:
    import click
except ImportError as exc:  # the measuring core alone (asv's and release environments)
    raise SystemExit(f"error: the bulkinsert command needs {exc.name}: pip install 'bulkinsert[analysis]'") from None

from .. import registry, user_strategies
from ..data.schema import DEFAULT_ROWS
from ..pg.placement import click_option as placement_option
from ..pg.placement import last_applied
from ..pg.placement import select as select_placement
from .driver_options import driver_option, drivers_of, on_driver, print_strategy_table, strategy_info
from .guard import guard
from .workload_options import selected_workload, workload_options


class Guarded(click.Group):
    """Every command's expected failures as one-line errors instead of tracebacks (:mod:`bulkinsert.cli.guard`)."""

    def invoke(self, ctx: click.Context) -> Any:
        with guard():
            return super().invoke(ctx)


@click.group(cls=Guarded, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bulkinsert")
def cli() -> None:
    """Measure every way to bulk-insert rows into PostgreSQL with SQLAlchemy and psycopg2."""


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of objects.")
@user_strategies.strategies_from_option
@driver_option
def list_command(as_json: bool, driver: str | None) -> None:
    """List the registered strategies, the drivers each runs on and whether it runs here."""
    infos = user_strategies.mark_from_file([strategy_info(on_driver(s, driver)) for s in registry.load().values()])
    if as_json:
        click.echo(json.dumps(infos, indent=2))
        return
    print_strategy_table(infos)


def _load_names(rows: int | None, names_json: Path | None, workload: Any, seed: int = 0) -> Sequence[Any]:
    from ..measure.runner import InsertError

    if names_json is None:
        return workload.rows(DEFAULT_ROWS if rows is None else rows, seed)
    if workload.name != "users":
        raise click.UsageError("--names-json inserts names into users; it does not combine with --workload")
    try:
        data = json.loads(names_json.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InsertError(f"cannot read {names_json}: {exc}") from None
    if not isinstance(data, list):
        raise InsertError(f"{names_json} must hold a JSON array of strings, not {type(data).__name__}")
    return data


@cli.command("run")
@click.argument("strategy_name", metavar="STRATEGY")
@click.option("--rows", type=click.IntRange(min=0), help=f"Insert N generated USER%04d names [{DEFAULT_ROWS}].")
@click.option(
    "--names-json",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Insert the strings of this JSON array, verbatim.",
)
@click.option("--dsn", help="PostgreSQL URL or DSN (default: $BULKINSERT_DSN or the embedded server).")
@click.option(
    "--profile", "profile_path", type=click.Path(path_type=Path, dir_okay=False), help="Write a cProfile capture."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@workload_options
@click.option("--check", is_flag=True, help="Afterwards, compare the table with the expected rows in the server.")
@click.option("--instructions", "count_instructions", is_flag=True,
              help="Also count the client instructions of one more insert, under valgrind (callgrind).")
@driver_option
@placement_option()
def run_command(
    strategy_name: str,
    rows: int | None,
    names_json: Path | None,
    dsn: str | None,
    profile_path: Path | None,
    as_json: bool,
    workload_name: str,
    present: int | None,
    seed: int,
    check: bool,
    count_instructions: bool,
    driver: str | None,
    placement: str,
) -> None:
    """Reset the table, insert with STRATEGY and report what it cost.

    Two inserts, one after the other: a plain one gives the wall time, CPU and server
    statements; a second one, with the driver's calls wrapped, gives the DB-API and encode
    time (and its own wall time, shown beside them). ``--profile`` adds a third, under
    cProfile; ``--instructions`` one more, in a process under valgrind, whose client
    instructions are counted. Another measurement on the same server is waited for (one line
    says whose).
    """
    from ..measure.runner import refuse, run_insert
    from ..measure.timing import GC_REGIME
    from ..pg.database import Database
    from ..pg.turns import describe_process

    if rows is not None and names_json is not None:
        raise click.UsageError("give --rows or --names-json, not both")
    strategy = on_driver(registry.get(strategy_name), driver)
    workload = selected_workload(workload_name, present, [strategy])
    names = _load_names(rows, names_json, workload, seed)
    refuse(strategy, names)  # first: an unsupported strategy or bad input never waits for the server's turn
    select_placement(placement)
    describe_process(f"bulkinsert run {strategy.name}")
    with Database(dsn, instrument=False) as db, Database(db.dsn, instrument=True) as driver_db:
        with db.turn:  # the three inserts back to back, nobody else's in between
            result = run_insert(strategy, names, db=db)
            driver = run_insert(strategy, names, db=driver_db)
            profiled = (
                run_insert(strategy, names, db=db, profile_path=profile_path, count_calls=True)
                if profile_path is not None
                else None
            )
            if check:
                from ..data.exact import check_exact

                check_exact(db, names, workload)  # raises NotExact: one line, exit 1
        note = db.statements_unavailable
        dsn_used = db.dsn
    instructions = (_instructions_of([strategy], len(names), workload, seed, dsn_used, names_json)
                    if count_instructions else None)
    if as_json:
        data = result.as_dict()
        data.update(workload=workload.name, exact=True if check else None)
        data.update(
            dbapi_seconds=driver.dbapi_seconds,
            encode_seconds=driver.encode_seconds,
            dbapi_share=round(driver.dbapi_share, 4),
            instrumented_seconds=driver.seconds,
            gc=GC_REGIME,
        )
        if profiled is not None:
            data.update(profiled_seconds=profiled.seconds, function_calls=profiled.function_calls)
        data.update(_instructions_fields(instructions, strategy))
        click.echo(json.dumps(data))
    else:
        statements = "n/a" if result.statements is None else f"{result.statements:,}"
        on = "" if result.driver == "psycopg2" else f" (driver {result.driver})"
        click.echo(
            f"{result.strategy}{on}: {result.rows:,} rows in {result.seconds:.4f} s "
            f"(client CPU {result.cpu_seconds:.4f} s); server statements: {statements}"
        )
        click.echo(
            f"  driver calls, from a second insert with them instrumented ({driver.seconds:.4f} s): "
            f"DB-API {driver.dbapi_seconds:.4f} s ({driver.dbapi_share:.0%}), "
            f"payload encoding inside them {driver.encode_seconds:.4f} s"
        )
        click.echo(f"  placement: {_placement_line()}")
        if instructions is not None:
            click.echo(f"  client instructions, from one more insert under valgrind: "
                       f"{_instructions_text(instructions, strategy)}")
        if profiled is not None:
            click.echo(
                f"profile written to {profile_path} ({profiled.function_calls:,} function calls, "
                f"{profiled.seconds:.4f} s under cProfile)"
            )
    if note:
        click.echo(f"note: {note}", err=True)


def _instructions_of(strategies: Sequence[registry.Strategy], rows: int, workload: Any, seed: int,
                     dsn: str | None, names_json: Path | None = None) -> tuple[dict[str, Any], str | None, dict]:
    """``({strategy label: Figure}, reason, conditions)``: each strategy's client instructions for
    ``rows`` rows, all counted in one process under valgrind (reason: why all are n/a)."""
    from ..measure import instructions

    if names_json is not None:
        reason = "instructions n/a: counted for generated rows only (--rows), not --names-json"
        return {s.label: instructions.Figure(skip=reason) for s in strategies}, reason, {}
    requests = [(s.name, rows, s.driver if s.driver != s.drivers[0] else None) for s in strategies]
    requested: dict[str, Any] = {"workload": workload.name, "seed": seed}
    if workload.name == "populated":
        requested["present"] = workload.present
    figures, reason = instructions.measure_many(requests, workload=requested, dsn=dsn)
    labels = {request: s.label for request, s in zip(requests, strategies, strict=True)}
    return ({labels[request]: figure for request, figure in figures.items()}, reason,
            {} if reason else instructions.conditions(instructions.valgrind_version()))


def _instructions_text(instructions: tuple[dict[str, Any], str | None, dict], strategy: registry.Strategy) -> str:
    figure = instructions[0].get(strategy.label)
    if figure is None:
        return "n/a"
    if figure.instructions is not None:
        return f"{figure.instructions:,}"
    return f"n/a ({figure.skip})" if figure.skip else f"failed ({figure.error})"


def _instructions_cell(instructions: tuple[dict[str, Any], str | None, dict], strategy: registry.Strategy) -> str:
    figure = instructions[0].get(strategy.label)
    if figure is None or figure.instructions is None:
        return "n/a" if figure is None or figure.skip else "failed"
    return f"{figure.instructions:,}"


def _instructions_fields(instructions: tuple[dict[str, Any], str | None, dict] | None,
                         strategy: registry.Strategy) -> dict[str, Any]:
    """The ``--json`` keys: ``instructions`` (None when not counted), why not, and what was fixed."""
    if instructions is None:
        return {"instructions": None, "instructions_note": "not counted (add --instructions)"}
    figure = instructions[0].get(strategy.label)
    fields: dict[str, Any] = {"instructions": figure.instructions if figure else None}
    if figure is not None and figure.instructions is None:
        fields["instructions_note"] = figure.skip or figure.error
    if instructions[2]:
        fields["instructions_conditions"] = instructions[2]
    return fields


def _placement_dict() -> dict[str, Any] | None:
    applied = last_applied()
    return applied.as_dict() if applied is not None else None


def _placement_line() -> str:
    from ..pg.placement import last_applied

    applied = last_applied()
    return applied.describe() if applied is not None else "n/a"


def _select_strategies(spec: str | None) -> list[registry.Strategy]:
    all_strategies = registry.load()
    if not spec:
        return list(all_strategies.values())
    wanted = [part.strip() for part in spec.replace(" ", ",").split(",") if part.strip()]
    return [registry.get(name) for name in wanted]


def _fmt(value: float | None, pattern: str) -> str:
    return "–" if value is None else format(value, pattern)


@cli.command("ladder")
@click.option("--rows", type=click.IntRange(min=1), default=DEFAULT_ROWS, show_default=True)
@click.option("--strategies", "spec", help="Comma-separated strategy names [all].")
@click.option(
    "--repeat", type=click.IntRange(min=1), default=3, show_default=True,
    help="Interleaved rounds; every column is the median of its samples.",
)
@click.option("--no-profile", is_flag=True, help="Skip the cProfile runs (no calls and overhead columns).")
@click.option("--no-dbapi", is_flag=True, help="Skip the instrumented runs (no DB-API and encode columns).")
@click.option("--profile-dir", type=click.Path(path_type=Path, file_okay=False), help="Keep the .prof captures here.")
@click.option("--dsn", help="PostgreSQL URL or DSN (default: $BULKINSERT_DSN or the embedded server).")
@click.option("--json", "as_json", is_flag=True, help="Print the scoresheet as JSON.")
@click.option("--instructions", "count_instructions", is_flag=True,
              help="Add each strategy's client instructions, counted in one process under valgrind.")
@workload_options
@driver_option
@placement_option()
def ladder_command(
    workload_name: str,
    present: int | None,
    seed: int,
    rows: int,
    spec: str | None,
    repeat: int,
    no_profile: bool,
    no_dbapi: bool,
    profile_dir: Path | None,
    dsn: str | None,
    as_json: bool,
    count_instructions: bool,
    driver: str | None,
    placement: str,
) -> None:
    """The talk's scoresheets for every strategy, measured side by side in one run.

    Each round runs every strategy plain, with the driver instrumented and under cProfile;
    each column is the median of the samples of one of those modes. ``--instructions``: then one
    more insert per strategy, all in one process under valgrind, counts client instructions.
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from ..compat import library_versions
    from ..measure.ladder import run_ladder
    from ..measure.timing import GC_REGIME
    from ..pg.turns import describe_process

    strategies = [on_driver(s, name) for s in _select_strategies(spec) for name in drivers_of(driver)]
    workload = selected_workload(workload_name, present, strategies)
    select_placement(placement)
    describe_process(f"bulkinsert ladder --rows {rows} --workload {workload.name}")
    runnable = sum(1 for s in strategies if s.supported)
    steps = runnable * repeat * (1 + (0 if no_dbapi else 1) + (0 if no_profile else 1))
    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
        console=console, transient=True, disable=as_json and not console.is_terminal,
    ) as progress:
        task = progress.add_task("starting", total=steps)

        def on_step(label: str) -> None:
            if label:
                progress.update(task, description=label)
                progress.advance(task)

        results, skipped, cpu_speed = run_ladder(
            strategies, rows, repeat=repeat, profile=not no_profile, dbapi=not no_dbapi,
            profile_dir=profile_dir, dsn=dsn, on_step=on_step, workload=workload, seed=seed,
        )
    by_label = {s.label: s for s in strategies}
    measured = [by_label[r.strategy] for r in results]
    instructions = _instructions_of(measured, rows, workload, seed, dsn) if count_instructions else None
    if as_json:
        click.echo(json.dumps({
            "rows": rows, "workload": workload.name, "present": workload.present, "repeat": repeat,
            "drivers": drivers_of(driver),
            "statistic": "median", "gc": GC_REGIME,
            "versions": library_versions(), "placement": _placement_dict(),
            "results": [{**r.as_dict(), **_instructions_fields(instructions, by_label[r.strategy])} for r in results],
            "skipped": skipped, "cpu_speed": cpu_speed.as_dict(),
        }, indent=2))
        return
    versions = ", ".join(f"{k} {v}" for k, v in library_versions().items())
    into = f"workload {workload.name}" + (f", {workload.present:,} rows present" if workload.present else "")
    into += f", drivers {driver}" if driver else ""
    table = Table(title=f"{rows:,} rows ({into}), median of {repeat} interleaved rounds ({versions})")
    for column in ("strategy", "total s", "CPU s", "statements", "× faster than orm_basic", "rows/s",
                   "× server floor", "instr. s", "DB-API s", "encode s", "DB-API %", "cProfile s",
                   "overhead", *(("instructions",) if instructions is not None else ())):
        table.add_column(column, justify="left" if column == "strategy" else "right", no_wrap=True)
    for r in results:
        counted = () if instructions is None else (_instructions_cell(instructions, by_label[r.strategy]),)
        table.add_row(
            r.strategy, f"{r.seconds:.4f}", f"{r.cpu_seconds:.4f}", _fmt(r.statements, ","),
            _fmt(r.speedup, ".1f"), f"{r.rows_per_second:,.0f}", _fmt(r.floor_ratio, ".2f"),
            _fmt(r.instrumented_seconds, ".4f"), _fmt(r.dbapi_seconds, ".4f"), _fmt(r.encode_seconds, ".4f"),
            _fmt(r.dbapi_share, ".0%"), _fmt(r.profiled_seconds, ".4f"), r.overhead_text or "–", *counted,
        )
    table.caption = (
        f"{GC_REGIME}. total/CPU/statements: plain runs; instr./DB-API/encode/DB-API %: runs with "
        "the driver's calls wrapped (DB-API % = DB-API s ÷ instr. s, same samples); cProfile s and "
        "overhead (÷ total s): profiled runs, \"within noise\" when it does not clear the spread of the "
        f"plain samples. CPU placement: {_placement_line()}."
    )
    out = Console() if sys.stdout.isatty() else Console(width=220)
    out.print(table)
    out.print(cpu_speed.summary(), markup=False, highlight=False)
    for name, reason in skipped.items():
        out.print(f"skipped {name}: {reason}", markup=False, highlight=False)
    if instructions is not None:
        if instructions[1]:  # one line for the whole column: what to install
            out.print(instructions[1], markup=False, highlight=False)
        else:
            out.print("instructions: client instructions of one more insert each, one process under valgrind "
                      f"({', '.join(f'{k} {v}' for k, v in instructions[2].items())})", markup=False, highlight=False)
        for label, figure in instructions[0].items():
            if figure.error:
                out.print(f"instructions of {label} failed: {figure.error}", markup=False, highlight=False)


def _add_optional_commands() -> None:
    """Command groups kept in modules of their own (and those that arrive with the site)."""
    import importlib

    for module_name, attribute in (
        ("cli.server_cli", "server_group"), ("analysis.compare", "compare_command"), ("site", "site_command"),
        ("releases.cli", "releases_group"), ("analysis.report", "report_group"),
    ):
        try:
            module = importlib.import_module(f"bulkinsert.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bulkinsert.{module_name}":
                raise
            continue
        command = getattr(module, attribute, None)
        if command is not None:
            cli.add_command(command)


_add_optional_commands()


def main(argv: Sequence[str] | None = None) -> int:
    import logging

    # Library loggers (e.g. the connection pool after a server crash) would print tracebacks
    # through logging's last-resort handler; the CLI reports failures in one line instead.
    logging.getLogger("sqlalchemy").addHandler(logging.NullHandler())
    interrupted = _remember_interrupts()
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="bulkinsert", standalone_mode=True)
    except SystemExit as exc:
        code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
    else:
        code = 0
    if code == 0 and interrupted():
        # Ctrl-C that landed where Python cannot raise it (a finalizer run by the garbage
        # collector swallows exceptions): the run still must not look like a success.
        click.echo("error: interrupted", err=True)
        return 130
    return code


def _remember_interrupts() -> Callable[[], bool]:
    """Keep Python's Ctrl-C behaviour, and remember that it happened."""
    import signal

    seen: list[int] = []

    def handler(signum: int, _frame: Any) -> None:
        seen.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    return lambda: bool(seen)
