"""Ranked full-text search over claims (and the sources they rest on)."""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlite_utils

SEARCH_SQL = """
select
  claims.id, claims.statement, claims.figure, claims.status, claims.flag, claims.topic,
  claims.source_doi, sources.citation,
  snippet(claims_fts, 0, '[', ']', '…', 12) as snippet,
  bm25(claims_fts) as rank
from claims_fts
join claims on claims.rowid = claims_fts.rowid
left join sources on sources.doi = claims.source_doi
where claims_fts match :query
order by rank
limit :limit
"""


NEEDED_TABLES = ("claims", "claims_fts", "sources")


class SearchError(Exception):
    """The database cannot be searched: not SQLite, or not built by `kb build`."""


def search(db: sqlite_utils.Database, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """Claims matching every word of `query`, best first. User text is quoted, never run as FTS syntax.

    Raises SearchError when db is not a kb database.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    try:
        tables = set(db.table_names())
        missing = [t for t in NEEDED_TABLES if t not in tables]
        if missing:
            raise SearchError(f"not a kb database (no {missing[0]} table)")
        quoted = db.quote_fts(query.strip())
        if not quoted:
            return []
        rows = db.query(SEARCH_SQL, {"query": quoted, "limit": limit})
        return [dict(r) for r in rows]
    except sqlite3.DatabaseError as exc:
        raise SearchError(f"not a kb database ({exc})") from None
