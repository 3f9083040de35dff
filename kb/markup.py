"""Fetched text stays text: what a metadata service sends never carries markup into the KB.

Crossref titles and abstracts are JATS or HTML: `kb ingest` drops their tags and decodes their
entities (`&lt;` is a `<` in the text). Decoding can turn `&lt;script&gt;` into markup, so
`text_only` runs after it, and again when `kb build` reads a stored record (written by an older
ingest, or by hand). `<` before a space or a digit is text (`p < 0.05`) and stays.
"""

from __future__ import annotations

import re
from typing import Any

# Elements whose content is code or styling, never text a reader should see.
_HIDDEN_OPEN_RE = re.compile(
    r"<(script|style|iframe|object|embed|template|noscript|svg|math)\b[^<>]*>", re.I
)
_TAG_RE = re.compile(r"<[A-Za-z/!?][^<>]*>")  # a tag, a comment, a declaration
_TAG_START_RE = re.compile(r"<(?=[A-Za-z/!?])")  # what is left of one that never closes
_SPACES_RE = re.compile(r"[ \t]{2,}")
PASSES = 4  # tags hidden inside tags (`<scr<b>ipt>`) are peeled this deep; the rest is defused


def _drop_hidden(text: str) -> str:
    """text without hidden elements and their content; linear (each close is looked for once)."""
    out, pos, unclosed = [], 0, set()
    while match := _HIDDEN_OPEN_RE.search(text, pos):
        name = match.group(1).lower()
        close = None
        if name not in unclosed:
            close = re.compile(rf"</{name}\s*>", re.I).search(text, match.end())
        if close is None:  # no end: only the opening tag goes (with the other tags)
            unclosed.add(name)
            out.append(text[pos : match.end()])
            pos = match.end()
            continue
        out.append(text[pos : match.start()] + " ")
        pos = close.end()
    out.append(text[pos:])
    return "".join(out)


def strip_markup(text: str) -> str:
    """text without tags, hidden elements (with their content) or the start of an unclosed tag."""
    for _ in range(PASSES):
        before = text
        text = _TAG_RE.sub("", _drop_hidden(text))
        if text == before:
            break
    text = _TAG_START_RE.sub("< ", text)
    return _SPACES_RE.sub(" ", text).strip()


def text_only(value: Any) -> Any:
    """Every string in value (a record, a list, a string) with its markup stripped."""
    if isinstance(value, str):
        return strip_markup(value)
    if isinstance(value, list):
        return [text_only(v) for v in value]
    if isinstance(value, dict):
        return {k: text_only(v) for k, v in value.items()}
    return value
