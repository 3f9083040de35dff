"""Sentence splitting with exact character offsets into the input (plain text or Markdown).

>>> text = "BMLs are common. Shi et al. argue otherwise; see [3]."
>>> [(s.start, s.end, s.text) for s in split_sentences(text)]
[(0, 16, 'BMLs are common.'), (17, 53, 'Shi et al. argue otherwise; see [3].')]
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

# Words that end with a full stop without ending a sentence.
_ABBREVIATIONS = {
    "al", "e.g", "i.e", "eg", "ie", "vs", "cf", "dr", "prof", "fig", "figs", "approx", "no", "nos",
    "vol", "pp", "ca", "etc", "mr", "mrs", "ms", "st", "jr", "sr", "ref", "refs", "ed", "eds",
    "inc", "ltd", "co", "resp", "sd", "min", "max", "mo", "yr", "yrs", "wk", "wks",
}  # fmt: skip
# A run of closing punctuation, matched whole and only from its first character (the lookbehind and
# the possessive quantifiers): no backtracking, so a run of 40,000 full stops costs one pass.
_BOUNDARY_RE = re.compile(r"(?<![.!?…])[.!?…]++[\"'”’)\]]*+(?=\s++[\"'“‘(\[]?[A-Z0-9])")
_ABBREVIATION_TAIL = 24  # characters before a full stop that can hold an abbreviation or initial
_LINE_MARKER_RE = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+•]\s+|\d+[.)/]\s+(?!\[))*")
_CLAUSE_RE = re.compile(r";\s+|,\s+(?=(?:while|whereas|but|which)\s)")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str
    heading: bool = False  # a line without closing punctuation: a title or heading


def _ends_with_abbreviation(chunk: str) -> bool:
    tail = chunk.rstrip("\"'”’)]!?…")[-_ABBREVIATION_TAIL:]
    m = re.search(r"(?<![A-Za-z.])([A-Za-z][A-Za-z.]*)\.$", tail)
    if not m:
        return False
    word = m.group(1).lower()
    if word in _ABBREVIATIONS:
        return True
    return len(word) == 1 and m.group(1).isupper()  # an initial: "D. Felson"


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_sentences(text: str) -> list[Span]:
    """Sentences in order; text[s.start:s.end] == s.text for every one."""
    spans: list[Span] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        line_start, pos = pos, pos + len(line)
        marker = _LINE_MARKER_RE.match(line)
        offset = line_start + (marker.end() if marker else 0)
        body = text[offset:pos]
        cut = 0
        pieces = []
        for m in _BOUNDARY_RE.finditer(body):
            if _ends_with_abbreviation(body[max(cut, m.end() - 2 * _ABBREVIATION_TAIL) : m.end()]):
                continue
            pieces.append((cut, m.end()))
            cut = m.end()
        pieces.append((cut, len(body)))
        for a, b in pieces:
            s, e = _trimmed(text, offset + a, offset + b)
            if s < e:
                spans.append(Span(s, e, text[s:e]))
        bullet = bool(marker and re.search(r"[-*+•]\s|\d[.)/]\s", marker.group()))
        if spans and spans[-1].start >= offset and len(pieces) == 1 and not bullet:
            last = spans[-1]
            if not re.search(r"[.!?…:][\"'”’)\]]*$", last.text) and len(last.text.split()) <= 12:
                spans[-1] = Span(last.start, last.end, last.text, heading=True)
    return spans


def split_clauses(text: str, span: Span, min_words: int = 6) -> list[Span]:
    """Split a sentence at `;` and `, while`/`, whereas`/`, but`/`, which` when both sides are full
    clauses (a comment after ", which" is checked apart from the finding before it)."""
    # word starts, found once: counting the words on either side of a cut is then a bisection,
    # so a long sentence with many semicolons stays linear
    starts = [m.start() for m in re.finditer(r"\S+", span.text)]
    parts: list[Span] = []
    cut = 0  # offsets within span.text
    depth, seen = (
        0,
        0,
    )  # brackets open before the match: never cut inside "(95% CI 1 to 2; p = 0.01)"
    for m in _CLAUSE_RE.finditer(span.text):
        between = span.text[seen : m.start()]
        depth = max(0, depth + between.count("(") + between.count("[") - between.count(")")
                    - between.count("]"))  # fmt: skip
        seen = m.start()
        if depth:
            continue
        left = bisect_left(starts, m.start() + 1) - bisect_left(starts, cut)
        right = len(starts) - bisect_left(starts, m.end())
        if left >= min_words and right >= min_words:
            s, e = _trimmed(text, span.start + cut, span.start + m.start() + 1)
            parts.append(Span(s, e, text[s:e]))
            cut = m.end()
    if not parts:
        return [span]
    s, e = _trimmed(text, span.start + cut, span.end)
    parts.append(Span(s, e, text[s:e]))
    return parts
