"""Study names: the words of a cohort's proper name in the claims ("Framingham Osteoarthritis
Study"), so that a sentence naming "the Framingham researchers" names that study.

A word counts only if one source's claims use it in such a name, it is never written in lower case
in any claim ("Health", "Promotion"), and it is no nationality ("an Australian study" names no one
study). `kb build` stores the names in the `study_names` table; `kb check` reads them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NAME_RE = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]{3,}\b")  # (not where a sentence starts)
_DEMONYM_RE = re.compile(r"(?:ian|ese|ish|ican)$")  # "an Australian study" names no one study
_NOT_NAMES = {"This", "That", "These", "Those", "Their", "They", "There", "Each", "Both", "Some",
              "Most", "Many", "When", "Where", "After", "Before", "Over", "With", "From"}  # fmt: skip
STUDY_NAME_TEXTS = (
    "select source_doi, statement || ' ' || coalesce(population, '') from claims "
    "where source_doi is not null"
)  # (not titles: their Title Case would make names of "Randomized", "Twelve")


# a cohort's proper name: "Framingham Osteoarthritis Study", "Melbourne Collaborative Cohort Study"
COHORT_RE = re.compile(
    r"\b(?P<words>(?:[A-Z][a-z]+\s+){1,3})(?:Study|Cohort|Project|Initiative|Trial|Survey)\b"
)


def study_names(rows: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(name, source DOI) for each word of a cohort's proper name in the claims' texts (`(doi,
    text)` rows) that only one source uses: a town or a word shared by several studies names none."""
    found: dict[str, set[str]] = {}
    lower: set[str] = set()
    for doi, text in rows:
        lower.update(re.findall(r"\b[a-z]{4,}\b", text or ""))
        for m in COHORT_RE.finditer(text or ""):
            for word in set(_NAME_RE.findall(m.group("words"))) | set(
                re.findall(r"^[A-Z][a-z]{3,}", m.group("words"))
            ):
                found.setdefault(word, set()).add(doi)
    return sorted(
        (word, doi)
        for word, dois in found.items()
        if len(dois) == 1
        and word.lower() not in lower
        and word not in _NOT_NAMES
        and not _DEMONYM_RE.search(word)
        for doi in dois
    )
