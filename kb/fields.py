"""The curated files' vocabulary and field specifications, as data: what each record may hold, of
which kind, and which values a field accepts. `kb.validate` checks records against them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STATUSES = ("verified", "unverified", "disputed", "deprecated")
MEASURES = (
    "prevalence", "proportion", "count", "sample_size", "odds_ratio", "regression_coefficient",
    "mean", "mean_difference", "r_squared", "dice", "survivorship", "association", "duration",
    "dose", "ratio",
)  # fmt: skip
COMPARTMENTS = (
    "medial tibiofemoral", "lateral tibiofemoral", "medial patellofemoral",
    "lateral patellofemoral", "patellofemoral", "tibiofemoral", "whole knee",
)  # fmt: skip
# What a claim is about: a short list, so the topic facet fits on a screen (docs/data-format.md).
TOPICS = (
    "prevalence", "pain", "progression", "treatment", "imaging", "biomarkers", "alignment",
    "mechanism", "study-sample",
)  # fmt: skip
CERTAINTIES = ("high", "moderate", "low", "very low")  # strongest first
# The certainty rule, in one place: the study design sets where certainty starts. A curator may
# rate a claim lower (a review of level IV studies, a 2nd-hand figure, a small sample: say why in
# notes), never higher. "other" has no starting point.
DESIGN_CERTAINTY = {
    "randomised controlled trial": "high",
    "systematic review": "high",  # of trials; lower it for reviews of observational or level IV studies
    "cohort": "moderate",
    "case-control": "low",
    "cross-sectional": "low",
    "secondary analysis": "low",
    "case series": "low",
    "narrative review": "very low",
    "methods validation": "very low",
    "laboratory": "very low",
    "other": None,
}
STUDY_DESIGNS = tuple(DESIGN_CERTAINTY)
QUALIFIERS = ("up to", "about", "at least", "more than", "less than")
INTERVALS = ("range", "95% CI")
ORIGINS = ("manual", "crossref", "openalex", "doi.org")
STATEMENT_VERDICTS = ("supported", "unverified", "contradicted", "misattributed", "unsupported")
REFERENCE_VERDICTS = ("ok", "mismatch", "unresolved", "unused", "retracted", "missing")
EXCERPT_MAX_WORDS = 25
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
PARTIAL_DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
PUBLIC_URL_RE = re.compile(r"^https?://[^\s/]+\.[^\s/]+(/\S*)?$")


@dataclass(frozen=True)
class Field:
    kind: str  # str, int, number, bool, date, partial_date, list, doi, id
    required: bool = False
    choices: tuple[str, ...] | None = None


SOURCE_FIELDS: dict[str, Field] = {
    "doi": Field("doi", required=True),
    "title": Field("str"),
    "journal": Field("str"),
    "year": Field("int"),
    "published_online": Field("partial_date"),
    "published_print": Field("partial_date"),
    "volume": Field("str"),
    "issue": Field("str"),
    "pages": Field("str"),
    "article_number": Field("str"),
    "authors": Field("list"),
    "authors_complete": Field("bool"),
    "pmid": Field("str"),
    "pmcid": Field("str"),
    "url": Field("str"),
    "publisher": Field("str"),
    "open_access": Field("bool"),
    "license": Field("str"),
    "study_design": Field("str", choices=STUDY_DESIGNS),
    "metadata_origin": Field("str", required=True, choices=ORIGINS),
    "metadata_page": Field("str"),
    "notes": Field("str"),
}

CLAIM_FIELDS: dict[str, Field] = {
    "id": Field("id", required=True),
    "statement": Field("str", required=True),
    "topic": Field("str", required=True, choices=TOPICS),
    "measure": Field("str", required=True, choices=MEASURES),
    "value": Field("number"),
    "value_low": Field("number"),
    "value_high": Field("number"),
    "interval": Field("str", choices=INTERVALS),
    "unit": Field("str"),
    "qualifier": Field("str", choices=QUALIFIERS),
    "p_value": Field("number"),
    "n": Field("int"),
    "population": Field("str"),
    "timepoint_months": Field("number"),
    "compartments": Field("list", choices=COMPARTMENTS),
    "study_design": Field("str", choices=STUDY_DESIGNS),
    "certainty": Field("str", choices=CERTAINTIES),
    "status": Field("str", required=True, choices=STATUSES),
    "deprecated_reason": Field("str"),
    "superseded_by": Field("id"),
    "source_doi": Field("doi"),
    "question": Field("id"),
    "locator": Field("str"),
    "excerpt": Field("str"),
    "verified_against": Field("str"),
    "curated_on": Field("date", required=True),
    "curated_by": Field("str", required=True),
    "notes": Field("str"),
}

ARTICLE_FIELDS: dict[str, Field] = {
    "id": Field("id", required=True),
    "title": Field("str", required=True),
    "url": Field("str"),
    "publisher": Field("str"),
    "last_reviewed": Field("str"),
    "references": Field("records"),
    "statements": Field("records"),
}

REFERENCE_FIELDS: dict[str, Field] = {
    "label": Field("str"),
    "doi": Field("doi", required=True),
    "printed_year": Field("int"),
    "printed_title": Field("str"),
    "verdict": Field("str", required=True, choices=REFERENCE_VERDICTS),
    "note": Field("str"),
}

STATEMENT_FIELDS: dict[str, Field] = {
    "id": Field("id", required=True),
    "section": Field("str"),
    "paraphrase": Field("str", required=True),
    "figures": Field("list"),
    "claim_id": Field("id"),
    "verdict": Field("str", required=True, choices=STATEMENT_VERDICTS),
    "reason": Field("str", required=True),
}

FAQ_FIELDS: dict[str, Field] = {
    "id": Field("id", required=True),
    "article_id": Field("id", required=True),
    "position": Field("int", required=True),
    "question": Field("str", required=True),
    "answer": Field("str", required=True),
    "claims": Field("list"),
}

# A question groups the claims that answer it, so a reader sees every study's answer side by side.
QUESTION_FIELDS: dict[str, Field] = {
    "id": Field("id", required=True),
    "question": Field("str", required=True),
    "topic": Field("str", required=True, choices=TOPICS),
    "disagreement": Field("str"),
}
