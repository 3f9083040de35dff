"""Fact-check a draft against the KB: a verdict per checkable sentence and per reference.

This module orchestrates: it splits the draft (`sentences`), reads the figures (`figures`), finds
candidate claims (`matching`), decides (`verdicts`) and reports what it could not check. A sentence is
`supported` only when every number-like expression in it was read and agrees, in its role, with
verified claims of the source it rests on; anything else number-like is listed in `unchecked` and
keeps the sentence at most `unverified`. Renderers for people live with the CLI (`render`).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from .agreement import compare_figures, number_stated, stated_agrees
from .figures import Figure, extract_figures, is_checkable, number_like, parse_number
from .matching import (
    CLAIM_COLUMNS,
    MAX_CANDIDATES,
    Candidate,
    CheckTookTooLong,
    ClaimIndex,
    compartments_named,
    other_compartment,
    rank,
    similarity,
    tokens,
)
from .phrasing import mismatch
from .references import (
    SERIOUS_UPDATES,
    Reference,
    RefResult,
    author_mentions,
    check_references,
    citation_markers,
    parse_references,
    source_years,
    sources_by_author,
)
from .render import COLOURS, render_markdown, render_text
from .sentences import Span, split_clauses, split_sentences
from .subgroup import conflicts as subgroup_conflicts
from .verdict_policy import POLICY
from .verdicts import decide
from .wording import plain_explanations

__all__ = [
    "CLAIM_COLUMNS", "COLOURS", "MAX_CANDIDATES", "MAX_DRAFT_CHARS", "REFERENCE_VERDICTS",
    "STATEMENT_VERDICTS", "CheckTookTooLong", "ClaimIndex", "DraftTooLarge", "Report", "Statement",
    "check_text", "compartments_named", "decide", "other_compartment", "rank", "render_markdown",
    "render_text", "similarity", "tokens",
]  # fmt: skip

STATEMENT_VERDICTS = ("supported", "unverified", "contradicted", "misattributed", "unsupported")
REFERENCE_VERDICTS = ("ok", "mismatch", "unresolved", "unused", "retracted", "missing")
# kinds of figure a study reports once (its dose, its participants' age): printed otherwise, wrong
SINGLE_VALUED_KINDS = ("dose", "age")
MAX_SOURCES_BY_FIGURE = 3  # sources whose other analyses join the candidates, per sentence
MAX_DRAFT_CHARS = 1_000_000  # about 150,000 words: a draft, never a book (or /dev/zero)


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
    # number-like expressions the check did not read, or read but did not compare:
    # {"text", "start", "end", "why"}, offsets into the draft
    unchecked: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start": self.start, "end": self.end,
                "figures": [f.to_dict() for f in self.figures], "verdict": self.verdict,
                "claim_id": self.claim_id, "source_doi": self.source_doi,
                "explanation": self.explanation, "unchecked": self.unchecked}  # fmt: skip


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


class DraftTooLarge(ValueError):
    """The draft is longer than MAX_DRAFT_CHARS."""


_NOT_SURNAMES = {"university", "institute", "hospital", "trust", "initiative", "consortium",
                 "foundation", "society", "college", "centre", "center", "clinic", "group"}  # fmt: skip


@dataclass
class Cited:
    """What a sentence cites: the DOIs (None when it cites something we cannot resolve), its
    markers and author mentions, and whether it names a study otherwise (its cohort, or the study
    of the sentence before it refers back to)."""

    dois: set[str] | None
    numbers: set[int] = field(default_factory=set)
    mentions: list = field(default_factory=list)
    named: bool = False

    @property
    def cites(self) -> bool:
        return bool(self.numbers or self.mentions or self.named)


def _cited(
    db: sqlite_utils.Database, index: ClaimIndex, text: str, by_number: dict[int, str | None]
) -> Cited:
    """The works a sentence cites by marker, by author or by the name of its cohort."""
    numbers = set(citation_markers(text))
    # "Hirosaki University (2022)": an institution, not an author
    mentions = [m for m in author_mentions(text) if m.surname.lower() not in _NOT_SURNAMES]
    dois: set[str] = set()
    unknown = False
    for n in numbers:
        if by_number.get(n):
            dois.add(by_number[n])
        else:
            unknown = True
    for m in mentions:
        # a wrong year is the reference check's business: the statement still names the work
        found = sources_by_author(db, m.surname, m.year) or sources_by_author(db, m.surname, None)
        if found:
            dois |= {src["doi"] for src in found}
        else:
            unknown = True
    # "the Framingham researchers": a study named by its cohort, where nothing else is cited (a
    # marker or an author is what a reader follows, and must be right on its own)
    named = set() if numbers or mentions else index.named_studies(text)
    dois |= named
    if unknown:
        return Cited(None, numbers, mentions, bool(named))
    return Cited(dois or None, numbers, mentions, bool(named))


def check_text(
    db: sqlite_utils.Database,
    text: str,
    index: ClaimIndex | None = None,
    deadline: float | None = None,
) -> Report:
    """Check a draft (plain text or Markdown) against the KB in db.

    `deadline` is a `time.monotonic()` value: past it, CheckTookTooLong is raised (it is checked
    between sentences and between the candidates of one sentence). A draft longer than
    MAX_DRAFT_CHARS raises DraftTooLarge.
    """
    if len(text) > MAX_DRAFT_CHARS:
        raise DraftTooLarge(
            f"the draft has {len(text):,} characters; at most {MAX_DRAFT_CHARS:,} are checked at once"
        )
    index = index or ClaimIndex(db)
    report = Report(text)
    refs: list[Reference] = parse_references(text)
    ref_spans = [(r.start, r.end) for r in refs]
    by_number = {r.number: r.doi for r in refs if r.number is not None}
    listed = {r.doi for r in refs if r.doi}
    used: set[str] = set()
    cited_numbers: set[int] = set()
    all_mentions = []
    before: set[str] = set()  # the study the sentence before cited, named or was matched to
    sentences = split_sentences(text)
    for done, sentence in enumerate(sentences):
        if deadline is not None and time.monotonic() > deadline:
            raise CheckTookTooLong(
                f"checked {done} of {len(sentences)} sentences in the time allowed"
            )
        if sentence.heading or any(a <= sentence.start < b for a, b in ref_spans):
            before = set()
            continue
        clauses = split_clauses(text, sentence)
        # a citation at the end of a sentence covers each of its clauses
        whole = _cited(db, index, sentence.text, by_number) if len(clauses) > 1 else None
        own = whole or _cited(db, index, sentence.text, by_number)
        if not own.cites and before and _refers_back(index, sentence.text):
            # "that trial", "the same researchers": the study of the sentence before
            whole = Cited(set(before), named=True)
        this: set[str] = set(own.dois or ())
        context: set[str] = set()  # the study an earlier clause of this sentence was matched to
        for span in clauses:
            try:
                stmt, numbers, mentions = _check_span(
                    db, index, span, by_number, deadline, listed, whole, context
                )
            except CheckTookTooLong as exc:
                raise CheckTookTooLong(
                    f"checked {done} of {len(sentences)} sentences in the time allowed; {exc}"
                ) from None
            cited_numbers |= numbers
            all_mentions += mentions
            if stmt is None:
                continue
            report.statements.append(stmt)
            if stmt.source_doi and stmt.verdict in ("supported", "contradicted"):
                context = {stmt.source_doi}
            if stmt.source_doi and stmt.verdict != "unsupported":
                used.add(stmt.source_doi)
                if not own.cites and stmt.verdict != "misattributed":
                    this.add(stmt.source_doi)
        before = this if len(this) == 1 else set()
    report.references = check_references(
        db, refs, used, cited_numbers, all_mentions, has_markers=bool(cited_numbers)
    )
    plain_explanations(db.conn, report.statements)
    return report


def _refers_back(index: ClaimIndex, text: str) -> bool:
    """Whether the sentence means the study of the sentence before ("that trial"), and announces
    no other work ("an earlier paper from the same consortium")."""
    back, other = index.lexicon.back_reference, index.lexicon.other_work
    return bool(back and back.search(text)) and not (other and other.search(text))


def _too_long(span: Span) -> Statement:
    why = (
        f"this sentence is too long to check in one piece (over {POLICY.max_statement_chars:,} "
        f"characters or {POLICY.max_statement_figures} figures): split it"
    )
    whole = {"text": span.text[:80], "start": span.start, "end": span.end, "why": why}
    return Statement(span.text, span.start, span.end, [], "unverified", explanation=why,
                     unchecked=[whole])  # fmt: skip


def _check_span(
    db: sqlite_utils.Database,
    index: ClaimIndex,
    span: Span,
    by_number: dict[int, str | None],
    deadline: float | None = None,
    listed: set[str] | None = None,
    whole: Cited | None = None,
    context: set[str] | None = None,
) -> tuple[Statement | None, set[int], list]:
    if len(span.text) > POLICY.max_statement_chars:
        return _too_long(span), set(), []
    figures = extract_figures(span.text)
    if len(figures) > POLICY.max_statement_figures:
        return _too_long(span), set(), []
    for f in figures:
        f.start += span.start
        f.end += span.start
    mine = _cited(db, index, span.text, by_number)
    cited, numbers, mentions, cites = mine.dois, mine.numbers, mine.mentions, mine.cites
    if not cites and whole is not None and whole.cites:
        # the sentence's citation, counted once (by its own clause), or the study it refers back to
        cited, cites = whole.dois, True
    # a clause that cites nothing speaks, most likely, of the study its sentence's other clause did
    context = set() if cites else set(context or ())
    rows = index.candidates(span.text)
    by_figure = index.by_figures(figures, rows)
    rows += by_figure + index.cited_claims((cited or set()) | context, rows + by_figure)
    # the other analyses of a source whose own figure the sentence gives: which one is meant
    found = list(dict.fromkeys(r["source_doi"] for r in _agreeing(figures, by_figure, index)))
    rows += index.cited_claims(set(found[:MAX_SOURCES_BY_FIGURE]) - (cited or set()), rows)
    cands = rank(
        span.text, figures, rows, index.common, index.weights, (cited or set()) | context,
        deadline, index.lexicon, listed, index.naming_words(cited or set()),
    )  # fmt: skip
    verdict, best, why = decide(span.text, figures, cands, cited, context)
    source = best.claim.get("source_doi") if best else None
    if verdict == "supported" and cites and not (cited and source in cited):
        # the sentence cites something the KB cannot resolve, and the claim's source is not
        # among what it could: whose finding this is cannot be told
        verdict = "unverified"
        why = (
            f"matches {best.claim['id']}, from {source}, but the sentence cites a work the KB "
            "cannot resolve: check which source it means"
        )
    if verdict == "supported" and best is not None and not best.comparison.records:
        # support on wording alone: the claim must be about what the sentence is about
        missing = index.lexicon.outcomes_in(span.text) - index.lexicon.outcomes_in(
            best.claim.get("statement") or ""
        )
        if missing:
            verdict = "unverified"
            why = (
                f"the wording is near {best.claim['id']}, but that finding is not about "
                f"{', '.join(sorted(missing))}: check which finding the sentence reports"
            )
        elif _ANAPHOR_RE.match(span.text) and not cites:
            # "That same type also predicted cartilage loss": which type, the sentence before says
            verdict = "unverified"
            why = (
                f"the wording is near {best.claim['id']}, but the sentence's subject is named in "
                "the sentence before: check that the finding is about the same thing"
            )
    if verdict == "supported" and best is not None:
        # "most of the studies were randomised trials": the design must be the one the source gives
        verdict, why = _design(index, span.text, best, verdict, why)
    unchecked, disagreeing, vouching = _unchecked(index, span, figures, best, cands)
    is_statement = (
        best is not None or any(is_checkable(f) for f in figures) or cites or bool(unchecked)
    )  # fmt: skip
    if not is_statement:
        return None, numbers, mentions
    other = _sized_elsewhere(index, unchecked, figures, cited) if cites and cited else None
    sized_row: dict[str, Any] | None = None  # the other study whose sample the sentence credits
    if verdict in ("supported", "unverified") and other is not None:
        # "Perry et al. (2019) followed 582 knees": 582 knees is another study's sample
        f, sized_row = other
        verdict, best = "misattributed", None
        why = (
            f"{f.text} is the size of the study in {sized_row['id']} ({sized_row.get('figure')}), "
            f"which comes from {sized_row['source_doi']}, not from the work cited here"
        )
    elif (
        verdict in ("supported", "unverified")
        and best is not None
        and best.verified
        and disagreeing
    ):
        f, other = disagreeing[0]
        verdict = "contradicted"
        why = f"the sentence says {f.text}; the source gives {other.get('figure')} ({other['id']})"
    elif (
        verdict in ("supported", "unverified")
        and best is not None
        and best.verified
        and (wrong := _subgroups(index, span, figures, best, cands))
    ):
        verdict, why = "contradicted", wrong[0][2]
    elif verdict == "supported" and unchecked:
        verdict = "unverified"
        said = ", ".join(u["text"] for u in unchecked)
        why = f"not every figure could be checked ({said}); the rest: {why}"
    if verdict in ("supported", "unverified") and best is not None:
        # the figure agrees, but the sentence words it as something the source did not give (for
        # the claim it rests on, or any other claim of the source that vouches for a figure)
        off = mismatch(span.text, best.comparison, best.claim, index.lexicon, db, span.start)
        for row in vouching:
            if off:
                break
            theirs = compare_figures(figures, row, index.lexicon)
            off = mismatch(span.text, theirs, row, index.lexicon, db, span.start)
        if off:
            why = off if verdict == "supported" else f"{off}; and {why}"
            verdict = "unverified"
    claim = best.claim if best else sized_row
    stmt = Statement(
        span.text, span.start, span.end, figures, verdict,
        claim["id"] if claim else None, claim.get("source_doi") if claim else None, why, claim,
        best.sim if best else 0.0, unchecked,
    )  # fmt: skip
    return stmt, numbers, mentions


# a sentence whose subject is only a pointer back ("That same type", "It", "These lesions")
_ANAPHOR_RE = re.compile(
    r"\s*(?:that|this|these|those|it|they|its|their|such)(?:\s+same)?\b(?!\s+(?:study|trial|"
    r"review|analysis|paper|cohort|research|work)\b)",
    re.IGNORECASE,
)
_CODED_NAME_RE = re.compile(r"(?<![\w-])[A-Za-z]+[-‐]?\d[\d,.]*[A-Za-z0-9]*(?<![.,])(?![\w-])")


def _plain(text: str) -> str:
    return re.sub(r"[-‐\s]+", "", text.lower())


def _agreeing(
    figures: list[Figure], rows: list[dict[str, Any]], index: ClaimIndex
) -> list[dict[str, Any]]:
    """The rows (with a source) whose own value a figure of the sentence agrees with."""
    return [
        r for r in rows
        if r.get("source_doi") and compare_figures(figures, r, index.lexicon).value_agrees
    ]  # fmt: skip


def _subgroups(
    index: ClaimIndex, span: Span, figures: list[Figure], best: Candidate, cands: list[Candidate]
) -> list[tuple[Figure, dict[str, Any], str]]:
    """Subgroup counts the source the sentence rests on gives otherwise ("of whom 315")."""
    source = best.claim.get("source_doi")
    if not source:
        return []
    rows = [c.claim for c in cands if c.claim.get("source_doi") == source]
    rows += index.cited_claims({source}, rows)
    return subgroup_conflicts(span.text, figures, rows, index.lexicon, span.start)


def _source_claims(
    index: ClaimIndex,
    best: Candidate,
    cands: list[Candidate],
    figures: list[Figure],
    bare: set[float] = frozenset(),  # type: ignore[assignment]
) -> tuple[list[dict[str, Any]], set[int], list[tuple[Figure, dict[str, Any]]]]:
    """The verified claims of the source the sentence rests on that some figure of the sentence
    agrees with and none contradicts, the figures that agree with one of them, and the figures
    that only disagree with that source (a dose or an age of its own, printed differently)."""
    source = best.claim.get("source_doi")
    rows = [c.claim for c in cands if c.claim.get("source_doi") == source]
    rows += index.cited_claims({source} if source else set(), rows)
    claims: list[dict[str, Any]] = [best.claim]
    agreed = {id(f) for f in best.comparison.agreeing_figures}
    disagreeing: list[tuple[Figure, dict[str, Any]]] = []
    compared = []
    for row in rows:
        if row is best.claim or row["status"] != "verified":
            continue
        if (row.get("source_update_status") or "") in SERIOUS_UPDATES:
            continue
        compared.append((row, compare_figures(figures, row, index.lexicon)))
    # a figure that is one claim's own value is that claim's: "50 people" is the trial's n beside
    # the dose its active arm of 24 took, and no conflict with the dose claim's n
    owned = {
        id(r.figure) for c in [best.comparison] + [c for _, c in compared]
        for r in c.agreeing("value")
    }  # fmt: skip
    for row, comparison in compared:
        disagreeing += [
            (r.figure, row) for r in comparison.records
            if not r.agrees and r.role == "value" and r.figure.kind in SINGLE_VALUED_KINDS
        ]  # fmt: skip
        # "351 with knee pain and 50 without": a bare number that is the claim's own value agrees
        # (a count only: a bare 0.81 beside "Dice" is not the R² another claim of the source gives)
        bare_value = (
            row.get("value") is not None
            and row["value"] in bare
            and index.lexicon.family(row.get("unit")) in index.lexicon.count_families
        )
        conflicts = {
            r.role for r in comparison.records
            if not comparison.agreeing(r.role) and (r.role == "value" or id(r.figure) not in owned)
        } - ({"value"} if bare_value else set())  # fmt: skip
        if conflicts or not (comparison.agreeing() or bare_value):
            continue  # only a claim the sentence's figures agree with (and never contradict) vouches
        claims.append(row)
        agreed |= {id(f) for f in comparison.agreeing_figures}
    disagreeing = [(f, c) for f, c in disagreeing if id(f) not in agreed]
    return claims, agreed, disagreeing


def _design(
    index: ClaimIndex, text: str, best: Candidate, verdict: str, why: str
) -> tuple[str, str]:
    """A sentence that names a study design (lexicon `designs`) is supported only where its
    source's verified claims name that design (in their wording or as the study's design);
    contradicted where they name only another."""
    said = index.lexicon.designs_in(text)
    if not said:
        return verdict, why
    source = best.claim.get("source_doi")
    rows = [best.claim, *index.cited_claims({source} if source else set(), [best.claim])]
    theirs = set()
    for row in rows:
        if row["status"] == "verified":
            theirs |= index.lexicon.designs_in(row.get("statement") or "")
            theirs |= index.lexicon.designs_in(row.get("study_design") or "")
    if said & theirs:
        return verdict, why
    if theirs:
        return "contradicted", (
            f"the sentence calls the studies {', '.join(sorted(said))}; {best.claim['id']}'s "
            f"source describes them as {', '.join(sorted(theirs))}"
        )
    return "unverified", f"{why}; but the study design it names was not checked"


def _sized_elsewhere(
    index: ClaimIndex,
    unchecked: list[dict[str, Any]],
    figures: list[Figure],
    cited: set[str],
) -> tuple[Figure, dict[str, Any]] | None:
    """An unchecked count of the sentence that is the sample size of one other study, and of no
    work the sentence cites: the sentence credits that study's sample to the cited work."""
    loose = {u["start"] for u in unchecked}
    for f in figures:
        if f.kind != "count" or f.start not in loose or f.qualifier:
            continue  # (a hedged count, "about eighty people", names no study)
        rows = [
            r for r in index.by_figures([f], [])
            if r.get("measure") == "sample_size" and r["status"] == "verified"
            and compare_figures([f], r, index.lexicon).value_agrees
        ]  # fmt: skip
        sources = {r.get("source_doi") for r in rows}
        if len(sources) == 1 and not sources & cited:
            return f, rows[0]
    return None


def _study_years(index: ClaimIndex, doi: str | None) -> set[float]:
    """The years a source carries (printed, online), as figures read them."""
    if not doi:
        return set()
    row = next(index.db.query("select * from sources where doi = ?", [doi]), None)
    return {float(y) for y in source_years(row)} if row else set()


def _dates_the_study(index: ClaimIndex, after: str) -> bool:
    """Does a year stand before the noun of a study ("the 2017 bone-turnover marker study", "a
    2023 review")? Not a citation's year, nor a calendar date."""
    words = re.match(r"(?:\s*[A-Za-z][\w-]*){1,4}", after)
    return bool(words) and any(index.lexicon.family(w) == "studies" for w in words.group().split())


def _unchecked(
    index: ClaimIndex,
    span: Span,
    figures: list[Figure],
    best: Candidate | None,
    cands: list[Candidate],
) -> tuple[list[dict[str, Any]], list[tuple[Figure, dict[str, Any]]], list[dict[str, Any]]]:
    """Number-like expressions not read, or read but agreeing with no verified claim of the source
    the sentence rests on; the figures that disagree with that source's own value; and the other
    claims of that source that vouch for a figure of the sentence."""
    agreed: set[int] = set()
    compared: set[int] = set()
    claims: list[dict[str, Any]] = []
    disagreeing: list[tuple[Figure, dict[str, Any]]] = []
    roles_agreeing: set[str] = set()
    lexicon = index.lexicon
    if best is not None:
        bare = set()
        for n in number_like(span.text):
            at = span.start + n.start
            if not any(f.start <= at < f.end for f in figures):
                try:
                    bare.add(parse_number(n.text.rstrip(".,"))[0])
                except ValueError:
                    pass
        claims, agreed, disagreeing = _source_claims(index, best, cands, figures, bare)
        compared = {id(r.figure) for r in best.comparison.records}
        roles_agreeing = {r.role for r in best.comparison.agreeing()}
    out = []
    dated = _study_years(index, best.claim.get("source_doi")) if best is not None else set()
    for f in figures:
        if f.kind == "year" and best is not None and f.value not in dated:
            if _dates_the_study(index, span.text[f.end - span.start :]):
                why = "the sentence dates the study otherwise than the source's year"
                if dated:
                    why = f"the sentence dates the study {f.text}; the source is from {min(dated)}"
                out.append({"text": f.text, "start": f.start, "end": f.end, "why": why})
            continue
        if f.kind == "year" or id(f) in agreed:
            continue
        # a figure compared in a role where another figure agrees (the exposure window beside the
        # outcome's time point) may still be one the source states
        roles = {r.role for r in best.comparison.records if r.figure is f} if best else set()
        if roles <= roles_agreeing and any(stated_agrees(f, c, lexicon) for c in claims):
            continue
        if best is None:
            why = "no claim to compare it with"
        elif id(f) in compared:
            why = "does not agree with the source's figure"
        else:
            why = f"read as a {f.kind}, but the source's claims have no such figure to compare"
        out.append({"text": f.text, "start": f.start, "end": f.end, "why": why})
    if best is not None:  # a name with a number (SF-36, hsPRO-C2, vitamin D3) the source never uses
        said = {
            _plain(m.group()) for c in claims
            for m in _CODED_NAME_RE.finditer(c.get("statement") or "")
        }  # fmt: skip
        spans = [(f.start - span.start, f.end - span.start) for f in figures]
        for m in _CODED_NAME_RE.finditer(span.text):
            if any(a < m.end() and m.start() < b for a, b in spans):
                continue  # part of a figure read ("R2 = 0.94", "313.5 mm3")
            if _plain(m.group()) not in said:
                out.append({"text": m.group(), "start": span.start + m.start(),
                            "end": span.start + m.end(),
                            "why": "a name with a number that the source's claims do not use"})  # fmt: skip
    read = [(f.start, f.end) for f in figures]
    for n in number_like(span.text):
        start, end = span.start + n.start, span.start + n.end
        if any(a <= start < b for a, b in read) or any(number_stated(n.text, c) for c in claims):
            continue
        out.append({"text": n.text, "start": start, "end": end, "why": "not read as a figure"})
    return sorted(out, key=lambda u: u["start"]), disagreeing, claims[1:]
