"""`bulkinsert report`: compare's findings as Markdown and as GitHub issues.

The findings are those `bulkinsert compare --json` prints for the recorded quick run
(``tests/data/asv_results``). GitHub is a stand-in ``gh`` on PATH that records its arguments and
remembers the issues it "created", so a second run can find them as the real ``gh issue list``
would.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bulkinsert.analysis.compare import compare_command
from bulkinsert.analysis.report import issue_title
from bulkinsert.cli.main import cli

DATA = Path(__file__).parent / "data" / "asv_results"

STAND_IN_GH = """#!{python}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["GH_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
state = os.environ["GH_STATE"]
issues = json.load(open(state)) if os.path.exists(state) else []
if os.environ.get("GH_FAIL") and args[:2] == ["issue", "create"]:
    print("HTTP 403: Resource not accessible by integration", file=sys.stderr)
    sys.exit(1)
if args[:2] == ["issue", "list"]:
    print(json.dumps([{{"number": i["number"], "title": i["title"]}} for i in issues]))
elif args[:2] == ["issue", "create"]:
    title = args[args.index("--title") + 1]
    issues.append({{"number": len(issues) + 1, "title": title}})
    json.dump(issues, open(state, "w"))
"""


@pytest.fixture(autouse=True)
def no_local_reruns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """compare reads side-by-side re-runs from a file of the test's own, not the checkout's."""
    monkeypatch.setenv("BULKINSERT_FINDINGS", str(tmp_path / "reruns.jsonl"))
    for name in ("GH_TOKEN", "GITHUB_TOKEN", "GITHUB_RUN_ID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def findings(tmp_path: Path) -> Path:
    result = CliRunner().invoke(compare_command, ["--results-dir", str(DATA), "--json"])
    assert result.exit_code == 1, result.output  # the recorded run has confirmed regressions
    path = tmp_path / "findings.json"
    path.write_text(result.stdout)
    return path


@pytest.fixture
def gh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in gh first on PATH; returns its argument log (one JSON list per call)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "gh"
    script.write_text(STAND_IN_GH.format(python=sys.executable))
    script.chmod(0o755)
    log = tmp_path / "gh.log"
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("GH_LOG", str(log))
    monkeypatch.setenv("GH_STATE", str(tmp_path / "gh-issues.json"))
    return log


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def confirmed_keys(path: Path) -> set[str]:
    return {issue_title(f) for f in json.loads(path.read_text())["findings"] if f["confirmed"]}


def report(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["report", *args])
    return result.exit_code, result.stdout, result.stderr


def test_first_run_creates_one_issue_per_finding_key_second_run_comments(
    findings: Path, gh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GH_TOKEN", "test-token")
    keys = confirmed_keys(findings)
    assert len(keys) > 1
    code, out, err = report("github", str(findings))
    assert code == 0, err
    created = [c for c in calls(gh) if c[:2] == ["issue", "create"]]
    assert sorted(c[c.index("--title") + 1] for c in created) == sorted(keys)
    assert not [c for c in calls(gh) if c[:2] == ["issue", "comment"]]
    assert out.count("created issue") == len(keys)

    gh.unlink()
    code, out, err = report("github", str(findings))
    assert code == 0, err
    second = calls(gh)
    assert not [c for c in second if c[:2] == ["issue", "create"]]
    commented = [c for c in second if c[:2] == ["issue", "comment"]]
    assert sorted(int(c[2]) for c in commented) == list(range(1, len(keys) + 1))
    assert all("--body" in c and "confirmed a change" in c[c.index("--body") + 1] for c in commented)


def test_without_a_token_it_says_what_it_would_do_and_files_nothing(findings: Path, gh: Path) -> None:
    code, out, _ = report("github", str(findings))
    assert code == 0
    assert calls(gh) == []
    for key in confirmed_keys(findings):
        assert f"would create or comment on issue {key!r}" in out


def test_unconfirmed_findings_are_not_filed(tmp_path: Path, findings: Path, gh: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    payload = json.loads(findings.read_text())
    payload["findings"] = [f for f in payload["findings"] if not f["confirmed"]]
    assert payload["findings"]
    only_unconfirmed = tmp_path / "unconfirmed.json"
    only_unconfirmed.write_text(json.dumps(payload))
    code, out, _ = report("github", str(only_unconfirmed))
    assert code == 0 and "nothing to file" in out
    assert calls(gh) == []


def test_a_failing_gh_is_one_line_and_exit_1(findings: Path, gh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GH_TOKEN", "test-token")
    monkeypatch.setenv("GH_FAIL", "1")
    code, _, err = report("github", str(findings))
    assert code == 1
    expected = "error: gh issue create failed: HTTP 403: Resource not accessible by integration"
    assert err.strip().splitlines() == [expected]


@pytest.mark.parametrize("text, message", [
    ("not json", "cannot read"),
    ('{"mode": "releases"}', "no findings list"),
    ('[{"library": "SQLAlchemy"}]', "finding 0 lacks strategy, metric, old, new, ratio, confirmed, verdict"),
])
def test_bad_findings_file_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    for command in ("github", "markdown"):
        code, _, err = report(command, str(path))
        assert code == 1
        assert len(err.strip().splitlines()) == 1 and message in err


def test_the_issue_key_is_library_release_strategy_metric_not_verdict_or_rows(findings: Path) -> None:
    finding = next(f for f in json.loads(findings.read_text())["findings"] if f["confirmed"])
    other = dict(finding, verdict="changed", rows=1000, ratio=9.0, machine="elsewhere")
    assert issue_title(other) == issue_title(finding)
    assert issue_title(dict(finding, new="9.9.9")) != issue_title(finding)
    assert issue_title(dict(finding, metric="time")) != issue_title(finding)


def test_markdown_lists_confirmed_findings_first_then_counts(findings: Path) -> None:
    payload = json.loads(findings.read_text())
    confirmed = [f for f in payload["findings"] if f["confirmed"]]
    regressions = [f for f in confirmed if f["verdict"] == "regression"]
    result = CliRunner().invoke(compare_command, ["--results-dir", str(DATA), "--markdown"])
    assert result.exit_code == 1
    text = result.stdout
    code, from_file, _ = report("markdown", str(findings))
    assert code == 0 and from_file == text
    assert text.startswith(f"### bulkinsert compare: {len(confirmed)} confirmed finding(s), "
                           f"{len(regressions)} regression(s)")
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| verdict")]
    folded = {(f["verdict"], f["library"], f["old"], f["new"], f["strategy"], f["rows"], f["metric"])
              for f in confirmed}
    assert len(rows) == len(folded)
    verdicts = [row.split("|")[1].strip().strip("*") for row in rows]
    assert verdicts == sorted(verdicts, key=["regression", "changed", "improvement"].index)
    first = regressions[0]
    assert f"{first['old']} → {first['new']}" in rows[0]
    assert f"Unconfirmed: {len(payload['findings']) - len(confirmed)} " in text
    assert text.index("| **regression**") < text.index("Unconfirmed:")
