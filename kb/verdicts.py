"""The verdict on one statement: ordered rules over candidates and their agreement records.

Each rule reads the candidates' similarities and `Comparison` records (never a message) against the
one frozen `POLICY`; explanations are rendered from the records when a rule fires.
"""

from __future__ import annotations

from .agreement import describe
from .direction import directions
from .figures import Figure, is_checkable
from .findings import (
    finding_checked,
    first_sentence,
    opposite,
    reversed_finding,
    short,
    unseen,
    unverified_fit,
)
from .matching import Candidate
from .verdict_policy import POLICY as P

WEAK_ROLES = {"time", "p"}  # roles whose agreement alone does not tell which finding is meant
SECONDARY_ROLES = {"p", "ci"}  # roles that alone never make a sentence supported


def decide(
    text: str,
    figures: list[Figure],
    cands: list[Candidate],
    cited: set[str] | None,
    context: set[str] | None = None,
) -> tuple[str, Candidate | None, str]:
    """The verdict for one statement, the claim it rests on, and a one-line explanation.

    `cited`: the works the sentence cites (or points back to); `context`: the work another clause
    of the same sentence was matched to, which the statement likely speaks of but does not cite."""
    verdict, best, why = _decide(text, figures, cands, cited, context)
    if verdict == "supported" and best is not None and "mixed" in directions(text):
        return (
            "unverified",
            best,
            f"{why}; but the sentence states more than one finding, one of them the other way: "
            "split it so each is checked",
        )
    if verdict == "supported" and best is not None and not best.directed:
        # "a two-year trial in 50 people found that vitamin D shrank lesions": the figures agree
        # with how the study was run, and what it found must agree too
        verdict, best, why = finding_checked(text, best, cands, why)
    if verdict == "supported" and best is not None and _secondary_only(best):
        # "(p = 0.01)" beside another finding: the finding's own figure must agree, not its p
        said = ", ".join(r.figure.text for r in best.comparison.agreeing())
        return (
            "unverified",
            best,
            f"only {said} agrees with {best.claim['id']}, whose finding is "
            f"{best.claim.get('figure')}: the sentence does not give that figure, so which "
            "finding it reports is not checked",
        )
    return verdict, best, why


def _secondary_only(c: Candidate) -> bool:
    """Do the sentence's figures agree with the claim only in secondary roles (its p value, its
    interval) while the claim's own value, its finding, is given nowhere in the sentence?"""
    claim = c.claim
    if claim.get("measure") in ("association", "p_value"):
        return False  # a p value is the finding itself
    if all(claim.get(k) is None for k in ("value", "value_low", "value_high")):
        return False
    roles = {r.role for r in c.comparison.agreeing()}
    return bool(roles) and roles <= SECONDARY_ROLES


def _decide(
    text: str,
    figures: list[Figure],
    cands: list[Candidate],
    cited: set[str] | None,
    context: set[str] | None = None,
) -> tuple[str, Candidate | None, str]:
    checkable = [f for f in figures if is_checkable(f)]
    # a claim about another compartment is another analysis: it can only explain a contradiction
    same_place = [c for c in cands if not c.elsewhere]
    # a time point or a p value alone ("over 24 months", "p = 0.01") is no evidence of which
    # finding a sentence reports:
    # it counts only for a claim worded (nearly) as well as the best the figures do not contradict
    top_wording = max([c.wording for c in same_place if not c.conflicts] or [0.0])
    top_wording = max(P.t_figure, min(top_wording - P.wrong_analysis_margin, P.t_text))
    agreeing = [
        c for c in same_place
        if c.agrees and not c.conflicts
        and (c.sim >= P.t_figure or (c.comparison.value_agrees and c.sim >= P.t_figure_strong))
        and ({r.role for r in c.comparison.agreeing()} - WEAK_ROLES or c.wording >= top_wording)
        and c.shared >= P.min_figure_words
    ]  # fmt: skip
    if agreeing:
        # a verified claim that holds the figure outranks an unverified one that holds it too
        best = max(
            agreeing,
            key=lambda c: (c.verified and c.comparison.value_agrees and c.sim >= P.t_figure,
                           c.sim + c.weight, c.verified, c.told),
        )  # fmt: skip
        # the sentence names its source, and that source's own claim, worded at least as close,
        # gives another figure: the sentence is wrong about its source (not right about another)
        if cited and best.claim.get("source_doi") not in cited:
            own = [
                c for c in same_place
                if c.verified and c.conflicts and c.claim.get("source_doi") in cited
                and c.wording > best.wording and _value_differs(c)
            ]  # fmt: skip
            if own:
                rival = max(own, key=lambda c: c.sim + c.weight)
                return "contradicted", rival, _contradiction(rival, cands, None)
        # the figure is right for another analysis: the sentence's wording is clearly about a claim
        # that gives a different figure ("0.08" for the lateral compartment is the medial B)
        closer = [
            c for c in same_place
            if c.verified and c.conflicts and c.sim >= P.t_contra
            and c.wording >= best.wording + P.wrong_analysis_margin
            and c.claim.get("source_doi") == best.claim.get("source_doi")
            # (not on a total n beside a subgroup's finding, nor on a time point alone of a claim
            # whose own figure the sentence does not give: "OR 1.57 over four years" is the
            # knee-replacement finding's, whatever the cartilage finding's time point)
            and set(c.comparison.conflicts()) != {"n"}
            and not (set(c.comparison.conflicts()) == {"time"} and not c.comparison.value_agrees)
        ]  # fmt: skip
        if closer:
            rival = max(closer, key=lambda c: c.sim + c.weight)
            return "contradicted", rival, _contradiction(rival, cands, None)
        # the wording fits another analysis of the same source just as well, and that one gives
        # another figure: which analysis the sentence means is not clear, so it is not supported
        mine = {id(r.figure) for r in best.comparison.agreeing("value")}
        tied = [
            c for c in same_place
            if c.verified and c.wording >= best.wording
            and c.claim.get("source_doi") == best.claim.get("source_doi")
            and any(r.role == "value" and not r.agrees and id(r.figure) in mine
                    for r in c.comparison.records)
        ]  # fmt: skip
        single = len(best.comparison.agreeing()) == 1  # one figure, nothing else ties it down
        sized = best.claim.get("measure") in ("sample_size", "count")  # a count names its sample
        if tied and best.verified and single and not sized:
            rival = max(tied, key=lambda c: c.wording)
            # "27.5% of cases versus 18.6% of controls": the sentence gives the rival analysis a
            # figure of its own, of the same kind, and it is not the rival's
            (mine_fig,) = [r.figure for r in best.comparison.agreeing()]
            theirs = [
                r for r in rival.comparison.records
                if r.role == "value" and not r.agrees and r.figure is not mine_fig
                and (r.figure.kind, r.figure.unit) == (mine_fig.kind, mine_fig.unit)
            ]  # fmt: skip
            if theirs:
                return "contradicted", rival, _contradiction(rival, cands, None)
            return (
                "unverified",
                best,
                f"the figure agrees with {best.claim['id']} ({best.claim.get('figure')}), but the "
                f"wording fits {rival.claim['id']} ({rival.claim.get('figure')}) as well: say "
                "which analysis is meant",
            )
        source = best.claim.get("source_doi")
        if best.claim["status"] == "disputed":
            # the same figure, verified for another analysis of the same source: that one holds
            # (any such claim: "over 1,400 knees" is the cross-sectional sample, whatever words)
            holds = [
                c for c in same_place
                if c.verified and c.comparison.value_agrees and not c.conflicts
                and c.claim.get("source_doi") == source
            ]  # fmt: skip
            if holds:
                best = max(holds, key=lambda c: c.sim + c.weight)
                return _by_status(
                    text, best, cited, "; ".join(describe(best.comparison, best.claim)[0])
                )
            # what the disputed claim's own source says instead (never another study's n)
            rivals = [
                c for c in cands
                if c.verified and c.conflicts and c.claim.get("source_doi") == source
                and (c.sim >= P.t_figure or c.same_time)
            ]  # fmt: skip
            if rivals:
                rival = max(
                    rivals, key=lambda c: c.sim + c.weight + P.same_time_bonus * c.same_time
                )
                if fit := unverified_fit(rival, same_place):
                    return "unverified", fit, unseen(fit)
                return "contradicted", rival, _contradiction(rival, cands, best)
            return (
                "unverified",
                best,
                f"{best.claim['id']} is disputed: {first_sentence(best.claim.get('notes'))}",
            )
        verdict, best, why = _by_status(
            text, best, cited, "; ".join(describe(best.comparison, best.claim)[0])
        )
        # a loose share agreeing by chance ("a third", "roughly 40%") is common in a large KB:
        # unless the sentence names the source, the wording must share a few words with the claim
        weak = best.shared < P.min_shared_figure and best.wording < P.t_text
        if verdict == "supported" and _loose(best) and weak and not _names_source(best, cited):
            return (
                "unverified",
                best,
                f"the share agrees with {best.claim['id']} ({best.claim.get('figure')}), but the "
                "wording has little in common with it: check that it is the same finding",
            )
        return verdict, best, why
    # figures that agree (a time point, an n) are evidence of the same analysis, too
    # a sentence that cites a work is contradicted only by what that work says
    # a time point or an n alone contradicts only a claim the wording clearly speaks of
    conflicting = [
        c for c in same_place
        if c.conflicts and c.sim + max(0.0, c.weight) >= P.t_contra
        and c.claim["status"] != "deprecated"
        and (not cited or c.claim.get("source_doi") in cited)
        and (_value_differs(c) or c.wording >= P.t_text or _wrong_time(c))
    ]  # fmt: skip
    if conflicting:
        best = max(
            conflicting,
            key=lambda c: (c.verified, c.sim + c.weight + P.same_time_bonus * c.same_time),
        )
        fit = unverified_fit(best, same_place) if best.verified else None
        if fit is not None:
            # the sentence reports a finding of the source that the KB holds unverified ("the
            # stair-climbing item"): another figure of a verified analysis contradicts nothing
            return "unverified", fit, unseen(fit)
        if best.verified or best.claim["status"] == "disputed":
            return "contradicted", best, _contradiction(best, cands, None)
        return (
            "unverified",
            best,
            (
                f"the nearest claim, {best.claim['id']}, is itself unverified and gives {best.claim.get('figure')}"
            ),
        )
    reversal = reversed_finding(same_place, cited, context)
    if reversal is not None:
        return "contradicted", reversal, opposite(reversal)
    textual = [
        c for c in same_place
        if c.sim >= P.t_text and c.claim["status"] != "deprecated"
        and (c.shared >= P.min_shared_text or (c.shared >= 3 and c.coverage >= P.min_coverage))
    ]  # fmt: skip
    if textual:
        best = max(textual, key=lambda c: (c.sim + P.listed_bonus * c.listed, c.verified, c.told))
        # the cited work wins a near tie in wording, never a clear loss: a sentence worded as
        # another work's finding is that work's, whatever it cites
        clearer = max(textual, key=lambda c: c.wording)
        if clearer.wording >= best.wording + P.wrong_analysis_margin:
            best = clearer
        compared = bool(best.comparison.records)
        if checkable and not compared and best.verified:
            figs = ", ".join(f.text for f in checkable)
            return (
                "unsupported",
                best,
                (
                    f"related verified claim {best.claim['id']}, but the KB does not hold the figure {figs}"
                ),
            )
        verdict, best, why = _by_status(text, best, cited, "the wording matches")
        if verdict == "supported" and clearer is not best and clearer.wording > best.wording:
            # support on wording alone, while another claim is worded closer still: the cited work
            # wins the tie for ranking, but whose finding this is was not checked
            closer = f"({short(clearer.claim['statement'], 14)})"
            if clearer.claim.get("source_doi") == best.claim.get("source_doi"):
                why = f"the wording fits another finding of {best.claim['id']} better {closer}"
            else:
                why = f"the wording is closer to {clearer.claim['id']} {closer} than to {best.claim['id']}"
            return "unverified", best, f"{why}: check which finding the sentence reports"
        if verdict == "supported" and best.wording < P.t_text:
            # the bonus for a cited source ranks its claims first; it is no evidence on its own
            return (
                "unverified",
                best,
                f"the cited work's nearest claim, {best.claim['id']}, is worded differently: "
                f"{short(best.claim['statement'], 20)}",
            )
        if verdict == "supported" and best.coverage < P.min_text_coverage:
            return (
                "unverified",
                best,
                f"the sentence says more than {best.claim['id']}, the nearest verified claim, and "
                "the rest was not checked",
            )
        return verdict, best, why
    # "a study of 404 people": a sample size only one source has names that study, though what
    # the sentence says it found was not checked
    sized = [
        c for c in same_place
        if c.verified and c.claim.get("measure") == "sample_size" and c.comparison.value_agrees
        and (not cited or c.claim.get("source_doi") in cited)
    ]  # fmt: skip
    if len({c.claim.get("source_doi") for c in sized}) == 1:
        c = max(sized, key=lambda c: c.sim)
        if c.conflicts:  # "582 knees over three years": that sample was followed for 24 months
            return "contradicted", c, _contradiction(c, cands, None)
        said = ", ".join(r.figure.text for r in c.comparison.agreeing("value"))
        return (
            "unverified",
            c,
            f"{said} is the size of the study in {c.claim['id']} ({c.claim.get('figure')}), but "
            "what the sentence says that study found was not checked",
        )
    if checkable:
        figs = ", ".join(f.text for f in checkable)
        return "unsupported", None, f"no claim in the KB speaks to this ({figs})"
    return "unsupported", None, "no claim in the KB speaks to this"


def _wrong_time(c: Candidate) -> bool:
    """The claim's own value agrees and words are shared, but the time point differs: "55% over a
    decade" where the study's 55% is over eight years."""
    return (
        c.comparison.value_agrees
        and set(c.comparison.conflicts()) == {"time"}
        and (c.shared >= P.min_shared_figure or (c.shared >= 2 and c.coverage >= P.min_coverage))
    )


def _value_differs(c: Candidate) -> bool:
    """Does the claim's own value (or its p or interval) differ from the sentence's figure?"""
    return bool({"value", "p", "ci"} & set(c.comparison.conflicts()))


def _names_source(c: Candidate, cited: set[str] | None) -> bool:
    return bool(cited) and c.claim.get("source_doi") in cited


def _loose(c: Candidate) -> bool:
    """Does the claim's value agree only through a share printed loosely (in words, or hedged)?"""
    hits = [r.figure for r in c.comparison.agreeing("value")]
    return bool(hits) and all(
        f.kind == "percent" and (f.spelled or f.qualifier is not None) for f in hits
    )


def _by_status(
    text: str, best: Candidate, cited: set[str] | None, why: str
) -> tuple[str, Candidate, str]:
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
            (
                f"matches {claim['id']}{fig}, which comes from {src}, not from the work the sentence cites or names"
            ),
        )
    if claim["status"] == "verified":
        # a reversed finding: only where the wording alone (no bonus for a cited source) matches
        # (worded closely, or tied to the claim by its own figure, its p value or the work cited)
        tied = best.comparison.value_agrees or bool(best.comparison.agreeing("p"))
        if best.opposed and (best.wording >= P.t_text or tied or _names_source(best, cited)):
            return "contradicted", best, opposite(best)
        return "supported", best, f"agrees with verified claim {claim['id']}{fig}: {why}"
    if claim["status"] == "deprecated":
        return "unverified", best, f"{claim['id']} was withdrawn: {claim.get('deprecated_reason')}"
    note = first_sentence(claim.get("notes"))
    return (
        "unverified",
        best,
        f"{claim['id']}{fig} is {claim['status']} in the KB" + (f": {note}" if note else ""),
    )


def _contradiction(best: Candidate, cands: list[Candidate], disputed: Candidate | None) -> str:
    claim = best.claim
    why = "; ".join(describe(best.comparison, claim)[1])
    # a figure that belongs to another analysis of the same source
    own = {id(f) for f in best.comparison.agreeing_figures}  # (the claim's own p is no other's)
    for other in cands:
        if other is best or other.claim.get("source_doi") != claim.get("source_doi"):
            continue
        theirs = [f for f in other.comparison.agreeing_figures if id(f) not in own]
        if other.verified and theirs and other.claim.get("figure"):
            f = theirs[0]
            return (
                f"{why}. {f.text} belongs to another analysis ({other.claim['id']}: "
                f"{short(other.claim['statement'], 14)}); {claim['id']} gives {claim.get('figure')}"
            )
    return f"{why} ({claim['id']})"
