"""The strategy registry: one decorated function per way of inserting rows.

The CLI, the tests, the asv suite and the site all read :data:`REGISTRY`; adding a strategy
means adding one decorated function in ``bulkinsert/strategies/``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import Unsupported

if TYPE_CHECKING:
    from .database import Database

__all__ = ["FAMILIES", "REGISTRY", "Strategy", "Unsupported", "get", "load", "strategy"]

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
    engine_options: Callable[[], dict] | None = field(default=None, repr=False, compare=False)
    setup: Callable[[Database, Sequence[str]], None] | None = field(default=None, repr=False, compare=False)
    talk_step: int | None = None

    def unsupported_reason(self) -> str | None:
        """Why this strategy cannot run here, or None when it can."""
        import importlib

        for module in self.requires:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                return f"needs the optional driver '{module}' ({exc.__class__.__name__}); install bulkinsert[peers]"
        try:
            if self.check is not None:
                self.check()
            if self.engine_options is not None:
                self.engine_options()
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
    driver: str = "psycopg2",
    description: str | None = None,
    requires: Sequence[str] = (),
    check: Callable[[], None] | None = None,
    engine_options: Callable[[], dict] | None = None,
    setup: Callable[[Database, Sequence[str]], None] | None = None,
    talk_step: int | None = None,
    roles: Sequence[str] = (),
) -> Callable[[InsertFunction], InsertFunction]:
    """Register the decorated function under its own name.

    ``check`` raises :class:`Unsupported` when the installed library versions cannot run the
    strategy; ``engine_options`` gives the ``create_engine`` arguments it needs (and may raise
    :class:`Unsupported` too); ``setup(db, names)`` does, outside the timed region, whatever
    the insert needs first (open a connection, write a server-side file; may raise
    :class:`Unsupported`);
    ``requires`` names optional driver modules; ``talk_step`` orders the talk's five steps.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")

    def register(function: InsertFunction) -> InsertFunction:
        doc = (function.__doc__ or "").strip().splitlines()
        text = description or (doc[0] if doc else function.__name__)
        if function.__name__ in REGISTRY:
            raise ValueError(f"strategy {function.__name__!r} registered twice")
        REGISTRY[function.__name__] = Strategy(
            name=function.__name__,
            description=text,
            family=family,
            driver=driver,
            function=function,
            requires=tuple(requires),
            check=check,
            engine_options=engine_options,
            setup=setup,
            talk_step=talk_step,
            roles=declared_roles(family, roles),
        )
        return function

    return register


def load() -> dict[str, Strategy]:
    """Import every strategy module (idempotent) and return the registry."""
    import importlib

    importlib.import_module(f"{__package__}.strategies")  # registers on import

    return REGISTRY


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
