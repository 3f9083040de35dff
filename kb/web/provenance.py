"""What the claim page and the home page show: a claim's provenance chain, and the KB at a glance.

Plain functions over a sqlite3 connection, run in Datasette's thread executor (`Database.execute_fn`).
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any
from urllib.parse import urlsplit

from ..schema import SERIOUS_UPDATES, rows_as_dicts

STATUS_EXPLAINED = {
    "verified": "We found this figure in the published record of the study.",
    "unverified": "Nobody could read this figure in a published source yet. Do not present it as "
    "established.",
    "disputed": "Sources disagree about this figure. Do not present it as established.",
    "deprecated": "This claim has been withdrawn. Do not use it.",
}
# What a reader opens at each kind of address: "checked against <the page> ...".
PAGE_KINDS = (
    ("pubmed.ncbi.nlm.nih.gov", "the PubMed record"),
    ("ncbi.nlm.nih.gov/pubmed", "the PubMed record"),
    ("ncbi.nlm.nih.gov/pmc", "the full text on PubMed Central"),
    ("pmc.ncbi.nlm.nih.gov", "the full text on PubMed Central"),
    ("europepmc.org", "the Europe PMC record"),
    ("doi.org", "the publisher's page"),
    ("api.crossref.org", "the Crossref record"),
    ("openalex.org", "the OpenAlex record"),
)


_ID_RE = re.compile(r"\b[a-z][a-z0-9]*(?:-[a-z0-9]+)+\b")


_URL_RE = re.compile(r"https?://[^\s<>\"')]+[^\s<>\"').,;:]")


def with_claim_links(conn: sqlite3.Connection, text: str | None) -> list[dict[str, Any]]:
    """Curated prose cut into parts for a reader: a claim id becomes a link named by the claim's
    figure ("“582 knees”" where a curator wrote `aso2021-n-longitudinal`), an address a link named
    by its site."""
    if not text:
        return []
    found = set(_ID_RE.findall(_URL_RE.sub(" ", text)))
    known = {}
    if found:
        marks = ",".join("?" * len(found))
        sql = f"select id, figure from claims where id in ({marks})"
        known = {cid: fig for cid, fig in conn.execute(sql, sorted(found))}
    spans = [(m.start(), m.end(), {"text": urlsplit(m.group(0)).netloc, "url": m.group(0)})
             for m in _URL_RE.finditer(text)]  # fmt: skip
    for m in _ID_RE.finditer(text):
        inside = any(a <= m.start() < b for a, b, _ in spans)
        if m.group(0) in known and not inside:
            figure = known[m.group(0)]
            label = f"“{figure}”" if figure else "(that claim)"
            spans.append((m.start(), m.end(), {"text": label, "claim": m.group(0)}))
    parts: list[dict[str, Any]] = []
    pos = 0
    for a, b, part in sorted(spans, key=lambda s: s[0]):
        parts.append({"text": text[pos:a]})
        parts.append(part)
        pos = b
    parts.append({"text": text[pos:]})
    return parts


def is_public_url(text: str | None) -> bool:
    return bool(text) and str(text).startswith(("https://", "http://"))


def page_kind(url: str) -> str:
    """ "the PubMed record", "the publisher's page": what a reader finds at url."""
    parts = urlsplit(url)
    where = parts.netloc.lower().removeprefix("www.") + parts.path.lower()
    for needle, kind in PAGE_KINDS:
        if needle in where:
            return kind
    return "the study's page"


def checked_against(claim: dict[str, Any]) -> dict[str, str] | None:
    """What was read to verify the claim, in words, and the address; None when no public address
    is recorded (a file of ours is never shown to a reader)."""
    url = claim.get("verified_against")
    if not is_public_url(url):
        return None
    kind = page_kind(url)
    locator = (claim.get("locator") or "").strip()
    what = f"the {locator} on {kind.removeprefix('the ')}" if locator else kind
    if locator and kind == "the PubMed record":
        what = f"the {locator} in the PubMed record"
    return {"what": what, "url": url}


def _one(
    conn: sqlite3.Connection, sql: str, params: list[Any] | dict[str, Any]
) -> dict[str, Any] | None:
    rows = rows_as_dicts(conn, sql, params)
    return rows[0] if rows else None


def _json_list(text: str | None) -> list[Any]:
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return [text]
    return value if isinstance(value, list) else [value]


def claim_provenance(conn: sqlite3.Connection, claim_id: str) -> dict[str, Any] | None:
    """Everything the claim page shows, from one claim id; None if there is no such claim."""
    claim = _one(conn, "select * from claims where id = ?", [claim_id])
    if claim is None:
        return None
    claim["compartments"] = _json_list(claim.get("compartments"))
    source = None
    if claim.get("source_doi"):
        source = _one(
            conn,
            "select doi, citation, short_citation, title, journal, year, url, pmid, pmcid, "
            "study_design, update_status, update_notices, metadata_origin, retrieved_at, notes "
            "from sources where doi = ?",
            [claim["source_doi"]],
        )
    superseded_by = None
    if claim.get("superseded_by"):
        superseded_by = _one(
            conn, "select id, statement, status from claims where id = ?", [claim["superseded_by"]]
        )
    statements = rows_as_dicts(
        conn,
        "select s.id, s.article_id, a.title as article_title, a.url as article_url, s.section, "
        "s.paraphrase, s.figures, s.verdict, s.reason from article_statements s "
        "left join articles a on a.id = s.article_id where s.claim_id = ? "
        "order by s.article_id, s.position, s.id",
        [claim_id],
    )
    for s in statements:
        s["figures"] = _json_list(s["figures"])
        s["reason_parts"] = with_claim_links(conn, s["reason"])
    faq = rows_as_dicts(
        conn,
        "select f.id, f.question, f.article_id, a.title as article_title from faq_claims fc "
        "join faq f on f.id = fc.faq_id left join articles a on a.id = f.article_id "
        "where fc.claim_id = ? order by f.article_id, f.position, f.id",
        [claim_id],
    )
    cited_as = []
    if source:
        cited_as = rows_as_dicts(
            conn,
            "select r.article_id, a.title as article_title, r.label, r.printed_year, r.verdict, "
            "r.note from article_references r left join articles a on a.id = r.article_id "
            "where r.doi = ? order by r.article_id, r.position",
            [source["doi"]],
        )
    for r in cited_as:
        r["note_parts"] = with_claim_links(conn, r["note"])
    claim["deprecated_reason_parts"] = with_claim_links(conn, claim.get("deprecated_reason"))
    claim["notes_parts"] = with_claim_links(conn, claim.get("notes"))
    update = claim.get("source_update_status") or (source or {}).get("update_status")
    question, others = other_answers(conn, claim)
    return {
        "claim": claim,
        "question": question,
        "other_answers": others,
        "checked_against": checked_against(claim),
        "status_explained": STATUS_EXPLAINED.get(claim["status"], ""),
        "source": source,
        "source_serious": update in SERIOUS_UPDATES,
        "source_update": update.replace("_", " ") if update else None,
        "superseded_by": superseded_by,
        "statements": statements,
        "faq": faq,
        "cited_as": cited_as,
    }


OTHER_ANSWERS_SQL = """
select c.id, c.statement, c.figure, c.status, c.flag, c.source_doi, s.short_citation, s.year
from claims c left join sources s on s.doi = c.source_doi
where c.question = :question and c.id != :id
order by case c.status when 'verified' then 0 when 'disputed' then 1 when 'unverified' then 2
  else 3 end, s.year desc, c.id
limit 50
"""


def other_answers(
    conn: sqlite3.Connection, claim: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The question the claim answers and the other claims that answer it (other studies first)."""
    if not claim.get("question"):
        return None, []
    question = _one(conn, "select * from questions where id = ?", [claim["question"]])
    if question is None:
        return None, []
    others = rows_as_dicts(conn, OTHER_ANSWERS_SQL, {"question": question["id"], "id": claim["id"]})
    others.sort(key=lambda o: o["source_doi"] == claim.get("source_doi"))  # other studies first
    return question, others


def source_page(conn: sqlite3.Connection, doi: str) -> dict[str, Any] | None:
    """Everything the source page shows, from one DOI; None if there is no such source."""
    source = _one(conn, "select * from sources where doi = ?", [doi])
    if source is None:
        return None
    source["authors"] = _json_list(source.get("authors"))
    claims = rows_as_dicts(
        conn,
        "select id, statement, figure, status, flag from claims where source_doi = ? "
        "order by case status when 'verified' then 0 when 'disputed' then 1 "
        "when 'unverified' then 2 else 3 end, id",
        [doi],
    )
    update = source.get("update_status")
    cited_as = rows_as_dicts(
        conn,
        "select r.article_id, a.title as article_title, a.url as article_url, r.label, "
        "r.printed_year, r.verdict, r.note from article_references r "
        "left join articles a on a.id = r.article_id where r.doi = ? "
        "order by r.article_id, r.position",
        [doi],
    )
    for r in cited_as:
        r["note_parts"] = with_claim_links(conn, r["note"])
    return {
        "source": source,
        "claims": claims,
        "serious": update in SERIOUS_UPDATES,
        "notice": update.replace("_", " ") if update else None,
        "metadata_page": source["metadata_page"]
        if is_public_url(source.get("metadata_page"))
        else None,
        "cited_as": cited_as,
    }


def kb_overview(conn: sqlite3.Connection) -> dict[str, Any]:
    """Counts for the home page: claims by status, sources, articles, FAQ entries, the build."""
    by_status = dict(conn.execute("select status, count(*) from claims group by status").fetchall())
    counts = {
        name: conn.execute(f"select count(*) from [{name}]").fetchone()[0]
        for name in ("claims", "sources", "articles", "faq")
    }
    flagged = conn.execute("select count(*) from claims where flag is not null").fetchone()[0]
    info = dict(conn.execute("select key, value from build_info").fetchall())
    topics = conn.execute(
        "select topic, count(*) from claims group by topic order by count(*) desc, topic"
    ).fetchall()
    return {
        "topics": topics,
        "by_status": by_status,
        "counts": counts,
        "flagged": flagged,
        "build_id": info.get("build_id"),
        "built_at": info.get("built_at"),
    }
