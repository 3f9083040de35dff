"""Findings read from wording: a reversed finding without a figure, the finding a sentence gives
beside a study's size, and a finding the KB holds only unverified.

Rules over candidates (`matching.Candidate`, whose `opposed` and `directed` come from `direction`),
read by `verdicts.decide`; thresholds in the one `verdict_policy.POLICY`.
"""

from __future__ import annotations

import re
from collections import Counter

from .direction import directions
from .matching import Candidate
from .verdict_policy import POLICY as P


def short(text: str | None, words: int = 18) -> str:
    bits = (text or "").split()
    return " ".join(bits[:words]) + ("…" if len(bits) > words else "")


def first_sentence(text: str | None) -> str:
    """A curator's note, cut for a writer: its first sentence, without web addresses or what
    stands in brackets (where it was read is on the claim's page)."""
    if not text:
        return ""
    plain = re.sub(r"\s+(?:at|on|from)\s+https?://[^\s,;]+", " online", text.strip())
    plain = re.sub(r"\s*\([^()]*\)|\s*https?://[^\s,;]+", "", plain)
    first = re.split(r"(?<=[.;])\s", plain, maxsplit=1)[0].rstrip(" ;,:")
    return first if first.endswith(".") else first + "."


def finding_checked(
    text: str, best: Candidate, cands: list[Candidate], why: str
) -> tuple[str, Candidate, str]:
    """A sentence supported by a claim that states no finding (a sample size, a dose, a
    duration) while the sentence states one (an effect, higher odds, before): the finding must be
    one the same source reports, worded closely, and not reversed."""
    if not any(not d.startswith("design:") for d in directions(text)):
        return "supported", best, why
    # the studies the sentence's figures fit ("600 people": two studies of the same 600)
    sources = {best.claim.get("source_doi")} | {
        c.claim.get("source_doi") for c in cands if c.verified and c.comparison.value_agrees
    }
    findings = [
        c for c in cands
        if c.verified and c.directed and c.claim.get("source_doi") in sources and not c.conflicts
        and c.sim >= P.t_figure and c.shared >= P.min_finding_words
    ]  # fmt: skip
    if not findings:
        return (
            "unverified",
            best,
            f"{why}; but what the sentence says the study found is not among its checked findings",
        )
    # the finding whose own figures agree with the sentence's (its time point) is the one meant
    top = max(findings, key=lambda c: (bool(c.comparison.agreeing()), c.wording))
    if top.opposed:
        return "contradicted", top, opposite(top)
    # the finding is what a writer wants to see as the evidence; the study's size agrees beside it
    fig = f" ({top.claim['figure']})" if top.claim.get("figure") else ""
    return "supported", top, f"agrees with verified claim {top.claim['id']}{fig}; and {why}"


def unverified_fit(best: Candidate, cands: list[Candidate]) -> Candidate | None:
    """An unverified claim of the same source that fits the sentence at least as well as the
    verified claim its figures contradict, and better in some way: it shares a word the verified
    one does not ("stair-climbing"), or agrees where the verified one conflicts (the time point)."""
    source = best.claim.get("source_doi")
    conflicts = set(best.comparison.conflicts())
    # words of the sentence that only an unverified claim of the source has
    said = set().union(
        *(c.words for c in cands if c.verified and c.claim.get("source_doi") == source)
    )
    fits = [
        c for c in cands
        if c.claim["status"] == "unverified" and c.claim.get("source_doi") == source
        and not c.conflicts and c.wording >= best.wording - P.unverified_fit_margin
        and (c.words - said or {r.role for r in c.comparison.agreeing()} & conflicts)
    ]  # fmt: skip
    return max(fits, key=lambda c: c.wording) if fits else None


def unseen(c: Candidate) -> str:
    return (
        f"the sentence seems to report {c.claim['id']}, which is not verified: "
        f"{first_sentence(c.claim.get('notes'))}"
    )


def reversed_finding(
    cands: list[Candidate], cited: set[str] | None, context: set[str] | None
) -> Candidate | None:
    """A verified claim the sentence clearly speaks of and states the opposite of ("lower odds"
    against "higher odds", "shrank" against "did not change", "randomised" against "level IV"):
    the best-worded claim (a tie within `reversal_tie`), or the best of the study the sentence
    names or speaks of, worded closely enough with the bonus for naming it."""
    verified = [c for c in cands if c.verified and not c.conflicts]
    named = (cited or set()) | (context or set())
    mine = [c for c in verified if c.claim.get("source_doi") in named]
    # of the study the sentence names, only words few of its claims share tell which one it means
    # ("kneecap" names one analysis of Aso's; "vitamin D" is in every claim of Perry's)
    counts = Counter(w for c in mine for w in c.words)
    telling = {w for w, n in counts.items() if n <= max(1, len(mine) / 2)}
    for pool, enough in ((mine, _named_reversal), ([] if cited else verified, _plain_reversal)):
        if not pool:
            continue
        first = max(pool, key=lambda c: c.sim)
        if first.directed and not first.opposed:
            continue  # the closest claim states the same finding: a near tie is no reversal
        hits = [
            c for c in pool
            if c.opposed and c.sim >= first.sim - P.reversal_tie and enough(c)
            and (pool is not mine or c.words & telling)
        ]  # fmt: skip
        if hits:
            return max(hits, key=lambda c: c.sim)
    return None


def _named_reversal(c: Candidate) -> bool:
    """A claim of the study the sentence names (or its other clause spoke of): the bonus for naming
    it carries the wording, but the claim must be about what the sentence is about."""
    return c.sim >= P.t_figure and c.shared >= P.min_shared_reversal_named and c.on_topic


def _plain_reversal(c: Candidate) -> bool:
    return c.wording >= P.t_contra and c.shared >= P.min_shared_figure


def opposite(c: Candidate) -> str:
    return (
        f"the sentence states the opposite finding: {c.claim['id']} says "
        f"{short(c.claim['statement'], 24)}"
    )
