"""cProfile captures of every runnable strategy, taken in this interpreter.

The asv suite writes its own captures while it measures; this is the same thing for a quick
local site (``bulkinsert site --capture auto``) and for the site's tests. The inserts run
through :func:`bulkinsert.measure.runner.run_insert`, like every other measurement: the site itself
only reads captures.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path


def capture_path(out_dir: Path, env_name: str, strategy: str, rows: int) -> Path:
    """``<out_dir>/<env>/<strategy>-<rows>.prof``: the layout the asv suite and the site share."""
    return out_dir / re.sub(r"[^A-Za-z0-9._-]+", "_", env_name) / f"{strategy}-{rows}.prof"


def capture_now(env_name: str, out_dir: Path, rows: int, strategies: Sequence[str] | None = None) -> list[Path]:
    """Profile every runnable strategy (or the named ones) at ``rows`` rows; the files written."""
    from .. import registry
    from ..data.schema import default_names
    from .runner import run_insert

    names = default_names(rows)
    written = []
    for strategy in registry.load().values():
        if strategies and strategy.name not in strategies:
            continue
        if strategy.unsupported_reason() is not None:
            continue
        path = capture_path(out_dir, env_name, strategy.name, rows)
        run_insert(strategy, names, profile_path=path)
        written.append(path)
    return written
