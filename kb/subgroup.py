"""A subgroup's count in a sentence, against the source's count for that subgroup.

Two phrasings name a subgroup's size: "401 patients, of whom 315 had knee pain" (the subgroup's
count after the total) and "of the 441 women whose growth plate could be seen, 16% ..." (the
subgroup as the denominator of a finding). Where the source gives that subgroup's count, and the
sentence's words for the subgroup are the claim's, a different number is a contradiction, not a
figure left unchecked. Anything less clear stays as it was (at most `unverified`).
"""

from __future__ import annotations

import re
from typing import Any

from .agreement import compare_figures, fmt_number
from .figures import Figure
from .lexicon import Lexicon
from .matching import tokens

_OF_WHOM = re.compile(r"\bof\s+(?:whom|them)[\s,]+$", re.IGNORECASE)
_OF_THE = re.compile(r"\b(?:of|among|in)\s+(?:the|these|those)\s+$", re.IGNORECASE)
_RESTRICTS = re.compile(r"\s+(?:[\w-]+\s+){0,2}?(?:whose|who|that|in\s+whom)\b", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[,;:.()\[\]]")
_NEGATION = re.compile(r"\b(?:no|not|without|none|never)\b", re.IGNORECASE)
MIN_SHARED = 2  # content words the sentence's subgroup and the claim's statement share at least


def _subgroup_words(text: str, start: int) -> tuple[set[str], bool]:
    """The content words naming a subgroup, from start to the end of its clause, and a negation."""
    end = _CLAUSE_END.search(text, start)
    words = text[start : end.start() if end else len(text)]
    return set(tokens(words)), bool(_NEGATION.search(words))


def _names(words: set[str], negated: bool, claim: dict[str, Any]) -> bool:
    statement = claim.get("statement") or ""
    own = set(tokens(statement))
    return (
        len(words & own) >= MIN_SHARED
        and words <= own | {"had", "have", "were"}
        and negated == bool(_NEGATION.search(statement))
    )


def conflicts(
    text: str, figures: list[Figure], rows: list[dict[str, Any]], lexicon: Lexicon, offset: int
) -> list[tuple[Figure, dict[str, Any], str]]:
    """(figure, claim, why) for each subgroup count the source gives otherwise."""
    out = []
    counts = [f for f in figures if f.kind == "count" and f.value is not None and f.low is None]
    verified = [r for r in rows if r.get("status") == "verified"]
    for f in counts:
        start, end = f.start - offset, f.end - offset
        before = text[max(0, start - 40) : start]
        if _OF_WHOM.search(before):  # "401 patients, of whom 315 had knee pain"
            totals = {g.value for g in counts if g is not f}
            words, negated = _subgroup_words(text, end)
            same = [
                r for r in verified
                if r.get("measure") == "count" and r.get("n") in totals and r.get("value") is not None
                and _names(words, negated, r)
            ]  # fmt: skip
            if len(same) == 1 and abs(same[0]["value"] - f.value) > 0.5:
                r = same[0]
                out.append((f, r, f"the sentence says {f.text}; the source gives "
                                  f"{fmt_number(r['value'])} of the {fmt_number(r['n'])} ({r['id']})"))  # fmt: skip
        elif _OF_THE.search(before) and _RESTRICTS.match(text, end):
            # "of the 441 women whose growth plate could be seen, about 16 per cent ..."
            words, negated = _subgroup_words(text, end)
            for r in verified:
                if (
                    r.get("n") is None
                    or abs(r["n"] - f.value) <= 0.5
                    or not _names_loosely(words, r)
                ):
                    continue
                if compare_figures([g for g in figures if g is not f], r, lexicon).value_agrees:
                    out.append((f, r, f"the sentence says {f.text}; the analysis it reports had "
                                      f"n = {fmt_number(r['n'])} ({r['id']})"))  # fmt: skip
                    break
    return out


def _names_loosely(words: set[str], claim: dict[str, Any]) -> bool:
    """The subgroup's words ("women whose growth plate could be seen") are mostly the claim's."""
    own = set(tokens(claim.get("statement") or ""))
    return len(words & own) >= MIN_SHARED and len(words & own) * 2 >= len(words)
