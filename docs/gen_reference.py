"""The reference pages that come from the code, written at every `mkdocs build` (mkdocs-gen-files).

Nothing here is kept in git, so a page cannot go stale: the environment variables from
:mod:`bulkinsert.envvars`, the strategies and their roles from the registry, the metrics from
their table, the asv benchmarks and their parameters from the suite's own modules, the `make`
targets from the Makefile's comments, the results index from the records and the changelog from
CHANGELOG.md. The command line is rendered by mkdocs-click from the click commands
(docs/reference/cli.md). ``tests/test_docs.py`` builds the site and checks each page against the
code it came from.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARK_PREFIXES = ("time_", "track_", "peakmem_", "mem_")
MAKE_TARGET = re.compile(r"^([a-z][a-z0-9-]*):(?!=)")


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def environment_page() -> str:
    from bulkinsert.envvars import ENVIRONMENT, GROUPS

    lines = [
        "# Environment variables",
        "",
        "Every `BULKINSERT_*` variable the project reads, from its one declaration in",
        "`bulkinsert/envvars.py` (a test fails when the code reads one that is not declared there).",
        "Command-line options, where a command has one, win over the variable.",
        "",
    ]
    for group in GROUPS:
        members = [variable for variable in ENVIRONMENT if variable.group == group]
        lines += [f"## {group}", "", "| variable | default | meaning | read by |", "|---|---|---|---|"]
        lines += [f"| `{v.name}` | {cell(v.default)} | {cell(v.meaning)} | {cell(v.read_by)} |" for v in members]
        lines.append("")
    return "\n".join(lines)


def strategies_page() -> str:
    from bulkinsert import registry

    strategies = registry.load()
    lines = [
        "# Strategies",
        "",
        "Every registered insert strategy, from the registry (`bulkinsert/registry.py`,",
        "`bulkinsert/strategies/`). `bulkinsert list` prints the same with whether each one runs",
        "with the installed versions. Adding one: [how-to: contributing](../how-to/contributing.md).",
        "",
    ]
    for family in registry.FAMILIES:
        members = [s for s in strategies.values() if s.family == family]
        if not members:
            continue
        lines += [f"## {family}", "", "| strategy | talk step | drivers (default first) | roles | what it does |",
                  "|---|---|---|---|---|"]
        for s in members:
            step = s.talk_step if s.talk_step is not None else ""
            drivers = ", ".join(dict.fromkeys((s.driver, *s.drivers)))
            roles = ", ".join(sorted(s.roles))
            lines.append(f"| `{s.name}` | {step} | {drivers} | {roles} | {cell(s.description)} |")
        lines.append("")
    lines += ["## Roles", "",
              "What a strategy is for besides inserting (`@strategy(roles=...)`; a family may imply some).",
              "Tools ask `registry.with_role(...)`, never a list of names.", "",
              "| role | meaning | strategies |", "|---|---|---|"]
    for role, meaning in registry.ROLES.items():
        names = ", ".join(f"`{name}`" for name in registry.with_role(role))
        lines.append(f"| `{role}` | {cell(meaning)} | {names} |")
    lines.append("")
    return "\n".join(lines)


def benchmark_classes() -> Iterator[tuple[str, type, list[str]]]:
    """(module, class, benchmark methods) of every asv benchmark class the suite defines."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        if path.stem.startswith("_"):
            continue
        module = importlib.import_module(f"benchmarks.{path.stem}")
        for name, value in vars(module).items():
            if not inspect.isclass(value) or value.__module__ != module.__name__ or name.startswith("_"):
                continue
            methods = sorted(m for m in dir(value) if m.startswith(BENCHMARK_PREFIXES) and callable(getattr(value, m)))
            if methods:
                yield path.stem, value, methods


def describe_params(cls: type) -> str:
    names = getattr(cls, "param_names", None) or []
    params = getattr(cls, "params", None) or []
    if not names:
        return ""
    parts = []
    for name, values in zip(names, params, strict=False):
        values = list(values)
        shown = ", ".join(f"`{v}`" for v in values) if len(values) <= 6 else f"{len(values)} values"
        parts.append(f"{name}: {shown}")
    return "; ".join(parts)


def first_line(text: str | None) -> str:
    return (inspect.cleandoc(text).split("\n\n")[0].replace("\n", " ") if text else "")


def benchmarks_page() -> str:
    lines = [
        "# asv benchmarks",
        "",
        "Every benchmark of the asv suite (`benchmarks/`), its parameters as this checkout's",
        "defaults set them (the size variables and `BULKINSERT_QUICK` change them:",
        "[environment variables](environment.md)), and what it measures. Which `make` target",
        "runs which: [make targets](make.md); how the figures are taken:",
        "[methodology](../explanation/methodology.md).",
        "",
        "| benchmark | parameters | what it measures |",
        "|---|---|---|",
    ]
    for module, cls, methods in benchmark_classes():
        params = describe_params(cls)
        for method in methods:
            doc = first_line(getattr(cls, method).__doc__) or first_line(cls.__doc__)
            lines.append(f"| `{module}.{cls.__name__}.{method}` | {cell(params)} | {cell(doc)} |")
    lines.append("")
    return "\n".join(lines)


def make_targets() -> list[tuple[str, str]]:
    """(target, the comment block above it) for every target of the Makefile."""
    targets = []
    comment: list[str] = []
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            comment.append(line.lstrip("#").strip())
            continue
        match = MAKE_TARGET.match(line)
        if match and match.group(1) != "PHONY":
            targets.append((match.group(1), " ".join(part for part in comment if part)))
        if not line.strip() or match:
            comment = []
    return targets


def make_page() -> str:
    lines = ["# make targets", "",
             "Every target of the `Makefile`, with the comment above it there. `make test` and `make bench`",
             "set up everything on a fresh machine with only `python3`.", "",
             "| target | what it does |", "|---|---|"]
    lines += [f"| `make {target}` | {cell(comment)} |" for target, comment in make_targets()]
    lines.append("")
    return "\n".join(lines)


def metrics_page() -> str:
    from bulkinsert.analysis import metrics

    kinds = {
        metrics.SAMPLED: "a timing with samples: judged by the rank test and replicates",
        metrics.SINGLE: "one value per run: shown, unconfirmed beyond the threshold",
        metrics.COUNTED: "deterministic: judged exactly, within its count tolerance",
        metrics.RATIO: "describes a run: shown, never judged",
    }
    lines = [
        "# Metrics",
        "",
        "Every metric of the suite, from its one declaration (`METRICS` in",
        "`bulkinsert/analysis/metrics.py`): the asv benchmark that records it, the key the measuring",
        "pass and the release worker answer under, its unit and how `compare`, `releases bisect` and",
        "the site judge it ([verdict rules](../explanation/verdict-rules.md)). Adding one:",
        "[how-to: contributing](../how-to/contributing.md#a-metric).",
        "",
        "| metric | kind | better | asv benchmark | key | unit | site column | release tools' `--metric` "
        "| count tolerance |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in metrics.METRICS:
        tolerance = (f"{m.per_row_tolerance:g} per row, {m.per_insert_tolerance:g} per insert"
                     if m.per_row_tolerance or m.per_insert_tolerance else "")
        lines.append(f"| `{m.name}` | {m.kind} | {'lower' if m.lower_is_better else 'higher'} | `{m.benchmark}` | "
                     f"`{m.attribute}` | {cell(m.unit)} | {'yes' if m.on_pages else ''} | "
                     f"{'yes' if m.side_by_side else ''} | {tolerance} |")
    lines += ["", "Kinds:", ""]
    lines += [f"- **{kind}**: {meaning}" for kind, meaning in kinds.items()]
    lines.append("")
    return "\n".join(lines)


def results_index() -> str:
    """The dated records, newest first, each with its title."""
    lines = [
        "# Results",
        "",
        "Every measurement is a dated record: when it was measured, the command, the commit, the machine",
        "and its load, then the figures. Once written, a record is not edited; a new measurement is a",
        "new record. Rules and explanations link here for the figures behind a claim.",
        "",
        "| date | record |",
        "|---|---|",
    ]
    for path in sorted((ROOT / "docs" / "results").glob("[0-9]*.md"), reverse=True):
        title = path.read_text(encoding="utf-8").split("\n", 1)[0].lstrip("# ").strip()
        lines.append(f"| {path.name[:10]} | [{cell(title)}]({path.name}) |")
    lines.append("")
    return "\n".join(lines)


def changelog_page() -> str:
    """CHANGELOG.md, kept at the repository's root, as a page of the site."""
    return (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


PAGES = {
    "changelog.md": changelog_page,
    "reference/metrics.md": metrics_page,
    "results/index.md": results_index,
    "reference/environment.md": environment_page,
    "reference/strategies.md": strategies_page,
    "reference/benchmarks.md": benchmarks_page,
    "reference/make.md": make_page,
}


def write_pages() -> None:
    import mkdocs_gen_files

    for path, render in PAGES.items():
        with mkdocs_gen_files.open(path, "w") as page:
            page.write(render())


if __name__ in ("__main__", "<run_path>"):  # mkdocs-gen-files runs it with runpy.run_path
    write_pages()
