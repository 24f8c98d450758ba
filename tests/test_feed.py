"""``releases.xml``, the Atom feed of findings, read by a feed parser as a feed reader would.

The feed is the one ``asv publish`` wrote in tests/test_site.py (``published``): the recorded
results hold a planted regression (execute_values twice as slow with SQLAlchemy 2.1.9) and the
findings file a bisect, a side-by-side ``same`` and a broken record with hostile text.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import feedparser
import pytest
from test_site import HOSTILE, PLANTED_RELEASE, PLANTED_STRATEGY, published  # noqa: F401 - the fixture

from bulkinsert.analysis.findingrecords import RecordedFinding
from bulkinsert.site import build
from bulkinsert.site.feed import FEED_FILE, feed_xml
from bulkinsert.site.headlines import headlines


def _parse(html_dir: Path) -> feedparser.FeedParserDict:
    parsed = feedparser.parse((html_dir / FEED_FILE).read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def _rebuild(published: Path, target: Path, extra_records: list[dict] = ()) -> Path:  # noqa: F811
    """The same site built again (``bulkinsert site``), optionally with records appended."""
    findings = target / "findings.jsonl"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(published.parent / "releases" / "findings.jsonl", findings)
    with findings.open("a", encoding="utf-8") as handle:
        for extra in extra_records:
            handle.write(json.dumps(extra) + "\n")
    build.build_site(target / "html", published.parent / "results", profile_dirs=[], findings_file=findings)
    return target / "html"


def test_feed_has_the_planted_regression_with_links(published: Path) -> None:  # noqa: F811
    parsed = _parse(published)
    assert (published / "regressions.xml").is_file()  # asv's own feed beside ours
    title = f"SQLAlchemy {PLANTED_RELEASE}: {PLANTED_STRATEGY} time"
    planted = [e for e in parsed.entries if e.title.startswith(title)]
    assert len(planted) == 1, [e.title for e in parsed.entries]
    entry = planted[0]
    assert re.search(r"ms → [\d.]+ ms \(×1\.9\d\)", entry.title), entry.title
    assert entry.id.endswith(f"sqlalchemy/{PLANTED_RELEASE}/{PLANTED_STRATEGY}/time/bench-2core")
    links = {link.rel: link.href for link in entry.links}
    anchor = links["alternate"].split("#", 1)[1]
    assert links["alternate"].startswith("releases.html#")
    assert f'id="{anchor}"' in (published / "releases.html").read_text()
    assert links["related"] == f"https://docs.sqlalchemy.org/en/21/changelog/changelog_21.html#change-{PLANTED_RELEASE}"
    assert entry.updated_parsed.tm_year >= 2026 and "regression" in {t.term for t in entry.tags}


def test_feed_lists_confirmed_findings_only_once_each(published: Path) -> None:  # noqa: F811
    parsed = _parse(published)
    ids = [e.id for e in parsed.entries]
    assert len(ids) == len(set(ids))
    titles = " | ".join(e.title for e in parsed.entries)
    assert "orm_basic time" not in titles  # the side-by-side "same" record is no finding
    broken = [e for e in parsed.entries if "copy_text broken" in e.title]
    assert len(broken) == 1 and broken[0].title.startswith("psycopg2-binary 2.9.13")
    assert HOSTILE in broken[0].title  # the text survives, escaped in the file
    assert HOSTILE not in (published / FEED_FILE).read_text()
    assert "core_executemany statements 12 → 13" in titles  # the bisect record


def test_ids_and_times_are_stable_across_publishes(published: Path, tmp_path: Path) -> None:  # noqa: F811
    again = _parse(_rebuild(published, tmp_path))
    first = _parse(published)
    assert [(e.id, e.updated) for e in again.entries] == [(e.id, e.updated) for e in first.entries]


def test_a_new_record_appears_without_wiring(published: Path, tmp_path: Path) -> None:  # noqa: F811
    record = {"kind": "compare", "strategy": "core_upsert_do_nothing", "library": "SQLAlchemy", "metric": "time",
              "old": "2.0.58", "new": "2.1.9", "rows": 1000, "verdict": "slower", "ratio": 1.4, "p_value": 0.001,
              "machine": "bench-2core", "commit": "c88c278d", "timestamp": "2026-12-01T10:00:00+00:00"}
    dirty = {**record, "strategy": "orm_bulk", "dirty": True}
    parsed = _parse(_rebuild(published, tmp_path, [record, dirty]))
    new = [e for e in parsed.entries if "core_upsert_do_nothing" in e.title]
    assert len(new) == 1 and "×1.40" in new[0].title and new[0].updated.startswith("2026-12-01T10:00:00")
    assert parsed.entries[0] is new[0] or parsed.entries[0].id == new[0].id  # newest first
    assert not [e for e in parsed.entries if "orm_bulk" in e.title]  # a dirty work tree's record is not news


def test_an_empty_feed_is_still_valid_atom() -> None:
    parsed = feedparser.parse(feed_xml([]))
    assert not parsed.bozo and parsed.version == "atom10" and parsed.entries == []
    assert parsed.feed.id.startswith("tag:")


@pytest.mark.parametrize("verdict,kept", [("slower", True), ("fewer", True), ("same", False)])
def test_side_by_side_records_count_only_when_they_found_a_change(verdict: str, kept: bool) -> None:
    record = RecordedFinding.from_dict({"kind": "compare", "library": "psycopg2-binary", "strategy": "copy_text",
                                        "metric": "statements", "old": "2.9.5", "new": "2.9.13", "verdict": verdict})
    found, unconfirmed = headlines([], [record])
    assert bool(found) is kept and unconfirmed == {}


def test_any_tools_record_of_a_change_is_a_headline_and_noise_is_not() -> None:
    def make(**fields: object) -> RecordedFinding:
        return RecordedFinding.from_dict({"library": "SQLAlchemy", "strategy": "core_upsert", **fields})

    watch = make(kind="watch", metric="statements", old="2.0.46", new="2.0.47", verdict="more", rows=1000)
    timing_bisect = make(kind="bisect", metric="time", first_changed="2.0.47", last_unchanged="2.0.46",
                         values={"2.0.46": 0.1, "2.0.47": 0.2}, verdict="same")
    count_bisect = make(kind="bisect", metric="statements", first_changed="2.0.47", last_unchanged="2.0.46",
                        values={"2.0.46": 3, "2.0.47": 1002}, rows=1000, machine="m")
    found, _ = headlines([], [watch, timing_bisect, count_bisect])
    assert sorted((h.source, h.verdict) for h in found) == [("bisect", "regression"), ("watch", "regression")]
    bisect = next(h for h in found if h.source == "bisect")
    assert bisect.title() == "SQLAlchemy 2.0.47: core_upsert statements 3 → 1,002 per 1,000 rows"
