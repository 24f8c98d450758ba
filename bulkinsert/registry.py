"""The strategy registry: one decorated function per way of inserting rows.

The CLI, the tests, the asv suite and the site all read :data:`REGISTRY`; adding a strategy
means adding one decorated function in ``bulkinsert/strategies/``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from .errors import Unsupported

if TYPE_CHECKING:
    from .pg.database import Database

__all__ = ["FAMILIES", "REGISTRY", "Strategy", "Unsupported", "get", "known_drivers", "load", "strategy"]

FAMILIES = ("orm", "core", "dbapi", "copy", "upsert", "peer", "reference")

# What a strategy is for besides inserting, each role declared once (on the strategy, or here for a
# whole family); everything that needs "the baseline" or "the floor" asks :func:`with_role`.
ROLES = {
    "baseline": "the talk's starting point: the ladder's and the scoresheet's speed-up divide by it",
    "floor": "the server's own COPY limit: the ratio column divides by it when it was measured",
    "reference": "no client path (the server makes or reads the rows): a yardstick, never a contender",
    "per_row": "works row by row (one INSERT, or one ORM object, per row): measured at the smaller sizes only",
    "per_row_sa13": "sends one INSERT per row on SQLAlchemy 1.3 (its default is plain executemany)",
    "scale": "measured by the scale suite at up to 1,000,000 rows",
    "sweep_default": "swept by `bulkinsert releases sweep` when no --strategies are given",
    "watch_default": "watched by `releases watch` for SQLAlchemy and psycopg2 when no --strategies are given",
    "placement_check": "measured by `python -m bulkinsert.measure.placement_check` when no strategies are named",
    "populated_index": "measured by `python -m benchmarks.populated_index` (deferred index on a populated table)",
    "populated_reference": "the indexed COPY that `benchmarks.populated_index` divides by",
}
# Roles every strategy of a family has: the scale suite measures every COPY-class path, and a
# reference strategy is one by being the server's own path.
FAMILY_ROLES = {
    "copy": frozenset({"scale"}),
    "peer": frozenset({"scale"}),
    "reference": frozenset({"scale", "reference"}),
}


def declared_roles(family: str, roles: Sequence[str]) -> frozenset[str]:
    """``roles`` (``@strategy(roles=...)``, what else a strategy is for) with its family's; a typo is an error."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown role {unknown[0]!r}; expected one of {tuple(ROLES)}")
    return frozenset(roles) | FAMILY_ROLES.get(family, frozenset())


InsertFunction = Callable[["Database", Sequence[str]], None]


@dataclass(frozen=True)
class Strategy:
    name: str
    description: str
    family: str
    driver: str
    function: InsertFunction = field(repr=False, compare=False)
    requires: tuple[str, ...] = ()
    check: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    engine_options: Callable[[str], dict] | None = field(default=None, repr=False, compare=False)
    setup: Callable[[Database, Sequence[str]], None] | None = field(default=None, repr=False, compare=False)
    talk_step: int | None = None
    # The drivers this strategy runs on; ``driver`` is the one chosen (the first by default).
    drivers: tuple[str, ...] = ()

    # Why the strategy cannot insert a workload's rows or run on a driver, keyed by the workload's
    # or the driver's name: ``@strategy(unsupported={"wide": "reason"})``.
    unsupported: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.drivers:
            object.__setattr__(self, "drivers", (self.driver,))
        object.__setattr__(self, "unsupported", MappingProxyType(dict(self.unsupported)))

    def with_driver(self, driver: str | None) -> Strategy:
        """This strategy on ``driver`` (None: its own default); unsupported_reason() says if it cannot."""
        return self if driver is None or driver == self.driver else replace(self, driver=driver)

    @property
    def label(self) -> str:
        """The name, plus the driver when not the strategy's default (``orm_basic+asyncpg``, as in a URL)."""
        return self.name if self.driver == self.drivers[0] else f"{self.name}+{self.driver}"

    @property
    def engine_driver(self) -> str:
        """The driver of the SQLAlchemy engine the strategy's Database gets (peers open their own)."""
        return "psycopg2" if self.family == "peer" else self.driver

    def engine_kwargs(self) -> dict:
        """The ``create_engine`` arguments for this strategy on its driver (may raise Unsupported)."""
        if self.engine_options is None:
            return {}
        import inspect

        try:
            takes_driver = bool(inspect.signature(self.engine_options).parameters)
        except (TypeError, ValueError):  # a builtin without a signature: give it the driver
            takes_driver = True
        # ``engine_options()`` without arguments (written before drivers) still works.
        return self.engine_options(self.driver) if takes_driver else self.engine_options()

    def unsupported_reason(self) -> str | None:
        """Why this strategy cannot run here, or None when it can."""
        import importlib

        from . import compat

        if self.driver in self.unsupported:
            return self.unsupported[self.driver]
        if self.driver not in self.drivers:
            return f"runs on driver {', '.join(self.drivers)} only, not {self.driver}"
        if self.engine_driver != compat.DEFAULT_DRIVER:
            reason = compat.driver_unsupported_reason(self.engine_driver)
            if reason is not None:
                return reason
        for module in self.requires:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                return f"needs the optional driver '{module}' ({exc.__class__.__name__}); install bulkinsert[peers]"
        try:
            if self.check is not None:
                self.check()
            self.engine_kwargs()
        except Unsupported as exc:
            return str(exc)
        return None

    @property
    def supported(self) -> bool:
        return self.unsupported_reason() is None

    @property
    def upserts(self) -> bool:
        """``INSERT … ON CONFLICT``: a name already in the table is kept once, not refused."""
        return self.family == "upsert"

    # What else the strategy is for (:data:`ROLES`): declared with ``@strategy(roles=...)``.
    roles: frozenset[str] = frozenset()


REGISTRY: dict[str, Strategy] = {}


def strategy(
    *,
    family: str,
    driver: str | None = None,
    drivers: Sequence[str] = (),
    description: str | None = None,
    requires: Sequence[str] = (),
    check: Callable[[], None] | None = None,
    engine_options: Callable[[str], dict] | None = None,
    setup: Callable[[Database, Sequence[str]], None] | None = None,
    talk_step: int | None = None,
    roles: Sequence[str] = (),
    unsupported: Mapping[str, str] | None = None,
) -> Callable[[InsertFunction], InsertFunction]:
    """Register the decorated function under its own name.

    ``check`` raises :class:`Unsupported` when the installed library versions cannot run the
    strategy; ``engine_options(driver)`` gives the ``create_engine`` arguments it needs on that
    driver (and may raise :class:`Unsupported` too); ``drivers`` lists the drivers a SQLAlchemy
    path runs on (``driver``, default its first or psycopg2, is the one it runs on unless
    asked); ``setup(db, names)`` does, outside the timed region, whatever the insert needs
    first (open a connection, write a server-side file; may raise :class:`Unsupported`);
    ``requires`` names optional driver modules; ``talk_step`` orders the talk's five steps;
    ``roles`` says what else it is for (:data:`ROLES`); ``unsupported`` maps a workload (or
    driver) the strategy cannot insert to the reason, which ``run --workload`` prints.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")
    chosen = driver or (drivers[0] if drivers else "psycopg2")
    if drivers and chosen not in drivers:
        raise ValueError(f"driver {chosen!r} is not among the strategy's drivers {tuple(drivers)}")

    def register(function: InsertFunction) -> InsertFunction:
        doc = (function.__doc__ or "").strip().splitlines()
        text = description or (doc[0] if doc else function.__name__)
        if function.__name__ in REGISTRY:
            raise ValueError(f"strategy {function.__name__!r} registered twice")
        REGISTRY[function.__name__] = Strategy(
            name=function.__name__,
            description=text,
            family=family,
            driver=chosen,
            drivers=tuple(drivers) or (chosen,),
            function=function,
            requires=tuple(requires),
            check=check,
            engine_options=engine_options,
            setup=setup,
            talk_step=talk_step,
            roles=declared_roles(family, roles),
            unsupported=dict(unsupported or {}),
        )
        return function

    return register


# Run by load() after the built-ins: bulkinsert.user_strategies, which builds on this module (the
# package imports it), adds the loader of the file $BULKINSERT_STRATEGIES_FROM names. A hook, so
# the registry never imports what registers into it.
EXTRA_LOADERS: list[Callable[[], object]] = []


def load() -> dict[str, Strategy]:
    """Import every strategy module (idempotent) and return the registry.

    Also the user's strategy file named by ``BULKINSERT_STRATEGIES_FROM``
    (:mod:`bulkinsert.user_strategies`), here so the CLI, the asv suite and the release worker
    all get it from one place.
    """
    import importlib

    importlib.import_module(f"{__package__}.strategies")  # registers on import
    for loader in EXTRA_LOADERS:
        loader()
    return REGISTRY


def known_drivers() -> tuple[str, ...]:
    """Every driver some registered strategy runs on, the SQLAlchemy ones first."""
    from .compat import SQLALCHEMY_DRIVERS

    seen = dict.fromkeys(SQLALCHEMY_DRIVERS)
    for registered in load().values():
        seen.update(dict.fromkeys(registered.drivers))
    return tuple(seen)


def get(name: str) -> Strategy:
    registry = load()
    try:
        return registry[name]
    except KeyError:
        known = ", ".join(sorted(registry))
        raise KeyError(f"unknown strategy {name!r}; known: {known}") from None


def with_role(role: str) -> tuple[str, ...]:
    """The names of the strategies with ``role``, in registry order (a typo is an error, not nothing)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {tuple(ROLES)}")
    return tuple(name for name, registered in load().items() if role in registered.roles)


def one_with_role(role: str) -> str:
    """The one strategy with ``role`` ("baseline", "floor"); a second one is a declaration error."""
    names = with_role(role)
    if len(names) != 1:
        raise ValueError(f"role {role!r} needs exactly one strategy, found {len(names)}: {names}")
    return names[0]
