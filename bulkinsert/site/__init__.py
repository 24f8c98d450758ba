"""The published site: asv's pages plus what asv cannot show.

``asv publish`` (through :mod:`bulkinsert.site.publisher`, listed in asv.conf.json's
"plugins") and ``bulkinsert site`` add to asv's html directory:

* ``scoresheet.html`` — the talk's table per environment (:mod:`.scoresheet`);
* ``versions.html`` — strategies x library releases, compare's findings marked (:mod:`.versions`);
* ``releases.html`` — every measured release of a library, bisect/compare findings (:mod:`.releases`);
* ``profiles/`` — path-free cProfile captures, tuna's icicle map and a callers/callees table
  (:mod:`.profiles`);
* ``licences.html`` — what the site ships that others wrote (:mod:`.licences`).

Results are read only through :mod:`bulkinsert.analysis.results` (:mod:`.data`); pages are Jinja2
templates (``templates/``, one base layout); charts are static SVG (:mod:`.charts`).
Everything is plain files: GitHub Pages, ``file://`` and ``asv preview`` all serve it.
"""

from __future__ import annotations

from .command import site_command

__all__ = ["site_command"]
