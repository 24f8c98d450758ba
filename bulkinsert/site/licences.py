"""What the site ships that others wrote, and under which licence (the licences page).

Texts the project keeps are in ``assets/licences/``; tuna's (GPL-3.0) and asv's (BSD-3-Clause)
are copied from their installed distributions, so they always match the version that drew
the files.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .render import render

KEPT = Path(__file__).resolve().parent / "assets" / "licences"


@dataclass(frozen=True)
class Shipped:
    name: str
    version: str
    purpose: str
    files: str
    licence: str
    text: str | None  # file name under site-assets/licences/, None when not found
    url: str = ""


def _installed_licence(distribution: str, out_dir: Path, out_name: str) -> str | None:
    """Copy a distribution's licence file (from its dist-info) to ``out_dir``; its name, or None."""
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        name = file.name.upper()
        if name.startswith(("LICENSE", "LICENCE", "COPYING")):
            source = Path(str(file.locate()))
            if source.is_file():
                shutil.copyfile(source, out_dir / out_name)
                return out_name
    return None


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return ""


def shipped(out_dir: Path) -> list[Shipped]:
    """Write every licence text into ``out_dir`` and describe what each one covers."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for text in KEPT.glob("*.txt"):
        shutil.copyfile(text, out_dir / text.name)
    tuna = _installed_licence("tuna", out_dir, "tuna-GPL-3.0.txt")
    asv = _installed_licence("asv", out_dir, "asv-BSD-3-Clause.txt")
    return [
        Shipped("tuna", _version("tuna"), "the profile map (icicle viewer) of every capture",
                "site-assets/tuna/icicle.js, tuna.css; profiles/*/*.html", "GPL-3.0", tuna,
                "https://github.com/nschloe/tuna"),
        Shipped("d3", "7.9.0", "drawing in tuna's viewer", "site-assets/tuna/d3.min.js", "ISC", "d3.txt"),
        Shipped("Bootstrap", "5.3.8", "styles of tuna's viewer", "site-assets/tuna/bootstrap.min.css", "MIT",
                "bootstrap-5.txt"),
        Shipped("asv (airspeed velocity)", _version("asv"), "the benchmark pages: asv.html (asv's index.html), "
                "asv.js and the other scripts and styles asv publish writes", "asv.html, *.js, *.css",
                "BSD-3-Clause", asv,
                "https://github.com/airspeed-velocity/asv"),
        Shipped("jQuery", "3.3.1", "asv's pages", "site-assets/vendor/jquery-3.3.1.min.js", "MIT", "jquery.txt"),
        Shipped("Flot", "0.8.3", "asv's graphs", "site-assets/vendor/jquery.flot*-0.8.3.js", "MIT", "flot.txt"),
        Shipped("Flot orderBars", "1.0.0", "asv's bar graphs", "site-assets/vendor/jquery.flot.orderBars-1.0.0.js",
                "MIT (stated in the file's header)", "flot.txt"),
        Shipped("Bootstrap", "3.1.1", "asv's pages", "site-assets/vendor/bootstrap-3.1.1.min.js, css/, fonts/",
                "MIT", "bootstrap.txt"),
        Shipped("Stupid-Table-Plugin", "1.1.3", "sorting asv's tables", "site-assets/vendor/stupidtable-1.1.3.min.js",
                "MIT", "stupid-table-plugin.txt"),
        Shipped("JavaScript MD5 (blueimp-md5)", "2.19.0", "asv's page ids", "site-assets/vendor/md5-2.19.0.min.js",
                "MIT", "blueimp-md5.txt"),
    ]


def licences_page(out_dir: Path) -> str:
    return render("licences.html", current="licences.html", items=shipped(out_dir))
