"""``bulkinsert report``: findings of ``bulkinsert compare --json`` or ``releases watch --json`` where people see them.

CI prints them into the job summary as Markdown (``report markdown``, also ``compare --markdown``)
and files one GitHub issue per confirmed finding (``report github``). An issue's title is the
finding's key — library, release, strategy and metric — so a later run that confirms the same
finding comments on that issue instead of opening another one. Without a token nothing is
filed: the command prints what it would do.

Only the standardised fields of a finding are required (library, strategy, metric, old, new,
ratio, confirmed, verdict); the rest (rows, machine, values, unit, reason) is shown when present.
``releases watch --json`` writes the same fields, plus ``new_releases`` (what the run measured),
which the summary lists.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from ..errors import BulkInsertError
from .metrics import format_value

REQUIRED = ("library", "strategy", "metric", "old", "new", "ratio", "confirmed", "verdict")
VERDICT_ORDER = {"regression": 0, "changed": 1, "improvement": 2}
MAX_TABLE_ROWS = 60  # a job summary is for reading; the JSON has every finding
TITLE_PREFIX = "Benchmark finding:"
TOKEN_VARIABLES = ("GH_TOKEN", "GITHUB_TOKEN")


class ReportError(BulkInsertError):
    """Bad findings input or a failing ``gh``: one line on stderr, exit 1 (:mod:`bulkinsert.cli.guard`)."""


def load_findings(path: Path) -> dict[str, Any]:
    """The object ``bulkinsert compare --json`` or ``releases watch --json`` printed (or a bare list of findings)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ReportError(f"cannot read {path}: {exc}") from None
    if isinstance(data, list):
        data = {"findings": data}
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise ReportError(f"{path} is not the output of `bulkinsert compare --json` or "
                          "`bulkinsert releases watch --json` (no findings list)")
    for index, finding in enumerate(data["findings"]):
        missing = [name for name in REQUIRED if not isinstance(finding, dict) or name not in finding]
        if missing:
            raise ReportError(f"{path}: finding {index} lacks {', '.join(missing)}")
    return data


def _values(finding: Mapping[str, Any]) -> str:
    old, new = finding.get("old_value"), finding.get("new_value")
    if finding.get("metric") == "status":  # a path that stopped (or started) working: no figures to show
        return f"{finding.get('old_status', '?')} → {finding.get('new_status', '?')}"
    if old is None or new is None:
        return "–"
    unit = finding.get("unit")
    return f"{format_value(old, unit)} → {format_value(new, unit)}"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def path_name(finding: Mapping[str, Any]) -> str:
    """The path as compare names it: the strategy, plus its driver or workload when not its own
    (``label``; findings written before it carried one give the strategy)."""
    return str(finding.get("label") or finding["strategy"] or "–")


def confirmed_findings(findings: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Confirmed findings, regressions first, then by path and release step."""
    chosen = [f for f in findings if f["confirmed"]]
    return sorted(chosen, key=lambda f: (VERDICT_ORDER.get(f["verdict"], 9), f["library"], str(f["new"]),
                                         path_name(f), f["metric"], f.get("rows") or 0))


def _folded(confirmed: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """One table row per path and step: the same finding under each held-equal context folds into one."""
    rows: dict[tuple, list[Mapping[str, Any]]] = {}
    for f in confirmed:
        key = (f["verdict"], f["library"], f["old"], f["new"], path_name(f), f.get("rows"), f["metric"],
               f.get("machine"))
        rows.setdefault(key, []).append(f)
    return list(rows.values())


def _ratio(group: Sequence[Mapping[str, Any]]) -> str:
    ratios = [f["ratio"] for f in group if f["ratio"] is not None]
    if not ratios:  # status findings carry no ratio
        return "–"
    low, high = (f"{r:.2f}" for r in (min(ratios), max(ratios)))
    return f"×{low}" if low == high else f"×{low}–{high}"


def render_markdown(payload: Mapping[str, Any], *, title: str = "bulkinsert compare") -> str:
    """A table of the confirmed findings (contexts folded), then the unconfirmed ones as counts."""
    findings = payload["findings"]
    confirmed = confirmed_findings(findings)
    regressions = sum(1 for f in confirmed if f["verdict"] == "regression")
    lines = [f"### {title}: {len(confirmed)} confirmed finding(s), {regressions} regression(s)", ""]
    if "new_releases" in payload:
        lines += [_new_releases(payload["new_releases"]), ""]
    table = _folded(confirmed)
    if table:
        lines += ["| verdict | library | release | strategy | rows | metric | old → new | ratio | contexts | machine |",
                  "|---|---|---|---|---:|---|---|---:|---:|---|"]
        for group in table[:MAX_TABLE_ROWS]:
            f = group[0]
            verdict = f"**{f['verdict']}**" if f["verdict"] == "regression" else f["verdict"]
            cells = (verdict, f["library"], f"{f['old']} → {f['new']}", path_name(f), f.get("rows") or "–",
                     f["metric"], _values(f), _ratio(group), len(group), f.get("machine") or "–")
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        if len(table) > MAX_TABLE_ROWS:
            lines.append(f"\n… and {len(table) - MAX_TABLE_ROWS} more row(s): `bulkinsert compare --json` has them.")
    else:
        lines.append("No confirmed finding.")
    unconfirmed = [f for f in findings if not f["confirmed"]]
    slower = sum(1 for f in unconfirmed if f.get("change") in ("slower", "more"))
    settles = ("the side-by-side re-run did not reproduce them" if "new_releases" in payload else
               "noise not excluded; `bulkinsert compare` lists them with the command that settles each")
    lines += ["", f"Unconfirmed: {len(unconfirmed)} ({slower} slower or more, {len(unconfirmed) - slower} faster "
                  f"or fewer) — {settles}."]
    if payload.get("skipped_commit_pairs"):
        lines.append(f"{payload['skipped_commit_pairs']} environment pair(s) skipped: measured at different commits.")
    return "\n".join(lines) + "\n"


def _new_releases(entries: Any) -> str:
    """The releases a ``releases watch`` run measured, each with the release it was compared with."""
    if not isinstance(entries, list) or not entries:
        return "No new release: nothing measured."
    named = [f"{e.get('library')} {e.get('release')}" + (f" (against {e['compared_with']})"
             if e.get("compared_with") else "") + (" — not measured" if e.get("not_measured") else "")
             for e in entries if isinstance(e, dict)]
    return "New releases measured: " + ", ".join(named) + "."


def source_of(payload: Mapping[str, Any]) -> str:
    """Which command's findings these are (an issue says who confirmed it)."""
    return "bulkinsert releases watch" if "new_releases" in payload else "bulkinsert compare"


def issue_title(finding: Mapping[str, Any]) -> str:
    """The key a re-run finds its issue by: library, release, strategy and metric (not the verdict)."""
    return f"{TITLE_PREFIX} {finding['library']} {finding['new']} {path_name(finding)} {finding['metric']}"


def issue_body(title: str, group: Sequence[Mapping[str, Any]], run_url: str | None,
               source: str = "bulkinsert compare") -> str:
    """What was confirmed, one line per row count / machine / held-equal context."""
    first = group[0]
    lines = [f"`{source}` confirmed a change of **{path_name(first)}** ({first['metric']}) "
             f"from {first['library']} {first['old']} to {first['new']}:", ""]
    for f in group:
        context = ", ".join(f"{k} {v}" for k, v in sorted((f.get("context") or {}).items())) or "same environment"
        size = f" ×{f['ratio']:.2f}" if f["ratio"] is not None else ""
        lines.append(f"- {f['verdict']}: rows={f.get('rows') or '–'}, {_values(f)}{size} "
                     f"with {context} on {f.get('machine') or '?'} at {str(f.get('commit') or '?')[:8]}"
                     + (f" — {f['reason']}" if f.get("reason") else ""))
    if first.get("notes_url"):
        lines += ["", f"Release notes: {first['notes_url']}"]
    if run_url:
        lines += ["", f"Run: {run_url}"]
    lines += ["", f"<!-- {title} -->"]
    return "\n".join(lines)


def group_by_title(findings: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for finding in confirmed_findings(findings):
        groups.setdefault(issue_title(finding), []).append(finding)
    return groups


def _gh(gh: str, *args: str) -> str:
    try:
        done = subprocess.run([gh, *args], capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ReportError(f"cannot run gh: {exc}") from None
    if done.returncode != 0:
        detail = (done.stderr.strip() or done.stdout.strip() or f"exit status {done.returncode}").splitlines()[0]
        raise ReportError(f"gh {' '.join(args[:2])} failed: {detail}")
    return done.stdout


def existing_issue(gh: str, title: str) -> int | None:
    """The number of the issue with exactly this title, open or closed (search is fuzzy: compare here)."""
    out = _gh(gh, "issue", "list", "--state", "all", "--limit", "100", "--search", f'"{title}" in:title',
              "--json", "number,title")
    try:
        issues = json.loads(out or "[]")
    except ValueError:
        raise ReportError(f"gh issue list printed no JSON: {out.strip()[:80]}") from None
    numbers = [issue["number"] for issue in issues if issue.get("title") == title]
    return min(numbers) if numbers else None


def file_issues(payload: Mapping[str, Any], *, token: str | None, run_url: str | None) -> list[str]:
    """Create or comment on one issue per confirmed finding key; without a token only say what would be done."""
    groups = group_by_title(payload["findings"])
    if not groups:
        return []
    if not token:
        return [f"would create or comment on issue {title!r} ({len(group)} finding(s)); no GH_TOKEN, nothing filed"
                for title, group in groups.items()]
    gh = shutil.which("gh")
    if gh is None:
        raise ReportError("gh (GitHub CLI) is not on PATH")
    done = []
    for title, group in groups.items():
        body = issue_body(title, group, run_url, source_of(payload))
        number = existing_issue(gh, title)
        if number is None:
            _gh(gh, "issue", "create", "--title", title, "--body", body)
            done.append(f"created issue {title!r}")
        else:
            _gh(gh, "issue", "comment", str(number), "--body", body)
            done.append(f"commented on issue #{number} {title!r}")
    return done


def _run_url() -> str | None:
    server, repo, run = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None


findings_argument = click.argument("findings_path", metavar="FINDINGS.json",
                                   type=click.Path(dir_okay=False, path_type=Path))


@click.group("report")
def report_group() -> None:
    """Findings of `bulkinsert compare --json` as Markdown or GitHub issues."""


@report_group.command("markdown")
@findings_argument
@click.option("--title", default="bulkinsert compare", show_default=True, help="Heading of the summary.")
def markdown_command(findings_path: Path, title: str) -> None:
    """Print a Markdown summary (for $GITHUB_STEP_SUMMARY): confirmed findings, then counts."""
    click.echo(render_markdown(load_findings(findings_path), title=title), nl=False)


@report_group.command("github")
@findings_argument
def github_command(findings_path: Path) -> None:
    """One GitHub issue per confirmed finding (library, release, strategy, metric): create, or comment on it.

    Needs the gh CLI and GH_TOKEN (or GITHUB_TOKEN); without a token it prints what it would do.
    """
    payload = load_findings(findings_path)
    token = next((os.environ[k] for k in TOKEN_VARIABLES if os.environ.get(k)), None)
    lines = file_issues(payload, token=token, run_url=_run_url())
    for line in lines:
        click.echo(line)
    if not lines:
        click.echo("no confirmed finding: nothing to file")
