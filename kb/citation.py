"""How a reader names a study: a Vancouver-style citation and a short one ("Aso et al. 2021"), from
what is known of a source; an unknown part is left out, never guessed."""

from __future__ import annotations

from typing import Any


def vancouver_name(full: str) -> str:
    """`David A. Walsh` -> `Walsh DA`; a name already written `Shi X` stays as it is."""
    bits = full.replace(".", "").split()
    if len(bits) < 2 or (bits[-1].isupper() and len(bits[-1]) <= 3):
        return " ".join(bits)
    return bits[-1] + " " + "".join(b[0] for b in bits[:-1])


def format_citation(src: dict[str, Any]) -> str:
    """Vancouver-style citation from what is known; unknown parts are left out, never guessed."""
    authors = src.get("authors") or []
    names = [vancouver_name(full) for full in authors[:3]]
    more = len(authors) > 3 or src.get("authors_complete") is False
    who = ", ".join(names) + (", et al" if more and names else "")
    where = src.get("journal") or ""
    when = str(src.get("year") or "")
    loc = src.get("volume") or ""
    if loc and src.get("issue"):
        loc += f"({src['issue']})"
    pages = src.get("pages") or src.get("article_number")
    if pages:
        loc += f":{pages}"
    pieces = [p for p in (who, src.get("title")) if p]
    tail = ";".join(p for p in (when, loc) if p)
    text = ". ".join(pieces)
    if where:
        text += (". " if text else "") + where
    if tail:
        text += (". " if text else "") + tail
    text = (text + "." if text else "") + f" doi:{src['doi']}"
    return text.strip()


def surname(full: str) -> str:
    """`David A. Walsh` -> `Walsh`; `Felson DT` -> `Felson`."""
    bits = full.replace(".", "").split()
    if len(bits) >= 2 and bits[-1].isupper() and len(bits[-1]) <= 3:
        return " ".join(bits[:-1])
    return bits[-1] if bits else ""


SHORT_TITLE_WORDS = 6  # a short citation of a study with no known authors quotes its title this far


def format_short_citation(src: dict[str, Any]) -> str:
    """`Aso et al. 2021`, `Felson and Hill 2001`, `Felson 2007`: how a reader names a study in a
    sentence. Only the leading authors known (`authors_complete` false) reads `et al.`; no authors:
    the title's first words and the year, else the journal and year; nothing known: the DOI."""
    names = [surname(a) for a in src.get("authors") or [] if a.strip()]
    more = src.get("authors_complete") == 0  # False from YAML, 0 from a row
    title = (src.get("title") or "").split()
    if not names and title:  # a reader knows a paper by its title before its journal
        who = (
            "“"
            + " ".join(title[:SHORT_TITLE_WORDS])
            + ("…”" if len(title) > SHORT_TITLE_WORDS else "”")
        )
    elif not names:
        who = src.get("journal") or ""
    elif len(names) >= 3 or (more and names):
        who = f"{names[0]} et al."
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = names[0]
    text = " ".join(str(p) for p in (who, src.get("year")) if p)
    return text or f"doi:{src['doi']}"
