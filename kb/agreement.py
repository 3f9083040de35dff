"""Does a figure printed in a sentence agree with a curated claim? One record per figure and role.

A figure is compared in a role: the claim's own `value` (or range), its `p` value, the analysis's
`n`, or its `time` point. Each comparison is an `Agreement` (role, figure, the claim's number, agrees)
and every message a reader sees is rendered from those records at the end: no decision re-reads a
message. Tolerances follow how the figure was printed (its decimals, its hedge).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .figures import Figure, extract_figures, is_checkable
from .lexicon import Lexicon
from .numbers import number_like, parse_number

NO_LEXICON = Lexicon()

ROLES = ("value", "ci", "p", "n", "time")


@dataclass(frozen=True)
class Agreement:
    """One figure of the sentence compared with one number of a claim, in one role."""

    role: str  # value | ci | p | n | time
    figure: Figure
    claim_value: float | None  # the claim's number in this role (months for a time point)
    agrees: bool


@dataclass
class Comparison:
    """Every comparison of a sentence's figures with one claim, and the figures left out."""

    records: list[Agreement]
    missed: list[Figure]  # checkable figures no role of this claim could compare

    def agreeing(self, role: str | None = None) -> list[Agreement]:
        return [r for r in self.records if r.agrees and (role is None or r.role == role)]

    def conflicts(self) -> list[str]:
        """Roles compared where no figure agrees: the sentence and the claim differ there."""
        roles = dict.fromkeys(r.role for r in self.records)
        return [role for role in roles if not self.agreeing(role)]

    @property
    def value_agrees(self) -> bool:
        """The claim's own value (not only its n or time point) agrees with a figure."""
        return any(r.figure.kind != "duration" for r in self.agreeing("value"))

    @property
    def same_time(self) -> bool:
        """The sentence's time point is the claim's: the same analysis."""
        return bool(self.agreeing("time"))

    @property
    def agreeing_figures(self) -> list[Figure]:
        return [r.figure for r in self.agreeing()]


def unit_family(unit: str | None, lexicon: Lexicon = NO_LEXICON) -> str:
    """The family a count counts in: "participants" and "people" alike (from the lexicon)."""
    return lexicon.family(unit)


def compatible(fig: Figure, claim: dict[str, Any], lexicon: Lexicon = NO_LEXICON) -> bool:
    """Can this figure be compared with the claim's own value?"""
    measure, unit = claim.get("measure") or "", (claim.get("unit") or "").lower()
    if fig.kind == "percent":  # a share, or a change in per cent ("fell by 70%")
        if fig.unit == "% change":
            stated = _stated(claim.get("statement") or "")[0]
            return unit.startswith("%") and any(f.unit == "% change" for f in stated)
        return unit.startswith("%") and " per " not in f"{unit} "  # "% of area", not "% per year"
    if fig.kind == "multiplier":
        return measure in ("ratio", "odds_ratio", "hazard_ratio", "relative_risk") or unit in (
            "ratio",
            "×",
        )
    if fig.kind == "measure":
        if fig.unit in ("mm³", "mm²", "mm", "cm", "cm³"):
            return unit == fig.unit
        return fig.unit == measure
    if fig.kind == "count":
        return bool(unit) and unit_family(unit, lexicon) == unit_family(fig.unit, lexicon)
    if fig.kind == "duration":
        return measure == "duration" or (unit in ("years", "months") and measure != "mean")
    if fig.kind == "age":
        return measure == "mean" and unit == "years"
    if fig.kind == "score":
        return unit == fig.unit.lower()
    if fig.kind == "dose":
        return unit.split("/")[0] == fig.unit.lower().split("/")[0]
    return False


NEARLY = 0.075  # "nearly", "almost": at most this share below the figure ("almost 600": 582)
NEARLY_POINTS = 5.0  # ...or, for a share, this many points below ("just under half": 45.1%)


def tolerance(fig: Figure, target: float) -> float:
    tol = 0.5 * 10 ** (-fig.decimals)
    if fig.spelled and fig.kind == "percent":
        tol = max(tol, 2.0)
    if fig.qualifier == "about":
        tol = max(tol, 0.1 * abs(target))
    return tol + 1e-9


def _claim_number(claim: dict[str, Any], key: str, fig: Figure) -> float | None:
    value = claim.get(key)
    if value is None:
        return None
    if fig.kind == "duration" and (claim.get("unit") or "").lower() == "years":
        return value * 12
    return value


def value_agrees(fig: Figure, claim: dict[str, Any]) -> bool:
    """Does a printed figure agree with the claim's value or range, given the figure's hedge?"""
    value = _claim_number(claim, "value", fig)
    low = _claim_number(claim, "value_low", fig)
    high = _claim_number(claim, "value_high", fig)
    is_range = low is not None and high is not None and value is None
    if fig.low is not None and fig.high is not None:
        tol = 0.5 * 10 ** (-fig.decimals) + 1e-9
        if low is not None and high is not None:
            return abs(fig.low - low) <= tol and abs(fig.high - high) <= tol
        return value is not None and fig.low - tol <= value <= fig.high + tol
    v = fig.value
    if v is None:
        return False
    if fig.kind == "measure" and fig.unit == "p_value":
        target = claim.get("p_value") if claim.get("measure") != "p_value" else value
        if target is None:
            return False
        if fig.qualifier == "less than":
            return target < v + 1e-12
        return abs(target - v) <= tolerance(fig, target)
    ceiling = high if is_range else value
    floor = low if is_range else value
    if ceiling is None:
        return False
    tol = tolerance(fig, ceiling)
    if fig.qualifier == "up to":
        return abs(ceiling - v) <= tol
    if fig.qualifier == "nearly":  # "almost 600" is 582, never 651: a little below, at most
        below = NEARLY_POINTS if fig.kind == "percent" else NEARLY * abs(v)
        return v - max(tol, below) <= ceiling <= v + tol
    if fig.qualifier in ("more than", "at least"):
        return floor >= v - tol
    if fig.qualifier == "less than":
        return ceiling <= v + tol
    if is_range:
        return low - tol <= v <= high + tol
    return abs(value - v) <= tol


def _is_sample_count(f: Figure, lexicon: Lexicon) -> bool:
    """A count that can be an analysis's n: people, or knees (or the joints a study counts)."""
    return (
        f.kind == "count"
        and f.value is not None
        and (unit_family(f.unit, lexicon) in ("people", "knees") or f.unit in ("hips", "joints"))
    )


def _owner(duration: Figure, figures: list[Figure], mine: list[Figure]) -> Figure | None:
    """The figure a time point belongs to when a sentence gives several of the same kind, each with
    its own analysis: in "1,412 knees cross-sectionally and 582 over 24 months" the 24 months is the
    582's, not the 1,412's. None when the sentence gives one such figure (the time point is all of
    the sentence's) or none before it."""
    for fig in mine:
        peers = [f for f in figures if f.kind == fig.kind and f.unit == fig.unit]
        before = [f for f in peers if f.end <= duration.start]
        if len(peers) > 1 and before:
            return before[-1]
    return None


def compare_figures(
    figures: list[Figure], claim: dict[str, Any], lexicon: Lexicon = NO_LEXICON
) -> Comparison:
    """Each figure of the sentence compared, in every role it can play, with one claim."""
    records: list[Agreement] = []
    has_value = any(claim.get(k) is not None for k in ("value", "value_low", "value_high"))
    as_value: list[Figure] = []
    if has_value:
        as_value = [f for f in figures if compatible(f, claim, lexicon)]
        number = claim.get("value")
        for f in as_value:
            agrees = value_agrees(f, claim)
            if not agrees and f.kind == "count" and stated_agrees(f, claim, lexicon):
                # "17 studies" for "of the 17 studies, 16 …": the total the claim itself states
                records.append(Agreement("n", f, f.value, True))
            else:
                records.append(Agreement("value", f, number, agrees))
    if "ci" in (claim.get("interval") or "").lower() and claim.get("value") is not None:
        for f in figures:
            if f.kind == "ci" and f.low is not None and f.high is not None:
                tol = 0.5 * 10 ** (-f.decimals) + 1e-9
                agrees = (
                    claim.get("value_low") is not None
                    and abs(f.low - claim["value_low"]) <= tol
                    and abs(f.high - claim["value_high"]) <= tol
                )
                records.append(Agreement("ci", f, None, agrees))
    if claim.get("p_value") is not None and claim.get("measure") != "p_value":
        ps = [f for f in figures if f.kind == "measure" and f.unit == "p_value"]
        records += [Agreement("p", f, claim["p_value"], value_agrees(f, claim)) for f in ps]
    n = claim.get("n")
    if n is not None and claim.get("measure") != "sample_size":
        value_counts = any(r.agrees and r.figure.kind == "count" for r in records)
        counts = [f for f in figures if _is_sample_count(f, lexicon) and f not in as_value]
        for f in counts:
            agrees = abs(f.value - n) <= tolerance(f, n)
            # a count that is the claim's own (agreeing) value leaves the n unjudged
            if agrees or not value_counts:
                records.append(Agreement("n", f, n, agrees))
    tp = claim.get("timepoint_months")
    if tp is not None:
        durations = [f for f in figures if f.kind == "duration" and f.value is not None]
        mine = [r.figure for r in records if r.agrees and r.role in ("value", "n")]
        durations = [d for d in durations if _owner(d, figures, mine) in (None, *mine)]
        records += [
            Agreement("time", f, tp, abs(f.value - tp) <= max(0.5, 0.05 * tp)) for f in durations
        ]
    touched = {id(r.figure) for r in records}
    missed = [
        f for f in figures if is_checkable(f) and f.kind != "duration" and id(f) not in touched
    ]
    return Comparison(records, missed)


def fmt_number(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def describe(comparison: Comparison, claim: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(agreements, conflicts) as a reader reads them: one line per role."""
    claim_fig = claim.get("figure") or ""
    agree, conflict = [], []
    for role in ROLES:
        mine = [r for r in comparison.records if r.role == role]
        if not mine:
            continue
        hits = [r for r in mine if r.agrees]
        first = (hits or mine)[0]
        text = first.figure.text
        number = fmt_number(first.claim_value) if first.claim_value is not None else ""
        if hits and role == "value":
            agree.append(f"{text} matches {claim_fig}")
        elif hits and role == "n":
            agree.append(f"n = {number} matches")
        elif hits and role == "time":
            agree.append(f"{text} matches the time point")
        elif hits and role == "ci":
            agree.append(f"the interval {text} matches")
        elif hits:
            agree.append(f"{text} matches")
        elif role == "time" and first.claim_value == 0:
            conflict.append(
                f"the sentence ties it to {text}, but the figure comes from a "
                "cross-sectional analysis (one time point)"
            )
        elif role == "value":
            conflict.append(f"the sentence says {text}; the source gives {claim_fig}")
        elif role == "ci":
            conflict.append(f"the sentence gives the interval {text}; the source gives {claim_fig}")
        elif role == "p":
            conflict.append(f"the sentence says {text}; the source gives p = {first.claim_value:g}")
        elif role == "n":
            conflict.append(f"the sentence says {text}; the analysis had n = {number}")
        else:
            conflict.append(f"the sentence says {text}; the figure is at {number} months")
    return agree, conflict


@lru_cache(maxsize=4096)
def _stated(text: str) -> tuple[tuple[Figure, ...], frozenset[float]]:
    """The figures a claim's own wording states, and the bare numbers no figure reading covers."""
    figures = tuple(extract_figures(text))
    numbers = set()
    for n in number_like(text):
        if any(f.start <= n.start < f.end for f in figures):
            continue
        try:
            numbers.add(parse_number(n.text.rstrip(".,"))[0])
        except ValueError:
            continue
    return figures, frozenset(numbers)


def _same_kind(a: Figure, b: Figure, lexicon: Lexicon) -> bool:
    if a.kind != b.kind:
        return False
    if a.kind == "count":
        return unit_family(a.unit, lexicon) == unit_family(b.unit, lexicon)
    if a.kind == "dose":
        return a.unit.split("/")[0].lower() == b.unit.split("/")[0].lower()
    return a.unit == b.unit


def stated_agrees(fig: Figure, claim: dict[str, Any], lexicon: Lexicon = NO_LEXICON) -> bool:
    """Is this figure one the claim's statement (or its printed figure) itself states, in the same
    kind and unit: the exposure window of "rose over 12 months", a subgroup's "48 of 309 women"?"""
    for text in (claim.get("statement") or "", claim.get("figure") or ""):
        for theirs in _stated(text)[0]:
            if not _same_kind(fig, theirs, lexicon):
                continue
            pseudo = {"value": theirs.value, "value_low": theirs.low, "value_high": theirs.high,
                      "measure": "p_value" if theirs.unit == "p_value" else ""}  # fmt: skip
            if value_agrees(fig, pseudo):
                return True
        if fig.kind == "count" and fig.low is None and fig.value in _stated(text)[1]:
            return True  # "48 of the 309 women" beside "48 (16%) met the criteria"
    return False


def number_stated(raw: str, claim: dict[str, Any], after: str = "") -> bool:
    """Is a bare number (one no figure reading covers) printed in the claim's own wording, and
    (given the sentence's words `after` it) said of the same thing: "26 given cholecalciferol" is
    not the claim's "24 given cholecalciferol and 26 given placebo"?"""
    try:
        value = parse_number(raw.rstrip(".,"))[0]
    except ValueError:
        return False
    for text in (
        claim.get("statement") or "",
        claim.get("figure") or "",
        claim.get("interval") or "",
    ):
        figures, bare = _stated(text)
        if value in bare or any(f.value == value and f.kind != "year" for f in figures):
            return _said_of_the_same(value, text, after)
    return False


def _said_of_the_same(value: float, text: str, after: str) -> bool:
    """Unless the sentence's words after the number are what the claim says after another of its
    numbers (and not after this one): "26 given cholecalciferol" where the claim has "24 given
    cholecalciferol and 26 given placebo" swaps the arms."""
    mine = _after_words(after)
    if not mine:
        return True
    this, others = set(), set()
    for n in number_like(text):
        try:
            theirs_value = parse_number(n.text.rstrip(".,"))[0]
        except ValueError:
            continue
        words = _after_words(text[n.end :])
        (this if theirs_value == value else others).update(words)
    return bool(mine & this) or not mine & others


def _after_words(text: str) -> set[str]:
    """The first few words after a number, up to the next number or clause break."""
    head = re.split(r"[\d,;()]|\band\b|\bor\b", text, maxsplit=1)[0]
    return {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z-]{2,}", head)[:3]} - _LINKING


_LINKING = {"the", "were", "was", "had", "given", "got", "received", "took", "with", "who",
            "whom", "them", "of", "people", "patients", "participants"}  # fmt: skip
