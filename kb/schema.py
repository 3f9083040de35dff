"""The database shape, declared once as data and applied by `ensure_db_shape(db)`.

Column names here are the contract the website, the JSON API and `metadata.yml` depend on.
"""

from __future__ import annotations

import sqlite3

import sqlite_utils

TABLES: dict[str, dict] = {
    "sources": {
        "pk": "doi",
        "columns": {
            "doi": str, "citation": str, "title": str, "journal": str, "year": int,
            "published_online": str, "published_print": str, "volume": str, "issue": str,
            "pages": str, "article_number": str, "authors": str, "authors_complete": int, "pmid": str, "pmcid": str,
            "url": str, "publisher": str, "open_access": int, "license": str,
            "study_design": str, "update_status": str, "update_notices": str,
            "metadata_origin": str, "metadata_page": str, "fetched_from": str,
            "retrieved_at": str, "abstract": str, "notes": str, "claim_count": int,
        },
        "not_null": {"doi", "metadata_origin"},
    },
    # A question several claims answer: where their answers differ, `disagreement` says how.
    "questions": {
        "pk": "id",
        "columns": {
            "id": str, "question": str, "topic": str, "disagreement": str, "claim_count": int,
            "source_count": int,
        },
        "not_null": {"id", "question", "topic"},
    },
    "claims": {
        "pk": "id",
        "columns": {
            "id": str, "statement": str, "figure": str, "topic": str, "measure": str,
            "value": float, "value_low": float, "value_high": float, "interval": str,
            "unit": str, "qualifier": str, "p_value": float, "n": int, "population": str,
            "timepoint_months": float, "compartments": str, "study_design": str,
            "certainty": str, "status": str, "flag": str, "deprecated_reason": str,
            "superseded_by": str, "source_doi": str, "question": str, "source_update_status": str,
            "locator": str, "excerpt": str, "verified_against": str, "curated_on": str,
            "curated_by": str, "notes": str, "data_file": str, "data_line": int,
        },
        "not_null": {"id", "statement", "topic", "measure", "status"},
        "foreign_keys": [
            ("source_doi", "sources", "doi"), ("superseded_by", "claims", "id"),
            ("question", "questions", "id"),
        ],
    },
    "articles": {
        "pk": "id",
        "columns": {"id": str, "title": str, "url": str, "publisher": str, "last_reviewed": str},
        "not_null": {"id", "title"},
    },
    "article_references": {
        "pk": "id",
        "columns": {
            "id": str, "article_id": str, "position": int, "label": str, "doi": str,
            "printed_year": int, "printed_title": str, "verdict": str, "note": str,
        },
        "foreign_keys": [("article_id", "articles", "id"), ("doi", "sources", "doi")],
    },
    "article_statements": {
        "pk": "id",
        "columns": {
            "id": str, "article_id": str, "position": int, "section": str, "paraphrase": str,
            "figures": str, "claim_id": str, "verdict": str, "reason": str,
        },
        "foreign_keys": [("article_id", "articles", "id"), ("claim_id", "claims", "id")],
    },
    "faq": {
        "pk": "id",
        "columns": {
            "id": str, "article_id": str, "position": int, "question": str, "answer": str,
            "evidence_status": str,
        },
        "foreign_keys": [("article_id", "articles", "id")],
    },
    "faq_claims": {
        "pk": ("faq_id", "claim_id"),
        "columns": {"faq_id": str, "claim_id": str},
        "foreign_keys": [("faq_id", "faq", "id"), ("claim_id", "claims", "id")],
    },
    "source_discrepancies": {
        "pk": ("doi", "field"),
        "columns": {"doi": str, "field": str, "curated": str, "fetched": str, "fetched_from": str},
        "foreign_keys": [("doi", "sources", "doi")],
    },
    # Each claim's and source's changes, derived from the git history of data/ (kb.history).
    "history": {
        "pk": ("kind", "record_id", "seq"),
        "columns": {
            "kind": str, "record_id": str, "seq": int, "commit_id": str, "date": str,
            "author": str, "reason": str, "change": str, "fields": str, "file": str,
            "previous_file": str,
        },
    },
    "build_info": {
        "pk": "key",
        "columns": {"key": str, "value": str},
    },
    # How many claim statements use each (porter-stemmed) word: derived from claims_fts by
    # `count_claim_terms`, so `kb check` does not walk the whole index on every check.
    "claim_terms": {
        "pk": "term",
        "columns": {"term": str, "doc": int},
    },
    # data/lexicon.yml as kb check reads it: one JSON value per section (see kb.lexicon)
    "lexicon": {
        "pk": "key",
        "columns": {"key": str, "value": str},
    },
}  # fmt: skip
DERIVED = ("build_info", "claim_terms", "history")  # tables about the build, not curated content

FTS: dict[str, list[str]] = {
    "claims": ["statement", "topic", "population", "unit", "excerpt", "notes"],
    "sources": ["title", "authors", "journal", "abstract"],
}

INDEXES: list[tuple[str, list[str]]] = [
    ("claims", ["status"]),
    ("claims", ["topic"]),
    ("claims", ["source_doi"]),
    ("claims", ["question"]),
    ("claims", ["value"]),  # kb check finds claims by a sentence's figures
    ("claims", ["n"]),
    ("claims", ["value_low"]),
    ("article_statements", ["claim_id"]),
    ("faq_claims", ["claim_id"]),
    ("history", ["date"]),
]


def ensure_db_shape(db: sqlite_utils.Database) -> None:
    """Create every table, foreign key and index that is not there yet. Idempotent."""
    db.execute("PRAGMA foreign_keys = ON")
    for name, spec in TABLES.items():
        if db[name].exists():
            continue
        db[name].create(
            spec["columns"],
            pk=spec["pk"],
            not_null=spec.get("not_null"),
            foreign_keys=spec.get("foreign_keys"),
        )
    for table, columns in INDEXES:
        db[table].create_index(columns, if_not_exists=True)


def ensure_fts(db: sqlite_utils.Database) -> None:
    """Build (or rebuild) the FTS5 indexes from the current rows, and the claim word counts."""
    for table, columns in FTS.items():
        if db[f"{table}_fts"].exists():
            db[table].rebuild_fts()
        else:
            db[table].enable_fts(columns, fts_version="FTS5", tokenize="porter")
    count_claim_terms(db.conn)


CLAIM_VOCAB = (
    "create virtual table if not exists temp.kb_claims_vocab "
    "using fts5vocab(main, 'claims_fts', 'col')"
)
CLAIM_TERMS = "select term, doc from temp.kb_claims_vocab where col = 'statement'"


def count_claim_terms(conn: sqlite3.Connection) -> None:
    """Refill claim_terms from claims_fts: one row per word of the statements, with its claim count.

    fts5vocab walks the whole index (0.75 s at 1M claims): done once per build, not per check."""
    conn.execute(CLAIM_VOCAB)
    with conn:
        conn.execute("delete from claim_terms")
        conn.execute(f"insert into claim_terms (term, doc) {CLAIM_TERMS}")
