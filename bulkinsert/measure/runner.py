"""Run one strategy honestly: everything but the insert happens before the timer starts.

:func:`before_timer` is the one pre-timer sequence (``run_insert``, the ladder and the asv suite
all call it); :func:`run_rounds` is the one loop that measures several strategies side by side.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import compat, registry
from ..data.schema import default_names
from ..data.typedrows import encodable
from ..data.workloads import Workload, validate_rows, workload_of
from ..errors import InsertError, Unsupported
from ..pg import placement
from ..pg.database import Database
from ..pg.server import embedded_postmaster
from ..registry import Strategy
from .cpuprobe import CpuSpeed, probe
from .failures import describe_failure, is_database_error
from .timing import InsertResult, function_calls, profiled, timed

__all__ = [
    "InsertError", "Mode", "Rounds", "Unsupported", "before_timer", "run_insert", "run_rounds",
    "validate_names",
]

_PREVIEW = 60


def _preview(text: str) -> str:
    return repr(text if len(text) <= _PREVIEW else text[:_PREVIEW] + "…")


def validate_names(names: Sequence[Any]) -> None:
    """Refuse, before anything is written, input PostgreSQL ``text`` cannot store exactly."""
    for index, name in enumerate(names):
        if type(name) is not str:
            raise InsertError(f"name #{index} is {type(name).__name__}, not str: {_preview(repr(name))}")
    joined = "".join(names)
    if "\x00" in joined:
        index = next(i for i, name in enumerate(names) if "\x00" in name)
        raise InsertError(
            f"name #{index} {_preview(names[index])} contains a NUL character, which PostgreSQL text "
            "cannot store; nothing was inserted"
        )
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        index = next(i for i, name in enumerate(names) if not encodable(name))
        raise InsertError(
            f"name #{index} {_preview(names[index])} is not valid Unicode (lone surrogate); "
            "nothing was inserted"
        ) from None


def _server_gone(db: Database) -> bool:
    """Whether the server stopped answering (killed, crashed, shut down)."""
    import psycopg2

    try:
        psycopg2.connect(db.dsn, connect_timeout=3).close()
    except psycopg2.Error:
        return True
    return False


# First-use costs (mapper configuration, statement-cache misses, a pooled connection's first
# transaction, a peer driver's type introspection) are paid by an untimed insert of this many
# rows, once per strategy and Database, before the first timed sample.
WARM_UP_ROWS = 100


def _resolve(strategy: Strategy | str) -> Strategy:
    strategy = registry.get(strategy) if isinstance(strategy, str) else strategy
    reason = strategy.unsupported_reason()
    if reason is not None:
        raise Unsupported(f"{strategy.label}: {reason}")
    return strategy


def _warm_up(strategy: Strategy, db: Database, workload: Workload) -> None:
    """One small untimed insert with this strategy on this Database (then emptied by reset).

    Names warm up on the empty ``users`` table (a ``populated`` refill is not needed for it);
    typed rows on their own table, with the strategy's path for them.
    """
    key = strategy.label if workload.single_column else f"{strategy.label}:{workload.name}"
    if key in db.warmed:
        return
    names = default_names(WARM_UP_ROWS) if workload.single_column else workload.rows(WARM_UP_ROWS)
    workload.with_present(0).reset(db)  # emptied: a populated refill is not needed to warm up
    if strategy.setup is not None:
        strategy.setup(db, names)
    before = db.statements_executed()
    try:
        db.call(strategy.function, names)
    except Exception as exc:
        if not is_database_error(exc):
            raise
        raise InsertError(f"{strategy.label}: warm-up insert failed: {describe_failure(exc)}") from None
    after = db.statements_executed()
    db.warmed.add(key)
    if before is not None and after is not None:
        db.warm_up_statements[key] = after - before


def sends_a_statement_per_row(db: Database, strategy: Strategy) -> bool:
    """Whether ``strategy``'s warm-up insert on ``db`` sent a statement for every other row or more.

    What the server counted here, with these library versions, not a list kept by hand: the
    upserts send one INSERT per row on SQLAlchemy 1.3 and 1.4 and a few per insert on 2.x.
    """
    sent = db.warm_up_statements.get(strategy.label)
    return sent is not None and sent >= WARM_UP_ROWS // 2


def refuse(strategy: Strategy | str, names: Sequence[Any]) -> tuple[Strategy, Workload]:
    """The refusal checks, in one place: raise before anything is written or waited for.

    An unsupported strategy (:class:`Unsupported`: libraries, driver, the rows' workload, values
    the driver cannot carry exactly) or invalid rows (:class:`InsertError`). Returns the strategy
    as it inserts the rows' workload (:func:`~bulkinsert.strategies.wide.for_workload`) and the workload.
    """
    from ..strategies.wide import for_workload

    workload = workload_of(names)
    strategy = for_workload(_resolve(strategy), workload)
    if workload.single_column:
        validate_names(names)
        if strategy.upserts:
            from ..strategies.upsert import refuse_repeated_names

            refuse_repeated_names(names)
    else:
        validate_rows(workload, names)
        inexact = compat.inexact_values_reason(strategy.engine_driver, names)
        if inexact is not None:
            raise Unsupported(f"{strategy.label}: workload {workload.name}: {inexact}")
    return strategy, workload


def before_timer(
    strategy: Strategy | str,
    names: Sequence[str],
    db: Database,
    *,
    reset: bool = True,
    warm_up: bool = True,
    collect_garbage: bool = True,
) -> Strategy:
    """Everything that happens before a timed insert, in one place; returns the strategy.

    In order: refuse an unsupported strategy or invalid names (:func:`refuse`, nothing
    written); switch ``db`` to the engine the strategy asks
    for (connected now); pin client and embedded server to the CPU placement
    (:mod:`bulkinsert.pg.placement`: ``--placement`` or ``$BULKINSERT_PLACEMENT``); warm up
    (``warm_up``, once per strategy and Database, needs ``reset``); empty ``users`` and
    CHECKPOINT (``reset``); the strategy's own ``setup`` hook (which may raise
    :class:`Unsupported`); a full garbage collection. The caller starts its
    timer right after, with the collector disabled (:data:`~bulkinsert.measure.timing.GC_REGIME`).

    The rows' workload (:func:`~bulkinsert.data.workloads.workload_of`; plain names are ``users``)
    decides the table, the validation, the reset (``populated`` refills its present rows here)
    and the strategy's function for it (``wide``: its typed path, or :class:`Unsupported`).
    """
    strategy, workload = refuse(strategy, names)
    db.use_engine(strategy.engine_kwargs(), strategy.engine_driver)
    # Client and server on the chosen CPUs before the warm-up, so warm-up and sample share them.
    placement.apply(embedded_postmaster(db.dsn))
    if reset:
        if warm_up:
            _warm_up(strategy, db, workload)
        workload.reset(db)  # users emptied, populated refilled, wide emptied
        db.checkpoint()
    if strategy.setup is not None:
        strategy.setup(db, names)
    if collect_garbage:  # False: the caller collects itself, last thing before its timer
        gc.collect()
    return strategy


def _versions(driver: str) -> dict[str, str]:
    versions = compat.library_versions()
    if driver not in versions:
        versions[driver] = compat.driver_version(driver) or "unknown"
    return versions


def run_insert(
    strategy: Strategy | str,
    names: Sequence[str],
    *,
    db: Database | None = None,
    profile_path: str | Path | None = None,
    count_calls: bool = False,
    reset: bool = True,
    warm_up: bool = True,
) -> InsertResult:
    """Insert ``names`` with ``strategy`` into an emptied ``users`` table and measure it.

    Holds the server's measuring turn (:mod:`bulkinsert.pg.turns`) throughout. Outside the
    timed region: :func:`before_timer` and the server statement snapshot. Inside:
    the strategy call only, ending with the rows committed, collector off. Raises
    :class:`Unsupported` or :class:`InsertError` (table left as before). An empty ``names`` is
    inserted like any other input: every strategy must commit nothing and succeed.
    ``reset=False`` keeps the rows already in the table (to insert on top of them).
    """
    own_db = db is None
    db = db or Database()
    try:
        with db.turn:  # one measurement per server at a time, reset to row count
            strategy = before_timer(strategy, names, db, reset=reset, warm_up=warm_up and reset, collect_garbage=False)
            applied = placement.last_applied()
            workload = workload_of(names)
            existing = workload.row_count(db)
            before = db.statements_executed()
            gc.collect()
            profile = None
            try:
                with timed() as timing:
                    if profile_path is not None or count_calls:
                        with profiled(profile_path) as profile:
                            db.call(strategy.function, names)
                    else:
                        db.call(strategy.function, names)
            except Exception as exc:
                if not is_database_error(exc):
                    raise
                if _server_gone(db):
                    raise InsertError(
                        f"{strategy.label}: the PostgreSQL server went away during the insert "
                        f"({describe_failure(exc)}); no result recorded — the next run starts a fresh server"
                    ) from None
                raise InsertError(f"{strategy.label}: {describe_failure(exc)}") from None
            after = db.statements_executed()
            inserted = workload.row_count(db) - existing
            if inserted != len(names):
                raise InsertError(
                    f"{strategy.label}: {inserted} rows in {workload.table.name} after inserting {len(names)} rows"
                )
            return InsertResult(
                strategy=strategy.name,
                rows=len(names),
                seconds=timing.seconds,
                cpu_seconds=timing.cpu_seconds,
                dbapi_seconds=timing.dbapi_seconds if db.instrument else 0.0,
                encode_seconds=timing.encode_seconds if db.instrument else 0.0,
                instrumented=db.instrument,
                statements=None if before is None or after is None else after - before,
                driver=strategy.driver,
                versions=_versions(strategy.engine_driver),
                profile_path=str(profile_path) if profile_path is not None else None,
                function_calls=function_calls(profile) if profile is not None else None,
                placement=applied.as_dict() if applied is not None else None,
            )
    finally:
        if own_db:
            db.close()


@dataclass(frozen=True)
class Mode:
    """One way every strategy is run in each round: plain, driver-instrumented or profiled."""

    name: str
    db: Database
    count_calls: bool = False
    profile_path: Callable[[str], Path | None] | None = None  # strategy name -> capture path


@dataclass
class Rounds:
    """Samples from :func:`run_rounds`: ``samples[strategy][mode]`` in round order."""

    samples: dict[str, dict[str, list[InsertResult]]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    cpu_speed: CpuSpeed = field(default_factory=CpuSpeed)  # probed before each round when asked

    def of(self, strategy: str, mode: str) -> list[InsertResult]:
        return self.samples.get(strategy, {}).get(mode, [])


def run_rounds(
    strategies: Sequence[Strategy],
    names: Sequence[str],
    modes: Sequence[Mode],
    *,
    rounds: int,
    on_step: Callable[[str], None] | None = None,
    keep_going: bool = False,
    probe_cpus: bool = False,
) -> Rounds:
    """Interleaved rounds: every strategy once per mode in each round, every sample kept.

    The order of the modes rotates from round to round (plain first, then instrumented first, …).

    A noisy minute on a shared machine then hurts every strategy alike, so ratios taken within
    one call are fair. Each strategy is warmed up (untimed) before its first sample in every
    mode. A strategy that turns out :class:`Unsupported` is skipped with its reason; with
    ``keep_going`` any other failure is recorded in ``errors`` instead of raised. ``probe_cpus``:
    every CPU the run may use is timed before each round (:mod:`.cpuprobe`, in ``cpu_speed``).
    """
    result = Rounds()
    active = []
    for strategy in strategies:
        reason = strategy.unsupported_reason()
        if reason is not None:
            result.skipped[strategy.label] = reason
        elif strategy not in active:
            active.append(strategy)
            result.samples[strategy.label] = {mode.name: [] for mode in modes}
    step = on_step or (lambda _label: None)
    for round_number in range(1, rounds + 1):
        if probe_cpus:
            result.cpu_speed.rounds.append(probe(placement.allowed_cpus()))
        # The modes take turns going first, so no mode always follows the same neighbour.
        shift = (round_number - 1) % len(modes) if modes else 0
        ordered = [*modes[shift:], *modes[:shift]]
        for strategy in list(active):
            for mode in ordered:
                step(f"{strategy.label} ({mode.name} {round_number}/{rounds})")
                path = mode.profile_path(strategy.label) if mode.profile_path is not None else None
                try:
                    sample = run_insert(
                        strategy, names, db=mode.db, count_calls=mode.count_calls, profile_path=path
                    )
                except Unsupported as exc:  # found out by the strategy's setup hook
                    result.skipped[strategy.label] = str(exc)
                except Exception as exc:  # noqa: BLE001 - recorded per strategy when asked
                    if not keep_going:
                        raise
                    result.errors[strategy.label] = f"{type(exc).__name__}: {exc}"
                else:
                    result.samples[strategy.label][mode.name].append(sample)
                    continue
                active.remove(strategy)
                del result.samples[strategy.label]
                break
    return result
