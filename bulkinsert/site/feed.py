"""``releases.xml``: an Atom 1.0 feed of confirmed findings, beside asv's own ``regressions.xml``.

One entry per headline (:mod:`.headlines`: confirmed regressions, improvements and status
changes of ``judge_results``, and the findings file's confirmed side-by-side, bisect and broken
records). An entry's id is built from library, release, strategy, metric and machine only (and
the driver and workload when they are not the strategy's own: another path), so a
feed reader sees the same finding as the same entry however often the site is published; its
time is the measured commit's date (or the record's), never the time of publishing.

Written with ``xml.etree`` (every text and attribute escaped by it); links are relative to the
feed, which lives at the site's root like the pages it links to.
"""

from __future__ import annotations

import datetime
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from ..analysis.findingrecords import read_records
from .data import SiteData
from .headlines import EPOCH, Headline, headlines, release_anchor

ATOM = "http://www.w3.org/2005/Atom"
FEED_FILE = "releases.xml"
FEED_TYPE = "application/atom+xml"
TAG = "tag:bulkinsert-bench,2026:"  # RFC 4151 tag URIs: stable ids that name no host


def _stamp(when: datetime.datetime) -> str:
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def entry_id(headline: Headline) -> str:
    """Stable across publishes: library, release, strategy, metric, machine (driver, workload), nothing else."""
    return TAG + "finding/" + "/".join(urllib.parse.quote(part, safe="") for part in headline.key)


def _element(parent: ET.Element, name: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{name}", attributes)
    if text is not None:
        element.text = text
    return element


def _summary(headline: Headline) -> str:
    parts = [f"{headline.verdict}: {headline.change_text()}"]
    if headline.before:
        parts.append(f"against {headline.library} {headline.before}")
    if headline.reason and not headline.broken:
        parts.append(headline.reason)
    held = [c for c in headline.contexts if c]
    if held:
        parts.append(f"held equal: {'; '.join(held)}")
    if headline.replicates > 1:
        parts.append(f"{headline.replicates} contexts agree")
    parts.append(f"from {headline.source}, on machine {headline.machine}")
    return ". ".join(parts) + "."


def feed_xml(found: Sequence[Headline], *, page: str = "releases.html") -> str:
    """The Atom document of ``found``, newest first."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _element(feed, "id", TAG + "releases")
    _element(feed, "title", "bulkinsert-bench: findings across library releases")
    _element(feed, "subtitle", "Confirmed regressions, improvements and broken paths of bulk inserts into "
                               "PostgreSQL, per SQLAlchemy and psycopg2 release.")
    _element(feed, "updated", _stamp(max((h.updated for h in found), default=EPOCH)))
    _element(feed, "link", rel="self", type=FEED_TYPE, href=FEED_FILE)
    _element(feed, "link", rel="alternate", type="text/html", href=page)
    author = _element(feed, "author")
    _element(author, "name", "bulkinsert-bench")
    for headline in sorted(found, key=lambda h: (h.updated, h.key), reverse=True):
        entry = _element(feed, "entry")
        _element(entry, "id", entry_id(headline))
        _element(entry, "title", headline.title())
        _element(entry, "updated", _stamp(headline.updated))
        _element(entry, "link", rel="alternate", type="text/html",
                 href=f"{page}#{release_anchor(headline.library, headline.release)}")
        if headline.notes_url:
            _element(entry, "link", rel="related", type="text/html", href=headline.notes_url,
                     title=f"{headline.library} {headline.release} release notes")
        _element(entry, "category", term=headline.verdict)
        _element(entry, "category", term=headline.metric)
        _element(entry, "summary", _summary(headline))
    ET.indent(feed)
    return ET.tostring(feed, encoding="unicode", xml_declaration=False).join(
        ('<?xml version="1.0" encoding="utf-8"?>\n', "\n"))


def releases_feed(site: SiteData, findings_path: Path | None) -> str:
    """The feed of the site's findings (``judge_results``) and the findings file's records."""
    records = read_records(findings_path) if findings_path is not None else []
    found, _unconfirmed = headlines(site.findings, records, site.figures)
    return feed_xml(found)
