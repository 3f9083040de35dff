"""The website API's contract as data: its endpoints, field names and JSON types. Adding a field is
allowed; removing one, changing its type or what it means is a breaking change and needs a new path
(v1 `faq` → v2 `faq_v2`; see docs/api.md).

`problems(value, spec)` lists every place a response departs from a spec.
"""

from __future__ import annotations

from typing import Any

# Each endpoint: (columns that hold JSON, always returned parsed; the parameters it reads).
ENDPOINTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "/kb/faq.json": (("article", "claims"), ("_shape", "_nl", "article", "id")),
    "/kb/faq_v2.json": (("article", "evidence", "claims"), ("_shape", "_nl", "article", "id")),
    "/kb/claim.json": (("source", "question", "other_answers"), ("_shape", "_nl", "id")),
    "/kb/source.json": (("claim_ids",), ("_shape", "_nl", "doi")),
    "/-/faq.jsonld": ((), ("article",)),
}
# The whole FAQ as the website asks for it: fetched at startup and kept (middleware.py); each
# article's URLs are FAQ_ARTICLE_URLS with its id.
FAQ_URLS = (
    "/kb/faq_v2.json?_shape=array",
    "/kb/faq.json?_shape=array&_json=claims",
    "/kb/faq.json?_shape=array",
    "/-/faq.jsonld",
)
FAQ_ARTICLE_URLS = (
    "/kb/faq_v2.json?_shape=array&article={}",
    "/kb/faq.json?_shape=array&_json=claims&article={}",
    "/-/faq.jsonld?article={}",
)

NULLABLE_STR = (str, type(None))
NULLABLE_INT = (int, type(None))

SOURCE = {
    "doi": str,
    "url": str,
    "citation": str,
    "year": NULLABLE_INT,
    "update_status": NULLABLE_STR,
    "update_checked_at": NULLABLE_STR,  # added in v1: null = no fetched record, never checked
    "short_citation": str,  # added in v1: "Aso et al. 2021"
    "title": NULLABLE_STR,  # added in v1 (inside the FAQ)
    "journal": NULLABLE_STR,  # added in v1 (inside the FAQ)
}
CLAIM = {
    "id": str,
    "statement": str,
    "figure": NULLABLE_STR,
    "status": str,
    "flag": NULLABLE_STR,
    "source": (SOURCE, type(None)),
}
FAQ_ENTRY = {
    "id": str,
    "question": str,
    "answer": str,
    "article": ({"id": str, "title": str, "url": NULLABLE_STR}, type(None)),
    "last_reviewed": NULLABLE_STR,
    "evidence_status": str,
    "claims": [CLAIM],
}
EVIDENCE = {"claim_id": str, "status": str, "reason_code": NULLABLE_STR}
# v2: evidence_status is one of EVIDENCE_STATUSES (data, not prose), with the claims behind it.
FAQ_ENTRY_V2 = {
    **{k: v for k, v in FAQ_ENTRY.items() if k != "evidence_status"},
    "evidence_status": str,
    "evidence_note": NULLABLE_STR,
    "evidence": [EVIDENCE],
}
REASON_CODES_FIXED = ("unverified", "disputed", "deprecated")  # and "source_<notice>"
OTHER_ANSWER = {"id": str, "statement": str, "figure": NULLABLE_STR, "status": str,
                "flag": NULLABLE_STR, "short_citation": NULLABLE_STR, "doi": NULLABLE_STR}  # fmt: skip
QUESTION = {"id": str, "question": str, "disagreement": NULLABLE_STR}
CLAIM_LOOKUP = {**CLAIM, "topic": str, "measure": str, "locator": NULLABLE_STR,
                "excerpt": NULLABLE_STR, "notes": NULLABLE_STR, "curated_on": NULLABLE_STR,
                # added in v1: the question it answers and the other studies' answers to it
                "question": (QUESTION, type(None)), "other_answers": [OTHER_ANSWER]}  # fmt: skip
SOURCE_LOOKUP = {**SOURCE, "title": NULLABLE_STR, "journal": NULLABLE_STR,
                 "study_design": NULLABLE_STR, "claim_ids": [str]}  # fmt: skip
STATUSES = ("verified", "unverified", "disputed", "deprecated")


def problems(value: Any, spec: Any, where: str = "$") -> list[str]:
    """Every departure of value from spec: a dict spec is an object, [spec] a list, a tuple a choice."""
    if isinstance(spec, tuple):
        found = [problems(value, option, where) for option in spec]
        if any(not f for f in found):
            return []
        return [f"{where}: {_describe(value)} is none of {[_name(o) for o in spec]}"]
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {_describe(value)}"]
        out = [f"{where}.{key}: missing" for key in spec if key not in value]
        for key, sub in spec.items():
            if key in value:
                out += problems(value[key], sub, f"{where}.{key}")
        return out
    if isinstance(spec, list):
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {_describe(value)}"]
        return [p for i, item in enumerate(value) for p in problems(item, spec[0], f"{where}[{i}]")]
    if spec is int and isinstance(value, bool):
        return [f"{where}: expected int, got bool"]
    if not isinstance(value, spec):
        return [f"{where}: expected {_name(spec)}, got {_describe(value)}"]
    return []


def _name(spec: Any) -> str:
    if isinstance(spec, dict):
        return "object"
    if isinstance(spec, list):
        return "list"
    if isinstance(spec, tuple):
        return " or ".join(_name(s) for s in spec)
    return "null" if spec is type(None) else spec.__name__


def _describe(value: Any) -> str:
    return "null" if value is None else type(value).__name__
