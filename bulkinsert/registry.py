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


def get(name: str) -> Strategy:
    registry = load()
    try:
        return registry[name]
    except KeyError:
        known = ", ".join(sorted(registry))
        raise KeyError(f"unknown strategy {name!r}; known: {known}") from None
