"""bulkinsert: the fastest correct way to bulk-insert rows into PostgreSQL from Python.

Every strategy is one registered function (:mod:`bulkinsert.strategies`); run one with
:func:`run_insert`, measure with :mod:`bulkinsert.measure.timing`, list them with :func:`strategies`.
"""

from __future__ import annotations

from . import user_strategies  # noqa: F401 - registry.load() then also loads $BULKINSERT_STRATEGIES_FROM
from .data.schema import GeneratedNames, User, default_names, users
from .data.workloads import register_workload
from .measure.runner import InsertError, run_insert, validate_names
from .measure.timing import InsertResult, profile_this, profiled
from .pg.server import DatabaseUnavailable
from .registry import REGISTRY, Strategy, Unsupported, strategy

__version__ = "0.1.0"


def strategies() -> dict[str, Strategy]:
    """Every registered strategy, in registration order."""
    from .registry import load

    return load()


__all__ = [
    "REGISTRY",
    "DatabaseUnavailable",
    "GeneratedNames",
    "InsertError",
    "InsertResult",
    "Strategy",
    "Unsupported",
    "User",
    "default_names",
    "profile_this",
    "profiled",
    "register_workload",
    "run_insert",
    "strategies",
    "strategy",
    "users",
    "validate_names",
]
