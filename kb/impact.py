"""What a change in the evidence breaks: the article statements, FAQ answers and reference lists
that rest on a source with a retraction, expression of concern or correction, or on a claim that is
disputed, deprecated, or changed since a date.

`impact(conn, since)` reads the built database only (the notices `kb ingest` stored, the claims,
and the history `kb build` derived from git): no network, no git. Each `Alert` says, in plain words,
what happened and what to do about every page that rests on it; `kb impact` prints them and the
site serves them as `/-/alerts.atom`.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any

from .schema import SERIOUS_UPDATES, has_table, rows_as_dicts

# How a notice reads in a sentence: "a claim whose source <was retracted>".
NOTICE_PHRASES = {
    "retraction": "was retracted",
    "withdrawal": "was withdrawn",
    "removal": "was removed",
    "expression_of_concern": "received an expression of concern",
    "partial_retraction": "was partly retracted",
    "correction": "was corrected",
    "erratum": "has an erratum",
    "corrigendum": "has a corrigendum",
    "addendum": "has an addendum",
    "clarification": "has a clarification",
    "new_version": "has a new version",
}
# What to do about a page, by what happened to what it rests on.
TODO = {
    ("serious", "faq"): "rewrite the answer without it, or say plainly that it can no longer be relied on",
    ("serious", "statement"): "remove or replace the figure",
    ("serious", "reference"): "remove the reference, or mark it as retracted where it is printed",
    ("check", "faq"): "read the notice and check the answer still holds",
    ("check", "statement"): "read the notice and check the figure still holds",
    ("check", "reference"): "read the notice and check what the article takes from it",
    ("disputed", "faq"): "say the figure is disputed, or leave it out",
    ("disputed", "statement"): "say the figure is disputed, or leave it out",
    ("deprecated", "faq"): "take the withdrawn claim out of the answer",
    ("deprecated", "statement"): "replace the withdrawn figure",
    ("changed", "faq"): "check the answer still says what the claim now says",
    ("changed", "statement"): "check the article still says what the claim now says",
}  # fmt: skip


@dataclass
class Page:
    """A published page that rests on the evidence: a FAQ answer, an article statement, or an
    article's reference to the source itself."""

    kind: str  # faq, statement, reference
    id: str
    title: str  # the question, the article's title
    article_id: str | None
    detail: str | None  # the article's section, or the reference's label
    claim_id: str | None
    action: str  # the sentence a curator reads


@dataclass
class Alert:
    id: str  # stable: source:<doi>:<notice type>, claim:<id>:<status or changed>
    kind: str  # source_notice, claim_status, claim_changed
    severity: str  # serious, check, disputed, deprecated, changed
    summary: str
    date: str | None  # when it happened, where known
    headline: str = ""  # one short line: what happened to what
    doi: str | None = None
    claims: list[str] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)

    @property
    def needs_action(self) -> bool:
        return bool(self.pages)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"needs_action": self.needs_action}


def _on_or_after(date: str | None, since: dt.date | None) -> bool:
    """True without a `since`, and for an unknown date (never hide what cannot be dated)."""
    if since is None or not date:
        return True
    return date[:10] >= since.isoformat()


def _pages(
    conn: sqlite3.Connection, claim_ids: list[str], why: str, severity: str, then: str = ""
) -> list[Page]:
    """FAQ answers and article statements resting on these claims, with what to do about each."""
    if not claim_ids:
        return []
    marks = ",".join("?" * len(claim_ids))
    pages = []
    for f in rows_as_dicts(
        conn,
        "select f.id, f.question, f.article_id, fc.claim_id from faq_claims fc join faq f "
        f"on f.id = fc.faq_id where fc.claim_id in ({marks}) order by f.article_id, f.position",
        claim_ids,
    ):
        todo = TODO[(severity, "faq")] + then
        action = f"FAQ “{f['question']}” cites {why} ({f['claim_id']}): {todo}."
        pages.append(
            Page("faq", f["id"], f["question"], f["article_id"], None, f["claim_id"], action)
        )
    for s in rows_as_dicts(
        conn,
        "select s.id, s.article_id, a.title, s.section, s.claim_id from article_statements s "
        "left join articles a on a.id = s.article_id "
        f"where s.claim_id in ({marks}) order by s.article_id, s.position",
        claim_ids,
    ):
        where = f"“{s['title'] or s['article_id']}”" + (
            f", “{s['section']}”," if s["section"] else ""
        )
        todo = TODO[(severity, "statement")] + then
        action = f"Article {where} prints a figure that rests on {why} ({s['claim_id']}): {todo}."
        pages.append(
            Page("statement", s["id"], s["title"] or s["article_id"], s["article_id"],
                 s["section"], s["claim_id"], action)
        )  # fmt: skip
    return pages


def _notice_alerts(conn: sqlite3.Connection, since: dt.date | None, limit: int) -> list[Alert]:
    alerts: list[Alert] = []
    for src in rows_as_dicts(
        conn,
        "select doi, citation, title, update_status, update_notices from sources "
        "where update_status is not null order by doi",
        [],
    ):
        try:
            notices = json.loads(src["update_notices"] or "[]")
        except ValueError:
            notices = []
        kind = src["update_status"]
        dates = sorted(n.get("date") for n in notices if n.get("type") == kind and n.get("date"))
        date = dates[0] if dates else None
        if not _on_or_after(date, since):
            continue
        if len(alerts) >= limit:
            break
        severity = "serious" if kind in SERIOUS_UPDATES else "check"
        phrase = NOTICE_PHRASES.get(kind, f"has a {kind.replace('_', ' ')} notice")
        when = f" on {date}" if date else ""
        claims = [r["id"] for r in rows_as_dicts(
            conn, "select id from claims where source_doi = ? order by id", [src["doi"]]
        )]  # fmt: skip
        why = f"a claim whose source {phrase}{when}"
        pages = _pages(conn, claims, why, severity)
        for r in rows_as_dicts(
            conn,
            "select r.id, r.article_id, a.title, r.label from article_references r "
            "left join articles a on a.id = r.article_id where r.doi = ? order by r.article_id, "
            "r.position",
            [src["doi"]],
        ):
            label = r["label"] or "the source (named in the text)"
            title = r["title"] or r["article_id"]
            action = (
                f"Article “{title}” cites {label}, which {phrase}{when}: "
                f"{TODO[(severity, 'reference')]}."
            )
            pages.append(
                Page("reference", r["id"], title, r["article_id"], r["label"], None, action)
            )
        alerts.append(
            Alert(
                id=f"source:{src['doi']}:{kind}", kind="source_notice", severity=severity,
                summary=f"The source {src['citation']} {phrase}{when}.", date=date,
                headline=f"{_short(src['title'] or src['doi'], 100)} {phrase}{when}",
                doi=src["doi"], claims=claims, pages=pages,
            )
        )  # fmt: skip
    return alerts


def _history(conn: sqlite3.Connection, since: dt.date | None) -> dict[str, list[dict[str, Any]]]:
    """Claim changes on or after `since` from the build's history (none when it has none)."""
    if since is None or not has_table(conn, "history"):
        return {}
    found: dict[str, list[dict[str, Any]]] = {}
    for h in rows_as_dicts(
        conn,
        "select record_id, date, change, fields, reason from history "
        "where kind = 'claim' and substr(date, 1, 10) >= ? order by date, seq",
        [since.isoformat()],
    ):
        h["fields"] = json.loads(h["fields"] or "[]")
        found.setdefault(h["record_id"], []).append(h)
    return found


def _status_since(conn: sqlite3.Connection, claim_id: str) -> str | None:
    """When the claim took its current status, from the history; None when not known."""
    if not has_table(conn, "history"):
        return None
    for h in rows_as_dicts(
        conn,
        "select date, change, fields from history where kind = 'claim' and record_id = ? "
        "order by seq desc",
        [claim_id],
    ):
        fields = {f["field"] for f in json.loads(h["fields"] or "[]")}
        if h["change"] == "added" or "status" in fields:
            return h["date"]
    return None


def _describe_change(h: dict[str, Any]) -> str:
    if h["change"] != "changed":
        text = f"{h['change']} on {h['date'][:10]}"
    else:
        parts = [f"{f['field']} {_short(f['old'])} → {_short(f['new'])}" for f in h["fields"]]
        text = f"changed on {h['date'][:10]} ({'; '.join(parts) or 'layout only'})"
    return text + (f": “{h['reason']}”" if h.get("reason") else "")


def _short(value: Any, limit: int = 40) -> str:
    text = "empty" if value in (None, "", []) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _claim_alerts(conn: sqlite3.Connection, since: dt.date | None, limit: int) -> list[Alert]:
    alerts: list[Alert] = []
    changes = _history(conn, since)
    claims = rows_as_dicts(
        conn,
        "select id, statement, status, notes, deprecated_reason, superseded_by from claims "
        "where status in ('disputed', 'deprecated') order by id",
        [],
    )
    listed = set()
    for c in claims:
        date = _status_since(conn, c["id"])
        if since is not None and date is not None and not _on_or_after(date, since):
            continue
        if len(alerts) >= limit:
            break
        listed.add(c["id"])
        then = ""
        if c["status"] == "disputed":
            why = "a disputed claim"
            summary = f"The claim “{c['statement']}” is disputed" + (
                f": {c['notes']}" if c["notes"] else "."
            )
        else:
            why = "a withdrawn claim"
            then = f"; its replacement is {c['superseded_by']}" if c["superseded_by"] else ""
            summary = f"The claim “{c['statement']}” was withdrawn" + (
                f": {c['deprecated_reason']}" if c["deprecated_reason"] else "."
            )
        alerts.append(
            Alert(
                id=f"claim:{c['id']}:{c['status']}", kind="claim_status", severity=c["status"],
                summary=summary, date=date, claims=[c["id"]],
                headline=f"Claim {c['id']} is {c['status']}" if c["status"] == "disputed"
                else f"Claim {c['id']} was withdrawn",
                pages=_pages(conn, [c["id"]], why, c["status"], then),
            )
        )  # fmt: skip
    for claim_id, events in sorted(changes.items()):
        if claim_id in listed:
            continue
        if len(alerts) >= limit:
            break
        row = rows_as_dicts(conn, "select statement from claims where id = ?", [claim_id])
        if not row:  # removed since: nothing can rest on it any more (the build checks that)
            continue
        what = "; ".join(_describe_change(h) for h in events)
        alerts.append(
            Alert(
                id=f"claim:{claim_id}:changed:{events[-1]['date'][:10]}", kind="claim_changed",
                severity="changed", summary=f"The claim “{row[0]['statement']}” {what}.",
                date=events[-1]["date"], claims=[claim_id],
                headline=f"Claim {claim_id} changed on {events[-1]['date'][:10]}",
                pages=_pages(conn, [claim_id], f"a claim {_describe_change(events[-1])}",
                             "changed"),
            )
        )  # fmt: skip
    return alerts


def impact(
    conn: sqlite3.Connection, since: dt.date | None = None, limit: int | None = None
) -> list[Alert]:
    """Every alert, most serious first: source notices, then claims disputed or withdrawn, then
    claims changed since `since` (only with a `since`: the history is what dates a change).
    With `limit`, at most that many, source notices first (a public feed stays bounded)."""
    order = {"serious": 0, "deprecated": 1, "disputed": 2, "check": 3, "changed": 4}
    cap = limit if limit is not None else 2**62
    alerts = _notice_alerts(conn, since, cap)
    alerts += _claim_alerts(conn, since, cap - len(alerts))
    return sorted(alerts, key=lambda a: (order.get(a.severity, 9), a.id))


def render_text(alerts: list[Alert]) -> str:
    if not alerts:
        return "Nothing needs action: no source has a notice and no claim is disputed, withdrawn or changed."
    lines = []
    for a in alerts:
        lines.append(a.summary)
        for p in a.pages:
            lines.append(f"  - {p.action}")
        if not a.pages:
            lines.append("  nothing published rests on it.")
    pages = sum(len(a.pages) for a in alerts)
    acting = sum(1 for a in alerts if a.needs_action)
    lines.append(f"{len(alerts)} alert(s); {acting} need action on {pages} page(s).")
    return "\n".join(lines)
