"""Which way a finding points, read from its wording: an effect or none, higher or lower odds,
before or after, and the design of the studies it speaks of.

A sentence that matches a curated claim in wording but states the opposite finding ("vitamin D
reduced the lesions" against "did not significantly change"; "lower odds" against "higher odds";
"a late event that follows cartilage loss" against "can begin before the cartilage degenerates";
"randomised trials" against "level IV evidence") is a contradiction even without a figure. The
claim's direction is read from its own statement, so curators need not restate it. Study designs are
domain words: they come from the lexicon (`designs`), the grammar of direction is here.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .lexicon import Lexicon, designs_agree

# "no effect": the finding is the absence of a difference or an association
_NONE = re.compile(
    r"\b(?:no|not\s+any|without\s+(?:a|any))\s+(?:\w+\s+){0,2}?(?:association|effect|difference|"
    r"change|link|relationship|relation|correlation|benefit|impact|prediction|influence|"
    r"improvement|reduction|bearing)s?\b|"
    r"\bnot\s+(?:\w+\s+)?(?:associated|linked|related|correlated|tied|connected)\b|"
    r"\b(?:did|does|do|was|were)\s*n[o']t\s+(?:\w+\s+)?(?:change|reduce|shrink|alter|affect|"
    r"improve|increase|decrease|differ|predict|significant|help|cut|lower)\w*|"
    r"\bnon-?significant\b|\bunrelated\b|\bunconnected\b|\bno\s+significant\b|"
    r"\bnothing\s+to\s+do\s+with\b|\b(?:did|does|do)\s*n[o']t\s+go\s+with\b|"
    r"\b(?:did|does|was|were|is|are)?\s*no\s+(?:better|worse|different)\s+than\b|"
    r"\bnot\s+(?:any\s+)?(?:better|different)\s+(?:than|from)\b|"
    r"\b(?:no|not\s+any)\s+(?:more|less)\s+likely\b",
    re.IGNORECASE,
)
# an effect or an association, stated positively
_EFFECT = re.compile(
    r"\b(?:associated|linked|related|correlated|tied)\s+(?:with|to)\b|"
    r"\b(?:went|tracked|moved)\s+with\b|\btracked\b|\b(?:link|association|relationship)\s+between\b|"
    r"\b(?:significantly|markedly|noticeably|substantially)\s+\w+|"
    r"\b(?:reduced|shrank|shrunk|shrink|shrinks|improved|lowered|decreased|increased|predicted|"
    r"predicts|halved|cut|cuts|fell|fallen|dropped|declined|rose|risen|grew)\b(?!\s+odds)(?![-‐])|"
    r"\b(?:down|up)\s+from\b|"
    r"\bdid\s+(?:reduce|shrink|improve|lower|increase|change|predict|help|cut)\b|"
    r"\b(?:made|led\s+to|resulted\s+in|caused)\s+(?:\w+\s+){0,4}?(?:smaller|larger|bigger|less|"
    r"more|fewer|shrink\w*|grow\w*)\b|"
    r"\b(?:smaller|larger|bigger|less|more|fewer|better|worse)\s+(?:\w+\s+){0,2}?than\s+"
    r"(?:with\s+|on\s+|in\s+|the\s+|a\s+)*(?:placebo|dummy|controls?|saline)\b",
    re.IGNORECASE,
)
_ASSOCIATED = re.compile(
    r"\b(?:associated|linked|related|correlated|tied)\s+(?:with|to)\b|\b(?:went|goes|go)\s+with\b",
    re.IGNORECASE,
)
# worse is more: an association with the outcome getting worse, a warning sign
_WORSE = r"(?:getting\s+worse|got\s+worse|worsening|progression|deterioration)"
_HIGHER = re.compile(
    r"\b(?:higher|increased|greater|raised|elevated|bigger)\s+(?:\w+\s+)?(?:odds|risk|chances?|"
    r"likelihood|hazard)\b|\bmore\s+likely\b|\bmore\s+(?:\w+\s+)?pain\b|\bmore\s+of\b|"
    r"\bmore\s+(?:often|common|frequent)\b|"
    r"\bwarning\s+signs?\b|\bred\s+flags?\b|"
    rf"\b(?:went|tracked|moved|associated|linked)\s+(?:with|to)\s+(?:\w+\s+){{0,2}}?{_WORSE}\b",
    re.IGNORECASE,
)
_LOWER = re.compile(
    r"\b(?:lower|decreased|reduced|smaller|less(?:er)?)\s+(?:\w+\s+)?(?:odds|risk|chances?|"
    r"likelihood|hazard)\b|\bless\s+likely\b|\bless\s+(?:\w+\s+)?pain\b|\bprotective\b|"
    r"\bprotected\s+against\b|\bprevent(?:s|ed)?\b|\bfewer\s+of\b|\bless\s+(?:often|common|frequent)\b",
    re.IGNORECASE,
)
# which comes first: a finding that one thing can begin before another, or only follows it (never a
# time point: "pain before treatment" and "two years after surgery" order nothing)
_BEFORE = re.compile(
    r"\b(?:even|can\s+(?:begin|start|appear|occur)|begins?|starts?|appears?|occurs?|arises?|"
    r"develops?|forms?)\s+(?:\w+\s+)?before\b|\bprecedes?\b|\bpreceded\b|\bearly\s+event\b",
    re.IGNORECASE,
)
_AFTER = re.compile(
    r"\bonly\s+(?:\w+\s+){0,2}?(?:follows?|after|once)\b|\blate\s+(?:event|sign|consequence)\b|"
    r"\b(?:can\s+(?:begin|start|appear|occur)|begins?|starts?|appears?|occurs?|arises?|develops?|"
    r"forms?)\s+(?:only\s+)?after\s+(?:the\s+)?(?:cartilage|joint)\b",
    re.IGNORECASE,
)
_RISE = re.compile(
    r"\b(?:rose|risen|rises|rising|grew|grow|grows|growing|enlarg\w*|climb\w*)\b", re.IGNORECASE
)
_FALL = re.compile(
    r"\b(?:fell|fallen|falls|falling|declin\w*|shr[iau]nk\w*|dropped|drops)\b", re.IGNORECASE
)
# a comparison: which way a quantity differs ("a larger angle" against "a smaller angle")
_COMPARED = re.compile(
    r"\b(?P<adj>larger|greater|bigger|higher|wider|steeper|increased|smaller|lower|narrower|"
    r"flatter|reduced|decreased)\s+(?P<noun>[a-z][a-z-]{2,})\b",
    re.IGNORECASE,
)
# how much of something: "more necrosis", "less fibrosis" (pain and odds are read above)
_QUANTITY = re.compile(
    r"\b(?P<adj>more|less|fewer)\s+(?:[a-z]+ly\s+)?(?P<noun>(?![a-z]+ly\b)[a-z][a-z-]{3,})\b",
    re.IGNORECASE,
)
_OUTCOME_NOUNS = {"pain", "likely", "often", "common", "frequent", "than", "knee", "severe"}
_MORE = {"larger", "greater", "bigger", "higher", "wider", "steeper", "increased"}
_NOT_NOUNS = {
    "than",
    "and",
    "or",
    "the",
    "in",
    "of",
    "at",
    "on",
    "for",
    "with",
    "among",
    "risk",
    "odds",
    "chance",
    "chances",
    "likelihood",
    "hazard",
}  # fmt: skip  (odds: above)
# two groups compared: "four times as likely in women with painless OA as in those with pain"
_COMPARED_GROUPS = re.compile(
    r"\b(?:as|more|less)\s+(?:likely|common|frequent|often)\s+(?:\([^)]*\)\s*)?(?:\w+\s+){0,2}?in\s+"
    r"(?P<a>[^,;()]{3,80}?)\s+(?:as|than)\s+(?:in\s+)?(?P<b>[^,;()]{3,80})",
    re.IGNORECASE,
)
# a group a finding is said of: "in older adults without OA on X-ray", "in people who had OA"
_SUBGROUP = re.compile(
    r"\b(?:people|persons|adults|women|men|patients|participants|knees|those|subjects|"
    r"individuals)\s+(?P<w>without|with\s+no|with|who\s+(?:already\s+)?had\s+no|who\s+did\s+not\s+"
    r"have|who\s+(?:already\s+)?had)\s+(?P<what>(?:[\w-]+\s+){0,3}[\w-]+)",
    re.IGNORECASE,
)
_IT_DID_NOT = re.compile(r"\b(?:it|they|this|that)\s+did\s+not\b\s*(?:[.;,)]|$)", re.IGNORECASE)
_SMALL_WORDS = {"a", "an", "the", "on", "any", "in", "of", "and", "or", "at", "no", "to", "it", "x",
                "they", "did", "not", "already"}  # fmt: skip
DIRECTIONS = ("effect", "no effect", "higher", "lower", "before", "after")


@lru_cache(maxsize=4096)
def directions(text: str, lexicon: Lexicon | None = None) -> frozenset[str]:
    """The directions a text states: a subset of DIRECTIONS, plus "more:<noun>"/"less:<noun>" for
    each comparison ("a larger angle") and "design:<name>" for each study design of the lexicon.
    (Cached: a sentence's directions are asked for by more than one rule.)"""
    return frozenset(_directions(text, lexicon))


def _directions(text: str, lexicon: Lexicon | None) -> set[str]:
    out = set()
    nones = [m.span() for m in _NONE.finditer(text)]
    none = bool(nones)
    if none:
        out.add("no effect")
        # "no better than placebo for BML volume, but it did cut pain": two findings, one each way
        if any(not any(a <= m.start() < b for a, b in nones) for m in _EFFECT.finditer(text)):
            out.add("mixed")
    elif _EFFECT.search(text):
        out.add("effect")
        if _ASSOCIATED.search(text):
            out.add("association")  # a plain association: "went with BMLs", "linked to pain"
    if not none:
        higher, lower = bool(_HIGHER.search(text)), bool(_LOWER.search(text))
        if higher and not lower:
            out |= {"higher", "effect"}
        elif lower and not higher:
            out |= {"lower", "effect"}
    before, after = bool(_BEFORE.search(text)), bool(_AFTER.search(text))
    if before != after:
        out.add("before" if before else "after")
    # which way something changed: "CTX-I rose" against "CTX-I fell" (an exposure or an outcome)
    if _RISE.search(text):
        out.add("more:chang")
    if _FALL.search(text):
        out.add("less:chang")
    for m in _QUANTITY.finditer(text):  # "held less necrosis", "more yearly loss"
        noun = m.group("noun").lower()
        if noun not in _NOT_NOUNS and noun not in _OUTCOME_NOUNS:
            out.add(f"{'qmore' if m.group('adj').lower() == 'more' else 'qless'}:{noun[:5]}")
    for m in _COMPARED.finditer(text):
        noun = m.group("noun").lower()
        if noun not in _NOT_NOUNS:
            way = "more" if m.group("adj").lower() in _MORE else "less"
            out.add(f"{way}:{noun[:5]}")
    out |= _subgroups(text, lexicon)
    if lexicon is not None:
        out |= {f"design:{d}" for d in lexicon.designs_in(text)}
        # which of a pair of opposites goes with which compartment: "medial lesions mostly in varus
        # limbs and lateral lesions mostly in valgus limbs", clause by clause
        for piece in re.split(
            r";|,|\band\b|\bwhile\b|\bwhereas\b|\bbut\b", lexicon.normalise(text)
        ):
            poles = lexicon.poles_in(piece)
            for name, rx in lexicon.compartment_patterns.items():
                if poles and rx.search(piece):
                    out |= {f"at:{name}:{p}" for p in poles}
        if groups := _COMPARED_GROUPS.search(text):  # "as likely in A as in B": which is which
            out |= {f"first:{p}" for p in lexicon.poles_in(groups.group("a"))}
            out |= {f"second:{p}" for p in lexicon.poles_in(groups.group("b"))}
    return out


def _subgroups(text: str, lexicon: Lexicon | None) -> set[str]:
    """ "sub:<with|without>:<word>:<effect|none>" for each group a clause says a finding held in or
    not: "in older adults without OA on X-ray, BML change went with pain change; in those with OA on
    X-ray it did not" against "it held only in people who already had OA on X-ray"."""
    out = set()
    for piece in re.split(r";|\bwhereas\b|\bwhile\b|,\s*but\b", text):
        groups = list(_SUBGROUP.finditer(piece))
        if not groups:
            continue
        if _NONE.search(piece) or _IT_DID_NOT.search(piece):
            way = "none"
        elif _EFFECT.search(piece) or _HIGHER.search(piece) or _LOWER.search(piece):
            way = "effect"
        else:
            continue
        for m in groups:
            has = "without" if re.match(r"without|who\s+(?:did\s+not|had\s+no)|with\s+no", m.group("w"), re.I) else "with"  # fmt: skip
            what = lexicon.normalise(m.group("what")) if lexicon else m.group("what")
            for word in re.findall(r"[A-Za-z][\w-]{1,}", what):
                if word.lower() not in _SMALL_WORDS:
                    out.add(f"sub:{has}:{word.lower()[:5]}:{way}")
    return out


def states_finding(found: set[str] | frozenset[str]) -> bool:
    """Do these directions say which way a finding points (not only a design or a subgroup)?"""
    return any(d in DIRECTIONS or d.startswith(("more:", "less:", "first:")) for d in found)


def opposed(sentence: set[str], claim: set[str]) -> bool:
    """Does the sentence state the opposite of the claim's finding?"""
    if "no effect" in sentence and "effect" in claim and "no effect" not in claim:
        return True
    if "no effect" in claim and "effect" in sentence and "no effect" not in sentence:
        return True
    if ("before" in sentence and "after" in claim) or ("after" in sentence and "before" in claim):
        return True
    for d in sentence:  # "medial lesions mostly in valgus knees" where the claim has varus
        if d.startswith("at:"):
            head, pole = d.rsplit(":", 1)
            other = f"{head}:{pole[:-1]}{'-' if pole[-1] == '+' else '+'}"
            if other in claim and d not in claim:
                return True
    for d in sentence:  # the finding held in a group where the claim says it did not, or not
        if d.startswith("sub:"):
            head, way = d.rsplit(":", 1)
            other = f"{head}:{'none' if way == 'effect' else 'effect'}"
            if other in claim and d not in claim:
                return True
    firsts = [d.removeprefix("first:") for d in sentence if d.startswith("first:")]
    if any(f"first:{p[:-1]}{'-' if p[-1] == '+' else '+'}" in claim for p in firsts):
        return True  # the groups compared are the other way round
    if any(f"second:{p}" in claim and f"first:{p}" not in claim for p in firsts):
        return True  # the claim's second group is the sentence's first
    designs = ({d for d in sentence if d.startswith("design:")},
               {d for d in claim if d.startswith("design:")})  # fmt: skip
    if all(designs) and not designs_agree(
        {d.removeprefix("design:") for d in designs[0]},
        {d.removeprefix("design:") for d in designs[1]},
    ):
        return True  # "randomised trials" where the claim says the studies were level IV
    # "smaller lesions went with less pain" says what "larger lesions went with more pain" says:
    # a comparison flipped together with the outcome's direction is the same finding
    # (a sentence saying both, "a quarter grew and a fifth shrank", turns nothing round)
    flipped = [
        d for d in sentence if d.startswith(("more:", "less:"))
        and ("less:" if d.startswith("more:") else "more:") + d.split(":")[1] in claim
        and d not in claim
        and ("less:" if d.startswith("more:") else "more:") + d.split(":")[1] not in sentence
    ]  # fmt: skip
    if (
        "lower" in sentence
        and "association" in claim
        and not {"higher", "lower"} & claim
        and not any(d.startswith(("more:", "less:")) and d not in claim for d in sentence)
    ):
        return True  # "attrition protected against BMLs" where the study found it went with them
    for d in sentence:  # "held less necrosis" where the claim says more
        if d.startswith(("qmore:", "qless:")):
            way, noun = d.split(":")
            other = ("qless:" if way == "qmore" else "qmore:") + noun
            if other in claim and d not in claim and other not in sentence:
                return True
    turned = ("higher" in sentence and "lower" in claim) or (
        "lower" in sentence and "higher" in claim
    )
    return len(flipped) % 2 == 1 and not turned or len(flipped) % 2 == 0 and turned
