"""The published site: asv's pages plus what asv cannot show.

``bulkinsert site`` runs after ``asv publish`` and adds to its html directory:

* ``profiles/<env>/<strategy>.prof`` — cProfile captures with machine paths rewritten, so a
  published file reveals neither the checkout nor the runner's home;
* ``profiles/<env>/<strategy>.html`` — tuna's icicle (area is time, click to drill down), with
  call counts added to the hover text; ``<strategy>.table.html`` — callers/callees and
  percentages, generated here from pstats because tuna has no such table;
* ``scoresheet.html`` — the talk's table per environment, ``versions.html`` — strategies x
  library releases, and ``profiles/index.html``; the charts are static SVG drawn here;
* local copies of the scripts asv's ``index.html`` loads from CDNs, so every page works offline.

Everything is plain files: GitHub Pages, ``file://`` and ``asv preview`` all serve it.
"""

from __future__ import annotations

import ast
import html
import json
import marshal
import math
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import click

from .ladder import BASELINE, FLOORS
from .server import scrub

ASSETS = Path(__file__).resolve().parent / "site_assets"
ASSET_DIR = "site-assets"
PROFILE_DIR = "profiles"
DEFAULT_ROWS = 10_000
MARKER = "<!-- bulkinsert-site -->"
# Where the asv suite drops its per-strategy captures: <dir>/<asv env name>/<strategy>[-<rows>].prof
DEFAULT_PROFILE_SOURCE = ".asv/profiles"

# asv benchmark method name -> scoresheet metric.
METRIC_OF_METHOD = {
    "time_insert": "seconds",
    "track_dbapi_share": "dbapi_share",
    "track_statements": "statements",
    "track_function_calls": "function_calls",
    "track_profiler_overhead": "profiler_overhead",
    "track_rows_per_second": "rows_per_second",
    "track_cpu_seconds": "cpu_seconds",
    "peakmem_insert": "peak_memory",
}

# asv modules whose benchmarks reuse the main suite's method names at other sizes.
SUPPLEMENTARY_MODULES = ("scale.",)

# The CDN files asv 0.6's index.html loads, and the vendored copies (same versions) used instead.
CDN_TO_VENDOR = {
    "jquery-3.3.1.min.js": "jquery-3.3.1.min.js",
    "flot/0.8.3/jquery.flot.min.js": "jquery.flot-0.8.3.js",
    "flot/0.8.3/jquery.flot.time.min.js": "jquery.flot.time-0.8.3.js",
    "flot/0.8.3/jquery.flot.selection.min.js": "jquery.flot.selection-0.8.3.js",
    "flot/0.8.3/jquery.flot.categories.min.js": "jquery.flot.categories-0.8.3.js",
    "jquery.flot.orderBars.js": "jquery.flot.orderBars-1.0.0.js",
    "stupidtable.min.js": "stupidtable-1.1.3.min.js",
    "md5.min.js": "md5-2.19.0.min.js",
    "bootstrap.min.js": "bootstrap-3.1.1.min.js",
    "bootstrap.min.css": "css/bootstrap-3.1.1.min.css",
}


# --------------------------------------------------------------------------------------------
# asv results
# --------------------------------------------------------------------------------------------


def version_key(version: str) -> tuple[int, ...]:
    """Sort "1.4.54" before "2.0.58" (numeric, not lexical)."""
    return tuple(int(part) for part in re.findall(r"\d+", version))


def _param_value(text: Any) -> str:
    """asv stores parameter values as their repr ("'orm_basic'", "10000")."""
    if not isinstance(text, str):
        return str(text)
    try:
        return str(ast.literal_eval(text))
    except (ValueError, SyntaxError):
        return text


@dataclass
class EnvRun:
    """The newest asv results of one environment (one SQLAlchemy x psycopg2 combination)."""

    env_name: str
    machine: str
    commit: str
    date: int
    versions: dict[str, str]
    # metric -> (strategy, rows) -> value (None: failed, NaN: not applicable)
    metrics: dict[str, dict[tuple[str, int], float | None]] = field(default_factory=dict)
    # asv's own (param-combined) captures, benchmark name -> pstats bytes
    asv_profiles: dict[str, bytes] = field(default_factory=dict)

    @property
    def label(self) -> str:
        sa = self.versions.get("sqlalchemy", "?")
        pg = self.versions.get("psycopg2", "?")
        return f"SQLAlchemy {sa} · psycopg2 {pg}"

    @property
    def sort_key(self) -> tuple:
        return (
            version_key(self.versions.get("sqlalchemy", "0")),
            version_key(self.versions.get("psycopg2", "0")),
            self.env_name,
        )

    def value(self, metric: str, strategy: str, rows: int) -> float | None:
        """A finite value, or None when not measured, skipped or failed."""
        value = self.metrics.get(metric, {}).get((strategy, rows))
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return float(value)

    def rows_measured(self) -> list[int]:
        return sorted({rows for values in self.metrics.values() for _, rows in values})

    def strategies(self) -> list[str]:
        seen: dict[str, None] = {}
        for values in self.metrics.values():
            for strategy, _ in values:
                seen.setdefault(strategy)
        return list(seen)


def _versions_from(data: dict[str, Any]) -> dict[str, str]:
    """SQLAlchemy and psycopg2 versions from a result file (matrix params, then env name)."""
    found: dict[str, str] = {}
    for source in (data.get("requirements") or {}, data.get("params") or {}):
        for key, value in source.items():
            name = key.lower().split("[")[0]
            if name in ("req_sqlalchemy", "sqlalchemy") and value:
                found.setdefault("sqlalchemy", str(value))
            elif name.replace("req_", "") in ("psycopg2-binary", "psycopg2") and value:
                found.setdefault("psycopg2", str(value))
    env = data.get("env_name", "")
    if "sqlalchemy" not in found and (m := re.search(r"SQLAlchemy([0-9][0-9.]*[0-9])", env)):
        found["sqlalchemy"] = m.group(1)
    if "psycopg2" not in found and (m := re.search(r"psycopg2(?:-binary)?([0-9][0-9.]*[0-9])", env)):
        found["psycopg2"] = m.group(1)
    if data.get("python"):
        found["python"] = str(data["python"])
    return found


def _metric_name(benchmark: str) -> str | None:
    return METRIC_OF_METHOD.get(benchmark.rsplit(".", 1)[-1])


def load_result_file(path: Path) -> EnvRun | None:
    """Parse one asv 0.6 result file (``<machine>/<commit>-<env>.json``); None if it is not one."""
    import base64
    import itertools
    import zlib

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or "results" not in data or "env_name" not in data:
        return None
    columns = data.get("result_columns") or ["result", "params"]
    run = EnvRun(
        env_name=data["env_name"],
        machine=str((data.get("params") or {}).get("machine", path.parent.name)),
        commit=str(data.get("commit_hash", "")),
        date=int(data.get("date") or 0),
        versions=_versions_from(data),
    )
    # Benchmarks of the main suite first: the scale suite (same method names, more rows) only
    # fills in what the main suite did not measure, never overwrites it.
    ordered = sorted(data["results"].items(), key=lambda item: item[0].startswith(SUPPLEMENTARY_MODULES))
    for benchmark, row in ordered:
        entry = dict(zip(columns, row))
        if entry.get("profile"):
            try:
                run.asv_profiles[benchmark] = zlib.decompress(base64.b64decode(entry["profile"]))
            except (ValueError, zlib.error):
                pass
        metric = _metric_name(benchmark)
        params = entry.get("params") or []
        result = entry.get("result")
        if metric is None or result is None or len(params) != 2:
            continue
        values: dict[tuple[str, int], float | None] = {}
        combos = list(itertools.product(*params))
        for (strategy, rows), value in zip(combos, result):
            try:
                rows_int = int(_param_value(rows))
            except ValueError:
                continue
            values[(_param_value(strategy), rows_int)] = None if value is None else float(value)
        merged = run.metrics.setdefault(metric, {})
        for key, value in values.items():
            current = merged.get(key)
            if current is None or math.isnan(current):
                merged[key] = value
    return run


def load_runs(results_dir: Path) -> list[EnvRun]:
    """The newest result of every environment under ``results_dir`` (all machines)."""
    newest: dict[str, EnvRun] = {}
    for path in sorted(results_dir.glob("*/*.json")):
        if path.name == "machine.json":
            continue
        run = load_result_file(path)
        if run is None:
            continue
        current = newest.get(run.env_name)
        if current is None or run.date >= current.date:
            newest[run.env_name] = run
    return sorted(newest.values(), key=lambda r: r.sort_key)


# --------------------------------------------------------------------------------------------
# profiles: collect, strip machine paths, render
# --------------------------------------------------------------------------------------------

_SITE_PACKAGES = re.compile(r"/(?:site|dist)-packages/(.*)$")
_STDLIB = re.compile(r"/lib/(python3\.\d+)/(.*)$")


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


def _add_stats(a: tuple, b: tuple) -> tuple:
    return tuple(x + y for x, y in zip(a, b))


def public_pstats(data: bytes, roots: Sequence[str]) -> bytes:
    """pstats bytes with every filename (functions and callers) rewritten by :func:`public_filename`."""
    stats = marshal.loads(data)

    def key(func: tuple) -> tuple:
        return (public_filename(func[0], roots), func[1], func[2])

    out: dict[tuple, tuple] = {}
    for func, (cc, nc, tt, ct, callers) in stats.items():
        new_callers: dict[tuple, tuple] = {}
        for caller, values in callers.items():
            ck = key(caller)
            new_callers[ck] = _add_stats(new_callers[ck], values) if ck in new_callers else values
        fk = key(func)
        if fk in out:  # two files collapsed onto one public name: merge them
            occ, onc, ott, oct_, ocallers = out[fk]
            for ck, values in new_callers.items():
                ocallers[ck] = _add_stats(ocallers[ck], values) if ck in ocallers else values
            out[fk] = (occ + cc, onc + nc, ott + tt, oct_ + ct, ocallers)
        else:
            out[fk] = (cc, nc, tt, ct, new_callers)
    return marshal.dumps(out)


def _machine_roots(extra: Iterable[Path] = ()) -> list[str]:
    """Path prefixes to strip: the checkout, the current directory, the home directory."""
    from .server import find_checkout

    roots = [str(p.resolve()) for p in extra]
    checkout = find_checkout()
    if checkout is not None:
        roots.append(str(checkout.resolve()))
    roots.append(str(Path.cwd().resolve()))
    # longest first, so a checkout inside the home directory is made repo-relative
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


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


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
            match = re.fullmatch(r"(?P<strategy>[A-Za-z_][A-Za-z0-9_]*?)(?:-(?P<rows>\d+))?", path.stem)
            if match is None:
                continue
            found_rows = int(match["rows"]) if match["rows"] else None
            capture = Capture(env, match["strategy"], found_rows, path.read_bytes(), str(path))
            slot = (env, capture.strategy)
            current = best.get(slot)
            if current is None or (found_rows in (rows, None) and current.rows not in (rows, None)):
                best[slot] = capture
    return list(best.values())


def capture_now(env_name: str, out_dir: Path, rows: int, strategies: Sequence[str] | None = None) -> list[Path]:
    """Profile every runnable strategy in this interpreter (``run_insert(..., profile_path=...)``)."""
    from . import registry
    from .runner import run_insert
    from .schema import default_names

    names = default_names(rows)
    written = []
    for strategy in registry.load().values():
        if strategies and strategy.name not in strategies:
            continue
        if strategy.unsupported_reason() is not None:
            continue
        path = out_dir / safe_name(env_name) / f"{strategy.name}-{rows}.prof"
        run_insert(strategy, names, profile_path=path)
        written.append(path)
    return written


def _stats_rows(stats: dict) -> tuple[list[dict[str, Any]], float]:
    total = sum(v[2] for v in stats.values()) or 1e-12
    rows = []
    for func, (cc, nc, tt, ct, callers) in stats.items():
        rows.append({"func": func, "cc": cc, "nc": nc, "tt": tt, "ct": ct, "callers": callers})
    rows.sort(key=lambda r: r["ct"], reverse=True)
    return rows, total


def func_label(func: tuple) -> str:
    filename, line, name = func
    if filename == "~":
        return name
    return f"{filename}:{line}({name})"


def _calls(cc: int, nc: int) -> str:
    return f"{nc:,}" if cc == nc else f"{nc:,}/{cc:,}"


def render_table_page(capture: Capture, data: bytes, nav: str) -> str:
    """Callers/callees and percentages for one capture, as static HTML (RunSnakeRun's lists)."""
    stats = marshal.loads(data)
    rows, total = _stats_rows(stats)
    ids = {r["func"]: f"f{i}" for i, r in enumerate(rows)}
    callees: dict[tuple, list[tuple[tuple, tuple]]] = {}
    for func, (_, _, _, _, callers) in stats.items():
        for caller, values in callers.items():
            callees.setdefault(caller, []).append((func, values))
    esc = html.escape

    def link(func: tuple) -> str:
        return f'<a href="#{ids[func]}">{esc(func_label(func))}</a>' if func in ids else esc(func_label(func))

    body = [
        f"<h1>{esc(capture.strategy)} <small>{esc(capture.env_name)}</small></h1>",
        f"<p>Total {total:.4f} s in {sum(r['nc'] for r in rows):,} function calls"
        f"{'' if capture.rows is None else f' ({capture.rows:,} rows)'}. "
        "Click a column to sort, a function to see who called it and what it called. "
        "<label>Filter <input id=filter type=search placeholder='e.g. psycopg2'></label></p>",
        '<table class="sortable num" id="functions"><thead><tr>'
        "<th data-type=num>calls</th><th data-type=num>own s</th><th data-type=num>own %</th>"
        "<th data-type=num>total s</th><th data-type=num>total %</th><th data-type=num>per call µs</th>"
        "<th data-type=text>function</th></tr></thead><tbody>",
    ]
    for r in rows:
        per_call = r["ct"] / r["nc"] * 1e6 if r["nc"] else 0.0
        body.append(
            f"<tr><td data-v={r['nc']}>{_calls(r['cc'], r['nc'])}</td><td>{r['tt']:.4f}</td>"
            f"<td>{r['tt'] / total:.1%}</td><td>{r['ct']:.4f}</td><td>{r['ct'] / total:.1%}"
            f"<span class=bar style='width:{min(r['ct'] / total, 1) * 100:.1f}%'></span></td>"
            f"<td>{per_call:,.1f}</td><td class=fn>{link(r['func'])}</td></tr>"
        )
    body.append("</tbody></table><h2>Callers and callees</h2>")
    for r in rows:
        func = r["func"]
        body.append(
            f"<details id={ids[func]}><summary>{esc(func_label(func))} — {r['ct']:.4f} s total "
            f"({r['ct'] / total:.1%}), {r['tt']:.4f} s own, {_calls(r['cc'], r['nc'])} calls</summary>"
        )
        for title, items in (
            ("called by", sorted(r["callers"].items(), key=lambda kv: kv[1][3], reverse=True)),
            ("calls", sorted(((f, v) for f, v in callees.get(func, [])), key=lambda kv: kv[1][3], reverse=True)),
        ):
            if not items:
                body.append(f"<p class=muted>{title}: nobody</p>" if title == "called by" else "")
                continue
            body.append(f"<table class=num><caption>{title}</caption><tr><th>calls</th><th>own s</th>"
                        "<th>total s</th><th>total %</th><th>function</th></tr>")
            for other, values in items:
                cc, nc, tt, ct = values[:4]
                body.append(
                    f"<tr><td>{_calls(cc, nc)}</td><td>{tt:.4f}</td><td>{ct:.4f}</td>"
                    f"<td>{ct / total:.1%}</td><td class=fn>{link(other)}</td></tr>"
                )
            body.append("</table>")
        body.append("</details>")
    return page(f"{capture.strategy} — callers/callees", "\n".join(body), depth=2, nav=nav, scripts=["table.js"])


def _annotate_tuna(node: dict[str, Any], calls: dict[str, int]) -> None:
    """Add call counts to tuna's hover text ("file::line::func" -> "... · N calls")."""
    text = node.get("text") or []
    if text:
        name = text[0][:-6] if text[0].endswith("::self") else text[0]
        if name in calls and calls[name]:
            text[0] = f"{text[0]} · {calls[name]:,} calls"
    for child in node.get("children", ()):
        _annotate_tuna(child, calls)


def render_icicle_page(capture: Capture, prof_path: Path, nav: str) -> str:
    """tuna's icicle page for one capture, its assets shared by every capture."""
    from tuna.main import read, render

    data = read(str(prof_path))
    stats = marshal.loads(prof_path.read_bytes())
    calls = {"{}::{}::{}".format(*func): v[1] for func, v in stats.items()}
    _annotate_tuna(data, calls)
    text = render(data, f"{capture.env_name}/{capture.strategy}.prof")
    text = text.replace('"static/', f'"../../{ASSET_DIR}/tuna/')
    bar = f'<div class="bi-nav bi-tuna">{nav}</div>'
    text = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + bar, text, count=1)
    extra = f'<link rel="stylesheet" href="../../{ASSET_DIR}/site.css" />'
    return text.replace("</head>", f"{extra}</head>", 1)


# --------------------------------------------------------------------------------------------
# HTML helpers and SVG charts
# --------------------------------------------------------------------------------------------

NAV_ITEMS = (
    ("index.html", "asv benchmarks"),
    ("scoresheet.html", "Scoresheet"),
    ("versions.html", "Version matrix"),
    (f"{PROFILE_DIR}/index.html", "Profiles"),
)


def nav_html(depth: int, current: str = "", extra: str = "") -> str:
    up = "../" * depth
    items = [
        f'<a href="{up}{href}"{" class=current" if href == current else ""}>{label}</a>'
        for href, label in NAV_ITEMS
    ]
    return '<span class="bi-brand">bulkinsert</span>' + "".join(items) + extra


def page(title: str, body: str, *, depth: int = 0, nav: str | None = None, current: str = "",
         scripts: Sequence[str] = ()) -> str:
    up = "../" * depth
    nav = nav if nav is not None else nav_html(depth, current)
    script_tags = "".join(f'<script src="{up}{ASSET_DIR}/{s}"></script>' for s in scripts)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width, initial-scale=1'><title>{html.escape(title)}</title>"
        f'<link rel="stylesheet" href="{up}{ASSET_DIR}/site.css"></head><body>'
        f'<nav class="bi-nav">{nav}</nav><main>{body}</main>{script_tags}</body></html>'
    )


PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
           "#e6550d", "#31a354", "#756bb1", "#636363", "#9c9ede", "#cedb9c", "#e7ba52", "#ad494a"]


def _fmt_seconds(value: float) -> str:
    if value >= 10:
        return f"{value:.0f} s"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 0.001:
        return f"{value * 1000:.1f} ms"
    return f"{value * 1e6:.0f} µs"


def line_chart(
    series: dict[str, list[tuple[float, float]]],
    *,
    x_labels: dict[float, str] | None = None,
    log_x: bool = False,
    log_y: bool = True,
    title: str = "",
    x_title: str = "",
    y_title: str = "seconds",
    width: int = 640,
    height: int = 320,
    links: dict[str, str] | None = None,
) -> str:
    """A small static SVG line chart (no JavaScript): one polyline per series, hover titles."""
    points = [(x, y) for pts in series.values() for x, y in pts if y is not None and y > 0]
    if not points:
        return ""
    left, right, top, bottom = 64, 200, 24, 40
    pw, ph = width - left - right, height - top - bottom
    fx = (lambda v: math.log10(v)) if log_x else (lambda v: v)
    fy = (lambda v: math.log10(v)) if log_y else (lambda v: v)
    xs = [fx(x) for x, _ in points]
    ys = [fy(y) for _, y in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    pad = (y1 - y0) * 0.08
    y0, y1 = y0 - pad, y1 + pad

    def px(x: float) -> float:
        return left + (fx(x) - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return top + ph - (fy(y) - y0) / (y1 - y0) * ph

    esc = html.escape
    out = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img"><title>{esc(title)}</title>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" class="plot"/>']
    # y grid: decades (log) or 5 ticks
    if log_y:
        ticks = [10 ** e for e in range(math.floor(y0), math.ceil(y1) + 1) if y0 <= e <= y1]
        if len(ticks) < 2:
            ticks = [10 ** (y0 + (y1 - y0) * i / 4) for i in range(5)]
    else:
        ticks = [y0 + (y1 - y0) * i / 4 for i in range(5)]
    for t in ticks:
        y = py(t)
        label = _fmt_seconds(t) if y_title == "seconds" else f"{t:.3g}"
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{esc(label)}</text>')
    xticks = sorted(x_labels) if x_labels else sorted({x for x, _ in points})
    for t in xticks:
        x = px(t)
        label = x_labels.get(t, "") if x_labels else f"{t:,.0f}"
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}" class="grid"/>'
                   f'<text x="{x:.1f}" y="{top + ph + 16}" class="tick" text-anchor="middle">{esc(label)}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 4}" class="axis" text-anchor="middle">{esc(x_title)}</text>')
    out.append(f'<text x="14" y="{top + ph / 2}" class="axis" text-anchor="middle" '
               f'transform="rotate(-90 14 {top + ph / 2})">{esc(y_title)}</text>')
    for i, (name, pts) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        good = [(x, y) for x, y in pts if y is not None and y > 0]
        if not good:
            continue
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in good)
        group = [f'<g class="series"><title>{esc(name)}</title>']
        if len(good) > 1:
            group.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y in good:
            xl = x_labels.get(x, f"{x:,.0f}") if x_labels else f"{x:,.0f}"
            value = _fmt_seconds(y) if y_title == "seconds" else f"{y:.3g}"
            group.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{color}">'
                         f'<title>{esc(name)} @ {esc(xl)}: {esc(value)}</title></circle>')
        ly = top + 12 + i * 14
        if ly < height - 8:
            label = f'<text x="{left + pw + 18}" y="{ly + 4}" class="legend">{esc(name)}</text>'
            if links and name in links:
                label = f'<a href="{esc(links[name])}">{label}</a>'
            group.append(f'<line x1="{left + pw + 4}" x2="{left + pw + 14}" y1="{ly}" y2="{ly}" '
                         f'stroke="{color}" stroke-width="3"/>{label}')
        group.append("</g>")
        out.append("".join(group))
    out.append("</svg>")
    return "".join(out)


def share_chart(shares: list[tuple[str, float, float]], title: str, links: dict[str, str]) -> str:
    """Horizontal bars: each strategy's wall time split into DB-API (driver) and the rest."""
    if not shares:
        return ""
    width, bar_h, left, right = 720, 18, 190, 70
    height = 30 + len(shares) * (bar_h + 6)
    pw = width - left - right
    longest = max(seconds for _, seconds, _ in shares) or 1.0
    esc = html.escape
    out = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img"><title>{esc(title)}</title>',
           f'<text x="{left}" y="14" class="legend"><tspan class="k-db">■</tspan> DB-API (psycopg2) '
           f'<tspan class="k-py">■</tspan> everything else (Python above the driver)</text>']
    for i, (name, seconds, share) in enumerate(shares):
        y = 26 + i * (bar_h + 6)
        full = pw * seconds / longest
        db = full * share
        label = f'<text x="{left - 6}" y="{y + 13}" class="tick" text-anchor="end">{esc(name)}</text>'
        if name in links:
            label = f'<a href="{esc(links[name])}">{label}</a>'
        out.append(
            f'<g><title>{esc(name)}: {_fmt_seconds(seconds)}, DB-API {share:.0%}</title>{label}'
            f'<rect x="{left}" y="{y}" width="{max(db, 0.5):.1f}" height="{bar_h}" class="db"/>'
            f'<rect x="{left + db:.1f}" y="{y}" width="{max(full - db, 0):.1f}" height="{bar_h}" class="py"/>'
            f'<text x="{left + full + 6:.1f}" y="{y + 13}" class="tick">{share:.0%}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)


# --------------------------------------------------------------------------------------------
# pages
# --------------------------------------------------------------------------------------------


@dataclass
class Site:
    """Everything the pages are made from."""

    runs: list[EnvRun]
    captures: dict[tuple[str, str], Capture]
    rows: int
    regressions: dict[tuple[str, str], str] = field(default_factory=dict)  # (env, strategy) -> note

    def profile_links(self, env: str, strategy: str, depth: int = 0) -> str:
        capture = self.captures.get((env, strategy))
        if capture is None:
            return ""
        up = "../" * depth
        return (f' <a class=pl href="{up}{capture.stem}.html" title="profile: icicle">map</a>'
                f' <a class=pl href="{up}{capture.stem}.table.html" title="profile: callers/callees">table</a>'
                f' <a class=pl href="{up}{capture.stem}.prof" download title="cProfile capture (pstats)">.prof</a>')

    def strategy_order(self) -> list[str]:
        from . import registry

        order = list(registry.load())
        seen = {s for run in self.runs for s in run.strategies()} | {s for _, s in self.captures}
        return [s for s in order if s in seen] + sorted(seen - set(order))

    def rows_for(self, run: EnvRun) -> int:
        measured = run.rows_measured()
        if not measured or self.rows in measured:
            return self.rows
        return min(measured, key=lambda r: abs(math.log(r / self.rows)))


def _fmt(value: float | None, pattern: str, suffix: str = "") -> str:
    return "<span class=na>n/a</span>" if value is None else format(value, pattern) + suffix


def render_scoresheet(site: Site) -> str:
    from . import registry

    strategies = registry.load()
    body = ["<h1>Scoresheet</h1>",
            f"<p>The talk's table, regenerated from the newest asv results of every environment. "
            f"Times are for inserting {site.rows:,} rows (best sample); DB-API is the time inside psycopg2; "
            f"statements are what the server executed; speed-up is over <code>{BASELINE}</code>; "
            f"floor is the ratio to the first of {', '.join(f'<code>{f}</code>' for f in FLOORS)} measured "
            "in that environment (the server's own COPY of a file; else rows it generates itself); "
            "overhead is the cProfile run's wall time over the plain run's. Each strategy links to its "
            "profile (map, table, .prof).</p>"]
    if not site.runs:
        body.append("<p class=muted>No asv results yet: run <code>make bench</code>.</p>")
    body.append("<ul class=toc>" + "".join(
        f'<li><a href="#{safe_name(run.env_name)}">{html.escape(run.label)}</a></li>' for run in site.runs
    ) + "</ul>")
    for run in site.runs:
        rows = site.rows_for(run)
        base = run.value("seconds", BASELINE, rows)
        floor = next(
            (value for name in FLOORS if (value := run.value("seconds", name, rows)) is not None), None
        )
        body.append(f'<section id="{safe_name(run.env_name)}"><h2>{html.escape(run.label)}</h2>'
                    f"<p class=meta>{html.escape(run.env_name)} · machine {html.escape(run.machine)} · "
                    f"commit {html.escape(run.commit[:8])} · {rows:,} rows</p>")
        body.append('<table class="sortable num scoresheet"><thead><tr><th data-type=text>strategy</th>'
                    "<th data-type=text>family</th><th data-type=num>total</th><th data-type=num>DB-API s</th>"
                    "<th data-type=num>DB-API %</th><th data-type=num>statements</th>"
                    "<th data-type=num>× faster than orm_basic</th><th data-type=num>× server floor</th>"
                    "<th data-type=num>profiler overhead</th><th data-type=num>function calls</th>"
                    "<th data-type=num>rows/s</th><th data-type=text>profile</th></tr></thead><tbody>")
        shares = []
        for name in site.strategy_order():
            seconds = run.value("seconds", name, rows)
            share = run.value("dbapi_share", name, rows)
            if seconds is None and share is None and (run.env_name, name) not in site.captures:
                continue
            family = strategies[name].family if name in strategies else ""
            dbapi = seconds * share if seconds is not None and share is not None else None
            speedup = base / seconds if base and seconds else None
            ratio = seconds / floor if floor and seconds else None
            sort_v = seconds if seconds is not None else 1e9
            body.append(
                f"<tr><td class=fn>{html.escape(name)}</td><td>{family}</td>"
                f"<td data-v={sort_v}>{_fmt(seconds, '.4f', ' s')}</td><td>{_fmt(dbapi, '.4f')}</td>"
                f"<td>{_fmt(share, '.0%')}</td><td>{_fmt(run.value('statements', name, rows), ',.0f')}</td>"
                f"<td>{_fmt(speedup, '.1f')}</td><td>{_fmt(ratio, '.2f')}</td>"
                f"<td>{_fmt(run.value('profiler_overhead', name, rows), '.2f', '×')}</td>"
                f"<td>{_fmt(run.value('function_calls', name, rows), ',.0f')}</td>"
                f"<td>{_fmt(run.value('rows_per_second', name, rows), ',.0f')}</td>"
                f"<td>{site.profile_links(run.env_name, name) or '<span class=na>–</span>'}</td></tr>"
            )
            if seconds is not None and share is not None:
                shares.append((name, seconds, share))
        body.append("</tbody></table>")
        links = {name: f"{site.captures[(run.env_name, name)].stem}.html"
                 for name in site.strategy_order() if (run.env_name, name) in site.captures}
        charts = []
        if shares:
            charts.append("<figure><figcaption>Where the time goes: DB-API share of each insert "
                          f"({rows:,} rows)</figcaption>" + share_chart(shares, "DB-API share", links) + "</figure>")
        series = {}
        for name in site.strategy_order():
            pts = [(r, run.value("seconds", name, r)) for r in run.rows_measured()]
            pts = [(r, v) for r, v in pts if v is not None]
            if pts:
                series[name] = pts
        if series:
            charts.append("<figure><figcaption>How time grows with rows (log–log)</figcaption>"
                          + line_chart(series, log_x=True, title="seconds by rows", x_title="rows",
                                       width=760, height=30 + 14 * len(series) + 60, links=links)
                          + "</figure>")
        body.append("<div class=charts>" + "".join(charts) + "</div></section>")
    return page("bulkinsert scoresheet", "\n".join(body), current="scoresheet.html", scripts=["table.js"])


def _colour(ratio: float) -> str:
    """Green at the row's best time, through yellow, to red at 2× (and beyond)."""
    t = max(0.0, min(1.0, math.log2(max(ratio, 1.0))))
    return f"hsl({120 - 120 * t:.0f}, 70%, {88 - 10 * t:.0f}%)"


def find_regressions(
    runs: Sequence[EnvRun], rows: int, results_dir: Path | None = None, threshold: float = 1.10
) -> dict[tuple[str, str], str]:
    """(env, strategy) -> notes, from ``bulkinsert compare``'s findings when it can read the results.

    Without it, a local rule: at the same psycopg2 version, a time more than ``threshold`` times
    the previous SQLAlchemy release's.
    """
    if results_dir is not None:
        found = _regressions_from_compare(results_dir, rows)
        if found is not None:
            return found
    notes: dict[tuple[str, str], str] = {}
    by_pg: dict[str, list[EnvRun]] = {}
    for run in runs:
        by_pg.setdefault(run.versions.get("psycopg2", "?"), []).append(run)
    for group in by_pg.values():
        group.sort(key=lambda r: version_key(r.versions.get("sqlalchemy", "0")))
        for before, after in zip(group, group[1:]):
            for strategy in after.strategies():
                old = before.value("seconds", strategy, rows)
                new = after.value("seconds", strategy, rows)
                if old and new and new > old * threshold:
                    notes[(after.env_name, strategy)] = (
                        f"time_insert: {new / old:.2f}× slower than with SQLAlchemy {before.versions.get('sqlalchemy')}"
                    )
    return notes


def _regressions_from_compare(results_dir: Path, rows: int) -> dict[tuple[str, str], str] | None:
    """Findings of :func:`bulkinsert.compare.find_regressions` at ``rows``; None when unavailable."""
    try:
        from . import compare
    except ImportError:
        return None
    try:
        figures = compare.load_results(results_dir)
        findings = compare.find_regressions(figures)
    except Exception:  # noqa: BLE001 - the local rule is better than no site
        return None
    env_of = {(f.machine, frozenset(f.versions)): f.env_name for f in figures}
    notes: dict[tuple[str, str], list[str]] = {}
    for finding in findings:
        if str(finding.params.get("rows")) != str(rows) or "strategy" not in finding.params:
            continue
        versions = dict(finding.context)
        versions[finding.library] = finding.new_version
        env = env_of.get((finding.machine, frozenset(versions.items())))
        if env is None:
            continue
        method = finding.benchmark.rsplit(".", 1)[-1]
        notes.setdefault((env, finding.params["strategy"]), []).append(
            f"{method}: ×{finding.ratio:.2f} vs {finding.library} {finding.old_version} ({finding.noise})"
        )
    return {key: "; ".join(values) for key, values in notes.items()}


def render_versions(site: Site) -> str:
    runs = site.runs
    rows = site.rows
    esc = html.escape
    body = ["<h1>Version matrix</h1>",
            f"<p>Time to insert {rows:,} rows, per strategy (rows) and library versions (columns). "
            "Colour is relative to the strategy's best environment: green is its fastest, red twice as "
            "slow or worse. <span class=reg>▲</span> marks a regression against the previous SQLAlchemy "
            "release (same psycopg2). Each cell links to that environment's profile.</p>"]
    if not runs:
        body.append("<p class=muted>No asv results yet: run <code>make bench</code>.</p>")
        return page("bulkinsert version matrix", "\n".join(body), current="versions.html")
    body.append('<div class=scroll><table class="matrix num"><thead><tr><th>strategy</th>')
    for run in runs:
        body.append(f"<th title='{esc(run.env_name)}'>SQLAlchemy {esc(run.versions.get('sqlalchemy', '?'))}"
                    f"<br><small>psycopg2 {esc(run.versions.get('psycopg2', '?'))}</small></th>")
    body.append("</tr></thead><tbody>")
    for name in site.strategy_order():
        values = {run.env_name: run.value("seconds", name, site.rows_for(run)) for run in runs}
        best = min((v for v in values.values() if v), default=None)
        body.append(f'<tr><th class=fn><a href="#chart-{name}">{esc(name)}</a></th>')
        for run in runs:
            value = values[run.env_name]
            note = site.regressions.get((run.env_name, name))
            mark = f' <span class=reg title="{esc(note)}">▲</span>' if note else ""
            if value is None:
                body.append(f"<td class=na>n/a{site.profile_links(run.env_name, name)}</td>")
                continue
            ratio = value / best if best else 1.0
            body.append(f'<td style="background:{_colour(ratio)}" title="{ratio:.2f}× its best">'
                        f"{_fmt_seconds(value)}{mark}<br>{site.profile_links(run.env_name, name)}</td>")
        body.append("</tr>")
    body.append("</tbody></table></div>")
    notes = sorted(site.regressions.items())
    if notes:
        body.append("<h2>Regressions</h2><ul>" + "".join(
            f"<li><code>{esc(s)}</code> in {esc(next((r.label for r in runs if r.env_name == e), e))}: {esc(n)}</li>"
            for (e, s), n in notes) + "</ul>")
    # per strategy: x axis = SQLAlchemy release, one line per psycopg2 (or the other way round)
    sa_versions = sorted({r.versions.get("sqlalchemy", "?") for r in runs}, key=version_key)
    pg_versions = sorted({r.versions.get("psycopg2", "?") for r in runs}, key=version_key)
    x_lib, line_lib = ("sqlalchemy", "psycopg2") if len(sa_versions) > 1 or len(pg_versions) == 1 else (
        "psycopg2", "sqlalchemy")
    x_versions = sa_versions if x_lib == "sqlalchemy" else pg_versions
    x_pos = {v: float(i) for i, v in enumerate(x_versions)}
    x_labels = {float(i): v for i, v in enumerate(x_versions)}
    x_title = "SQLAlchemy release" if x_lib == "sqlalchemy" else "psycopg2 release"
    body.append(f"<h2>Per strategy, by {x_title}</h2><div class=charts>")
    for name in site.strategy_order():
        series: dict[str, list[tuple[float, float]]] = {}
        for run in runs:
            value = run.value("seconds", name, site.rows_for(run))
            if value is None:
                continue
            label = f"{'psycopg2' if line_lib == 'psycopg2' else 'SQLAlchemy'} {run.versions.get(line_lib, '?')}"
            series.setdefault(label, []).append((x_pos[run.versions.get(x_lib, "?")], value))
        for pts in series.values():
            pts.sort()
        chart = line_chart(series, x_labels=x_labels, title=f"{name}: seconds by {x_title}",
                           x_title=x_title, width=520, height=240)
        if chart:
            body.append(f'<figure id="chart-{name}"><figcaption><code>{esc(name)}</code> — {rows:,} rows'
                        f"</figcaption>{chart}</figure>")
    body.append("</div>")
    return page("bulkinsert version matrix", "\n".join(body), current="versions.html")


def render_profiles_index(site: Site) -> str:
    esc = html.escape
    envs = sorted({env for env, _ in site.captures},
                  key=lambda e: next((r.sort_key for r in site.runs if r.env_name == e), ((), (), e)))
    labels = {r.env_name: r.label for r in site.runs}
    body = ["<h1>Profiles</h1>",
            "<p>cProfile captures of every strategy in every environment. <b>map</b>: an icicle where "
            "area is time (hover for name, calls and time; click to drill down); <b>table</b>: every "
            "function with its callers and callees and its share of the total; <b>.prof</b>: the pstats "
            "file itself (open it with <code>snakeviz</code>, <code>tuna</code>, RunSnakeRun or "
            "<code>python -m pstats</code>). Machine paths are rewritten: installed libraries appear as "
            "<code>site-packages/…</code>, the project's files relative to the repository.</p>"]
    if not envs:
        body.append("<p class=muted>No captures found.</p>")
    else:
        body.append('<div class=scroll><table class="matrix"><thead><tr><th>strategy</th>' + "".join(
            f"<th title='{esc(e)}'>{esc(labels.get(e, e))}</th>" for e in envs) + "</tr></thead><tbody>")
        for name in site.strategy_order():
            cells = "".join(
                f"<td>{site.profile_links(env, name, depth=1) or '<span class=na>–</span>'}</td>" for env in envs
            )
            body.append(f"<tr><th class=fn>{esc(name)}</th>{cells}</tr>")
        body.append("</tbody></table></div>")
    return page("bulkinsert profiles", "\n".join(body), depth=1, current=f"{PROFILE_DIR}/index.html")


# --------------------------------------------------------------------------------------------
# asv's own pages: offline assets and a link to ours
# --------------------------------------------------------------------------------------------


def patch_asv_index(html_dir: Path) -> bool:
    """Point asv's CDN scripts at vendored copies and add links to our pages (idempotent)."""
    index = html_dir / "index.html"
    if not index.is_file():
        return False
    text = index.read_text(encoding="utf-8")

    def local(match: re.Match[str]) -> str:
        tag = match.group(0)
        url = re.search(r'(?:src|href)="(https?://[^"]+)"', tag)
        if url is None:
            return tag
        for suffix, vendored in CDN_TO_VENDOR.items():
            if url.group(1).endswith(suffix):
                tag = tag.replace(url.group(1), f"{ASSET_DIR}/vendor/{vendored}")
                tag = re.sub(r'\s+(integrity|crossorigin|referrerpolicy)="[^"]*"', "", tag)
                return tag
        return tag

    text = re.sub(r"<(?:script|link)\b[^>]*>", local, text)
    if MARKER not in text:
        links = "".join(
            f'<li class="bi-link"><a href="{href}">{label}</a></li>' for href, label in NAV_ITEMS[1:]
        )
        text, count = re.subn(
            r'(<li id="nav-li-regressions">.*?</li>)', lambda m: m.group(1) + MARKER + links, text, count=1
        )
        if count == 0:
            text = text.replace("<body>", f"<body>{MARKER}<p>{links}</p>", 1)
    index.write_text(text, encoding="utf-8")
    return True


# --------------------------------------------------------------------------------------------
# build
# --------------------------------------------------------------------------------------------


@dataclass
class BuildSummary:
    html_dir: Path
    environments: int
    captures: int
    pages: list[str]
    missing: list[tuple[str, str]]


def _read_asv_conf(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    try:
        from asv import util

        return util.load_json(str(path), js_comments=True)
    except Exception:  # noqa: BLE001 - asv absent or stricter than us: strip // comments ourselves
        return json.loads(re.sub(r"^\s*//.*$", "", text, flags=re.M))


def build_site(
    html_dir: Path,
    results_dir: Path,
    *,
    profile_dirs: Sequence[Path] = (),
    rows: int = DEFAULT_ROWS,
    roots: Sequence[Path] = (),
    on_step: Callable[[str], None] | None = None,
) -> BuildSummary:
    """Add profiles, viewers, the scoresheet and the version matrix to asv's ``html_dir``."""
    step = on_step or (lambda _text: None)
    html_dir.mkdir(parents=True, exist_ok=True)
    runs = load_runs(results_dir)
    env_names = [r.env_name for r in runs]
    captures = {(c.env_name, c.strategy): c for c in find_captures(profile_dirs, env_names, rows)}
    machine_roots = _machine_roots(roots)

    # assets
    assets_out = html_dir / ASSET_DIR
    if assets_out.exists():
        shutil.rmtree(assets_out)
    shutil.copytree(ASSETS, assets_out, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    import tuna

    shutil.copytree(Path(tuna.__file__).parent / "web" / "static", assets_out / "tuna")

    # profiles
    profiles_out = html_dir / PROFILE_DIR
    if profiles_out.exists():
        shutil.rmtree(profiles_out)
    site = Site(runs=runs, captures={}, rows=rows)
    for (env, strategy), capture in sorted(captures.items()):
        step(f"profile {env}/{strategy}")
        public = public_pstats(capture.data, machine_roots)
        capture.data = public
        prof_path = html_dir / f"{capture.stem}.prof"
        prof_path.parent.mkdir(parents=True, exist_ok=True)
        prof_path.write_bytes(public)
        site.captures[(env, strategy)] = capture
    for (env, strategy), capture in sorted(site.captures.items()):
        name = strategy
        nav = nav_html(2, extra=(
            f'<span class=sep>|</span><b>{html.escape(name)}</b> <small>{html.escape(env)}</small>'
            f'<a href="{name}.html">map</a><a href="{name}.table.html">callers/callees</a>'
            f'<a href="{name}.prof" download>.prof</a>'))
        prof_path = html_dir / f"{capture.stem}.prof"
        try:
            icicle = render_icicle_page(capture, prof_path, nav)
        except Exception as exc:  # noqa: BLE001 - one odd capture must not sink the site
            icicle = page(f"{name} — map", f"<p>tuna could not draw this capture: {html.escape(str(exc))}</p>"
                          f'<p><a href="{name}.table.html">callers/callees</a></p>', depth=2, nav=nav)
        _write(html_dir / f"{capture.stem}.html", icicle)
        _write(html_dir / f"{capture.stem}.table.html", render_table_page(capture, capture.data, nav))

    site.regressions = find_regressions(runs, rows, results_dir)
    _write(html_dir / "scoresheet.html", render_scoresheet(site))
    _write(html_dir / "versions.html", render_versions(site))
    _write(profiles_out / "index.html", render_profiles_index(site))
    patch_asv_index(html_dir)
    _scrub_tree(html_dir)
    missing = [(r.env_name, s) for r in runs for s in r.strategies()
               if r.value("seconds", s, site.rows_for(r)) is not None and (r.env_name, s) not in site.captures]
    return BuildSummary(html_dir, len(runs), len(site.captures),
                        ["scoresheet.html", "versions.html", f"{PROFILE_DIR}/index.html"], missing)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(scrub(text), encoding="utf-8")


def _scrub_tree(html_dir: Path) -> None:
    """A DSN password in asv's own output (e.g. recorded env vars) must not be published either."""
    from .server import DSN_ENV, dsn_password

    password = dsn_password(os.environ.get(DSN_ENV, ""))
    if not password:
        return
    for path in html_dir.rglob("*"):
        if path.suffix in (".json", ".html", ".js", ".xml", ".txt") and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            if password in text:
                path.write_text(text.replace(password, "***"), encoding="utf-8")


@click.command("site")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
              default=Path("asv.conf.json"), show_default=True, help="asv config naming results_dir and html_dir.")
@click.option("--results-dir", type=click.Path(path_type=Path, file_okay=False), help="asv results [from config].")
@click.option("--html-dir", type=click.Path(path_type=Path, file_okay=False),
              help="asv's published site [from config].")
@click.option("--profile-dir", "profile_dirs", multiple=True, type=click.Path(path_type=Path, file_okay=False),
              help=f"Captures laid out as <env>/<strategy>[-<rows>].prof [{DEFAULT_PROFILE_SOURCE}]; repeatable.")
@click.option("--rows", type=click.IntRange(min=1), default=DEFAULT_ROWS, show_default=True,
              help="Row count the scoresheet, matrix and captures are for.")
@click.option("--capture", "capture_env", metavar="ENV",
              help="First profile every runnable strategy here, filed under environment ENV "
                   "('auto': the asv environment with this interpreter's versions).")
def site_command(
    config_path: Path,
    results_dir: Path | None,
    html_dir: Path | None,
    profile_dirs: tuple[Path, ...],
    rows: int,
    capture_env: str | None,
) -> None:
    """Add profiles, profile viewers, the scoresheet and the version matrix to asv's published site.

    Run after ``asv publish`` (``make publish`` does both).
    """
    conf = _read_asv_conf(config_path)
    base = config_path.resolve().parent
    results_dir = results_dir or base / conf.get("results_dir", ".asv/results")
    html_dir = html_dir or base / conf.get("html_dir", ".asv/html")
    sources = list(profile_dirs) or [base / DEFAULT_PROFILE_SOURCE]
    if capture_env:
        from .compat import library_versions

        if capture_env == "auto":
            mine = library_versions()
            match = [r.env_name for r in load_runs(results_dir)
                     if r.versions.get("sqlalchemy") == mine["sqlalchemy"]
                     and r.versions.get("psycopg2") == mine["psycopg2"]]
            capture_env = match[0] if match else f"local-SQLAlchemy{mine['sqlalchemy']}-psycopg2{mine['psycopg2']}"
        click.echo(f"profiling every strategy at {rows:,} rows for {capture_env} ...", err=True)
        capture_now(capture_env, sources[0], rows)
    summary = build_site(html_dir, results_dir, profile_dirs=sources, rows=rows,
                         on_step=lambda text: None)
    click.echo(f"site: {summary.html_dir}: {summary.environments} environments, "
               f"{summary.captures} profiles; pages: {', '.join(summary.pages)}")
    if summary.missing:
        click.echo(f"note: {len(summary.missing)} measured strategy x environment pairs have no profile "
                   f"(e.g. {summary.missing[0][1]} in {summary.missing[0][0]})", err=True)
