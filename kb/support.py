"""What a supported sentence must also satisfy. The verdict rules (`verdicts`) find the claim a
sentence rests on; these checks, run after them and in order, can only take support away: the first
that objects gives the verdict and its explanation.

Before coverage (what in the sentence its source vouches for) is worked out: a citation we cannot
resolve, a sentence supported on wording alone but about something else, a study design. After it:
groups or shares given for another finding, a negation of the finding, another cohort, a word the
opposite of the claim's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .agreement import compare_figures
from .coverage import (
    cohort_elsewhere,
    design_unsaid,
    negated_phrase,
    opposite_word,
    share_of_something_else,
    swapped_groups,
)
from .figures import Figure
from .matching import Candidate, ClaimIndex
from .sentences import Span

# a sentence whose subject is only a pointer back ("That same type", "It", "These lesions")
_ANAPHOR_RE = re.compile(
    r"\s*(?:that|this|these|those|it|they|its|their|such)(?:\s+same)?\b(?!(?:\s+[\w-]+){0,4}?\s+"
    r"(?:study|trial|review|analysis|paper|cohort|research|work)\b)",
    re.IGNORECASE,
)


@dataclass
class Support:
    """A sentence the verdict rules call supported, and what it rests on."""

    index: ClaimIndex
    span: Span
    figures: list[Figure]
    best: Candidate
    cited: set[str] | None  # the works it cites or points back to (None: one we cannot resolve)
    cites: bool
    why: str  # why the rules call it supported
    vouching: list[dict[str, Any]] = field(default_factory=list)  # siblings vouching for figures


Objection = tuple[str, str]  # (verdict, explanation)
Check = Callable[[Support], Objection | None]


def objection(checks: tuple[Check, ...], s: Support) -> Objection | None:
    """The first objection of these checks to the sentence's support (None: it stands)."""
    for check in checks:
        if found := check(s):
            return found
    return None


def _unresolved_citation(s: Support) -> Objection | None:
    source = s.best.claim.get("source_doi")
    if s.cites and not (s.cited and source in s.cited):
        # the sentence cites something we cannot resolve, and the claim's source is not among
        # what it could: whose finding this is cannot be told
        return "unverified", (
            f"matches {s.best.claim['id']}, from {source}, but the sentence cites a work the KB "
            "cannot resolve: check which source it means"
        )
    return None


def _about_something_else(s: Support) -> Objection | None:
    """Support on wording alone: the claim must be about what the sentence is about."""
    if s.best.comparison.records:
        return None
    lexicon, claim = s.index.lexicon, s.best.claim
    missing = lexicon.outcomes_in(s.span.text) - lexicon.outcomes_in(claim.get("statement") or "")
    if missing:
        return "unverified", (
            f"the wording is near {claim['id']}, but that finding is not about "
            f"{', '.join(sorted(missing))}: check which finding the sentence reports"
        )
    if _ANAPHOR_RE.match(s.span.text) and not s.cites:
        # "That same type also predicted cartilage loss": which type, the sentence before says
        return "unverified", (
            f"the wording is near {claim['id']}, but the sentence's subject is named in the "
            "sentence before: check that the finding is about the same thing"
        )
    return None


def _design(s: Support) -> Objection | None:
    """ "most of the studies were randomised trials": the design must be the one the source gives."""
    found = design_unsaid(s.index, s.span.text, s.best)
    if found and found[0] == "unverified":
        return "unverified", f"{s.why}; but {found[1]}"
    return found


def _groups_or_shares(s: Support) -> Objection | None:
    claims = [s.best.claim, *s.vouching]
    found = swapped_groups(s.index, s.span, s.figures, claims) or share_of_something_else(
        s.index, s.span, s.figures, claims
    )
    return ("unverified", found) if found else None


def _negated(s: Support) -> Objection | None:
    if no := negated_phrase(s.span, s.best):  # "71% had no knee OA visible" where 71% had it
        return "contradicted", (
            f"the sentence says {no!r}, where {s.best.claim['id']} states it without the negation"
        )
    return None


def _other_cohort(s: Support) -> Objection | None:
    # "Using Osteoarthritis Initiative data, Scher and colleagues found...": another cohort
    found = cohort_elsewhere(s.index, s.span.text, s.best)
    return ("unverified", found) if found else None


def _opposite_word(s: Support) -> Objection | None:
    """The figures agree, but the sentence says "men" where the source says "women" (of the claim
    it rests on, or a sibling whose own value it gives)."""
    lexicon = s.index.lexicon
    by_value = [r for r in s.vouching if compare_figures(s.figures, r, lexicon).value_agrees]
    if off := opposite_word(s.index, s.span.text, [s.best.claim, *by_value]):
        mine, theirs, row = off
        return (
            "contradicted",
            f"the sentence says {mine} where the source says {theirs} ({row['id']})",
        )
    return None


BEFORE_COVERAGE: tuple[Check, ...] = (_unresolved_citation, _about_something_else, _design)
AFTER_COVERAGE: tuple[Check, ...] = (_groups_or_shares, _negated, _other_cohort, _opposite_word)
