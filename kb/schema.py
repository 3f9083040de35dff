"""The database shape, declared once as data and applied by `ensure_db_shape(db)`.

Column names here are the contract the website, the JSON API and `metadata.yml` depend on.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlite_utils

from .names import STUDY_NAME_TEXTS, study_names

# Crossref's update (notice) types, most serious first: `kb ingest` keeps the most serious one a
# work has. The first five put a source's claims under a warning (SERIOUS_UPDATES): the build's
# flags, kb check's verdicts, the FAQ's evidence and the web pages all read that one list.
UPDATE_TYPES = (
    "retraction", "withdrawal", "removal", "expression_of_concern", "partial_retraction",
    "correction", "erratum", "corrigendum", "addendum", "clarification", "new_version",
)  # fmt: skip
SERIOUS_UPDATES = UPDATE_TYPES[:5]

TABLES: dict[str, dict] = {
    "sources": {
        "pk": "doi",
        "columns": {
            "doi": str, "citation": str, "short_citation": str, "title": str, "journal": str, "year": int,
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
    # The words of cohorts' proper names in the claims, each with the one source using it (kb.names):
    # "the Framingham researchers" name that study. Derived by the build, like claim_terms.
    "study_names": {
        "pk": ("name", "source_doi"),
        "columns": {"name": str, "source_doi": str},
    },
    # data/lexicon.yml as kb check reads it: one JSON value per section (see kb.lexicon)
    "lexicon": {
        "pk": "key",
        "columns": {"key": str, "value": str},
    },
}  # fmt: skip
DERIVED = (
    "build_info",
    "claim_terms",
    "study_names",
    "history",
)  # tables about the build, not curated content

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


# The FAQ as the website reads it, defined once: the `faq` canned queries and the JSON-LD select
# from this view. `evidence_status` is one of EVIDENCE_STATUSES, from the claims behind the answer:
# `flagged` when any is disputed or deprecated or its source carries a serious notice, `verified`
# when none is flagged, `partly_verified` when some are not flagged, else `unverified` (also for an
# answer that rests on no claim). `evidence` lists each claim with a `reason_code` (null when the
# claim is verified and its source carries no notice; else `unverified`, `disputed`, `deprecated` or
# `source_<notice>`), and `evidence_note` says the same in one plain sentence.
EVIDENCE_STATUSES = ("verified", "partly_verified", "unverified", "flagged")
EVIDENCE_NOTES = {
    "verified": None,
    "partly_verified": "Part of this answer has not been confirmed by the studies we hold.",
    "unverified": "This has not been confirmed by the studies we hold.",
    "flagged": "Part of this answer rests on findings that studies disagree about, that were "
    "withdrawn, or that come from a paper with a serious published notice: treat it with caution.",
}
_SERIOUS = ", ".join(f"'{u}'" for u in SERIOUS_UPDATES)
_NOTES = " ".join(
    "when '{}' then '{}'".format(k, v.replace("'", "''"))
    for k, v in EVIDENCE_NOTES.items()
    if v is not None
)
FAQ_EVIDENCE_SQL = f"""
create view faq_claim_evidence as
select fc.faq_id, fc.rowid as ord, c.id as claim_id, c.status,
  case
    when c.source_update_status in ({_SERIOUS}) then 'source_' || c.source_update_status
    when c.status != 'verified' then c.status
    when c.source_update_status is not null then 'source_' || c.source_update_status
  end as reason_code,
  case
    when c.source_update_status in ({_SERIOUS}) or c.status in ('disputed', 'deprecated') then 2
    when c.flag is not null then 1
    else 0
  end as severity
from faq_claims fc join claims c on c.id = fc.claim_id
"""
FAQ_ENTRIES_SQL = f"""
create view faq_entries as
select id, article_id, position, question, answer, article, last_reviewed, evidence_status,
  case evidence_status {_NOTES} end as evidence_note, evidence, claims
from (
  select f.id, f.article_id, f.position, f.question, f.answer,
    json_object('id', a.id, 'title', a.title, 'url', a.url) as article,
    a.last_reviewed,
    case
      when (select max(severity) from faq_claim_evidence e where e.faq_id = f.id) = 2 then 'flagged'
      when (select max(severity) from faq_claim_evidence e where e.faq_id = f.id) = 0 then 'verified'
      when (select min(severity) from faq_claim_evidence e where e.faq_id = f.id) = 0
        then 'partly_verified'
      else 'unverified'
    end as evidence_status,
    (
      select json_group_array(json_object('claim_id', claim_id, 'status', status,
                                          'reason_code', reason_code))
      from (select * from faq_claim_evidence e where e.faq_id = f.id order by e.ord)
    ) as evidence,
    (
      select json_group_array(json(claim))
      from (
        select json_object(
          'id', c.id, 'statement', c.statement, 'figure', c.figure, 'status', c.status,
          'flag', c.flag,
          'source', case when s.doi is null then null else json_object(
            'doi', s.doi, 'url', s.url, 'citation', s.citation,
            'short_citation', s.short_citation, 'title', s.title, 'journal', s.journal,
            'year', s.year,
            'update_status', s.update_status, 'update_checked_at', s.retrieved_at
          ) end
        ) as claim
        from faq_claims fc
        join claims c on c.id = fc.claim_id
        left join sources s on s.doi = c.source_doi
        where fc.faq_id = f.id
        order by fc.rowid
      )
    ) as claims
  from faq f left join articles a on a.id = f.article_id
)
"""
VIEWS: dict[str, str] = {
    "faq_claim_evidence": FAQ_EVIDENCE_SQL,
    "faq_entries": FAQ_ENTRIES_SQL,
}


def ensure_db_shape(db: sqlite_utils.Database) -> None:
    """Create every table, foreign key, index and view that is not there yet. Idempotent."""
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
    views = set(db.view_names())
    for name, sql in VIEWS.items():
        if name not in views:
            db.execute(sql)


def ensure_fts(db: sqlite_utils.Database) -> None:
    """Build (or rebuild) the FTS5 indexes from the current rows, and the claim word counts."""
    for table, columns in FTS.items():
        if db[f"{table}_fts"].exists():
            db[table].rebuild_fts()
        else:
            db[table].enable_fts(columns, fts_version="FTS5", tokenize="porter")
    count_claim_terms(db.conn)
    with db.conn:
        db.conn.execute("delete from study_names")
        db.conn.executemany(
            "insert into study_names (name, source_doi) values (?, ?)",
            study_names(db.conn.execute(STUDY_NAME_TEXTS)),
        )


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


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    """Whether the database has this table or view (an older KB may lack a newer one)."""
    return bool(conn.execute("select 1 from sqlite_master where name = ?", [name]).fetchone())


def rows_as_dicts(
    conn: sqlite3.Connection, sql: str, params: list[Any] | dict[str, Any] = ()
) -> list[dict[str, Any]]:
    """A query's rows as dicts keyed by column name."""
    cur = conn.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
