"""The checker's explanations in a writer's words.

A claim id becomes the study's short citation ("Aso et al. 2021"), or the claim's own statement when
it rests on no source; a DOI becomes the short citation of the study it names; "the KB" becomes "our
evidence". `check_text` applies it once, so the JSON, the command line and the check page read the
same; the ids stay in each statement's `claim_id` and `source_doi` for machines and curators.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

CLAIM_ID_RE = re.compile(r"\b[a-z][a-z0-9]*(?:-[a-z0-9]+)+\b")
DOI_RE = re.compile(r"\b10\.\d{4,9}/(?:[^\s,;()]|\([^\s()]*\))+")  # "(03)00080-3" is the DOI's own
_KB_RE = re.compile(r"\b(?:the )?KB\b")  # "the KB does not hold", "in the KB": our evidence
_STATEMENT_WORDS = 10  # of an unsourced claim's statement, when it names the claim


def _lookup(conn: sqlite3.Connection, sql: str, keys: list[str]) -> dict[str, str]:
    """key -> the first non-empty of the other columns the query selects."""
    out: dict[str, str] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        for key, *names in conn.execute(sql.format(marks=",".join("?" * len(chunk))), chunk):
            out[key] = next((n for n in names if n), "")
    return out


def _claim_name(statement: str) -> str:
    words = statement.split()
    short = " ".join(words[:_STATEMENT_WORDS]) + ("…" if len(words) > _STATEMENT_WORDS else "")
    return f"the claim “{short}”"


def plain_explanations(conn: sqlite3.Connection, statements: list[Any]) -> None:
    """Rewrite each statement's `explanation` in place, with one query per table for all of them."""
    ids = sorted({i for s in statements for i in CLAIM_ID_RE.findall(s.explanation)})
    dois = sorted(
        {d.lower().rstrip(".") for s in statements for d in DOI_RE.findall(s.explanation)}
    )
    claims = _lookup(
        conn,
        "select c.id, s.short_citation, 'the claim: ' || c.statement from claims c "
        "left join sources s on s.doi = c.source_doi where c.id in ({marks})",
        ids,
    )
    sources = _lookup(conn, "select doi, short_citation from sources where doi in ({marks})", dois)

    def claim(m: re.Match) -> str:
        name = claims.get(m.group(0))
        if name is None:
            return m.group(0)
        return (
            _claim_name(name.removeprefix("the claim: "))
            if name.startswith("the claim: ")
            else name
        )

    def doi(m: re.Match) -> str:
        return sources.get(m.group(0).lower().rstrip(".,;)")) or "another study"

    for s in statements:
        text = CLAIM_ID_RE.sub(claim, DOI_RE.sub(doi, s.explanation))
        s.explanation = _KB_RE.sub("our evidence", text)
