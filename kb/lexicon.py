"""Domain words as data: `data/lexicon.yml`, validated like every curated file and carried into kb.db.

`kb check` reads drafts with it: the knee's compartments and their lay names, which count nouns count
the same thing, and synonyms that read as one word when a sentence is matched with a claim. Parsing
is pure (`parse_lexicon`); `lexicon_rows` and `lexicon_from_db` move it in and out of the database.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import sqlite_utils

from .loader import Located, Problem, parse_yaml

KEYS = (
    "compartments", "opposite_compartments", "count_families", "synonyms", "risk_words",
    "back_references", "other_work", "outcomes", "designs", "opposites",
)  # fmt: skip
TABLE = "lexicon"
MAX_WORDS = 5000  # a lexicon is a list of words a curator reads, not a dictionary


@dataclass(frozen=True, eq=False)
class Lexicon:
    compartments: dict[str, tuple[str, ...]] = field(default_factory=dict)
    opposite_compartments: tuple[tuple[str, str], ...] = ()
    count_families: dict[str, tuple[str, ...]] = field(default_factory=dict)
    synonyms: tuple[tuple[str, ...], ...] = ()
    risk: tuple[str, ...] = ()  # words after a multiplier that make it a multiple of risk
    back: tuple[str, ...] = ()  # phrases pointing back to the study of the sentence before
    other: tuple[str, ...] = ()  # words announcing another work ("an earlier paper")
    outcomes: tuple[str, ...] = ()  # what a finding is about: pain, cartilage, joint space
    designs: dict[str, tuple[str, ...]] = field(
        default_factory=dict
    )  # study designs, each its words

    @cached_property
    def _design_patterns(self) -> dict[str, re.Pattern]:
        return {name: _words_re(words) for name, words in self.designs.items()}

    opposites: tuple[tuple[str, str], ...] = ()  # words of opposite sense: painful, painless

    @cached_property
    def _opposite_patterns(self) -> tuple[tuple[re.Pattern, re.Pattern], ...]:
        return tuple((_words_re((a,)), _words_re((b,))) for a, b in self.opposites)

    def poles_in(self, text: str) -> set[str]:
        """ "<i>+" or "<i>-" for each pair of opposites (by index) whose first or second word the
        text uses (only one of them)."""
        out = set()
        for i, (yes, no) in enumerate(self._opposite_patterns):
            a, b = bool(yes.search(text)), bool(no.search(text))
            if a != b:
                out.add(f"{i}{'+' if a else '-'}")
        return out

    def designs_in(self, text: str) -> set[str]:
        """The study designs a text names ("randomised controlled trials", "level IV evidence"); any
        but randomised is non-randomised too."""
        found = {name for name, rx in self._design_patterns.items() if rx.search(text)}
        return found | ({NON_RANDOMISED} if found - {RANDOMISED} else set())

    @cached_property
    def _outcome_re(self) -> re.Pattern | None:
        return _words_re(self.outcomes) if self.outcomes else None

    def outcomes_in(self, text: str) -> set[str]:
        """The outcomes a text names (each synonym read as its group's first word)."""
        if self._outcome_re is None:
            return set()
        text = re.sub(r"[-‐]", " ", text)  # "joint-space narrowing" names joint space
        found = self._outcome_re.findall(self.normalise(text)) + self._outcome_re.findall(text)
        return {re.sub(r"\s+", " ", w.lower()) for w in found}

    @cached_property
    def back_reference(self) -> re.Pattern | None:
        """The phrases ("that trial", "the same researchers") by which a sentence means the study
        the sentence before it cited or was matched to (None when there are none)."""
        if not self.back:
            return None
        # "the same Japanese team", "that small Danish trial": up to two words before the noun
        alts = []
        for phrase in sorted(set(self.back), key=len, reverse=True):
            *head, noun = phrase.split()
            words = [re.escape(w) for w in head]
            lead = r"\s+".join(words) + r"\s+(?:[\w-]+\s+){0,2}?" if words else ""
            alts.append(lead + re.escape(noun))
        return re.compile(rf"(?<![\w-])(?:{'|'.join(alts)})(?![\w-])", re.IGNORECASE)

    @cached_property
    def other_work(self) -> re.Pattern | None:
        return _words_re(self.other) if self.other else None

    @cached_property
    def risk_words(self) -> str:
        """The risk words as one regex alternation ("" when there are none)."""
        alts = sorted(
            {re.escape(w).replace(r"\ ", r"\s+") for w in self.risk}, key=len, reverse=True
        )
        return rf"(?:{'|'.join(alts)})\b" if alts else ""

    @cached_property
    def compartment_patterns(self) -> dict[str, re.Pattern]:
        return {name: _words_re(words) for name, words in self.compartments.items()}

    @cached_property
    def family_of(self) -> dict[str, str]:
        """Count noun (or claim unit) -> the family it counts in."""
        return {w: fam for fam, words in self.count_families.items() for w in (fam, *words)}

    @cached_property
    def groups(self) -> tuple[tuple[str, ...], ...]:
        """Words that read as one in matching: the synonym groups, and each compartment's words
        under its name ("inner side" is medial)."""
        named = tuple((name, *words) for name, words in self.compartments.items())
        return self.synonyms + named

    @cached_property
    def _synonym_re(self) -> re.Pattern | None:
        words = [w for group in self.groups for w in group]
        return _words_re(words) if words else None

    @cached_property
    def _canonical(self) -> dict[str, str]:
        return {w: group[0] for group in reversed(self.groups) for w in group}

    def normalise(self, text: str) -> str:
        """Each synonym replaced by one word naming its group (for matching only, never for
        figures): "TKA" and "knee arthroplasty" both read as "Kneereplacement"."""
        if self._synonym_re is None:
            return text

        def one_word(m: re.Match) -> str:
            return re.sub(
                r"\W+", "", self._canonical[re.sub(r"\s+", " ", m.group().lower())]
            ).title()

        return self._synonym_re.sub(one_word, text)

    def related(self, text: str) -> str:
        """Every word of the synonym groups the text uses: the FTS prefilter finds a claim that
        says "arthroplasty" for a sentence that says "knee replacement"."""
        if self._synonym_re is None:
            return ""
        found = {
            self._canonical[re.sub(r"\s+", " ", m.group().lower())]
            for m in self._synonym_re.finditer(text)
        }
        return " ".join(w for group in self.groups if group[0] in found for w in group)

    def family(self, unit: str | None) -> str:
        """The family a count noun or a claim's unit counts in (its last word if not listed)."""
        u = re.sub(r"\s+", " ", (unit or "").strip().lower())
        if u in self.family_of:
            return self.family_of[u]
        last = u.split(" ")[-1] if u else ""
        return self.family_of.get(last, last)


RANDOMISED, NON_RANDOMISED = "randomised", "non-randomised"


def designs_agree(said: set[str], theirs: set[str]) -> bool:
    """Do two texts' designs agree: the same specific design where both name one ("cohort" and
    "case-control" do not), else a shared general one (randomised or not)?"""
    mine, other = said - {NON_RANDOMISED, RANDOMISED}, theirs - {NON_RANDOMISED, RANDOMISED}
    if mine and other:
        return bool(mine & other)
    return bool(said & theirs)


def _words_re(words: list[str] | tuple[str, ...]) -> re.Pattern:
    alts = sorted(
        {re.escape(w.lower()).replace(r"\ ", r"\s+") for w in words}, key=len, reverse=True
    )
    return re.compile(rf"(?<![\w-])(?:{'|'.join(alts)})(?![\w-])", re.IGNORECASE)


def _strings(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, str) and v.strip() for v in value)
    )


def parse_lexicon(text: str | bytes, rel: str) -> tuple[Lexicon, list[Problem]]:
    """The lexicon in one YAML text, and every problem with its line and field."""
    doc, problems = parse_yaml(text, rel)
    if problems:
        return Lexicon(), problems
    if doc is None:
        return Lexicon(), []
    if not isinstance(doc, dict):
        return Lexicon(), [Problem(rel, None, None, "expected a mapping of " + ", ".join(KEYS))]

    def line(key: str) -> int | None:
        return doc.line_of(key) if isinstance(doc, Located) else None

    def bad(key: str, message: str) -> None:
        problems.append(Problem(rel, line(key), key, message))

    for key in doc:
        if key not in KEYS:
            bad(key, "unknown section; expected one of " + ", ".join(KEYS))
    compartments = doc.get("compartments") or {}
    families = doc.get("count_families") or {}
    designs = doc.get("designs") or {}
    for key, mapping in (
        ("compartments", compartments),
        ("count_families", families),
        ("designs", designs),
    ):
        if not isinstance(mapping, dict) or not all(_strings(v) for v in mapping.values()):
            bad(key, "expected a mapping from a name to a list of words")
    opposite = doc.get("opposite_compartments") or []
    if not isinstance(opposite, list) or not all(
        _strings(p) and len(p) == 2 and set(p) <= set(compartments) for p in opposite
    ):
        bad("opposite_compartments", "expected pairs of compartments named under compartments")
    synonyms = doc.get("synonyms") or []
    if not isinstance(synonyms, list) or not all(_strings(g) and len(g) >= 2 for g in synonyms):
        bad("synonyms", "expected a list of groups, each a list of two or more words")
    elif len({w.lower() for g in synonyms for w in g}) < sum(len(g) for g in synonyms):
        bad("synonyms", "a word is in more than one group")
    risk = doc.get("risk_words") or []
    if risk and not _strings(risk):
        bad("risk_words", "expected a list of words")
    back = doc.get("back_references") or []
    other = doc.get("other_work") or []
    outcomes = doc.get("outcomes") or []
    opposites = doc.get("opposites") or []
    if not isinstance(opposites, list) or not all(_strings(p) and len(p) == 2 for p in opposites):
        bad("opposites", "expected pairs of words of opposite sense")
    for key, words in (("back_references", back), ("other_work", other), ("outcomes", outcomes)):
        if words and not _strings(words):
            bad(key, "expected a list of phrases")
    if problems:
        return Lexicon(), problems
    count = sum(len(v) for m in (compartments, families, designs) for v in m.values())
    if count + sum(len(g) for g in synonyms) > MAX_WORDS:
        return Lexicon(), [Problem(rel, None, None, f"more than {MAX_WORDS} words")]
    lower = lambda words: tuple(w.strip().lower() for w in words)  # noqa: E731
    return (
        Lexicon(
            {k: lower(v) for k, v in compartments.items()},
            tuple((a.lower(), b.lower()) for a, b in opposite),
            {k.lower(): lower(v) for k, v in families.items()},
            tuple(lower(g) for g in synonyms),
            lower(risk),
            lower(back),
            lower(other),
            lower(outcomes),
            {k.lower(): lower(v) for k, v in designs.items()},
            tuple((a.lower(), b.lower()) for a, b in opposites),
        ),
        [],
    )


def load_lexicon(data_dir: Path) -> tuple[Lexicon, list[Problem]]:
    """`data_dir/lexicon.yml` (an empty lexicon when there is none)."""
    path = Path(data_dir) / "lexicon.yml"
    if not path.exists():
        return Lexicon(), []
    rel = str(path.relative_to(Path(data_dir).parent))
    try:
        return parse_lexicon(path.read_bytes(), rel)
    except OSError as exc:
        return Lexicon(), [Problem(rel, None, None, f"cannot be read: {exc.strerror}")]


def lexicon_rows(lexicon: Lexicon) -> list[dict[str, str]]:
    return [
        {"key": "compartments", "value": json.dumps(lexicon.compartments)},
        {"key": "opposite_compartments", "value": json.dumps(lexicon.opposite_compartments)},
        {"key": "count_families", "value": json.dumps(lexicon.count_families)},
        {"key": "synonyms", "value": json.dumps(lexicon.synonyms)},
        {"key": "risk_words", "value": json.dumps(lexicon.risk)},
        {"key": "back_references", "value": json.dumps(lexicon.back)},
        {"key": "other_work", "value": json.dumps(lexicon.other)},
        {"key": "outcomes", "value": json.dumps(lexicon.outcomes)},
        {"key": "designs", "value": json.dumps(lexicon.designs)},
        {"key": "opposites", "value": json.dumps(lexicon.opposites)},
    ]


def lexicon_from_db(db: sqlite_utils.Database) -> Lexicon:
    """The lexicon a build carried into db (empty for a database built without one): the same
    object for the same words, so what is cached per lexicon (claims' words) outlives one check."""
    if not db[TABLE].exists():
        return _EMPTY
    return _lexicon_of(tuple(db.execute(f"select key, value from {TABLE} order by key")))


_EMPTY = Lexicon()


@lru_cache(maxsize=8)
def _lexicon_of(rows: tuple[tuple[str, str], ...]) -> Lexicon:
    got = {key: json.loads(value) for key, value in rows}
    return Lexicon(
        {k: tuple(v) for k, v in (got.get("compartments") or {}).items()},
        tuple(tuple(p) for p in got.get("opposite_compartments") or []),
        {k: tuple(v) for k, v in (got.get("count_families") or {}).items()},
        tuple(tuple(g) for g in got.get("synonyms") or []),
        tuple(got.get("risk_words") or []),
        tuple(got.get("back_references") or []),
        tuple(got.get("other_work") or []),
        tuple(got.get("outcomes") or []),
        {k: tuple(v) for k, v in (got.get("designs") or {}).items()},
        tuple(tuple(p) for p in got.get("opposites") or []),
    )
