"""What the claim and source pages (and `/-/history.json`) show of a record's history: read from
the `history` table `kb build` derived from git, never from git itself.

Readers see dates, plain field names, old and new values and the reason given; commit ids and file
names are for curators (the template puts them in a collapsed section).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from datasette.utils.asgi import Response

from ..doi import normalize_doi
from ..schema import rows_as_dicts

# How a changed field is named to a reader (any other field: its name with spaces).
FIELD_LABELS = {
    "statement": "statement", "value": "value", "value_low": "lower bound",
    "value_high": "upper bound", "interval": "interval", "unit": "unit", "qualifier": "qualifier",
    "p_value": "p value", "n": "sample size", "population": "population",
    "timepoint_months": "time point (months)", "compartments": "compartments",
    "study_design": "study design", "certainty": "certainty", "status": "status",
    "deprecated_reason": "reason for withdrawal", "superseded_by": "replaced by",
    "source_doi": "source", "locator": "place in the source", "excerpt": "quote",
    "verified_against": "what was read", "curated_on": "curation date",
    "curated_by": "curator", "notes": "notes", "doi": "DOI", "title": "title",
    "journal": "journal", "year": "year", "authors": "authors", "pmid": "PubMed id",
    "pmcid": "PubMed Central id", "metadata_origin": "where the metadata came from",
    "metadata_page": "where the metadata was read", "authors_complete": "author list complete",
    "published_online": "published online", "published_print": "published in print",
    "article_number": "article number", "open_access": "open access",
}  # fmt: skip
CHANGE_WORDS = {"added": "Added", "changed": "Changed", "moved": "Moved to another file",
                "removed": "Removed"}  # fmt: skip
VALUE_MAX = 300  # characters of an old or new value shown on a page


def _shown(value: Any) -> str:
    if value in (None, "", []):
        return "(empty)"
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= VALUE_MAX else text[: VALUE_MAX - 1] + "…"


def history_status(conn: sqlite3.Connection) -> str:
    """`available`, or `unavailable: <why>` (an older database without the table says so too)."""
    try:
        row = conn.execute("select value from build_info where key = 'history'").fetchone()
    except sqlite3.Error:
        row = None
    return row[0] if row and row[0] else "unavailable: this build has no history"


def record_history(conn: sqlite3.Connection, kind: str, record_id: str) -> dict[str, Any]:
    """A claim's or source's history, oldest first, ready for a page or JSON."""
    status = history_status(conn)
    events: list[dict[str, Any]] = []
    if status == "available":
        events = rows_as_dicts(
            conn,
            "select seq, date, author, reason, change, fields, commit_id, file, previous_file "
            "from history where kind = ? and record_id = ? order by seq",
            [kind, record_id],
        )
    for e in events:
        e["fields"] = [
            {**f, "label": FIELD_LABELS.get(f["field"], f["field"].replace("_", " ")),
             "old_text": _shown(f["old"]), "new_text": _shown(f["new"])}
            for f in json.loads(e["fields"] or "[]")
        ]  # fmt: skip
        e["day"] = (e["date"] or "")[:10]
        e["what"] = CHANGE_WORDS.get(e["change"], e["change"])
    status_changes = [
        {
            "day": e["day"],
            "date": e["date"],
            "reason": e["reason"],
            "old": f["old"],
            "new": f["new"],
        }
        for e in events
        for f in e["fields"]
        if f["field"] == "status"
    ]
    return {
        "kind": kind,
        "id": record_id,
        "available": status == "available",
        "status": status,
        "events": events,
        "status_change": status_changes[-1] if status_changes else None,
    }


def _public(h: dict[str, Any]) -> dict[str, Any]:
    """The JSON shape of /-/history.json (documented in docs/api.md)."""
    events = [
        {"date": e["date"], "change": e["change"], "reason": e["reason"], "author": e["author"],
         "fields": [{"field": f["field"], "old": f["old"], "new": f["new"]} for f in e["fields"]],
         "commit": e["commit_id"], "file": e["file"], "previous_file": e["previous_file"]}
        for e in h["events"]
    ]  # fmt: skip
    return {"kind": h["kind"], "id": h["id"], "available": h["available"],
            "status": h["status"], "events": events,
            "status_change": h["status_change"] and {
                k: h["status_change"][k] for k in ("date", "old", "new", "reason")}}  # fmt: skip


async def history_json(datasette, request):
    """`/-/history.json?claim=<id>` or `?source=<doi>`: one record's history."""
    from . import kb_database

    db = kb_database(datasette)
    claim, source = request.args.get("claim"), request.args.get("source")
    if db is None:
        return Response.json({"error": "no KB database"}, status=404)
    if bool(claim) == bool(source):
        return Response.json({"error": "give one of claim=<id> or source=<doi>"}, status=400)
    kind, record_id = ("claim", claim) if claim else ("source", (source or "").strip().lower())
    if source:
        try:
            record_id = normalize_doi(source)
        except ValueError:
            pass  # an id that is no DOI has no history: answered as such
    if len(record_id) > 500:
        return Response.json({"error": "id too long"}, status=400)
    found = await db.execute_fn(lambda conn: record_history(conn, kind, record_id))
    return Response.json(_public(found))
