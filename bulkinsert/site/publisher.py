"""The site as an asv publisher: ``asv publish`` (and ``asv gh-pages``) write its pages too.

asv.conf.json lists this module under ``"plugins"`` as ``".bulkinsert.site.publisher"`` (asv
0.6 imports a plugin name by module path only when it starts with a dot; without one it looks
inside ``asv.plugins``). Importing the module defines the subclass, and asv publish runs every
subclass of ``OutputPublisher`` after it has written its own pages.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from asv.console import log
from asv.publishing import OutputPublisher


class BulkinsertSite(OutputPublisher):
    """Landing page, scoresheet, version matrix, releases, profiles and licences, from the same results."""

    name = "bulkinsert"
    button_label = "bulkinsert pages"
    description = "Scoresheet, version matrix, releases and profiles"
    order = 100  # after asv's own pages: the index it moves and patches must already be there

    @classmethod
    def publish(cls, conf: Any, _repo: Any, benchmarks: Any, _graphs: Any, _revisions: Any) -> None:
        # Imported here: asv imports every plugin for every command (asv run too), and only
        # publishing needs the site's dependencies (Jinja2, tuna).
        from ..data.schema import DEFAULT_ROWS
        from .asv_index import drop_unmeasured
        from .build import build_site

        # asv resolves results_dir and html_dir against the directory it runs in.
        results_dir = Path(os.path.abspath(conf.results_dir))
        html_dir = Path(os.path.abspath(conf.html_dir))
        matrix = (getattr(conf, "matrix", None) or {}).get("req")
        # asv writes index.json from `benchmarks` after this: its grid then requests no graph
        # that was not written (a benchmark discovered but not run, e.g. left out of a quick run).
        unmeasured = drop_unmeasured(benchmarks, html_dir)
        summary = build_site(html_dir, results_dir, rows=DEFAULT_ROWS, matrix=matrix,
                             on_step=lambda text: log.dot())
        log.info(f"{cls.name} site: {summary.environments} environments, {summary.captures} profiles; "
                 f"{', '.join(summary.pages)}")
        if unmeasured:
            log.info(f"{cls.name} site: {len(unmeasured)} benchmarks without results left off asv's grid")
        for note in summary.notes:
            log.warning(note)
