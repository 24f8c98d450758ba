"""The strategy registry: one decorated function per way of inserting rows.

The CLI, the tests, the asv suite and the site all read :data:`REGISTRY`; adding a strategy
means adding one decorated function in ``bulkinsert/strategies/``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .errors import Unsupported

if TYPE_CHECKING:
    from .database import Database

__all__ = ["FAMILIES", "REGISTRY", "Strategy", "Unsupported", "get", "known_drivers", "load", "strategy"]

FAMILIES = ("orm", "core", "dbapi", "copy", "upsert", "peer", "reference")


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

    def __post_init__(self) -> None:
        if not self.drivers:
            object.__setattr__(self, "drivers", (self.driver,))

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
) -> Callable[[InsertFunction], InsertFunction]:
    """Register the decorated function under its own name.

    ``check`` raises :class:`Unsupported` when the installed library versions cannot run the
    strategy; ``engine_options(driver)`` gives the ``create_engine`` arguments it needs on that
    driver (and may raise :class:`Unsupported` too); ``drivers`` lists the drivers a SQLAlchemy
    path runs on (``driver``, default its first or psycopg2, is the one it runs on unless
    asked); ``setup(db, names)`` does, outside the timed region, whatever the insert needs
    first (open a connection, write a server-side file; may raise :class:`Unsupported`);
    ``requires`` names optional driver modules; ``talk_step`` orders the talk's five steps.
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
        )
        return function

    return register


def load() -> dict[str, Strategy]:
    """Import every strategy module (idempotent) and return the registry.

    Also the user's strategy file named by ``BULKINSERT_STRATEGIES_FROM``
    (:mod:`bulkinsert.user_strategies`), here so the CLI, the asv suite and the release worker
    all get it from one place.
    """
    import importlib

    importlib.import_module(f"{__package__}.strategies")  # registers on import
    from .user_strategies import load_from_environment

    load_from_environment()

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
