"""The FAQ as schema.org JSON-LD: an `FAQPage` whose answers cite `MedicalScholarlyArticle`s by DOI.

A claim's `flag` decides, as everywhere on the website: a source is cited only for claims with no
flag (verified, and the source carries no retraction, correction or other notice), so the markup
never lends an unverified or disputed figure or a retracted paper the weight of a citation. An
answer that rests on any flagged claim is not presented as established fact: its text ends with an
evidence note saying what is not established, and it cites only the unflagged claims' sources.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .provenance import SERIOUS_UPDATES, rows_as_dicts

SERIOUS_FLAG_PREFIXES = tuple(f"source {u.replace('_', ' ')}" for u in SERIOUS_UPDATES)

FAQ_SQL = """
select f.id, f.question, f.answer, f.position, f.evidence_status,
       a.id as article_id, a.title as article_title, a.url as article_url,
       a.last_reviewed, a.publisher
from faq f left join articles a on a.id = f.article_id
where (:article = '' or f.article_id = :article)
order by f.article_id, f.position, f.id
"""

CITED_SQL = """
select distinct s.doi, s.url, s.title, s.journal, s.year, s.pmid, s.update_status
from faq_claims fc
join claims c on c.id = fc.claim_id
join sources s on s.doi = c.source_doi
where fc.faq_id = :faq and c.flag is null
  and coalesce(s.update_status, '') not in ({serious})
order by s.year, s.doi
""".format(serious=", ".join(f"'{u}'" for u in SERIOUS_UPDATES))

FLAGGED_SQL = """
select c.id, c.status, c.flag
from faq_claims fc join claims c on c.id = fc.claim_id
where fc.faq_id = :faq and c.flag is not null
order by fc.rowid
"""


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def evidence_note(flagged: list[dict[str, Any]]) -> str:
    """One sentence a reader of the answer sees: which of its figures are not established, and why."""
    retracted = sum(1 for c in flagged if c["flag"].startswith(SERIOUS_FLAG_PREFIXES))
    noticed = sum(1 for c in flagged if c["flag"].startswith("source has a"))
    parts = []
    for status in ("unverified", "disputed", "deprecated"):
        n = sum(1 for c in flagged if c["status"] == status)
        if n:
            parts.append(f"{_plural(n, 'figure is', 'figures are')} {status}")
    if retracted:
        parts.append(
            f"{_plural(retracted, 'figure comes', 'figures come')} from a retracted or withdrawn source"
        )
    if noticed:
        parts.append(
            f"{_plural(noticed, 'figure comes', 'figures come')} from a source with a correction "
            "or other notice"
        )
    return "Evidence note: part of this answer is not established: " + "; ".join(parts) + "."


def _scholarly_article(src: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@type": "MedicalScholarlyArticle",
        "@id": f"https://doi.org/{src['doi']}",
        "identifier": {"@type": "PropertyValue", "propertyID": "DOI", "value": src["doi"]},
        "url": src["url"] or f"https://doi.org/{src['doi']}",
    }
    if src["title"]:
        doc["headline"] = src["title"]
    if src["year"]:
        doc["datePublished"] = str(src["year"])
    if src["journal"]:
        doc["isPartOf"] = {"@type": "Periodical", "name": src["journal"]}
    if src["update_status"]:
        doc["creativeWorkStatus"] = src["update_status"].replace("_", " ")
    return doc


def faq_page(conn: sqlite3.Connection, article: str = "") -> dict[str, Any]:
    """The FAQPage document for one article's FAQ, or for every FAQ entry when article is ''."""
    entries = rows_as_dicts(conn, FAQ_SQL, {"article": article})
    questions = []
    for e in entries:
        cited = rows_as_dicts(conn, CITED_SQL, {"faq": e["id"]})
        flagged = rows_as_dicts(conn, FLAGGED_SQL, {"faq": e["id"]})
        text = e["answer"] + (" " + evidence_note(flagged) if flagged else "")
        answer: dict[str, Any] = {"@type": "Answer", "text": text}
        if cited:
            answer["citation"] = [_scholarly_article(s) for s in cited]
        questions.append(
            {
                "@type": "Question",
                "@id": f"{e['article_url'] or ''}#{e['id']}",
                "identifier": e["id"],
                "name": e["question"],
                "acceptedAnswer": answer,
            }
        )
    doc: dict[str, Any] = {"@context": "https://schema.org", "@type": "FAQPage"}
    if article and entries:
        first = entries[0]
        doc.update({"url": first["article_url"], "name": first["article_title"]})
        if first["last_reviewed"]:
            doc["lastReviewed"] = first["last_reviewed"]
    doc["mainEntity"] = questions
    return doc


def dumps_safe(doc: dict[str, Any]) -> str:
    """JSON a website may paste into <script type="application/ld+json"> as it is: no `<`, `>`, `&`."""
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
