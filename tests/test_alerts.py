"""`/-/alerts.atom` on a KB whose source has a retraction notice: parsed by a real feed parser, and
held to what RFC 4287 requires of a feed and its entries."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import httpx
import pytest
from datasette.app import Datasette
from test_impact import ASO, notice, with_notice
from test_web import METADATA, get

from kb import build

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def ds(data_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Datasette:
    with_notice(data_copy, monkeypatch, notice("retraction", (2026, 2, 1)))
    build(data_copy, data_copy.parent / "kb.db")
    return Datasette([str(data_copy.parent / "kb.db")], metadata=METADATA)


def rfc3339(text: str) -> dt.datetime:
    assert "T" in text and (text.endswith("Z") or text[-6] in "+-"), text
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_the_feed_parses_and_lists_the_retraction_with_its_pages(ds: Datasette) -> None:
    response = get(ds, "/-/alerts.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    entry = next(e for e in feed.entries if e.title.endswith("was retracted on 2026-02-01"))
    assert entry.title.startswith("Association of subchondral bone marrow lesion localization")
    assert entry.link == "http://localhost/kb/sources/10~2E1186~2Fs13075-021-02422-0"
    related = {link.href for link in entry.links if link.rel == "related"}
    assert "http://localhost/kb/faq/what-is-a-bml" in related
    assert "http://localhost/kb/claims/aso2021-medial-wb-pain" in related
    assert any("/kb/article_statements/" in href for href in related)
    assert any("/kb/article_references/" in href for href in related)
    assert entry.updated_parsed[:3] == (2026, 2, 1)
    assert "FAQ “What is a bone marrow lesion?” cites a claim whose source was retracted" in (
        entry.content[0].value
    )


def test_the_feed_has_what_rfc_4287_requires(ds: Datasette) -> None:
    root = ET.fromstring(get(ds, "/-/alerts.atom").content)
    assert root.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated"):
        assert len(root.findall(f"{ATOM}{tag}")) == 1, tag  # exactly one each
    assert root.find(f"{ATOM}author/{ATOM}name").text  # so entries need no author of their own
    assert root.find(f"{ATOM}link[@rel='self']").get("href") == "http://localhost/-/alerts.atom"
    feed_updated = rfc3339(root.find(f"{ATOM}updated").text)
    entries = root.findall(f"{ATOM}entry")
    assert entries
    ids = [e.find(f"{ATOM}id").text for e in entries]
    assert len(set(ids)) == len(ids) and all(i.startswith("http://localhost/") for i in ids)
    for e in entries:
        for tag in ("id", "title", "updated"):
            assert len(e.findall(f"{ATOM}{tag}")) == 1, tag
        assert rfc3339(e.find(f"{ATOM}updated").text) <= feed_updated
        assert len(e.findall(f"{ATOM}link[@rel='alternate']")) == 1  # one per type and language
        assert e.find(f"{ATOM}content").get("type") == "text"


def test_since_filters_and_a_bad_date_is_refused(ds: Datasette) -> None:
    later = feedparser.parse(get(ds, "/-/alerts.atom?since=2026-03-01").content)
    assert not any("retracted" in e.title for e in later.entries)
    assert get(ds, "/-/alerts.atom?since=yesterday").status_code == 400


def test_public_serves_the_feed(public_server: str) -> None:
    response = httpx.get(f"{public_server}/-/alerts.atom", timeout=10)
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert not feed.bozo and feed.version == "atom10"
    assert ASO  # the public instance serves the curated data, which has no notice yet


def test_the_feed_is_bounded_source_notices_first(data_copy: Path, monkeypatch) -> None:
    with_notice(data_copy, monkeypatch, notice("retraction", (2026, 2, 1)))
    build(data_copy, data_copy.parent / "kb.db")
    everything = Datasette([str(data_copy.parent / "kb.db")], metadata=METADATA)
    assert len(feedparser.parse(get(everything, "/-/alerts.atom").content).entries) > 2
    metadata = {**METADATA, "plugins": {**METADATA.get("plugins", {}), "kb": {
        **METADATA.get("plugins", {}).get("kb", {}), "alerts_max_entries": 2}}}  # fmt: skip
    bounded = Datasette([str(data_copy.parent / "kb.db")], metadata=metadata)
    entries = feedparser.parse(get(bounded, "/-/alerts.atom").content).entries
    assert len(entries) == 2
    assert entries[0].title.endswith("was retracted on 2026-02-01")
