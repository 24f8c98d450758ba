"""cProfile captures on the site: finding them, removing machine paths, and the two viewers.

The captures are written by the runner side (the asv suite, or ``bulkinsert.measure.capture``); the site
only reads them. A published ``.prof`` must reveal neither the checkout nor the runner's home,
so every filename in it is rewritten before anything is published.
"""

from __future__ import annotations

import marshal
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from .render import ASSET_DIR, PROFILE_DIR, nav_html, render

_SITE_PACKAGES = re.compile(r"/(?:site|dist)-packages/(.*)$")
_STDLIB = re.compile(r"/lib/(python3\.\d+)/(.*)$")
_CAPTURE_NAME = re.compile(r"(?P<strategy>[A-Za-z_][A-Za-z0-9_]*?)(?:-(?P<rows>\d+))?")


def safe_name(text: str) -> str:
    """A file or anchor name made of characters every file system and URL accept."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def public_filename(filename: str, roots: Sequence[str]) -> str:
    """A profile filename with the machine's paths removed.

    ``.../site-packages/x`` -> ``site-packages/x``; the checkout -> repo-relative; the standard
    library -> ``python3.X/...``; any other absolute path -> ``.../<basename>``.
    """
    if filename in ("~", "") or filename.startswith("<"):
        return filename
    path = filename.replace("\\", "/")
    if match := _SITE_PACKAGES.search(path):
        return f"site-packages/{match.group(1)}"
    for root in roots:
        root = root.rstrip("/")
        if root and path.startswith(root + "/"):
            return path[len(root) + 1 :]
    if match := _STDLIB.search(path):
        return f"{match.group(1)}/{match.group(2)}"
    if path.startswith("/") or re.match(r"^[A-Za-z]:/", path):
        return ".../" + path.rsplit("/", 1)[-1]
    return path


def _add(a: tuple, b: tuple) -> tuple:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def public_pstats(data: bytes, roots: Sequence[str]) -> bytes:
    """pstats bytes with every filename (functions and callers) rewritten by :func:`public_filename`.

    Two files that collapse onto one public name (e.g. two ``.../x.py``) are merged, as pstats
    merges two captures.
    """
    stats = marshal.loads(data)

    def key(func: tuple) -> tuple:
        return (public_filename(func[0], roots), func[1], func[2])

    out: dict[tuple, tuple] = {}
    for func, (cc, nc, tt, ct, callers) in stats.items():
        new_callers: dict[tuple, tuple] = {}
        for caller, values in callers.items():
            ck = key(caller)
            new_callers[ck] = _add(new_callers[ck], values) if ck in new_callers else values
        fk = key(func)
        if fk in out:
            occ, onc, ott, oct_, ocallers = out[fk]
            for ck, values in new_callers.items():
                ocallers[ck] = _add(ocallers[ck], values) if ck in ocallers else values
            out[fk] = (occ + cc, onc + nc, ott + tt, oct_ + ct, ocallers)
        else:
            out[fk] = (cc, nc, tt, ct, new_callers)
    return marshal.dumps(out)


def machine_roots(extra: Iterable[Path] = ()) -> list[str]:
    """Path prefixes to strip: the checkout, the current directory, anything given; longest first."""
    from ..pg.server import find_checkout

    roots = [str(p.resolve()) for p in extra]
    checkout = find_checkout()
    if checkout is not None:
        roots.append(str(checkout.resolve()))
    roots.append(str(Path.cwd().resolve()))
    return sorted(set(roots), key=len, reverse=True)


@dataclass
class Capture:
    """One published profile: where it came from and where its pages live."""

    env_name: str
    strategy: str
    rows: int | None
    data: bytes
    source: str

    @property
    def stem(self) -> str:
        return f"{PROFILE_DIR}/{safe_name(self.env_name)}/{self.strategy}"


def find_captures(profile_dirs: Sequence[Path], env_names: Sequence[str], rows: int) -> list[Capture]:
    """Per-strategy captures under ``profile_dirs``: ``<env>/<strategy>[-<rows>].prof``.

    When one strategy has captures at several row counts, the one at ``rows`` wins.
    """
    known = set(env_names)
    best: dict[tuple[str, str], Capture] = {}
    for base in profile_dirs:
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.prof")):
            env = next((p.name for p in path.parents if p.name in known), path.parent.name)
            match = _CAPTURE_NAME.fullmatch(path.stem)
            if match is None:
                continue
            found_rows = int(match["rows"]) if match["rows"] else None
            capture = Capture(env, match["strategy"], found_rows, path.read_bytes(), str(path))
            slot = (env, capture.strategy)
            current = best.get(slot)
            if current is None or (found_rows in (rows, None) and current.rows not in (rows, None)):
                best[slot] = capture
    return list(best.values())


def func_label(func: tuple) -> str:
    filename, line, name = func
    return name if filename == "~" else f"{filename}:{line}({name})"


def _calls(cc: int, nc: int) -> str:
    """Calls as pstats prints them: ``total/primitive`` when recursion made them differ."""
    return f"{nc:,}" if cc == nc else f"{nc:,}/{cc:,}"


def profile_nav(capture: Capture) -> str:
    """The navigation bar of a profile page: the site's, then this capture's three views."""
    extra = Markup(render("_profile_nav.html", capture=capture))
    return nav_html(2, extra)


def table_page(capture: Capture) -> str:
    """Every function of a capture with its callers and callees (RunSnakeRun's lists), as HTML."""
    stats = marshal.loads(capture.data)
    total = sum(v[2] for v in stats.values()) or 1e-12
    ordered = sorted(stats.items(), key=lambda item: item[1][3], reverse=True)
    ids = {func: f"f{index}" for index, (func, _) in enumerate(ordered)}
    callees: dict[tuple, list[tuple[tuple, tuple]]] = {}
    for func, (_, _, _, _, callers) in stats.items():
        for caller, values in callers.items():
            callees.setdefault(caller, []).append((func, values))

    def entry(func: tuple, values: Sequence[Any]) -> dict[str, Any]:
        cc, nc, tt, ct = values[:4]
        return {"id": ids.get(func), "label": func_label(func), "calls": _calls(cc, nc), "nc": nc,
                "own": tt, "total": ct, "own_share": tt / total, "share": ct / total,
                "per_call_us": ct / nc * 1e6 if nc else 0.0}

    functions = []
    for func, values in ordered:
        row = entry(func, values)
        row["callers"] = [entry(f, v) for f, v in sorted(values[4].items(), key=lambda kv: kv[1][3], reverse=True)]
        row["callees"] = [entry(f, v) for f, v in sorted(callees.get(func, []), key=lambda kv: kv[1][3],
                                                          reverse=True)]
        functions.append(row)
    return render("profile_table.html", depth=2, capture=capture, total=total, functions=functions,
                  total_calls=sum(f["nc"] for f in functions), extra_nav=Markup(render("_profile_nav.html",
                                                                                       capture=capture)),
                  scripts=["table.js"])


def _annotate_tuna(node: dict[str, Any], calls: dict[str, int]) -> None:
    """Add call counts to tuna's hover text ("file::line::func" -> "... · N calls")."""
    text = node.get("text") or []
    if text:
        name = text[0][:-6] if text[0].endswith("::self") else text[0]
        if calls.get(name):
            text[0] = f"{text[0]} · {calls[name]:,} calls"
    for child in node.get("children", ()):
        _annotate_tuna(child, calls)


def icicle_page(capture: Capture, prof_path: Path) -> str:
    """tuna's icicle page for one capture (GPL-3.0, see licences.html), assets shared by all."""
    from tuna.main import read
    from tuna.main import render as tuna_render

    data = read(str(prof_path))
    stats = marshal.loads(capture.data)
    _annotate_tuna(data, {"{}::{}::{}".format(*func): v[1] for func, v in stats.items()})
    text = tuna_render(data, f"{capture.env_name}/{capture.strategy}.prof")
    text = text.replace('"static/', f'"../../{ASSET_DIR}/tuna/')
    bar = f'<div class="bi-nav bi-tuna">{profile_nav(capture)}</div>'
    text = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + bar, text, count=1)
    extra = (f'<link rel="stylesheet" href="../../{ASSET_DIR}/site.css" />'
             f'<link rel="icon" href="../../{ASSET_DIR}/favicon.svg" type="image/svg+xml" />')
    return text.replace("</head>", f"{extra}</head>", 1)


def fallback_icicle_page(capture: Capture, error: str) -> str:
    """What the map link shows when tuna cannot read a capture: the reason and the other views."""
    return render("profile_error.html", depth=2, capture=capture, error=error,
                  extra_nav=Markup(render("_profile_nav.html", capture=capture)))
