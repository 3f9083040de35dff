"""What a sentence cites: reference markers, authors, a study named by its cohort, or the study of
the sentence before it points back to ("that trial"). `kb check` judges a citing sentence against the
works it cites and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlite_utils

from .matching import ClaimIndex
from .references import author_mentions, citation_markers, sources_by_author

_NOT_SURNAMES = {"university", "institute", "hospital", "trust", "initiative", "consortium",
                 "foundation", "society", "college", "centre", "center", "clinic", "group"}  # fmt: skip


@dataclass
class Cited:
    """What a sentence cites: the DOIs (None when it cites something we cannot resolve), its
    markers and author mentions, and whether it names a study otherwise (its cohort, or the study
    of the sentence before it refers back to)."""

    dois: set[str] | None
    numbers: set[int] = field(default_factory=set)
    mentions: list = field(default_factory=list)
    named: bool = False

    @property
    def cites(self) -> bool:
        return bool(self.numbers or self.mentions or self.named)


def cited_by(
    db: sqlite_utils.Database, index: ClaimIndex, text: str, by_number: dict[int, str | None]
) -> Cited:
    """The works a sentence cites by marker, by author or by the name of its cohort."""
    numbers = set(citation_markers(text))
    # "Hirosaki University (2022)": an institution, not an author
    mentions = [m for m in author_mentions(text) if m.surname.lower() not in _NOT_SURNAMES]
    dois: set[str] = set()
    unknown = False
    for n in numbers:
        if by_number.get(n):
            dois.add(by_number[n])
        else:
            unknown = True
    for m in mentions:
        # a wrong year is the reference check's business: the statement still names the work
        found = sources_by_author(db, m.surname, m.year) or sources_by_author(db, m.surname, None)
        if found:
            dois |= {src["doi"] for src in found}
        else:
            unknown = True
    # "the Framingham researchers": a study named by its cohort, where nothing else is cited (a
    # marker or an author is what a reader follows, and must be right on its own)
    named = set() if numbers or mentions else index.named_studies(text)
    dois |= named
    if unknown:
        return Cited(None, numbers, mentions, bool(named))
    return Cited(dois or None, numbers, mentions, bool(named))


def refers_back(index: ClaimIndex, text: str) -> bool:
    """Whether the sentence means the study of the sentence before ("that trial"), and announces
    no other work ("an earlier paper from the same consortium")."""
    back, other = index.lexicon.back_reference, index.lexicon.other_work
    return bool(back and back.search(text)) and not (other and other.search(text))
