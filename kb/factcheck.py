"""Fact-check a draft against the KB: a verdict per checkable sentence and per reference.

This module orchestrates: it splits the draft (`sentences`), reads the figures (`figures`), finds
candidate claims (`matching`), decides (`verdicts`) and reports what it could not check. A sentence is
`supported` only when every number-like expression in it was read and agrees, in its role, with
verified claims of the source it rests on; anything else number-like is listed in `unchecked` and
keeps the sentence at most `unverified`. Renderers for people live with the CLI (`render`).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from .agreement import compare_figures
from .citing import Cited, cited_by, refers_back
from .coverage import agreeing_rows, sized_elsewhere, subgroups, unchecked_in
from .figures import Figure, extract_figures, is_checkable
from .matching import (
    CLAIM_COLUMNS,
    MAX_CANDIDATES,
    CheckTookTooLong,
    ClaimIndex,
    compartments_named,
    other_compartment,
    rank,
    similarity,
    tokens,
)
from .phrasing import mismatch
from .references import Reference, RefResult, check_references, parse_references
from .render import COLOURS, render_markdown, render_text
from .sentences import Span, split_clauses, split_sentences
from .support import AFTER_COVERAGE, BEFORE_COVERAGE, Support, objection
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
        whole = cited_by(db, index, sentence.text, by_number) if len(clauses) > 1 else None
        own = whole or cited_by(db, index, sentence.text, by_number)
        if not own.cites and before and refers_back(index, sentence.text):
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
    mine = cited_by(db, index, span.text, by_number)
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
    found = list(dict.fromkeys(r["source_doi"] for r in agreeing_rows(figures, by_figure, index)))
    rows += index.cited_claims(set(found[:MAX_SOURCES_BY_FIGURE]) - (cited or set()), rows)
    cands = rank(
        span.text, figures, rows, index.common, index.weights, (cited or set()) | context,
        deadline, index.lexicon, listed, index.naming_words(cited or set()),
    )  # fmt: skip
    verdict, best, why = decide(span.text, figures, cands, cited, context)
    support = Support(index, span, figures, best, cited, cites, why) if best is not None else None
    if verdict == "supported" and support and (found := objection(BEFORE_COVERAGE, support)):
        verdict, why = found
    unchecked, disagreeing, vouching = unchecked_in(index, span, figures, best, cands)
    is_statement = (
        best is not None or any(is_checkable(f) for f in figures) or cites or bool(unchecked)
    )  # fmt: skip
    if not is_statement:
        return None, numbers, mentions
    other = sized_elsewhere(index, unchecked, figures, cited) if cites and cited else None
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
        and (wrong := subgroups(index, span, figures, best, cands))
    ):
        verdict, why = "contradicted", wrong[0][2]
    elif verdict == "supported" and unchecked:
        verdict = "unverified"
        said = ", ".join(u["text"] for u in unchecked)
        why = f"not every figure could be checked ({said}); the rest: {why}"
    if verdict == "supported" and support:
        support.vouching = vouching
        if found := objection(AFTER_COVERAGE, support):
            verdict, why = found
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
