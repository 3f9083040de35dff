"""Which way a finding points, read from its wording: an effect or none, higher or lower odds.

A sentence that matches a curated claim in wording but states the opposite finding ("vitamin D
reduced the lesions" against "did not significantly change"; "lower odds" against "higher odds";
"no association" against "went with more pain") is a contradiction even without a figure. The claim's
direction is read from its own statement, so curators need not restate it.
"""

from __future__ import annotations

import re

# "no effect": the finding is the absence of a difference or an association
_NONE = re.compile(
    r"\b(?:no|not\s+any|without\s+(?:a|any))\s+(?:\w+\s+){0,2}?(?:association|effect|difference|"
    r"change|link|relationship|correlation|benefit|impact)s?\b|"
    r"\bnot\s+(?:\w+\s+)?(?:associated|linked|related|correlated|tied|connected)\b|"
    r"\b(?:did|does|do|was|were)\s*n[o']t\s+(?:\w+\s+)?(?:change|reduce|shrink|alter|affect|"
    r"improve|increase|decrease|differ|predict|significant)\w*|"
    r"\bnon-?significant\b|\bunrelated\b|\bno\s+significant\b",
    re.IGNORECASE,
)
# an effect or an association, stated positively
_EFFECT = re.compile(
    r"\b(?:associated|linked|related|correlated|tied)\s+(?:with|to)\b|\bwent\s+with\b|"
    r"\b(?:significantly|markedly|noticeably|substantially)\s+\w+|"
    r"\b(?:reduced|shrank|shrunk|shrink|shrinks|improved|lowered|decreased|increased|predicted|"
    r"predicts)\b(?!\s+odds)",
    re.IGNORECASE,
)
_HIGHER = re.compile(
    r"\b(?:higher|increased|greater|raised|elevated|bigger)\s+(?:\w+\s+)?(?:odds|risk|chances?|"
    r"likelihood|hazard)\b|\bmore\s+likely\b|\bmore\s+pain\b",
    re.IGNORECASE,
)
_LOWER = re.compile(
    r"\b(?:lower|decreased|reduced|smaller|less(?:er)?)\s+(?:\w+\s+)?(?:odds|risk|chances?|"
    r"likelihood|hazard)\b|\bless\s+likely\b|\bless\s+pain\b|\bprotective\b",
    re.IGNORECASE,
)
DIRECTIONS = ("effect", "no effect", "higher", "lower")


def directions(text: str) -> set[str]:
    """The directions a text states: a subset of DIRECTIONS."""
    out = set()
    none = bool(_NONE.search(text))
    if none:
        out.add("no effect")
    elif _EFFECT.search(text):
        out.add("effect")
    if not none:
        higher, lower = bool(_HIGHER.search(text)), bool(_LOWER.search(text))
        if higher and not lower:
            out |= {"higher", "effect"}
        elif lower and not higher:
            out |= {"lower", "effect"}
    return out


def opposed(sentence: set[str], claim: set[str]) -> bool:
    """Does the sentence state the opposite of the claim's finding?"""
    if "no effect" in sentence and "effect" in claim and "no effect" not in claim:
        return True
    if "no effect" in claim and "effect" in sentence and "no effect" not in sentence:
        return True
    return ("higher" in sentence and "lower" in claim) or (
        "lower" in sentence and "higher" in claim
    )
