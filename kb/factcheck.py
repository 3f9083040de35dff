"""Fact-check a draft against the KB: a verdict per checkable sentence and per reference.

Matching is two-stage: an FTS5 prefilter over `claims_fts` (the sentence's rarest content words, OR-ed and
quoted) and a rapidfuzz rerank with `token_set_ratio` over stemmed content words (order-free and robust to
a sentence that says more than the claim; `WRatio` is avoided because it scores unrelated text highly).
Figure agreement then decides between supported, contradicted and the rest.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils
from rapidfuzz import fuzz, utils

from .figures import PEOPLE, Figure, extract_figures, is_checkable
from .references import (
    SERIOUS_UPDATES,
    Reference,
    RefResult,
    author_mentions,
    check_references,
    citation_markers,
    parse_references,
    source_by_author,
)
from .schema import CLAIM_TERMS, CLAIM_VOCAB
from .sentences import Span, split_clauses, split_sentences

STATEMENT_VERDICTS = ("supported", "unverified", "contradicted", "misattributed", "unsupported")
REFERENCE_VERDICTS = ("ok", "mismatch", "unresolved", "unused", "retracted", "missing")
MAX_CANDIDATES = 40  # claims the FTS prefilter hands to the reranker, per sentence
MAX_QUERY_WORDS = 10  # rarest content words OR-ed into the FTS query
MAX_DOC_SHARE = 0.01  # words in more claims than this share stay out of the FTS query (at least 50)
T_TEXT = 62  # similarity for a text-only match (a sentence without comparable figures)
T_FIGURE = 50  # similarity for a match whose figures agree
T_CONTRA = 55  # similarity for "the same thing" when figures disagree
T_FIGURE_STRONG = 30  # similarity enough when the claim's own value agrees (same number, same unit)
WRONG_ANALYSIS_MARGIN = (
    10  # a conflicting claim this much closer in wording outranks an agreeing one
)
MIN_SIM = 25
CITED_BONUS = (
    20  # similarity a claim gains when the sentence cites its source ([2], "Perry et al.")
)
MAX_CITED_CLAIMS = 200  # claims of the cited sources added to the FTS candidates
MIN_SHARED_TEXT = 4  # content words a text-only match must share with the claim...
MIN_COVERAGE = 0.5  # ...or, in a short sentence, at least 3 and this share of its content words

STOPWORDS = set(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers him his how i if in into is it its itself just me more most my no nor
    not now of off on once only or other our ours out over own same she should so some such than that
    the their theirs them then there these they this those through to too under until up very was we
    were what when where which while who whom why will with would you your yours may might must shall
    found find show showed shown reported suggest suggests study studies research data
    people patients per cent percent one two three four five six seven eight nine ten times
    according article paper et al colleagues coworkers co-workers authors investigators
    day days week weeks month months year years""".split()
)  # fmt: skip
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*")
_TOKEN_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*")  # as FTS5 splits words: CTX-I -> ctx, i

CLAIM_COLUMNS = (
    "claims.rowid as rowid, claims.id, claims.statement, claims.figure, claims.measure, claims.value, "
    "claims.value_low, claims.value_high, claims.interval, claims.unit, claims.qualifier, "
    "claims.p_value, claims.n, claims.timepoint_months, claims.status, claims.flag, "
    "claims.source_doi, claims.source_update_status, claims.notes, claims.deprecated_reason, "
    "claims.compartments"
)
# Compartments as writers name them, lay words included: the side and the joint of the knee.
_COMPARTMENT_WORDS = {
    "medial": re.compile(r"\b(?:medial|inner)\b", re.IGNORECASE),
    "lateral": re.compile(r"\b(?:lateral|outer)\b", re.IGNORECASE),
    "patellofemoral": re.compile(r"\b(?:patell?o-?femoral|kneecaps?|patellar?)\b", re.IGNORECASE),
    "tibiofemoral": re.compile(r"\b(?:tibio-?femoral|femoro-?tibial)\b", re.IGNORECASE),
}


# ---------------------------------------------------------------- records


@dataclass
class Statement:
    text: str
    start: int
    end: int
    figures: list[Figure]
    verdict: str
    claim_id: str | None = None
    source_doi: str | None = None
    explanation: str = ""
    claim: dict[str, Any] | None = None  # the matched claim, for reports and the web page
    score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start": self.start, "end": self.end,
                "figures": [f.to_dict() for f in self.figures], "verdict": self.verdict,
                "claim_id": self.claim_id, "source_doi": self.source_doi,
                "explanation": self.explanation}  # fmt: skip


@dataclass
class Report:
    text: str
    statements: list[Statement] = field(default_factory=list)
    references: list[RefResult] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(s.verdict for s in self.statements)
        counts.update(r.verdict for r in self.references)
        return dict(counts)

    @property
    def flagged(self) -> bool:
        return any(s.verdict != "supported" for s in self.statements) or any(
            r.verdict != "ok" for r in self.references
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "statements": [s.to_dict() for s in self.statements],
            "references": [r.to_dict() for r in self.references],
            "summary": self.summary,
        }


@dataclass
class Candidate:
    claim: dict[str, Any]
    sim: float
    agree: list[str] = field(default_factory=list)
    conflict: list[str] = field(default_factory=list)
    agreeing_figures: list[Figure] = field(default_factory=list)
    weight: float = 0.0
    shared: int = 0  # content words the sentence and the claim share
    coverage: float = 0.0  # the share of the sentence's content words the claim has
    wording: float = 0.0  # `sim` before the bonus for a cited source: the wording alone
    elsewhere: bool = False  # the claim concerns another compartment than the sentence names

    @property
    def same_time(self) -> bool:
        """The sentence's time point is the claim's: the same analysis."""
        return any(a.endswith("matches the time point") for a in self.agree)

    @property
    def verified(self) -> bool:
        return self.claim["status"] == "verified" and not self.retracted

    @property
    def retracted(self) -> bool:
        return (self.claim.get("source_update_status") or "") in SERIOUS_UPDATES


# ---------------------------------------------------------------- text similarity


def tokens(text: str) -> list[str]:
    """Content words, lower-cased and cut to five letters: a crude stem (severe ~ severity,
    BMLs ~ BML, growing ~ grow, formed ~ form) that keeps FTS5's porter stems as prefixes."""
    out = []
    for w in _TOKEN_RE.findall(text):
        lw = w.lower()
        if len(w) > 2 and w[-1] == "s" and w[:-1].isupper():  # an acronym's plural
            lw = lw[:-1]
        if lw in STOPWORDS or (len(lw) < 3 and not w.isupper()):
            continue
        for suffix in ("ing", "ed"):  # only where a stem of four letters is left: not during, used
            if lw.endswith(suffix) and len(lw) - len(suffix) >= 4:
                lw = lw[: -len(suffix)]
                break
        if len(lw) > 4 and lw.endswith("s") and not lw.endswith("ss"):
            lw = lw[:-1]
        out.append(lw[:5])
    return out


def similarity(
    sentence: str,
    claim_statement: str,
    common: frozenset[str] = frozenset(),
    weights: Mapping[str, float] | None = None,
) -> float:
    """0–100: how far two texts speak of the same thing.

    rapidfuzz `token_set_ratio` over stemmed content words, leaving out words most claims share
    (`common`): order-free, and a long sentence that says more than the claim is not penalised. Fewer
    than two shared words caps the score at 40 and two at 55, because token_set_ratio alone rates a
    short claim whose few words all occur in the sentence at 100. Shared words add a little, a rarer
    word more (`weights`, from ClaimIndex): the claim that shares "CTX-I" beats a shorter sibling, and
    of two claims about lateral patellofemoral pain the one that also says "stairs" wins.
    """
    a = [t for t in tokens(sentence) if t not in common]
    b = [t for t in tokens(claim_statement) if t not in common]
    both = set(a) & set(b)
    shared = len(both)
    score = fuzz.token_set_ratio(" ".join(a), " ".join(b), processor=utils.default_process)
    if shared < 2:
        return min(40.0, score)
    if shared == 2:
        return min(55.0, score)
    weights = weights or {}
    return min(100.0, score + min(15, sum(weights.get(t, 1.0) for t in both)))


# ---------------------------------------------------------------- figure agreement


def _unit_family(unit: str | None) -> str:
    u = (unit or "").strip().lower()
    last = u.split()[-1] if u else ""
    if last in PEOPLE or last in {"person", "patient", "participant", "woman"}:
        return "people"
    if last.endswith("s") and last not in ("mm³",):
        return last
    return last


def _compatible(fig: Figure, claim: dict[str, Any]) -> bool:
    """Can this figure be compared with the claim's own value?"""
    measure, unit = claim.get("measure") or "", (claim.get("unit") or "").lower()
    if fig.kind == "percent":
        return unit == "%"
    if fig.kind == "multiplier":
        return measure in ("ratio", "odds_ratio", "hazard_ratio", "relative_risk") or unit in (
            "ratio",
            "×",
        )
    if fig.kind == "measure":
        if fig.unit in ("mm³", "mm²", "mm", "cm", "cm³"):
            return unit == fig.unit
        return fig.unit == measure
    if fig.kind == "count":
        return bool(unit) and _unit_family(unit) == _unit_family(fig.unit)
    if fig.kind == "duration":
        return measure == "duration" or (unit in ("years", "months") and measure != "mean")
    if fig.kind == "age":
        return measure == "mean" and unit == "years"
    if fig.kind == "dose":
        return unit.split("/")[0] == fig.unit.lower().split("/")[0]
    return False


def _tolerance(fig: Figure, target: float) -> float:
    tol = 0.5 * 10 ** (-fig.decimals)
    if fig.spelled and fig.kind == "percent":
        tol = max(tol, 2.0)
    if fig.qualifier == "about":
        tol = max(tol, 0.1 * abs(target))
    return tol + 1e-9


def _claim_number(claim: dict[str, Any], key: str, fig: Figure) -> float | None:
    value = claim.get(key)
    if value is None:
        return None
    if fig.kind == "duration" and (claim.get("unit") or "").lower() == "years":
        return value * 12
    return value


def value_agrees(fig: Figure, claim: dict[str, Any]) -> bool:
    """Does a printed figure agree with the claim's value or range, given the figure's hedge?"""
    value = _claim_number(claim, "value", fig)
    low = _claim_number(claim, "value_low", fig)
    high = _claim_number(claim, "value_high", fig)
    is_range = low is not None and high is not None and value is None
    if fig.low is not None and fig.high is not None:
        tol = 0.5 * 10 ** (-fig.decimals) + 1e-9
        if low is not None and high is not None:
            return abs(fig.low - low) <= tol and abs(fig.high - high) <= tol
        return value is not None and fig.low - tol <= value <= fig.high + tol
    v = fig.value
    if v is None:
        return False
    if fig.kind == "measure" and fig.unit == "p_value":
        target = claim.get("p_value") if claim.get("measure") != "p_value" else value
        if target is None:
            return False
        if fig.qualifier == "less than":
            return target < v + 1e-12
        return abs(target - v) <= _tolerance(fig, target)
    ceiling = high if is_range else value
    floor = low if is_range else value
    if ceiling is None:
        return False
    tol = _tolerance(fig, ceiling)
    if fig.qualifier == "up to":
        return abs(ceiling - v) <= tol
    if fig.qualifier in ("more than", "at least"):
        return floor >= v - tol
    if fig.qualifier == "less than":
        return ceiling <= v + tol
    if is_range:
        return low - tol <= v <= high + tol
    return abs(value - v) <= tol


def _fmt(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def compare_figures(
    figures: list[Figure], claim: dict[str, Any]
) -> tuple[list[str], list[str], list[Figure], float]:
    """(agreements, conflicts, agreeing figures, weight of the agreements) for one claim.

    A figure agreeing on the claim's own value weighs more than a matching n or time point."""
    weight = 0.0
    agree: list[str] = []
    conflict: list[str] = []
    used: list[Figure] = []
    touched: list[Figure] = []
    claim_fig = claim.get("figure") or ""
    has_value = any(claim.get(k) is not None for k in ("value", "value_low", "value_high"))
    if has_value:
        comparable = [f for f in figures if _compatible(f, claim)]
        touched += comparable
        hits = [f for f in comparable if value_agrees(f, claim)]
        if hits:
            agree.append(f"{hits[0].text} matches {claim_fig}")
            used += hits
            weight += 6.0 if hits[0].kind == "duration" else 15.0
        elif comparable:
            conflict.append(f"the sentence says {comparable[0].text}; the source gives {claim_fig}")
    if claim.get("p_value") is not None and claim.get("measure") != "p_value":
        ps = [f for f in figures if f.kind == "measure" and f.unit == "p_value"]
        touched += ps
        if ps and any(value_agrees(f, claim) for f in ps):
            agree.append(f"{ps[0].text} matches")
            weight += 10.0
        elif ps:
            conflict.append(
                f"the sentence says {ps[0].text}; the source gives p = {claim['p_value']:g}"
            )
    n = claim.get("n")
    if n is not None and claim.get("measure") != "sample_size":
        counts = [
            f for f in figures
            if f.kind == "count" and f not in used and f.value is not None
            and (_unit_family(f.unit) == "people" or f.unit in ("knees", "hips", "joints"))
        ]  # fmt: skip
        touched += counts
        if counts:
            if any(abs(f.value - n) <= _tolerance(f, n) for f in counts):
                agree.append(f"n = {_fmt(n)} matches")
                weight += 8.0
            elif not (has_value and any(f.kind == "count" for f in used)):
                conflict.append(
                    f"the sentence says {counts[0].text}; the analysis had n = {_fmt(n)}"
                )
    tp = claim.get("timepoint_months")
    if tp is not None:
        durations = [f for f in figures if f.kind == "duration" and f.value is not None]
        touched += durations
        if durations:
            if any(abs(f.value - tp) <= max(0.5, 0.05 * tp) for f in durations):
                agree.append(f"{durations[0].text} matches the time point")
                weight += 6.0
            elif tp == 0:
                conflict.append(
                    f"the sentence ties it to {durations[0].text}, but the figure comes from a "
                    "cross-sectional analysis (one time point)"
                )
            else:
                conflict.append(
                    f"the sentence says {durations[0].text}; the figure is at {_fmt(tp)} months"
                )
    missed = [f for f in figures if is_checkable(f) and f.kind != "duration" and f not in touched]
    weight -= 10.0 * len(
        missed
    )  # a claim that leaves the sentence's main figure unchecked is a poor match
    return agree, conflict, used, weight


# ---------------------------------------------------------------- candidates


def fts_query(
    db: sqlite_utils.Database, text: str, df: dict[str, int] | None = None, total: int = 0
) -> str:
    """OR of the sentence's content words, each quoted; with document counts, only the rarest known ones
    (a word found in more than MAX_DOC_SHARE of the claims would make the query slow and says little)."""
    words = list(dict.fromkeys(w.lower() for w in _WORD_RE.findall(text)))
    words = [w for w in words if w not in STOPWORDS and len(w) >= 3]
    if df is not None:
        limit = max(50, int(MAX_DOC_SHARE * total))
        words = [w for w in words if 0 < df.get(w[:5], 0) <= limit]
        words.sort(key=lambda w: df.get(w[:5], 0))
    return " OR ".join(db.quote_fts(w) for w in words[:MAX_QUERY_WORDS])


class ClaimIndex:
    """The claims side of a check: FTS prefilter and rerank. Build once per database, reuse per text."""

    COMMON_SHARE = 0.2  # a word in more than this share of claims says little about which claim
    RARE_BONUS = 6.0  # similarity points a shared word found in one claim only adds

    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        self.total = db.execute("select count(*) from claims").fetchone()[0]
        # claim counts per five-letter stem (porter stems keep the prefix), counted by the build
        if db["claim_terms"].exists():
            rows = db.execute("select term, doc from claim_terms")
        else:  # a database built before claim_terms existed: count from the index itself
            db.execute(CLAIM_VOCAB)
            rows = db.execute(CLAIM_TERMS)
        self.df: dict[str, int] = {}
        for term, doc in rows:
            key = term[:5]
            if doc > self.df.get(key, 0):
                self.df[key] = doc
        cutoff = max(5, self.COMMON_SHARE * self.total)
        self.common = frozenset(k for k, d in self.df.items() if d > cutoff)
        # a shared word's bonus, inverse to how many claims use it: 6 for a word one claim has
        self.weights = {k: self.RARE_BONUS / d for k, d in self.df.items() if d < self.RARE_BONUS}

    def candidates(self, text: str) -> list[dict[str, Any]]:
        query = fts_query(self.db, text, self.df, self.total)
        if not query:
            return []
        sql = (
            f"select {CLAIM_COLUMNS} from claims_fts join claims on claims.rowid = claims_fts.rowid "
            "where claims_fts match :q order by bm25(claims_fts) limit :k"
        )
        return [dict(r) for r in self.db.query(sql, {"q": query, "k": MAX_CANDIDATES})]

    def cited_claims(self, dois: set[str], have: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The claims of the cited sources not already among `have`: the writer named the source."""
        if not dois:
            return []
        seen = {r["id"] for r in have}
        marks = ", ".join("?" * len(dois))
        sql = f"select {CLAIM_COLUMNS} from claims where source_doi in ({marks}) limit {MAX_CITED_CLAIMS}"
        return [dict(r) for r in self.db.query(sql, sorted(dois)) if r["id"] not in seen]


def compartments_named(text: str) -> set[str]:
    """The knee compartments a sentence names: medial, lateral, patellofemoral, tibiofemoral."""
    return {name for name, rx in _COMPARTMENT_WORDS.items() if rx.search(text)}


def other_compartment(named: set[str], claim_compartments: Any) -> bool:
    """Does the claim concern another side or joint than the one (and only one) the sentence names?"""
    if isinstance(claim_compartments, str):
        claim_compartments = json.loads(claim_compartments or "[]")
    words = {w for c in claim_compartments or [] for w in c.split()}
    if not words or "whole" in words:
        return False
    for pair in (("medial", "lateral"), ("patellofemoral", "tibiofemoral")):
        said = named & set(pair)
        theirs = words & set(pair)
        if len(said) == 1 and theirs and not said & theirs:
            return True
    return False


def rank(
    text: str,
    figures: list[Figure],
    rows: list[dict[str, Any]],
    common: frozenset[str] = frozenset(),
    weights: Mapping[str, float] | None = None,
    cited: set[str] | None = None,
) -> list[Candidate]:
    out = []
    words = set(tokens(text)) - common
    named = compartments_named(text)
    for row in rows:
        wording = sim = similarity(text, row["statement"], common, weights)
        if cited and row.get("source_doi") in cited:
            sim = min(100.0, sim + CITED_BONUS)
        if sim < MIN_SIM:
            continue
        agree, conflict, used, weight = compare_figures(figures, row)
        shared = len(words & set(tokens(row["statement"])))
        coverage = shared / len(words) if words else 0.0
        elsewhere = bool(named) and other_compartment(named, row.get("compartments"))
        out.append(
            Candidate(row, sim, agree, conflict, used, weight, shared, coverage, wording, elsewhere)
        )
    return sorted(out, key=lambda c: -c.sim)


# ---------------------------------------------------------------- verdicts


def _short(text: str | None, words: int = 18) -> str:
    bits = (text or "").split()
    return " ".join(bits[:words]) + ("…" if len(bits) > words else "")


def _first_sentence(text: str | None) -> str:
    if not text:
        return ""
    return re.split(r"(?<=[.;])\s", text.strip(), maxsplit=1)[0]


def decide(
    text: str, figures: list[Figure], cands: list[Candidate], cited: set[str] | None
) -> tuple[str, Candidate | None, str]:
    """The verdict for one statement, the claim it rests on, and a one-line explanation."""
    checkable = [f for f in figures if is_checkable(f)]
    # a claim about another compartment is another analysis: it can only explain a contradiction
    same_place = [c for c in cands if not c.elsewhere]
    agreeing = [
        c for c in same_place
        if c.agree and not c.conflict
        and (c.sim >= T_FIGURE or (c.weight >= 15 and c.sim >= T_FIGURE_STRONG))
    ]  # fmt: skip
    if agreeing:
        best = max(agreeing, key=lambda c: (c.sim + c.weight, c.verified))
        # the figure is right for another analysis: the sentence's wording is clearly about a claim
        # that gives a different figure ("0.08" for the lateral compartment is the medial B)
        closer = [
            c for c in same_place
            if c.verified and c.conflict and c.sim >= T_CONTRA
            and c.wording >= best.wording + WRONG_ANALYSIS_MARGIN
        ]  # fmt: skip
        if closer:
            rival = max(closer, key=lambda c: c.sim + c.weight)
            return "contradicted", rival, _contradiction(rival, cands, None)
        if best.claim["status"] == "disputed":
            rivals = [c for c in cands if c.verified and c.conflict and c.sim >= T_FIGURE]
            if rivals:
                rival = max(rivals, key=lambda c: c.sim + c.weight + 10 * c.same_time)
                return "contradicted", rival, _contradiction(rival, cands, best)
            return (
                "unverified",
                best,
                f"{best.claim['id']} is disputed: {_first_sentence(best.claim.get('notes'))}",
            )
        return _by_status(best, cited, "; ".join(best.agree))
    # figures that agree (a time point, an n) are evidence of the same analysis, too
    conflicting = [
        c for c in same_place
        if c.conflict and c.sim + max(0.0, c.weight) >= T_CONTRA and c.claim["status"] != "deprecated"
    ]  # fmt: skip
    if conflicting:
        best = max(conflicting, key=lambda c: (c.verified, c.sim + c.weight + 10 * c.same_time))
        if best.verified or best.claim["status"] == "disputed":
            return "contradicted", best, _contradiction(best, cands, None)
        return (
            "unverified",
            best,
            (
                f"the nearest claim, {best.claim['id']}, is itself unverified and gives {best.claim.get('figure')}"
            ),
        )
    textual = [
        c for c in same_place
        if c.sim >= T_TEXT and c.claim["status"] != "deprecated"
        and (c.shared >= MIN_SHARED_TEXT or (c.shared >= 3 and c.coverage >= MIN_COVERAGE))
    ]  # fmt: skip
    if textual:
        best = max(textual, key=lambda c: (c.sim, c.verified))
        compared = bool(best.agree or best.conflict)
        if checkable and not compared and best.verified:
            figs = ", ".join(f.text for f in checkable)
            return (
                "unsupported",
                best,
                (
                    f"related verified claim {best.claim['id']}, but the KB does not hold the figure {figs}"
                ),
            )
        return _by_status(best, cited, "the wording matches")
    if checkable:
        figs = ", ".join(f.text for f in checkable)
        return "unsupported", None, f"no claim in the KB speaks to this ({figs})"
    return "unsupported", None, "no claim in the KB speaks to this"


def _by_status(best: Candidate, cited: set[str] | None, why: str) -> tuple[str, Candidate, str]:
    claim = best.claim
    fig = f" ({claim['figure']})" if claim.get("figure") else ""
    if best.retracted:
        return (
            "unverified",
            best,
            (
                f"matches {claim['id']}{fig}, but its source has a {claim['source_update_status']} notice"
            ),
        )
    src = claim.get("source_doi")
    if cited and src and src not in cited:
        return (
            "misattributed",
            best,
            (f"matches {claim['id']}{fig}, which comes from {src}, not from the work cited here"),
        )
    if claim["status"] == "verified":
        return "supported", best, f"agrees with verified claim {claim['id']}{fig}: {why}"
    if claim["status"] == "deprecated":
        return "unverified", best, f"{claim['id']} was withdrawn: {claim.get('deprecated_reason')}"
    note = _first_sentence(claim.get("notes"))
    return (
        "unverified",
        best,
        f"{claim['id']}{fig} is {claim['status']} in the KB" + (f": {note}" if note else ""),
    )


def _contradiction(best: Candidate, cands: list[Candidate], disputed: Candidate | None) -> str:
    claim = best.claim
    why = "; ".join(best.conflict)
    # a figure that belongs to another analysis of the same source
    for other in cands:
        if other is best or other.claim.get("source_doi") != claim.get("source_doi"):
            continue
        if other.verified and other.agreeing_figures and other.claim.get("figure"):
            f = other.agreeing_figures[0]
            return (
                f"{why}. {f.text} belongs to another analysis ({other.claim['id']}: "
                f"{_short(other.claim['statement'], 14)}); {claim['id']} gives {claim.get('figure')}"
            )
    return f"{why} ({claim['id']})"


# ---------------------------------------------------------------- the check


def _cited_dois(
    db: sqlite_utils.Database, text: str, by_number: dict[int, str | None]
) -> tuple[set[str] | None, set[int], list]:
    """DOIs a sentence cites by marker or by author; None when it cites something unresolvable."""
    numbers = set(citation_markers(text))
    mentions = author_mentions(text)
    dois: set[str] = set()
    unknown = False
    for n in numbers:
        if by_number.get(n):
            dois.add(by_number[n])
        else:
            unknown = True
    for m in mentions:
        src = source_by_author(db, m.surname, m.year)
        if src:
            dois.add(src["doi"])
        else:
            unknown = True
    if unknown:
        return None, numbers, mentions
    return (dois or None), numbers, mentions


class CheckTookTooLong(TimeoutError):
    """The check passed its deadline; raised between sentences, so nothing is left half-done."""


def check_text(
    db: sqlite_utils.Database,
    text: str,
    index: ClaimIndex | None = None,
    deadline: float | None = None,
) -> Report:
    """Check a draft (plain text or Markdown) against the KB in db.

    `deadline` is a `time.monotonic()` value: past it, CheckTookTooLong is raised.
    """
    index = index or ClaimIndex(db)
    report = Report(text)
    refs: list[Reference] = parse_references(text)
    ref_spans = [(r.start, r.end) for r in refs]
    by_number = {r.number: r.doi for r in refs if r.number is not None}
    used: set[str] = set()
    cited_numbers: set[int] = set()
    all_mentions = []
    sentences = split_sentences(text)
    for done, sentence in enumerate(sentences):
        if deadline is not None and time.monotonic() > deadline:
            raise CheckTookTooLong(
                f"checked {done} of {len(sentences)} sentences in the time allowed"
            )
        if sentence.heading or any(a <= sentence.start < b for a, b in ref_spans):
            continue
        for span in split_clauses(text, sentence):
            stmt, numbers, mentions = _check_span(db, index, text, span, by_number)
            cited_numbers |= numbers
            all_mentions += mentions
            if stmt is None:
                continue
            report.statements.append(stmt)
            if stmt.source_doi and stmt.verdict != "unsupported":
                used.add(stmt.source_doi)
    report.references = check_references(
        db, refs, used, cited_numbers, all_mentions, has_markers=bool(cited_numbers)
    )
    return report


def _check_span(
    db: sqlite_utils.Database,
    index: ClaimIndex,
    text: str,
    span: Span,
    by_number: dict[int, str | None],
) -> tuple[Statement | None, set[int], list]:
    figures = extract_figures(span.text)
    for f in figures:
        f.start += span.start
        f.end += span.start
    cited, numbers, mentions = _cited_dois(db, span.text, by_number)
    rows = index.candidates(span.text)
    rows += index.cited_claims(cited or set(), rows)
    cands = rank(span.text, figures, rows, index.common, index.weights, cited)
    verdict, best, why = decide(span.text, figures, cands, cited)
    is_statement = best is not None or any(is_checkable(f) for f in figures) or numbers or mentions
    if not is_statement:
        return None, numbers, mentions
    claim = best.claim if best else None
    stmt = Statement(
        span.text, span.start, span.end, figures, verdict,
        claim["id"] if claim else None, claim.get("source_doi") if claim else None, why, claim,
        best.sim if best else 0.0,
    )  # fmt: skip
    return stmt, numbers, mentions


# ---------------------------------------------------------------- reports

COLOURS = {
    "supported": "green", "unverified": "yellow", "contradicted": "red", "misattributed": "magenta",
    "unsupported": "cyan", "ok": "green", "mismatch": "red", "unresolved": "yellow",
    "unused": "cyan", "retracted": "red", "missing": "magenta",
}  # fmt: skip


def render_text(report: Report, colour: bool = False) -> str:
    """A terminal report: one block per statement, then the references, then the summary."""
    import click

    def tag(verdict: str) -> str:
        label = f"[{verdict.upper()}]"
        return click.style(label, fg=COLOURS.get(verdict), bold=True) if colour else label

    lines = []
    for s in report.statements:
        lines.append(f"{tag(s.verdict)} {s.text}")
        lines.append(f"    {s.explanation}")
        if s.claim and s.claim.get("source_doi"):
            lines.append(f"    source: https://doi.org/{s.claim['source_doi']}")
    lines.append("")
    lines.append("References:")
    for r in report.references:
        lines.append(f"{tag(r.verdict)} {r.label or '(not listed)'} {r.doi or ''}".rstrip())
        for p in r.problems:
            lines.append(f"    {p['field']}: article {p['article']!r}, source {p['source']!r}")
        if r.note and not r.problems:
            lines.append(f"    {r.note}")
    lines.append("")
    lines.append("Summary: " + ", ".join(f"{k} {v}" for k, v in sorted(report.summary.items())))
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    """A report to paste into a review."""
    out = ["## Fact-check", "", "| Verdict | Statement | Claim | Why |", "|---|---|---|---|"]
    for s in report.statements:
        out.append(
            f"| **{s.verdict}** | {_md(s.text)} | {s.claim_id or ''} | {_md(s.explanation)} |"
        )
    out += ["", "## References", "", "| Label | DOI | Verdict | Problems |", "|---|---|---|---|"]
    for r in report.references:
        probs = "; ".join(f"{p['field']}: {p['article']} vs {p['source']}" for p in r.problems)
        out.append(
            f"| {r.label or '(missing)'} | {r.doi or ''} | **{r.verdict}** | {_md(probs or r.note)} |"
        )
    out += ["", "Summary: " + ", ".join(f"{k} {v}" for k, v in sorted(report.summary.items()))]
    return "\n".join(out) + "\n"
