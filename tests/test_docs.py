"""The documentation: it builds, its reference follows the code, and its rules about words hold.

The site is built once with ``mkdocs build --strict`` (as ``make docs`` and CI do), so a broken
link, a missing page or any warning fails here first. The reference pages are generated from the
code at build time (docs/gen_reference.py, mkdocs-click); these tests check each rendered page
against a second reading of the code — the click command tree, the registry, the suite's source,
the Makefile — so a generator that drops something fails too. The environment-variable test
reads the source tree for literal ``BULKINSERT_*`` names: one the code reads but
``bulkinsert/envvars.py`` does not declare fails.
"""

from __future__ import annotations

import ast
import html
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from bulkinsert import registry
from bulkinsert.analysis.metrics import METRICS
from bulkinsert.envvars import BY_NAME, ENVIRONMENT, GROUPS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RESULTS = DOCS / "results"
ENV_NAME = re.compile(r"\bBULKINSERT_[A-Z0-9][A-Z0-9_]*[A-Z0-9]\b")
# Where the project's code, scripts and configuration live (the docs render the declarations).
SCANNED = ["bulkinsert", "benchmarks", "tests", "examples", ".ci", ".github", "Makefile", "asv.conf.json"]
SCANNED_SUFFIXES = {".py", ".html", ".json", ".yml", ".yaml", ".toml", ".sh", ".cfg", ""}
RECORD_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}-[a-z0-9.-]+\.md$")
RECORD_FIELDS = ("measured", "command", "commit", "machine", "load")


# --- the environment variables --------------------------------------------------------------------


def names_in_source(paths: list[Path]) -> dict[str, list[str]]:
    """Every literal ``BULKINSERT_*`` name in the files under ``paths``, with where it occurs."""
    found: dict[str, list[str]] = {}
    for base in paths:
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in files:
            if path.suffix not in SCANNED_SUFFIXES or "__pycache__" in path.parts or path.name == "envvars.py":
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            for number, line in enumerate(text.splitlines(), 1):
                for name in ENV_NAME.findall(line):
                    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                    found.setdefault(name, []).append(f"{where}:{number}")
    return found


def test_every_environment_variable_the_code_names_is_declared() -> None:
    found = names_in_source([ROOT / part for part in SCANNED if (ROOT / part).exists()])
    assert len(found) >= 21, sorted(found)  # the scan sees the tree (21 variables when this was written)
    undeclared = {name: places[:3] for name, places in found.items() if name not in BY_NAME}
    assert not undeclared, f"declare these in bulkinsert/envvars.py: {undeclared}"
    unused = sorted(set(BY_NAME) - set(found))
    assert not unused, f"declared in bulkinsert/envvars.py but read nowhere: {unused}"


def test_the_scan_finds_a_variable_planted_in_a_file(tmp_path: Path) -> None:
    name = "BULKINSERT_" + "NOT_DECLARED_ANYWHERE"  # spelled in two parts, so this file does not name it
    planted = tmp_path / "module.py"
    planted.write_text(f'import os\nLIMIT = os.environ.get("{name}", "1")\n')
    found = names_in_source([tmp_path])
    assert list(found) == [name] and name not in BY_NAME


def test_every_declaration_is_complete_and_in_a_group() -> None:
    assert len(BY_NAME) == len(ENVIRONMENT), "a variable is declared twice"
    for variable in ENVIRONMENT:
        assert variable.meaning.strip() and variable.default.strip() and variable.read_by.strip(), variable.name
        assert variable.group in GROUPS, variable.name


# --- the built site -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation built as `make docs` builds it: --strict, every warning an error."""
    out = tmp_path_factory.mktemp("docs-site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def page_text(site: Path, page: str) -> str:
    """A built page's text: tags dropped, entities decoded."""
    raw = (site / page / "index.html").read_text(encoding="utf-8")
    main = raw.split('<article', 1)[-1]
    return html.unescape(re.sub(r"<[^>]+>", " ", main))


def test_the_site_builds_strict_with_every_section(site: Path) -> None:
    for page in ("tutorial/first-run", "how-to/choose-an-insert-path", "how-to/releases-and-commits",
                 "reference/cli", "reference/environment", "reference/strategies", "reference/metrics",
                 "reference/benchmarks", "reference/make", "explanation/methodology",
                 "explanation/verdict-rules", "explanation/architecture", "explanation/drivers", "results"):
        assert (site / page / "index.html").is_file(), page


def test_the_environment_page_lists_every_declared_variable(site: Path) -> None:
    text = page_text(site, "reference/environment")
    for variable in ENVIRONMENT:
        assert variable.name in text, variable.name


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            if not sub.hidden:
                found += _commands(sub, (*path, name))
    return found


def test_the_cli_page_has_every_command_and_option(site: Path) -> None:
    from bulkinsert.cli.main import cli

    text = page_text(site, "reference/cli")
    assert "Sentinel" not in text, "a default rendered as click's internal sentinel"
    commands = _commands(cli)
    assert len(commands) > 10, "the command tree is read: run, ladder, releases sweep, …"
    missing = []
    for path, command in commands:
        if path and " ".join(path) not in text:
            missing.append(" ".join(path))
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                longest = max(param.opts, key=len)
                if longest not in text:
                    missing.append(f"{' '.join(path) or 'bulkinsert'} {longest}")
    assert not missing, f"missing from docs/reference/cli.md: {missing}"


def test_the_strategies_page_has_every_strategy_and_role(site: Path) -> None:
    text = page_text(site, "reference/strategies")
    for name, strategy in registry.load().items():
        assert re.search(rf"\b{re.escape(name)}\b", text), name
        assert strategy.family in text
    for role in registry.ROLES:
        assert role in text, role


def test_the_metrics_page_has_every_metric(site: Path) -> None:
    text = page_text(site, "reference/metrics")
    for metric in METRICS:
        assert metric.name in text and metric.benchmark in text, metric.name


def test_the_benchmarks_page_has_every_benchmark_method_of_the_suite(site: Path) -> None:
    """Read from the suite's source with ast, not by importing it as the generator does."""
    text = page_text(site, "reference/benchmarks")
    methods = set()
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name.startswith(("time_", "track_", "peakmem_")):
                        methods.add(f"{path.stem}.{node.name}.{item.name}")
    assert len(methods) >= 10, methods
    missing = sorted(m for m in methods if m not in text)
    assert not missing, f"missing from the asv benchmarks page: {missing}"


def test_the_make_page_has_every_phony_target(site: Path) -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.M)
    assert phony is not None
    text = page_text(site, "reference/make")
    targets = [t for t in phony.group(1).split() if re.search(rf"^{re.escape(t)}:", makefile, re.M)]
    assert {"test", "bench", "docs"} <= set(targets)
    for target in targets:
        assert f"make {target}" in text, target


def test_the_results_index_lists_every_record(site: Path) -> None:
    text = page_text(site, "results")
    records = sorted(RESULTS.glob("[0-9]*.md"))
    assert records
    for record in records:
        title = record.read_text(encoding="utf-8").split("\n", 1)[0].lstrip("# ").strip()
        assert title in text, record.name


# --- the rules about words ------------------------------------------------------------------------

RUN_LOG_HEADING = re.compile(r"^#{1,6}\s+(re-)?measured\b|^#{1,6}\s.*\bmeasured\s*\(commit", re.I)
RUN_LOG_LINE = re.compile(r"^(\*\*)?Measured\b")


def run_log_lines(text: str) -> list[str]:
    """Lines that belong to a measurement log: a "Measured …" heading or paragraph, a load average."""
    found, fence = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
            continue
        if "load average" in line.lower() or (not fence and (RUN_LOG_HEADING.match(line) or RUN_LOG_LINE.match(line))):
            found.append(line.strip())
    return found


def test_no_page_outside_the_results_holds_a_run_log() -> None:
    pages = [p for p in DOCS.rglob("*.md") if RESULTS not in p.parents] + [ROOT / "README.md", ROOT / "CHANGELOG.md"]
    offending = {str(p.relative_to(ROOT)): run_log_lines(p.read_text(encoding="utf-8")) for p in pages}
    offending = {page: lines[:3] for page, lines in offending.items() if lines}
    assert not offending, f"move these to a dated record under docs/results/: {offending}"


def test_the_run_log_rule_sees_a_measured_section_and_a_load_average() -> None:
    assert run_log_lines("## Measured (commit abc1234)\n\ntext") == ["## Measured (commit abc1234)"]
    assert run_log_lines("The run (load average 1.2) took 3 s.") == ["The run (load average 1.2) took 3 s."]
    assert run_log_lines("**Measured** (2026-12-03 09:28 UTC)") == ["**Measured** (2026-12-03 09:28 UTC)"]
    assert run_log_lines("## What is measured, and where it goes\n# Measured in a code comment") == [
        "# Measured in a code comment"]
    assert run_log_lines("```sh\n# measured here\n```") == []


def test_every_record_is_dated_and_says_how_it_was_measured() -> None:
    for record in RESULTS.glob("*.md"):
        if record.name == "index.md":
            continue
        assert RECORD_NAME.match(record.name), f"{record.name}: name it YYYY-MM-DD-topic.md"
        head = record.read_text(encoding="utf-8").split("---\n", 1)[0]
        for field in RECORD_FIELDS:
            assert re.search(rf"^\| {field} \| .+ \|$", head, re.M), f"{record.name}: no '{field}' row"
        dated = re.search(rf"^\| measured \| {record.name[:10]}", head, re.M)
        assert dated, f"{record.name}: the date measured differs from the name's"


def test_the_readme_is_a_front_door() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) <= 150, len(lines)
    assert "make test" in text and "make bench" in text
    hashes = {line for line in lines if re.search(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b", line)}
    assert len(hashes) <= 1 and all("commit" in line for line in hashes), f"hashes outside the headline: {hashes}"


def test_the_changelog_keeps_an_unreleased_section() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert text.startswith("# Changelog") and "## [Unreleased]" in text


def test_every_page_has_one_title() -> None:
    """One `# ` heading per page, outside code blocks: moved sections sit under their page's title."""
    for page in sorted(DOCS.rglob("*.md")):
        titles, fence = 0, False
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.startswith("```"):
                fence = not fence
            elif not fence and line.startswith("# "):
                titles += 1
        assert titles == 1, f"{page.relative_to(ROOT)}: {titles} titles"
