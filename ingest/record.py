"""The normalised record `kb ingest` writes to `data/fetched/records/`, and the pure helpers behind it.

A record has the keys of `docs/data-format.md` sources plus `abstract`, `update_status`,
`update_notices`, `retrieved_at` and `fetched_from`. Unknown values are left out, never guessed.
"""

from __future__ import annotations

import html
import re
from typing import Any

from kb.doi import InvalidDOI, normalize_doi
from kb.markup import strip_markup, text_only
from kb.schema import UPDATE_TYPES

# Record keys compared with the curated source (kb.build.COMPARED_FIELDS) and filled from fallbacks.
RECORD_FIELDS = (
    "title", "journal", "year", "volume", "issue", "pages", "article_number", "authors",
    "publisher", "published_online", "published_print", "pmid", "pmcid", "license",
    "open_access", "abstract",
)  # fmt: skip

_BLOCK_TAG_RE = re.compile(
    r"</?(?:jats:)?(?:p|sec|list|list-item|def-list|boxed-text|disp-quote|table-wrap)\b[^>]*>", re.I
)
_TITLE_TAG_RE = re.compile(r"<(?:jats:)?title\b[^>]*>(.*?)</(?:jats:)?title>", re.I | re.S)
_TAG_RE = re.compile(r"<[^>]+>")
_LAYOUT_SPACE_RE = re.compile(r"[ \t\r]*\n\s*")  # whitespace with a line break: XML indentation
_GLUE = set("/()[]-–‐\x00")
_PARA = "\x00"


def _join_layout(text: str) -> str:
    """Indentation between inline tags becomes one space, or nothing next to `/`, `(`, `)`, ..."""

    def repl(m: re.Match[str]) -> str:
        before = m.string[m.start() - 1] if m.start() > 0 else _PARA
        after = m.string[m.end()] if m.end() < len(m.string) else _PARA
        return "" if before in _GLUE or after in _GLUE else " "

    return _LAYOUT_SPACE_RE.sub(repl, text)


def clean_inline(text: str | None) -> str | None:
    """Title text without inline markup (`<i>KRAS</i>`) or layout whitespace; None if empty."""
    if not text:
        return None
    text = " ".join(strip_markup(html.unescape(_join_layout(_TAG_RE.sub("", text)))).split())
    return text or None


def clean_abstract(text: str | None) -> str | None:
    """Plain-text abstract from JATS/HTML: paragraphs kept (blank line between), tags dropped.

    A section title (`Background`) is joined to its paragraph as `Background: ...`; a lone
    leading `Abstract` heading is dropped.
    """
    if not text:
        return None
    text = _TITLE_TAG_RE.sub(lambda m: f"{_PARA}\x01{m.group(1)}\x02{_PARA}", text)
    text = _BLOCK_TAG_RE.sub(_PARA, text)
    text = _join_layout(_TAG_RE.sub("", text))
    paras = [" ".join(strip_markup(html.unescape(p)).split()) for p in text.split(_PARA)]
    paras = [p for p in paras if p.strip("\x01\x02 ")]
    out: list[str] = []
    heading: str | None = None
    for p in paras:
        if p.startswith("\x01") and p.endswith("\x02"):
            title = p.strip("\x01\x02 ")
            heading = None if not out and title.casefold() == "abstract" else title
            continue
        out.append(f"{heading}: {p}" if heading else p)
        heading = None
    return "\n\n".join(out) or None


def other_doi(found: Any, asked: str) -> str | None:
    """Why an answer is not the record of DOI `asked` (None when its DOI is that one, normalised).

    An answer about another work, or about no DOI at all, is never stored as this DOI's record.
    """
    try:
        if normalize_doi(found) == normalize_doi(asked):
            return None
    except InvalidDOI:
        pass
    if not found:
        return f"the answer names no DOI, so it may not be the record of {asked}"
    return f"the answer is the record of DOI {str(found)[:200]!r}, not of {asked}"


def first(value: Any) -> Any:
    """Crossref lists one title as `["..."]`; CSL-JSON gives a bare string. Either way, the first."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def date_from_parts(value: dict | None) -> str | None:
    """`{"date-parts": [[2021, 1, 19]]}` -> `2021-01-19`; `[[2020]]` -> `2020`; None if unknown."""
    if not isinstance(value, dict):
        return None
    parts = (value.get("date-parts") or [[]])[0] or []
    parts = [p for p in parts if isinstance(p, int | str) and str(p).strip().isdigit()]
    if not parts:
        return None
    year, *rest = (int(p) for p in parts[:3])
    return "-".join([f"{year:04d}", *(f"{p:02d}" for p in rest)])


def year_of(*dates: str | None) -> int | None:
    for d in dates:
        if d:
            return int(d[:4])
    return None


def person_name(author: dict[str, Any]) -> str | None:
    """`Given Family`, or the family name alone, or an organisation's `name`/CSL `literal`."""
    given, family = author.get("given"), author.get("family")
    if family:
        return " ".join(x.strip() for x in (given, family) if x and x.strip())
    return author.get("name") or author.get("literal")


def notice_type(text: str | None) -> str:
    return re.sub(r"[\s\-]+", "_", (text or "update").strip().lower())


def notice(entry: dict[str, Any], source_default: str | None = None) -> dict[str, Any]:
    """One `updated-by`/`update-to` entry in our shape: doi, type, date, source, record_id."""
    doi = entry.get("DOI") or entry.get("doi")
    record_id = entry.get("record-id", entry.get("record_id"))
    return {
        "doi": doi.lower() if isinstance(doi, str) and doi else None,
        "type": notice_type(entry.get("type")),
        "date": date_from_parts(entry.get("updated")) or entry.get("date"),
        "source": entry.get("source") or source_default,
        "record_id": str(record_id) if record_id not in (None, "") else None,
    }


def merge_notices(notices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same notice from the publisher and from Retraction Watch counts once (sources joined)."""
    merged: list[dict[str, Any]] = []
    for n in notices:
        same = next(
            (
                m
                for m in merged
                if m["type"] == n["type"]
                and (m["doi"] == n["doi"] or m["doi"] is None or n["doi"] is None)
            ),
            None,
        )
        if same is None:
            merged.append(dict(n))
            continue
        for key in ("doi", "date", "record_id"):
            same[key] = same[key] or n[key]
        sources = [s for s in (same["source"] or "").split(", ") if s]
        if n["source"] and n["source"] not in sources:
            sources.append(n["source"])
        same["source"] = ", ".join(sources) or None
    return merged


def most_serious(notices: list[dict[str, Any]]) -> str | None:
    types = {n["type"] for n in notices}
    for t in UPDATE_TYPES:  # most serious first
        if t in types:
            return t
    return sorted(types)[0] if types else None


def merge_records(
    doi: str,
    parts: list[tuple[str, dict[str, Any]]],
    retrieved_at: str,
    notices: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One record from each service's parsed fields, first service first; later ones fill gaps.

    `notices` are those found apart from the work's own record (Crossref's `update-to` list);
    with its `updated-by` they are counted once each. A service that only flags the work as
    retracted (OpenAlex `is_retracted`) adds a retraction when no notice says so.
    """
    record: dict[str, Any] = {"doi": doi.lower(), "retrieved_at": retrieved_at, "fetched_from": []}
    found: list[dict[str, Any]] = []
    retracted_by: list[str] = []
    for service, fields in parts:
        record["fetched_from"].append(service)
        for key in RECORD_FIELDS:
            if record.get(key) in (None, "", []) and fields.get(key) not in (None, "", []):
                record[key] = fields[key]
        found += fields.get("update_notices") or []
        if fields.get("is_retracted"):
            retracted_by.append(service)
    found += notices or []
    for service in retracted_by:
        if not any(n["type"] == "retraction" for n in found):
            found.append(
                {"doi": None, "type": "retraction", "date": None, "source": service,
                 "record_id": None}
            )  # fmt: skip
    record["update_notices"] = merge_notices(found)
    record["update_status"] = most_serious(record["update_notices"])
    return text_only(record)  # every field, whichever service sent it, is text


def same_content(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Equal records apart from when they were retrieved."""
    if a is None or b is None:
        return False
    strip = ("retrieved_at",)
    return {k: v for k, v in a.items() if k not in strip} == {
        k: v for k, v in b.items() if k not in strip
    }
