"""How a sentence phrases a figure, against what the claim it agrees with measures.

A figure can agree in number and still say something the source does not: "up to 66%" makes one
cohort's point estimate a ceiling (while other studies of the same question report more), and "two
to five times more likely" reads odds ratios as a multiple of risk. Such a sentence is at most
`unverified`, and the explanation says what the source gives instead.
"""

from __future__ import annotations

import re
from typing import Any

import sqlite_utils

from .agreement import Comparison, compatible, fmt_number
from .figures import Figure
from .lexicon import Lexicon

BOUNDS = ("up to", "at least")  # a figure printed as a ceiling or a floor, not an estimate
# a multiple of risk (`ratio`: as curated, "times as likely")
RISK_MEASURES = ("ratio", "relative_risk", "hazard_ratio")
MEASURE_NAMES = {"odds_ratio": "odds ratios", "regression_coefficient": "regression coefficients"}
RISK_WINDOW = 40  # characters after a multiplier in which its risk wording is read
MAX_ANSWERS = 6  # other answers to a question named in one explanation


def mismatch(
    text: str,
    comparison: Comparison,
    claim: dict[str, Any],
    lexicon: Lexicon,
    db: sqlite_utils.Database | None = None,
    offset: int = 0,
) -> str | None:
    """Why the figures agreeing with claim's value say something else (None if they do not)."""
    for r in comparison.agreeing("value"):
        why = _bound(r.figure, claim, lexicon, db) or _risk(text, r.figure, claim, lexicon, offset)
        if why:
            return why
    return None


def _bound(
    fig: Figure, claim: dict[str, Any], lexicon: Lexicon, db: sqlite_utils.Database | None
) -> str | None:
    """A bound in the sentence ("up to X", "at least X") against a claim that gives X as a point
    estimate (a claim with the same bound, or a range it closes, agrees)."""
    if fig.qualifier not in BOUNDS or claim.get("qualifier") == fig.qualifier:
        return None
    if claim.get("value") is None:
        return None  # a range: "up to 5.0" closes "2.0 to 5.0"
    given = claim.get("figure") or fmt_number(claim["value"])
    why = (
        f"the sentence gives {fig.text} as a bound, but the study reports {given} as its "
        "estimate for one group, not a limit"
    )
    beyond = _answers_beyond(fig, claim, lexicon, db)
    if beyond:
        why += "; other studies of the same question report " + ", ".join(beyond)
    return why


def _answers_beyond(
    fig: Figure, claim: dict[str, Any], lexicon: Lexicon, db: sqlite_utils.Database | None
) -> list[str]:
    """Other answers to the claim's question past the sentence's bound: "71% (Lo et al. 2005)"."""
    question = claim.get("question")
    if db is None or not question or fig.value is None:
        return []
    rows = db.execute(
        "select claims.figure, claims.value, claims.value_low, claims.value_high, "
        "claims.unit, claims.measure, claims.population, sources.short_citation from claims "
        "left join sources on sources.doi = claims.source_doi "
        "where claims.question = ? and claims.id != ? and claims.deprecated_reason is null "
        f"order by claims.value limit {MAX_ANSWERS * 4}",
        [question, claim["id"]],
    ).fetchall()
    out = []
    for figure, value, low, high, unit, measure, population, cite in rows:
        row = {"value": value, "unit": unit, "measure": measure}
        if not compatible(fig, row, lexicon):
            continue
        top = high if high is not None else value
        bottom = low if low is not None else value
        past = (
            top is not None and top > fig.value
            if fig.qualifier == "up to"
            else bottom is not None and bottom < fig.value
        )
        if past:
            said = figure or fmt_number(top if fig.qualifier == "up to" else bottom)
            who = f" in {population[0].lower()}{population[1:]}" if population else ""
            out.append(f"{said}{who} ({cite or 'its source not yet verified'})")
    return out[:MAX_ANSWERS]


def _risk(
    text: str, fig: Figure, claim: dict[str, Any], lexicon: Lexicon, offset: int
) -> str | None:
    """A multiple of risk ("two to five times more likely", "a nine-fold risk") against a claim
    whose measure is not a ratio of risks (an odds ratio)."""
    if fig.kind != "multiplier" or claim.get("measure") in RISK_MEASURES:
        return None
    after = text[fig.end - offset : fig.end - offset + RISK_WINDOW]
    words = lexicon.risk_words
    if not words or not re.match(rf"[\s-]*(?:\w+\s+){{0,2}}?(?:{words})", after, re.IGNORECASE):
        return None
    measure = MEASURE_NAMES.get(claim.get("measure") or "", "a measure other than risk")
    given = claim.get("figure") or fmt_number(claim.get("value") or 0)
    return (
        f"the study reports {measure} of {given}, not how many times more likely: "
        f"{fig.text} does not follow from them"
    )
