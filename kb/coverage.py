"""What in a sentence its source vouches for, and what it does not.

Once a sentence rests on a claim, every other number-like expression in it must agree with a
verified claim of the same source (the trial's n beside the dose of one arm, the exposure window
beside the outcome's time point) or it is listed as `unchecked`, keeping the sentence at most
`unverified`. Here too: a study design or a year the sentence gives, subgroup counts, and another
study's sample size credited to the cited work.
"""

from __future__ import annotations

import re
from typing import Any

from .agreement import compare_figures, number_stated, stated_agrees
from .figures import Figure
from .lexicon import designs_agree
from .matching import Candidate, ClaimIndex, tokens
from .names import COHORT_RE
from .numbers import number_like, parse_number
from .references import SERIOUS_UPDATES, source_years
from .sentences import Span
from .subgroup import conflicts as subgroup_conflicts

# kinds of figure a study reports once (its dose, its participants' age): printed otherwise, wrong
SINGLE_VALUED_KINDS = ("dose", "age")

_CODED_NAME_RE = re.compile(r"(?<![\w-])[A-Za-z]+[-‐]?\d[\d,.]*[A-Za-z0-9]*(?<![.,])(?![\w-])")


def _plain(text: str) -> str:
    return re.sub(r"[-‐\s]+", "", text.lower())


def agreeing_rows(
    figures: list[Figure], rows: list[dict[str, Any]], index: ClaimIndex
) -> list[dict[str, Any]]:
    """The rows (with a source) whose own value a figure of the sentence agrees with."""
    return [
        r for r in rows
        if r.get("source_doi") and compare_figures(figures, r, index.lexicon).value_agrees
    ]  # fmt: skip


def subgroups(
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
    # (only for a fact of the whole study, its dose or its participants' age: a share with an n of
    # its own that differs is another analysis, "52% of 71 new BMLs" beside "198 people")
    study_level = {id(row) for row, c in compared
                   if any(r.figure.kind in SINGLE_VALUED_KINDS for r in c.agreeing("value"))}  # fmt: skip
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
            if not comparison.agreeing(r.role)
            and (r.role == "value" or id(r.figure) not in owned or id(row) not in study_level)
        } - ({"value"} if bare_value else set())  # fmt: skip
        if conflicts or not (comparison.agreeing() or bare_value):
            continue  # only a claim the sentence's figures agree with (and never contradict) vouches
        claims.append(row)
        agreed |= {id(f) for f in comparison.agreeing_figures}
    disagreeing = [(f, c) for f, c in disagreeing if id(f) not in agreed]
    return claims, agreed, disagreeing


def design_unsaid(index: ClaimIndex, text: str, best: Candidate) -> tuple[str, str] | None:
    """A study design the sentence names (lexicon `designs`) that its source's verified claims do
    not give (in their wording or as the study's design): ("contradicted", why) where they give
    another, ("unverified", why) where they give none; None where they agree or none is named."""
    said = index.lexicon.designs_in(text)
    if not said:
        return None
    source = best.claim.get("source_doi")
    rows = [best.claim, *index.cited_claims({source} if source else set(), [best.claim])]
    theirs = set()
    for row in rows:
        if row["status"] == "verified":
            theirs |= index.lexicon.designs_in(row.get("statement") or "")
            # (the design field says "cohort", the words a writer uses "a cohort study")
            theirs |= index.lexicon.designs_in(f"{row.get('study_design') or ''} study")
    if designs_agree(said, theirs):
        return None
    if theirs:
        return "contradicted", (
            f"the sentence calls the study design {' or '.join(sorted(said))}; the source "
            f"({best.claim['id']}) gives it as {' or '.join(sorted(theirs))}"
        )
    return "unverified", "the study design it names was not checked"


def sized_elsewhere(
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
    row = index.source(doi)
    return {float(y) for y in source_years(row)} if row else set()


def _dates_the_study(index: ClaimIndex, after: str) -> bool:
    """Does a year stand before the noun of a study ("the 2017 bone-turnover marker study", "a
    2023 review")? Not a citation's year, nor a calendar date."""
    words = re.match(r"(?:\s*[A-Za-z][\w-]*){1,4}", after)
    return bool(words) and any(index.lexicon.family(w) == "studies" for w in words.group().split())


def unchecked_in(
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
    years = best is not None and any(f.kind == "year" for f in figures)
    dated = _study_years(index, best.claim.get("source_doi")) if years else set()
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
        after = span.text[n.end :]
        if any(a <= start < b for a, b in read) or any(
            number_stated(n.text, c, after) for c in claims
        ):
            continue
        out.append({"text": n.text, "start": start, "end": end, "why": "not read as a figure"})
    return sorted(out, key=lambda u: u["start"]), disagreeing, claims[1:]


def swapped_groups(
    index: ClaimIndex, span: Span, figures: list[Figure], claims: list[dict[str, Any]]
) -> str | None:
    """Two groups compared, each figure agreeing with one claim, but each figure's own words (those
    after it, up to the next figure) fit the other claim: "a new BML in 10.8% of knees that went on
    to frequent pain and in 32.4% of controls", where 10.8% is the controls'. None if no swap."""
    owner: dict[int, dict[str, Any]] = {}
    for row in claims:
        for r in compare_figures(figures, row, index.lexicon).agreeing("value"):
            owner.setdefault(id(r.figure), row)
    # figures of one kind, each another claim's: the groups compared ("10.8% ... and 32.4%")
    kinds: dict[tuple[str, str], list[Figure]] = {}
    for f in figures:
        if id(f) in owner:
            kinds.setdefault((f.kind, f.unit), []).append(f)
    compared = [fs for fs in kinds.values() if len({id(owner[id(f)]) for f in fs}) >= 2]
    if not compared:
        return None
    owner = {id(f): owner[id(f)] for f in compared[0]}
    mine = sorted(compared[0], key=lambda f: f.start)
    for f, nxt in zip(mine, [*mine[1:], None], strict=True):
        local = span.text[f.end - span.start : (nxt.start - span.start) if nxt else None][:80]
        words = set(tokens(index.lexicon.normalise(local))) - index.common
        fit = {id(row): len(words & set(tokens(index.lexicon.normalise(row["statement"]))))
               for row in owner.values()}  # fmt: skip
        own = fit[id(owner[id(f)])]
        if any(n > own for n in fit.values()):
            return (
                f"{f.text} agrees with {owner[id(f)]['id']}, but the words after it describe "
                "another group the source reports: check which figure belongs to which group"
            )
    return None


def share_of_something_else(
    index: ClaimIndex, span: Span, figures: list[Figure], claims: list[dict[str, Any]]
) -> str | None:
    """A share that agrees with a claim's, said of what another claim of the same source is about:
    "71% of them women", where the study's 71% had OA on X-ray and 49% were women; "29% had a BML
    on MRI", where its 29% had knee pain. The words just after the share name it; only words the
    source uses elsewhere, and the agreeing claim never, tell it is another share."""
    for f in figures:
        if f.kind != "percent":
            continue
        rows = [row for row in claims
                if compare_figures([f], row, index.lexicon).value_agrees]  # fmt: skip
        if not rows:
            continue
        after = re.split(r"[\d;()]|\bwhile\b|\bwhereas\b|\bbut\b", span.text[f.end - span.start :])[
            0
        ]
        words = set(tokens(index.lexicon.normalise(after))[:5]) - index.common
        source = rows[0].get("source_doi")
        if not words or not source:
            continue
        said = set().union(*(set(_words(index, row)) for row in rows))
        elsewhere = set().union(*(
            set(_words(index, row)) for row in index.cited_claims({source}, rows)
        ))  # fmt: skip
        if (words & elsewhere) - said and not words & said:
            return (
                f"{f.text} agrees with {rows[0]['id']}, but the words after it name what another "
                "finding of the same study is about: check what the sentence says it is a share of"
            )
    return None


def _words(index: ClaimIndex, row: dict[str, Any]) -> list[str]:
    return tokens(index.lexicon.normalise(row.get("statement") or ""))


def opposite_word(
    index: ClaimIndex, text: str, claims: list[dict[str, Any]]
) -> tuple[str, str, dict[str, Any]] | None:
    """A word of the sentence whose opposite (lexicon `opposites`) is what the claim it rests on
    says instead: "men" where the claim says "women", "posterior" where it says "anterior". Returns
    (the sentence's word, the claim's word, the claim), or None."""
    mine = index.lexicon.poles_in(index.lexicon.normalise(text))
    if not mine:
        return None
    for row in claims:
        said = f"{row.get('statement') or ''} {row.get('population') or ''}"
        theirs = index.lexicon.poles_in(index.lexicon.normalise(said))
        for pole in mine:
            other = pole[:-1] + ("-" if pole[-1] == "+" else "+")
            if other in theirs:
                a, b = index.lexicon.opposites[int(pole[:-1])]
                return (a, b, row) if pole[-1] == "+" else (b, a, row)
    return None


def cohort_elsewhere(index: ClaimIndex, text: str, best: Candidate) -> str | None:
    """A cohort the sentence names ("the Osteoarthritis Initiative", "the Iwaki Health Promotion
    Project") that some claims we hold name but none of its source's: the sentence ties the
    finding to the wrong cohort. None if it names none we know, or the right one."""
    source = best.claim.get("source_doi")
    if not source:
        return None
    for m in COHORT_RE.finditer(text):
        words = m.group().split()  # "Using Osteoarthritis Initiative": the name is a tail of it
        known = [n for n in (" ".join(words[k:]) for k in range(len(words) - 1))
                 if _claims_mention(index, n)]  # fmt: skip
        if known and not _claims_mention(index, known[0], source):
            return (
                f"the sentence names the {known[0]}, but {best.claim['id']}'s study is not from "
                "it: check which study the finding comes from"
            )
    return None


def _claims_mention(index: ClaimIndex, name: str, source: str | None = None) -> bool:
    """Do any claims (of this source, if given) name the cohort, in their statement, population or
    notes?"""
    sql = "select 1 from claims where (statement like ? or population like ? or notes like ?)"
    params = [f"%{name}%"] * 3
    if source:
        sql, params = sql + " and source_doi = ?", [*params, source]
    return index.db.execute(sql + " limit 1", params).fetchone() is not None


_NEGATED = re.compile(
    r"\b(?:no|not|without|never)\s+(?P<what>(?:[\w-]+\s+){1,2}[\w-]+)", re.IGNORECASE
)


def negated_phrase(span: Span, best: Candidate) -> str | None:
    """A phrase the sentence negates, just after the claim's own figure, that the claim states
    without a negation: "71% had no knee OA visible" where the study's 71% had knee OA visible (not
    "401 patients, of whom 50 had no knee pain", the complement of its 351). None if there is none."""
    said = (best.claim.get("statement") or "").lower()
    text = span.text
    ends = [r.figure.end - span.start for r in best.comparison.agreeing("value")]
    for m in _NEGATED.finditer(text):
        if not any(
            0 <= m.start() - end <= 25 and not re.search(r"\d", text[end : m.start()])
            for end in ends
        ):
            continue  # (another figure between: "401 patients, of whom 50 had no knee pain")
        what = re.sub(r"\s+", " ", m.group("what").lower())
        at = said.find(what)
        if at < 0:
            continue
        if not re.search(r"\b(?:no|not|without|never|any)\s+(?:[\w-]+\s+){0,1}$", said[:at]):
            return m.group().strip()
    return None
