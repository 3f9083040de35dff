"""Which claims might a sentence speak of: an FTS5 prefilter, then a rapidfuzz rerank.

The prefilter ORs the sentence's rarest content words (quoted) against `claims_fts`; the rerank scores
each candidate with `token_set_ratio` over stemmed content words (order-free and robust to a sentence
that says more than the claim; `WRatio` is avoided because it scores unrelated text highly), then
compares the sentence's figures with the claim (`agreement.compare_figures`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import sqlite_utils
from rapidfuzz import fuzz, utils

from .agreement import NO_LEXICON, Comparison, compare_figures
from .direction import directions, opposed, states_finding
from .figures import Figure
from .lexicon import Lexicon, lexicon_from_db
from .names import STUDY_NAME_TEXTS, study_names
from .references import SERIOUS_UPDATES
from .schema import CLAIM_TERMS, CLAIM_VOCAB
from .verdict_policy import POLICY

MAX_CANDIDATES = 40  # claims the FTS prefilter hands to the reranker, per sentence
MAX_QUERY_WORDS = 10  # rarest content words OR-ed into the FTS query
MAX_DOC_SHARE = 0.01  # words in more claims than this share stay out of the FTS query (at least 50)
FIGURE_KINDS = ("count", "percent", "measure", "dose", "multiplier")  # figures that find claims
MAX_CITED_CLAIMS = 200  # claims of the cited sources added to the FTS candidates

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
    "claims.compartments, claims.question, claims.study_design"
)


@dataclass
class Candidate:
    claim: dict[str, Any]
    sim: float
    comparison: Comparison
    shared: int = 0  # content words the sentence and the claim share
    coverage: float = 0.0  # the share of the sentence's content words the claim has
    wording: float = 0.0  # `sim` before the bonus for a cited source: the wording alone
    elsewhere: bool = False  # the claim concerns another compartment than the sentence names
    listed: bool = False  # the draft's reference list holds the claim's source
    opposed: bool = False  # the sentence states the opposite finding (no effect, lower odds, ...)
    words: frozenset[str] = frozenset()  # the content words the sentence and the claim share
    directed: bool = False  # the claim states which way its finding points (an effect, higher...)
    told: float = 0.0  # the share of the claim's own words the sentence has (a tie-break)
    on_topic: bool = True  # the claim is about every outcome the sentence names (pain, cartilage)

    @property
    def weight(self) -> float:
        """How strongly the figures tie the sentence to this claim (for ranking only)."""
        seen: set[str] = set()
        total = 0.0
        for r in self.comparison.agreeing():
            if r.role not in seen:
                seen.add(r.role)
                total += POLICY.weight(r.role, r.figure.kind == "duration")
        return total + POLICY.w_missed * len(self.comparison.missed)

    @property
    def agrees(self) -> bool:
        return bool(self.comparison.agreeing())

    @property
    def conflicts(self) -> bool:
        return bool(self.comparison.conflicts())

    @property
    def same_time(self) -> bool:
        return self.comparison.same_time

    @property
    def verified(self) -> bool:
        return self.claim["status"] == "verified" and not self.retracted

    @property
    def retracted(self) -> bool:
        return (self.claim.get("source_update_status") or "") in SERIOUS_UPDATES


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
        if lw.endswith("eed") and len(lw) > 5:  # agreed ~ agreement, not "agre"
            lw = lw[:-1]
        for suffix in ("ing", "ed"):  # only where a stem of four letters is left: not during, used
            if lw.endswith(suffix) and len(lw) - len(suffix) >= 4:
                lw = lw[: -len(suffix)]
                break
        if len(lw) > 4 and lw.endswith("s") and not lw.endswith("ss"):
            lw = lw[:-1]
        out.append(lw[:5])
    return out


@lru_cache(maxsize=50_000)
def _claim_tokens(lexicon: Lexicon, statement: str) -> tuple[str, ...]:
    """A claim's words, cut once per process: the same claims come up sentence after sentence."""
    return tuple(tokens(lexicon.normalise(statement)))


@lru_cache(maxsize=50_000)
def _claim_outcomes(lexicon: Lexicon, statement: str) -> frozenset[str]:
    return frozenset(lexicon.outcomes_in(statement))


@lru_cache(maxsize=50_000)
def _claim_directions(lexicon: Lexicon, statement: str) -> frozenset[str]:
    return frozenset(directions(statement, lexicon))


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
    return similarity_of_tokens(tokens(sentence), tokens(claim_statement), common, weights)


def similarity_of_tokens(
    sentence: list[str] | tuple[str, ...],
    claim: list[str] | tuple[str, ...],
    common: frozenset[str] = frozenset(),
    weights: Mapping[str, float] | None = None,
) -> float:
    """`similarity` over words already cut by `tokens` (a sentence is cut once, not per claim)."""
    a = [t for t in sentence if t not in common]
    b = [t for t in claim if t not in common]
    both = set(a) & set(b)
    shared = len(both)
    score = fuzz.token_set_ratio(" ".join(a), " ".join(b), processor=utils.default_process)
    if shared < 2:
        return min(40.0, score)
    if shared == 2:
        return min(55.0, score)
    weights = weights or {}
    return min(100.0, score + min(15, sum(weights.get(t, 1.0) for t in both)))


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


# a study named by its cohort or place: "the Framingham researchers", "a Michigan study"
_NAMED_STUDY_RE = re.compile(
    r"\b(?P<name>[A-Z][a-z]{3,})(?:\s+[A-Z][a-z]+){0,2}\s+(?:researchers|team|group|study|"
    r"cohort|investigators|trial|project|data)\b"
)


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
        self.lexicon = lexicon_from_db(db)
        self._sources: dict[str, dict[str, Any] | None] = {}
        # a synonym group reads as one word, as common as its commonest member (a phrase at most
        # as common as its rarest word)
        for group in self.lexicon.groups:
            word = tokens(self.lexicon.normalise(group[0]))
            docs = [min(self.df.get(t, 0) for t in tokens(m)) for m in group if tokens(m)]
            if word and docs:
                self.df[word[0]] = max(self.df.get(word[0], 0), *docs)
        cutoff = max(5, self.COMMON_SHARE * self.total)
        self.common = frozenset(k for k, d in self.df.items() if d > cutoff)
        # a shared word's bonus, inverse to how many claims use it: 6 for a word one claim has
        self.weights = {k: self.RARE_BONUS / d for k, d in self.df.items() if d < self.RARE_BONUS}

    def candidates(self, text: str) -> list[dict[str, Any]]:
        query = fts_query(self.db, text + " " + self.lexicon.related(text), self.df, self.total)
        if not query:
            return []
        sql = (
            f"select {CLAIM_COLUMNS} from claims_fts join claims on claims.rowid = claims_fts.rowid "
            "where claims_fts match :q order by bm25(claims_fts) limit :k"
        )
        return [dict(r) for r in self.db.query(sql, {"q": query, "k": MAX_CANDIDATES})]

    def by_figures(self, figures: list[Figure], have: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Claims whose value or n is a figure of the sentence (a count, a share, a measure): a
        figure is as telling as a rare word. A hedged figure ("over 1,400", "almost 600") finds the
        values its hedge allows, within HEDGE_REACH. Bounded like the FTS prefilter."""
        mine = [f for f in figures if f.kind in FIGURE_KINDS][:MAX_QUERY_WORDS]
        values = sorted({f.value for f in mine if f.value is not None})
        lows = sorted({f.low for f in mine if f.low is not None})
        hedged = [
            f for f in mine
            if f.value is not None and f.qualifier and not (f.spelled and f.kind == "percent")
        ]  # fmt: skip
        ranges = sorted({_reach(f) for f in hedged})
        if not values and not lows and not ranges:
            return []
        seen = {r["id"] for r in have}
        marks, low_marks = ", ".join("?" * len(values)), ", ".join("?" * len(lows))
        parts, params = [], []
        if values:
            parts += [f"select {CLAIM_COLUMNS} from claims where value in ({marks})",
                      f"select {CLAIM_COLUMNS} from claims where n in ({marks})"]  # fmt: skip
            params += values * 2
        if lows:
            parts.append(f"select {CLAIM_COLUMNS} from claims where value_low in ({low_marks})")
            params += lows
        for a, b in ranges:
            parts += [f"select {CLAIM_COLUMNS} from claims where value between ? and ?",
                      f"select {CLAIM_COLUMNS} from claims where n between ? and ?"]  # fmt: skip
            params += [a, b, a, b]
        sql = " union ".join(parts) + f" limit {MAX_CANDIDATES}"
        return [dict(r) for r in self.db.query(sql, params) if r["id"] not in seen]

    @cached_property
    def _study_names(self) -> dict[str, set[str]]:
        """Cohort and place names → the sources whose claims use them (`study_names`, counted by
        the build; from the claims themselves for a database built before that table)."""
        if self.db["study_names"].exists():
            rows = self.db.execute("select name, source_doi from study_names")
        else:
            rows = study_names(self.db.execute(STUDY_NAME_TEXTS))
        names: dict[str, set[str]] = {}
        for name, doi in rows:
            names.setdefault(name, set()).add(doi)
        return names

    def named_studies(self, text: str) -> set[str]:
        """The sources a sentence names by a cohort or place only one of them has ("the Framingham
        researchers", "a Michigan study", "the Hirosaki group")."""
        out: set[str] = set()
        for m in _NAMED_STUDY_RE.finditer(text):
            dois = self._study_names.get(m.group("name"), set())
            if len(dois) == 1:
                out |= dois
        return out

    def source(self, doi: str | None) -> dict[str, Any] | None:
        """A source's row, read once per index (a draft names the same few sources again and again)."""
        if not doi:
            return None
        if doi not in self._sources:
            self._sources[doi] = next(
                self.db.query("select * from sources where doi = ?", [doi]), None
            )
        return self._sources[doi]

    def naming_words(self, dois: set[str]) -> frozenset[str]:
        """The words that name these sources in a sentence: authors' surnames, journal, year."""
        rows = [row for row in map(self.source, sorted(dois)) if row]
        text = " ".join(
            str(row.get(k) or "") for row in rows for k in ("authors", "journal", "year")
        )
        return frozenset(tokens(re.sub(r"[\[\]\"]", " ", text)))

    def cited_claims(self, dois: set[str], have: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The claims of the cited sources not already among `have`: the writer named the source."""
        if not dois:
            return []
        seen = {r["id"] for r in have}
        marks = ", ".join("?" * len(dois))
        sql = f"select {CLAIM_COLUMNS} from claims where source_doi in ({marks}) limit {MAX_CITED_CLAIMS}"
        return [dict(r) for r in self.db.query(sql, sorted(dois)) if r["id"] not in seen]


HEDGE_REACH = 0.25  # "over 1,400" looks for claims up to a quarter above it, "almost 600" below


def _reach(f: Figure) -> tuple[float, float]:
    """The values a hedged figure's lookup covers: "about 50" 45–55, "over 1,400" 1,400–1,750."""
    v = abs(f.value or 0.0)
    reach = 0.1 if f.qualifier == "about" else HEDGE_REACH  # as far as "about" agrees
    lo, hi = f.value - reach * v, f.value + reach * v
    if f.qualifier in ("more than", "at least"):
        lo = f.value
    elif f.qualifier in ("less than", "up to", "nearly"):
        hi = f.value
    return lo, hi


def compartments_named(text: str, lexicon: Lexicon) -> set[str]:
    """The knee compartments a sentence names (words from the lexicon, lay names included)."""
    return {name for name, rx in lexicon.compartment_patterns.items() if rx.search(text)}


def other_compartment(named: set[str], claim_compartments: Any, lexicon: Lexicon) -> bool:
    """Does the claim concern another side or joint than the one (and only one) the sentence names?"""
    if isinstance(claim_compartments, str):
        claim_compartments = json.loads(claim_compartments or "[]")
    words = {w for c in claim_compartments or [] for w in c.split()}
    if not words or "whole" in words:
        return False
    for pair in lexicon.opposite_compartments:
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
    deadline: float | None = None,
    lexicon: Lexicon = NO_LEXICON,
    listed: set[str] | None = None,
    naming: frozenset[str] = frozenset(),
) -> list[Candidate]:
    """Candidates scored by wording and compared on figures, best wording first. `listed`: the
    DOIs of the draft's reference list (a tie-break between claims worded alike); `naming`: the
    words that name the cited works (authors, journal), which say nothing of the finding.

    `deadline` (a `time.monotonic()` value) is checked per candidate: CheckTookTooLong past it."""
    out = []
    said = tokens(lexicon.normalise(text))  # synonyms read as one word; figures from `figures`
    words = set(said) - common
    content = words - naming  # what the sentence says of a finding, not whose it is
    named = compartments_named(text, lexicon)
    stance = directions(text, lexicon)
    outcomes = lexicon.outcomes_in(text)
    for row in rows:
        if deadline is not None and time.monotonic() > deadline:
            raise CheckTookTooLong("stopped inside a sentence")
        statement = _claim_tokens(lexicon, row["statement"])
        wording = sim = similarity_of_tokens(said, statement, common, weights)
        if cited and row.get("source_doi") in cited:
            sim = min(100.0, sim + POLICY.cited_bonus)
        if sim < POLICY.min_sim and row.get("measure") != "sample_size":
            continue
        comparison = compare_figures(figures, row, lexicon)
        if sim < POLICY.min_sim and not comparison.value_agrees:
            continue  # (a study's size the sentence gives keeps it, however the rest is worded)
        both = frozenset(words & set(statement))
        shared = len(both)
        coverage = len(content & both) / len(content) if content else 0.0
        elsewhere = bool(named) and other_compartment(named, row.get("compartments"), lexicon)
        mine = bool(listed) and row.get("source_doi") in listed
        # which way the claim's finding points matters only to a sentence that says which way its
        # own points (a reversal, a finding beside a study's size): read only then
        theirs = _claim_directions(lexicon, row["statement"]) if stance else frozenset()
        out.append(
            Candidate(
                row, sim, comparison, shared, coverage, wording, elsewhere, mine,
                opposed=bool(stance) and opposed(stance, theirs),
                words=both,
                directed=states_finding(theirs),
                told=len(set(statement) & set(said)) / len(set(statement)) if statement else 0.0,
                on_topic=not stance or outcomes <= _claim_outcomes(lexicon, row["statement"]),
            )
        )  # fmt: skip
    return sorted(out, key=lambda c: -c.sim)


class CheckTookTooLong(TimeoutError):
    """The check passed its deadline; nothing of a half-done check is reported."""
