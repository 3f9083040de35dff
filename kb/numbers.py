"""Numbers as printed: digits ("1,412", "0.70", "-313.5") and words ("one thousand four hundred and
twelve", "three point two", "a decade"'s "a"), shares in words ("a third", "one in six").

>>> parse_number("one thousand four hundred and twelve"), parse_number("three point two")
((1412.0, 0), (3.2, 1))
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SMALL = {
    "zero": 0, "nought": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}

WORD = "|".join(sorted([*_SMALL, *_TENS], key=len, reverse=True))
_DIGIT_WORD = "zero|nought|one|two|three|four|five|six|seven|eight|nine"
_WORD_NUM = (  # "one thousand four hundred and twelve", "fourteen hundred", "three point two"
    rf"(?:(?:{WORD})(?:[-\s](?:{WORD}))?|a(?=\s+(?:hundred|thousand|decade)\b))"
    rf"(?:\s+(?:hundred|thousand|million)(?:\s+(?:and\s+)?(?:{WORD})(?:[-\s](?:{WORD}))?)?){{0,3}}"
    rf"(?:\s+point(?:\s+(?:{_DIGIT_WORD})\b)+)?"
)
_DIGIT_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
NUMBER_RE = re.compile(
    rf"(?<![\w.,/])(?<![A-Za-z_]-)(?:{_DIGIT_NUM})(?!(?!x\b)[\w/]|[.,]\d)|\b(?:{_WORD_NUM})(?:\b|(?=fold\b))",
    re.IGNORECASE,
)
FRACTIONS = {"third": 100 / 3, "thirds": 200 / 3, "quarter": 25.0, "quarters": 75.0,
              "fifth": 20.0, "half": 50.0}  # fmt: skip
FRACTION_RE = re.compile(
    r"\b(?:(?:one|a)[-\s](?P<one>third|quarter|fifth)|two[-\s](?P<two>thirds)|"
    r"three[-\s](?P<three>quarters)|(?P<half>half)(?![-\w]))\b",
    re.IGNORECASE,
)
# a ratio in words: "one in six", "three in four", "two out of every three" (a share, in per cent)
_RATIO_WORDS = "|".join(sorted(_SMALL, key=len, reverse=True))
RATIO_RE = re.compile(
    rf"\b(?P<a>{_RATIO_WORDS}|\d{{1,2}})\s+(?:in|out\s+of)\s+(?:every\s+)?"
    rf"(?P<b>{_RATIO_WORDS}|\d{{1,2}})\b(?!\s*(?:%|per\s?cent))",
    re.IGNORECASE,
)


def parse_number(text: str) -> tuple[float, int]:
    """`'1,412'` -> (1412, 0); `'0.70'` -> (0.7, 2); `'twenty-five'` -> (25, 0)."""
    t = text.strip().lower()
    if t[0] in "-−" and len(t) > 1:
        value, decimals = parse_number(t[1:])
        return -value, decimals
    if t[0].isdigit():
        t = t.replace(",", "")
        decimals = len(t.split(".")[1]) if "." in t else 0
        return float(t), decimals
    whole, _, fraction = t.partition(" point ")
    if fraction:  # "three point two": digits after the point, one word each
        digits = "".join(str(_SMALL.get(w, 0)) for w in fraction.split())
        return parse_number(whole)[0] + float("0." + digits), len(digits)
    total, current = 0, 0
    for word in re.split(r"[\s\-]+", t):
        if word == "and":
            continue
        if word == "a":  # "a decade", "a hundred"
            current += 1
            continue
        if word in _SMALL:
            current += _SMALL[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word in _SCALES:
            current = max(current, 1) * _SCALES[word]
            if _SCALES[word] >= 1000:
                total, current = total + current, 0
    return float(total + current), 0


# A citation marker: "[3]", "[2, 4]", "[1–3]", "(ref 3)", "(refs 2, 4)", "(reference 3)".
CITATION_MARKER = (
    r"\[(?P<n>\d{1,3}(?:\s*[,–\-]\s*\d{1,3})*)\]|"
    r"\((?:refs?\.?|references?)\s*(?P<r>\d{1,3}(?:\s*(?:[,–\-]|and)\s*\d{1,3})*)\)"
)
# "each one-point higher score", "per 1-unit rise": the unit an effect is counted in, not a figure
_PER_UNIT = (
    r"\b(?:each|every|per|a)\s+(?:one|1)[-\s](?:point|unit|grade|step|sd|standard\s+deviation)\b"
)
_MASK_RE = re.compile(
    rf"https?://\S+|\b10\.\d{{4,9}}/\S+|{CITATION_MARKER}|{_PER_UNIT}", re.IGNORECASE
)


def mask(text: str) -> str:
    return _MASK_RE.sub(lambda m: " " * len(m.group()), text)


def negative_at(masked: str, start: int) -> bool:
    """A minus sign (hyphen or −) right before a number, itself after a space or a bracket."""
    return start > 0 and masked[start - 1] in "−-" and (start < 2 or masked[start - 2] in " (:=")


def is_year(raw: str, value: float) -> bool:
    return raw.isdigit() and len(raw) == 4 and 1900 <= value <= 2099


_NUMBER_LIKE_RE = re.compile(
    rf"(?<![\w.,])(?<![A-Za-z]-)\d(?:[\d,.]*\d)?(?![A-Za-z\d])|"
    rf"\b(?:{WORD}|hundred|thousand|million|dozen|half|halves|thirds?|quarters?|"
    rf"fifths?|tenths?)\b",
    re.IGNORECASE,
)
# "one" and "a" as idioms ("one of the", "one day", "no one"): a number only before a ratio
_ONE_RATIO_AFTER = re.compile(r"\s+(?:in|out\s+of)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class NumberLike:
    text: str
    start: int
    end: int


def number_like(text: str) -> list[NumberLike]:
    """Every number-like expression, except years, citation markers, DOIs and URLs, and "one" used
    as a word rather than a number. (The 95 of "95% CI" is one: a source's interval has a level.)"""
    masked = mask(text)
    out = []
    for m in _NUMBER_LIKE_RE.finditer(masked):
        raw = m.group()
        if raw[0].isdigit():
            try:
                value, _ = parse_number(raw.rstrip(".,"))
            except ValueError:
                value = None
            if value is not None and is_year(raw, value):
                continue
        elif raw.lower() == "one" and not _ONE_RATIO_AFTER.match(masked, m.end()):
            continue
        start = m.start() - negative_at(masked, m.start())  # "-28" is not the 28 a claim states
        out.append(NumberLike(text[start : m.end()], start, m.end()))
    return out
