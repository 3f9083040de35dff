"""The FAQ as schema.org JSON-LD: an `FAQPage` whose answers cite `MedicalScholarlyArticle`s by DOI.

Read from the `faq_entries` view (kb/schema.py), as the website's JSON is. A claim's `flag` decides,
as everywhere on the website: a source is cited only for claims with no flag (verified, and the
source carries no retraction, correction or other notice), so the markup never lends an unverified
or disputed figure or a retracted paper the weight of a citation. An answer whose evidence is not
all verified ends with the view's `evidence_note`, and cites only the unflagged claims' sources.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ..schema import rows_as_dicts

FAQ_SQL = """
select * from faq_entries
where (:article = '' or article_id = :article)
order by article_id, position, id
"""
JSON_COLUMNS = ("article", "evidence", "claims")


def faq_entries(conn: sqlite3.Connection, article: str = "") -> list[dict[str, Any]]:
    """The FAQ view's rows (kb/schema.py), JSON columns parsed, in display order."""
    entries = rows_as_dicts(conn, FAQ_SQL, {"article": article})
    for e in entries:
        for name in JSON_COLUMNS:
            e[name] = json.loads(e[name]) if e[name] else None
    return entries


def cited_sources(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The sources an answer may cite: those of its claims with no flag, each once, oldest first."""
    by_doi = {
        c["source"]["doi"]: c["source"] for c in entry["claims"] if c["source"] and not c["flag"]
    }
    return sorted(by_doi.values(), key=lambda s: (s["year"] or 0, s["doi"]))


def _scholarly_article(src: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@type": "MedicalScholarlyArticle",
        "@id": f"https://doi.org/{src['doi']}",
        "identifier": {"@type": "PropertyValue", "propertyID": "DOI", "value": src["doi"]},
        "url": src["url"] or f"https://doi.org/{src['doi']}",
    }
    if src.get("title"):
        doc["headline"] = src["title"]
    if src.get("year"):
        doc["datePublished"] = str(src["year"])
    if src.get("journal"):
        doc["isPartOf"] = {"@type": "Periodical", "name": src["journal"]}
    if src.get("update_status"):
        doc["creativeWorkStatus"] = src["update_status"].replace("_", " ")
    return doc


def faq_page(conn: sqlite3.Connection, article: str = "") -> dict[str, Any]:
    """The FAQPage document for one article's FAQ, or for every FAQ entry when article is ''."""
    entries = faq_entries(conn, article)
    questions = []
    for e in entries:
        cited = cited_sources(e)
        text = e["answer"] + (" " + e["evidence_note"] if e["evidence_note"] else "")
        answer: dict[str, Any] = {"@type": "Answer", "text": text}
        if cited:
            answer["citation"] = [_scholarly_article(s) for s in cited]
        questions.append(
            {
                "@type": "Question",
                "@id": f"{e['article']['url'] or ''}#{e['id']}",
                "identifier": e["id"],
                "name": e["question"],
                "acceptedAnswer": answer,
            }
        )
    doc: dict[str, Any] = {"@context": "https://schema.org", "@type": "FAQPage"}
    if article and entries:
        first = entries[0]
        doc.update({"url": first["article"]["url"], "name": first["article"]["title"]})
        if first["last_reviewed"]:
            doc["lastReviewed"] = first["last_reviewed"]
    doc["mainEntity"] = questions
    return doc


def dumps_safe(doc: dict[str, Any]) -> str:
    """JSON a website may paste into <script type="application/ld+json"> as it is: no `<`, `>`, `&`."""
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
