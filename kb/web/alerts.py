"""`/-/alerts.atom`: what `kb impact` lists, as an Atom feed (RFC 4287) a curator can subscribe to.

Each entry is one alert (a source with a notice, a claim disputed, withdrawn or changed), links the
page of the source or claim it is about (`alternate`), every claim it concerns and every FAQ
answer, article statement and reference resting on it (`related`), and says what to do. Built with
ElementTree, so every text is escaped; `?since=YYYY-MM-DD` as `kb impact --since`.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import xml.etree.ElementTree as ET
from typing import Any

from datasette.utils import tilde_encode
from datasette.utils.asgi import Response

from ..impact import Alert, impact

ATOM = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PAGE_TABLES = {"faq": "faq", "statement": "article_statements", "reference": "article_references"}
MAX_ENTRIES = 200  # a feed's entries at most (plugin config `alerts_max_entries`): sources first
FEED_TITLE = "Evidence alerts: what a retraction, a correction or a changed claim affects"


def _rfc3339(value: str | None, fallback: str) -> str:
    """An Atom date: `2026-02-01` -> `2026-02-01T00:00:00Z`; a time with an offset is kept."""
    if not value:
        return fallback
    if DATE_RE.match(value):
        return f"{value}T00:00:00Z"
    if re.match(r"^\d{4}$", value) or re.match(r"^\d{4}-\d{2}$", value):
        return f"{value}-01T00:00:00Z" if len(value) == 7 else f"{value}-01-01T00:00:00Z"
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return fallback
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.isoformat()


def _built_at(conn: sqlite3.Connection) -> str:
    row = conn.execute("select value from build_info where key = 'built_at'").fetchone()
    return _rfc3339(row[0] if row else None, "1970-01-01T00:00:00Z")


def feed_data(
    conn: sqlite3.Connection, since: dt.date | None, limit: int
) -> tuple[list[Alert], str]:
    return impact(conn, since, limit), _built_at(conn)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        el.text = text
    return el


def render_feed(alerts: list[Alert], built_at: str, base: str, urls: Any, db_name: str,
                self_url: str, title: str, author_name: str) -> bytes:  # fmt: skip
    """The Atom document. `urls` is Datasette's `datasette.urls`; `base` the absolute origin."""
    ET.register_namespace("", ATOM)

    def row(database: str, table: str, pk: str) -> str:
        return urls.row(database, table, tilde_encode(pk))

    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, "title", title)
    _sub(feed, "subtitle", "Pages that rest on evidence which was retracted, corrected, disputed, "
         "withdrawn or changed, and what to do about each.")  # fmt: skip
    _sub(feed, "id", f"{base}/-/alerts.atom")
    _sub(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    _sub(feed, "link", rel="alternate", href=f"{base}/", type="text/html")
    author = _sub(feed, "author")
    _sub(author, "name", author_name)
    _sub(feed, "generator", "bml-kb")
    entries = []
    for a in alerts:
        updated = _rfc3339(a.date, built_at)
        entry = ET.Element(f"{{{ATOM}}}entry")
        page = row(db_name, "sources", a.doi) if a.doi else row(db_name, "claims", a.claims[0])
        _sub(entry, "id", f"{base}{page}#alert-{re.sub(r'[^a-z0-9.-]+', '-', a.id.lower())}")
        _sub(entry, "title", a.headline or a.summary[:200])
        _sub(entry, "updated", updated)
        _sub(entry, "link", rel="alternate", href=f"{base}{page}", type="text/html")
        for claim_id in a.claims if a.doi else a.claims[1:]:
            _sub(entry, "link", rel="related", href=f"{base}{row(db_name, 'claims', claim_id)}",
                 title=f"Claim {claim_id}")  # fmt: skip
        for p in a.pages:
            href = f"{base}{row(db_name, PAGE_TABLES[p.kind], p.id)}"
            _sub(entry, "link", rel="related", href=href, title=p.title)
        _sub(entry, "category", term=a.severity)
        lines = [a.summary, ""] + [f"- {p.action}" for p in a.pages]
        if not a.pages:
            lines.append("Nothing published rests on it.")
        _sub(entry, "content", "\n".join(lines), type="text")
        entries.append((updated, entry))
    newest = max([u for u, _e in entries] + [built_at], key=_as_time)
    updated_el = ET.Element(f"{{{ATOM}}}updated")
    updated_el.text = newest
    feed.insert(4, updated_el)
    for _u, entry in entries:
        feed.append(entry)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _as_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


async def alerts_atom(datasette, request):
    from . import kb_database

    db = kb_database(datasette)
    if db is None:
        return Response.text("no KB database", status=404)
    since_text = request.args.get("since") or ""
    since = None
    if since_text:
        if not DATE_RE.match(since_text[:10]) or len(since_text) != 10:
            return Response.text("since must be a date, YYYY-MM-DD", status=400)
        try:
            since = dt.date.fromisoformat(since_text)
        except ValueError:
            return Response.text("since must be a date, YYYY-MM-DD", status=400)
    limit = int((datasette.plugin_config("kb") or {}).get("alerts_max_entries") or MAX_ENTRIES)
    alerts, built_at = await db.execute_fn(lambda conn: feed_data(conn, since, limit))
    base = datasette.absolute_url(request, "/").rstrip("/")
    self_url = datasette.absolute_url(request, request.path)
    if since:
        self_url += f"?since={since.isoformat()}"
    author = datasette.metadata("title") or "BML evidence knowledge base"
    body = render_feed(
        alerts, built_at, base, datasette.urls, db.name, self_url, FEED_TITLE, author
    )
    return Response(body, content_type=CONTENT_TYPE, status=200)
