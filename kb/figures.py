"""Figures in running text: percentages, ranges, multipliers, counts, durations, doses and measured values.

Pure functions, no database. Every figure keeps its exact character span in the input, its hedge
("up to", "about", "more than") and a normalised unit so it can be compared with a curated claim.

>>> [f.text for f in extract_figures("Up to 66% of 1,412 knees, over two years.")]
['Up to 66%', '1,412 knees', 'two years']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .numbers import (
    FRACTION_RE,
    FRACTIONS,
    NUMBER_RE,
    RATIO_RE,
    is_year,
    mask,
    negative_at,
    parse_number,
)

_CI_AFTER = re.compile(r"\s*(?:%|per\s?cent)?\s*(?:CI\b|confidence|credible)", re.IGNORECASE)
_SINGULAR_STUDY = {"review", "study", "trial", "cohort", "analysis", "survey", "paper"}

# Nouns a count can carry, singular -> plural. People-like nouns share one family. In a noun phrase
# the last noun counts: "fifteen knee subregions" are subregions, "ten knee MRI scans" are scans.
_COUNT_NOUNS = {
    "knee": "knees", "patient": "patients", "participant": "participants", "person": "people",
    "people": "people", "individual": "individuals", "subject": "subjects", "adult": "adults",
    "woman": "women", "women": "women", "man": "men", "men": "men", "volunteer": "volunteers",
    "child": "children", "children": "children", "study": "studies", "trial": "trials",
    "cohort": "cohorts", "dataset": "datasets", "scan": "scans", "image": "images",
    "subregion": "subregions", "case": "cases", "hip": "hips", "joint": "joints",
    "lesion": "lesions", "centre": "centres", "center": "centres", "site": "sites",
    "country": "countries", "review": "reviews", "rct": "trials", "point": "points",
    "reader": "readers", "radiograph": "radiographs", "mri": "scans", "bml": "lesions",
}  # fmt: skip
PEOPLE = {"patients", "participants", "people", "individuals", "subjects", "adults", "women",
          "men", "volunteers", "children"}  # fmt: skip
_NOUN_ALT = "|".join(
    sorted({*(_COUNT_NOUNS), *(v for v in _COUNT_NOUNS.values()), *(k + "s" for k in _COUNT_NOUNS)},
           key=len, reverse=True)
)  # fmt: skip
_COUNT_AFTER = re.compile(
    rf"(?:\s+|-)(?:\(?(?!(?:of|in|and|or|to|with|without|from|the|a|an|for|had|have|has|were|was|"
    rf"are|is|who|whose|which|that|did|do|does)\b)[A-Za-z][\w\-]*\)?\s+){{0,2}}?"
    rf"(?P<u>{_NOUN_ALT})\b",
    re.IGNORECASE,
)
_NOUN_HEAD = re.compile(rf"\s+(?P<u>{_NOUN_ALT})\b", re.IGNORECASE)
_PERCENT_AFTER = re.compile(r"\s*(?:%|per\s?cent\b|percent\b)", re.IGNORECASE)
_MULT_AFTER = re.compile(r"(?:\s*×|\s*x(?=\s|$|[.,;])|-?\s?fold\b|\s+times\b)", re.IGNORECASE)
_DURATION_AFTER = re.compile(
    r"(?:\s+|-)(?P<u>years?|months?|weeks?|days?|yrs?|decades?)\b", re.IGNORECASE
)
_TIME_AFTER = re.compile(
    r"(?:\s+|-)(?P<u>minutes?|mins?|hours?|hrs?|seconds?|secs?)\b", re.IGNORECASE
)
_OF_THE = re.compile(r"\s+of\s+(?:the\s+|these\s+|those\s+|all\s+)?", re.IGNORECASE)
_DOSE_AFTER = re.compile(
    r"\s*(?P<u>IU|mg|µg|mcg|ml|mL|kg|g|units?)(?P<per>\s*(?:/\s*d(?:ay)?|per\s+day|daily|a\s+day))?\b"
)
_SIZE_AFTER = re.compile(r"\s*(?P<u>mm³|mm3|cm³|cm3|mm²|mm2|mm|cm)(?![\w])")
_SOMEDAY_BEFORE = re.compile(
    r"(?:\b(?:may|might|could|can|will|would|should|must)\s+|^\s*|[.!?]\s+)$", re.IGNORECASE
)
_AGE_AFTER = re.compile(
    r"(?:\s+|-)(?:old|of\s+age)\b", re.IGNORECASE
)  # "63 years old", "70-year-old"
_AGE_BEFORE = re.compile(
    r"\b(?:aged|age(?:d)?(?:\s+(?:of|was|is))?|(?:mean|average)\s+age\s*(?:of|was|is|:|=)?)\s*$",
    re.IGNORECASE,
)
_OF_WHOM_AFTER = re.compile(r"\s+of\s+(?:whom|them)\b", re.IGNORECASE)
_OF_WHOM_BEFORE = re.compile(r"\bof\s+(?:whom|them)[\s,]+$", re.IGNORECASE)
_N_BEFORE = re.compile(r"(?<![A-Za-z])[nN]\s*[=:]\s*$")  # "n = 90": a sample size
_SAMPLE_BEFORE = re.compile(r"\bsample(?:\s+size)?\s+of\s+$", re.IGNORECASE)  # "a sample of 600"
# a named scale's score: "a mean MINORS score of 9", "quality (MINORS) score was 19"
_SCORE_BEFORE = re.compile(  # ... and "a mean MINORS quality score of 9": a word may stand between
    r"\b\(?(?P<scale>[A-Z][A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*)\)?\s+(?:[a-z]+\s+)?scores?\s+"
    r"(?:was|of|=|:)\s*$"
)
_CI_BEFORE = re.compile(
    r"(?:\bCI|confidence\s+interval|credible\s+interval)\s*[:,]?\s*(?:of\s+|from\s+)?$",
    re.IGNORECASE,
)
_RANGE_JOIN = re.compile(
    r"\s*(?:%|per\s?cent)?(?:\s*[–—]\s*|-(?=\s*\d)|-?\s+to\s+|\s+and\s+)", re.IGNORECASE
)
_BETWEEN_BEFORE = re.compile(r"\bbetween\s+$", re.IGNORECASE)
# a share after "by" is how much something changed ("reduced by 20%"), never how common it is
_CHANGE_BEFORE = re.compile(r"(?<!followed\s)\bby\s+$", re.IGNORECASE)  # (not "followed by 34%")
_CHANGE_AFTER = re.compile(
    r"\s+(?:more|less|fewer|higher|lower|greater|smaller|bigger|larger)\b", re.IGNORECASE
)
_HEDGE_BEFORE = re.compile(
    r"\b(?P<h>up\s+to|as\s+many\s+as|as\s+much\s+as|as\s+high\s+as|about|around|roughly|"
    r"approximately|approx\.|nearly|almost|just\s+under|just\s+short\s+of|some|more\s+than|over|"
    r"greater\s+than|above|"
    r"in\s+excess\s+of|at\s+least|less\s+than|fewer\s+than|under|below|at\s+most|no\s+more\s+than)"
    r"\s+(?:between\s+)?$",
    re.IGNORECASE,
)
_MEASURE_BEFORE = re.compile(
    r"(?<![A-Za-z0-9])(?P<m>Dice(?:\s+(?:coefficient|score|similarity))?|R²|R\^?2|r²|R-?\s?squared|adjusted\s+OR|OR|odds\s+ratio|"
    r"HR|hazard\s+ratio|RR|relative\s+risk|(?:(?:regression|beta|β)\s+)?coefficient|β|beta|B|p|P|"
    r"(?:adjusted\s+)?odds\s+of\s+[\w\s-]{1,30}?\s+(?:were|was))"
    r"(?:\s+(?:of|was|=|:)|\s*[=:<>≤≥])?\s*(?P<cmp>[<>≤≥])?\s*$"
)
_MEASURE_UNITS = {
    "dice": "dice", "r²": "r_squared", "r2": "r_squared", "r^2": "r_squared", "or": "odds_ratio",
    "r-squared": "r_squared", "r squared": "r_squared", "rsquared": "r_squared",
    "adjusted or": "odds_ratio", "odds ratio": "odds_ratio", "hr": "hazard_ratio",
    "hazard ratio": "hazard_ratio", "rr": "relative_risk", "relative risk": "relative_risk",
    "β": "regression_coefficient", "beta": "regression_coefficient", "b": "regression_coefficient",
    "coefficient": "regression_coefficient", "regression coefficient": "regression_coefficient",
    "beta coefficient": "regression_coefficient", "β coefficient": "regression_coefficient",
    "p": "p_value",
}  # fmt: skip
_HEDGES = {
    "up to": "up to", "as many as": "up to", "as much as": "up to", "as high as": "up to",
    "at most": "up to", "no more than": "up to",
    "about": "about", "around": "about", "roughly": "about", "approximately": "about",
    "approx.": "about", "some": "about",
    "nearly": "nearly", "almost": "nearly", "just under": "nearly", "just short of": "nearly",
    "more than": "more than", "over": "more than", "greater than": "more than",
    "above": "more than", "in excess of": "more than", "at least": "at least",
    "less than": "less than", "fewer than": "less than", "under": "less than", "below": "less than",
}  # fmt: skip
# Spans that hold digits but no figures: URLs, DOIs, citation markers.
_TIME_UNITS = {"minute": "minutes", "min": "minutes", "hour": "hours", "hr": "hours",
               "second": "seconds", "sec": "seconds"}  # fmt: skip
_TO_MONTHS = {
    "decade": 120.0,
    "year": 12.0,
    "yr": 12.0,
    "month": 1.0,
    "week": 12 / 52,
    "day": 12 / 365.25,
}


@dataclass
class Figure:
    """One figure as printed. `value` for a point, `low`/`high` for a range."""

    text: str
    start: int
    end: int
    kind: str  # percent, multiplier, count, duration, time, dose, measure, score, age, year
    unit: str
    value: float | None = None
    low: float | None = None
    high: float | None = None
    qualifier: str | None = None  # up to | about | nearly | more than | at least | less than
    decimals: int = 0
    spelled: bool = False  # written in words ("ten studies")

    def to_dict(self) -> dict:
        return {"text": self.text, "value": self.value, "low": self.low, "high": self.high,
                "unit": self.unit, "kind": self.kind}  # fmt: skip

    @property
    def months(self) -> float | None:
        """A duration in months (only for kind == 'duration')."""
        return self.value if self.kind == "duration" else None


def _measure_named(mb: re.Match) -> bool:
    """A single letter (B, p) names a measure only with `=`, `<`, `:` or "of" after it: "vitamin B 12"
    is a name, "B = 0.11" a coefficient."""
    if len(mb.group("m")) > 1:
        return True
    return bool(re.search(r"[=:<>≤≥]|\b(?:of|was)\b", mb.group()[len(mb.group("m")) :]))


def _hedged(masked: str, start: int, not_hedges: tuple[str, ...] = ()) -> tuple[int, str | None]:
    """Where a figure starts once the hedge before it ("about", "more than") is included, and the
    hedge's meaning (None without one)."""
    h = _HEDGE_BEFORE.search(masked[max(0, start - 30) : start])
    if not h or h.group("h").lower() in not_hedges:
        return start, None
    return start - (min(start, 30) - h.start()), _HEDGES.get(
        re.sub(r"\s+", " ", h.group("h")).lower()
    )


def _counted(masked: str, m: re.Match) -> tuple[re.Match, str]:
    """The noun phrase a count counts and the unit its last noun names ("fifteen knee
    subregions": subregions)."""
    while head := _NOUN_HEAD.match(masked, m.end()):
        m = head
    noun = m.group("u").lower()
    return m, _COUNT_NOUNS.get(noun, _COUNT_NOUNS.get(noun.rstrip("s"), noun))


def extract_figures(text: str) -> list[Figure]:
    """Every figure in text, in order, with spans into text."""
    masked = mask(text)
    nums = list(NUMBER_RE.finditer(masked))
    figures: list[Figure] = []
    i = 0
    while i < len(nums):
        a = nums[i]
        a_val, a_dec = parse_number(a.group())
        start, end = a.start(), a.end()
        if negative_at(masked, start):
            start, a_val = start - 1, -a_val
        low = high = None
        consumed = 1
        # a range: "14–30", "14% to 30%", "two to five", "between 14 and 30"
        if i + 1 < len(nums):
            join = _RANGE_JOIN.match(masked, end)
            b = nums[i + 1]
            b_sign = 1
            if join and join.end() + 1 == b.start() and negative_at(masked, b.start()):
                b_sign = -1  # "-4244.7 to -36.1"
            if join and join.end() == b.start() - (b_sign < 0):
                is_and = join.group().strip().lower().endswith("and")
                if not is_and or _BETWEEN_BEFORE.search(masked[max(0, start - 12) : start]):
                    b_val, b_dec = parse_number(b.group())
                    b_val *= b_sign
                    if b_val > a_val:
                        low, high, end, consumed = a_val, b_val, b.end(), 2
                        a_dec = max(a_dec, b_dec)
        # a two-word fold range: "two- to fivefold"
        if low is None and i + 1 < len(nums) and re.match(r"-\s+to\s+", masked[end:]):
            b = nums[i + 1]
            if masked[end:].find(b.group()) >= 0 and re.match(
                r"-\s+to\s+$", masked[end : b.start()]
            ):
                low, high = a_val, parse_number(b.group())[0]
                end, consumed = b.end(), 2
        raw = a.group()
        spelled = not raw[0].isdigit()
        before = masked[max(0, start - 40) : start]
        kind = unit = None
        m = None
        if _CI_AFTER.match(masked, end) and a_val in (90, 95, 99):
            i += consumed
            continue
        if low is not None and _CI_BEFORE.search(before.rstrip("−-")):
            kind, unit, m = "ci", "ci", None  # the bounds of a confidence interval
        elif (sb := _SCORE_BEFORE.search(before)) and low is None and not spelled:
            kind, unit, m = "score", sb.group("scale") + " points", None
        elif (_N_BEFORE.search(before) or _SAMPLE_BEFORE.search(before)) and low is None:
            kind, unit, m = "count", "people", None
            if nb := _N_BEFORE.search(before):
                start = start - len(before) + nb.start()
        elif m := _PERCENT_AFTER.match(masked, end):
            kind, unit = "percent", "%"
        elif m := _MULT_AFTER.match(masked, end):
            kind, unit = "multiplier", "×"
        elif m := _DURATION_AFTER.match(masked, end):
            word = m.group("u").lower().rstrip("s")
            if spelled and a_val == 1 and word == "day" and _SOMEDAY_BEFORE.search(before):
                i += consumed  # "may one day help": not a duration
                continue
            if _AGE_AFTER.match(masked, m.end()) or _AGE_BEFORE.search(before):
                kind, unit = "age", "years"
            else:
                kind, unit = "duration", "months"
                factor = _TO_MONTHS[word]
                a_val = a_val * factor
                low, high = (low * factor, high * factor) if low is not None else (None, None)
        elif m := _TIME_AFTER.match(masked, end):
            # a session or a procedure's length, never a study's time point
            kind, unit = "time", _TIME_UNITS[m.group("u").lower().rstrip("s")]
        elif m := _DOSE_AFTER.match(masked, end):
            kind = "dose"
            u = (
                "IU"
                if m.group("u").lower().startswith("unit")
                else m.group("u").replace("mcg", "µg")
            )
            unit = u + ("/day" if m.group("per") else "")
        elif m := _SIZE_AFTER.match(masked, end):
            kind, unit = "measure", m.group("u").replace("3", "³").replace("2", "²")
        elif (
            (mb := _MEASURE_BEFORE.search(before)) and (not spelled or a_dec) and _measure_named(mb)
        ):
            key = re.sub(r"\s+", " ", mb.group("m")).lower()
            key = "dice" if key.startswith("dice") else key
            key = "odds ratio" if re.match(r"(?:adjusted )?odds of ", key) else key
            kind, unit = "measure", _MEASURE_UNITS.get(key, key)
            start = start - len(before) + mb.start()
            cmp = mb.group("cmp")
            m = None
            figures.append(
                Figure(text[start:end], start, end, kind, unit, None if low is not None else a_val,
                       low, high, {"<": "less than", "≤": "up to", ">": "more than",
                                   "≥": "at least"}.get(cmp or ""), a_dec, spelled)
            )  # fmt: skip
            i += consumed
            continue
        elif _AGE_BEFORE.search(before) and not is_year(raw, a_val):
            kind, unit, m = "age", "years", None  # "aged 63", "women aged 35 to 55 found lesions"
        elif (m := _COUNT_AFTER.match(masked, end)) and not (
            m.group("u").lower() in _SINGULAR_STUDY and a_val != 1
        ):
            m, unit = _counted(masked, m)
            kind = "count"
        elif (
            (of := _OF_THE.match(masked, end))
            and i + 1 < len(nums)
            and of.end() == nums[i + 1].start()
            and (m := _COUNT_AFTER.match(masked, nums[i + 1].end()))
        ):  # "sixteen of the 17 studies": a count of studies, too
            kind, unit, m = "count", _counted(masked, m)[1], None
        elif (m := _OF_WHOM_AFTER.match(masked, end)) or _OF_WHOM_BEFORE.search(before):
            kind, unit, m = "count", "people", None  # "401 people, 351 of whom had pain"
        elif _AGE_BEFORE.search(before) and low is None and not is_year(raw, a_val):
            kind, unit, m = "age", "years", None  # "aged 63", "a mean age of 54"
        elif is_year(raw, a_val) and low is None:
            kind, unit, m = "year", "year", None
        if kind is None:
            i += consumed
            continue
        if m is not None:
            end = m.end()
        if low is not None and (bw := _BETWEEN_BEFORE.search(masked[max(0, start - 12) : start])):
            start = start - (min(start, 12) - bw.start())
        # "over two years" is a duration's length, no hedge
        start, qualifier = _hedged(
            masked, start, ("over", "some", "under") if kind == "duration" else ()
        )
        value = None if low is not None else a_val
        figures.append(
            Figure(text[start:end], start, end, kind, unit, value, low, high, qualifier, a_dec,
                   spelled)
        )  # fmt: skip
        i += consumed
    for fm in FRACTION_RE.finditer(masked):
        if any(f.start <= fm.start() < f.end for f in figures):
            continue
        word = next(g for g in fm.groups() if g).lower()
        start, qualifier = _hedged(masked, fm.start())
        figures.append(
            Figure(text[start : fm.end()], start, fm.end(), "percent", "%", FRACTIONS[word],
                   qualifier=qualifier or "about", spelled=True)
        )  # fmt: skip
    for rm in RATIO_RE.finditer(masked):
        overlap = [f for f in figures if f.start < rm.end() and rm.start() < f.end]
        a_val, b_val = parse_number(rm.group("a"))[0], parse_number(rm.group("b"))[0]
        if any(f.kind != "count" for f in overlap) or not 0 < a_val < b_val:
            continue
        figures = [f for f in figures if f not in overlap]  # "three people" is the ratio's
        start, qualifier = _hedged(masked, rm.start())
        figures.append(
            Figure(text[start : rm.end()], start, rm.end(), "percent", "%", 100 * a_val / b_val,
                   qualifier=qualifier or "about", spelled=True)
        )  # fmt: skip
    figures += _listed_measures(masked, text, figures)
    for (
        f
    ) in figures:  # "area fell by 175.7 mm²", "14.6 points lower": a decrease, signed as claims are
        if (
            (f.kind in ("measure", "score") or (f.kind == "count" and f.unit == "points"))
            and f.unit not in _RATIO_UNITS and (f.value or 0) > 0
            and (_FALL_BEFORE.search(masked[max(0, f.start - 40) : f.start])
                 or _LOWER_AFTER.match(masked, f.end))
        ):  # fmt: skip
            f.value = -(f.value or 0.0)
    # "lowers your chance by a third", "1.1% more cartilage": a change, not a share
    for f in figures:
        if f.kind == "percent" and (
            _CHANGE_BEFORE.search(masked[max(0, f.start - 12) : f.start])
            or _CHANGE_AFTER.match(masked, f.end)
        ):
            f.unit = "% change"
    figures.sort(key=lambda f: f.start)
    return figures


_FALL_BEFORE = re.compile(  # "fell by 175.7 mm²", "still down by 17.7 points", "a fall in pain of 18"
    r"\b(?:(?:fell|fallen|falls|dropped|drops|decreased|decreases|declined|shrank|shrunk|shrinks|"
    r"reduced|reduces|lowered|lost|down|cut)\s+(?:\w+\s+){0,2}?by|(?:fall|drop|decline|reduction|"
    r"decrease)\s+(?:in\s+(?:[\w-]+\s+){1,3})?of)\s+"
    r"(?:(?:about|around|roughly|some|nearly|almost|approximately|just\s+under)\s+)?$",
    re.IGNORECASE,
)
_LOWER_AFTER = re.compile(r"\s+(?:lower|less|smaller|fewer)\b", re.IGNORECASE)
_RATIO_UNITS = {"p_value", "odds_ratio", "hazard_ratio", "relative_risk", "r_squared", "dice"}
_LISTED_AFTER = re.compile(
    r"(?:\s*,\s*(?:and\s+)?|\s+and\s+|\s+or\s+)(?P<n>-?\d+(?:\.\d+)?)(?![\d.,]*\d)"
    r"(?=\s*(?:[,.;:)\]\[]|$|(?:respectively|and|or|vs|versus)\b))"
)


def _listed_measures(masked: str, text: str, figures: list[Figure]) -> list[Figure]:
    """The bare numbers listed after a measure ("R² = 0.95 and 0.81 respectively", "B = 0.08,
    0.11 and 0.10"): each is a figure of the same measure."""
    out: list[Figure] = []
    taken = [(f.start, f.end) for f in figures]
    for f in [f for f in figures if f.kind == "measure" and f.unit != "p_value"]:
        end = f.end
        while m := _LISTED_AFTER.match(masked, end):
            a, b = m.start("n"), m.end("n")
            if any(x <= a < y for x, y in taken):
                break
            value, decimals = parse_number(m.group("n"))
            out.append(Figure(text[a:b], a, b, f.kind, f.unit, value, decimals=decimals))
            end = b
    return out


def is_checkable(fig: Figure) -> bool:
    """Figures that make a sentence a statement on their own (not years, not small spelled counts)."""
    if fig.kind in ("year", "age"):
        return False
    if fig.kind == "count" and fig.spelled and (fig.value or 0) < 10:
        return False
    return True


# Anything that reads as a number: digits standing alone (not inside a name such as C2, T2 or
# vitamin D3) and number words. What no figure covers is reported as not checked.
