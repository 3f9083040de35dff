"""Reference lists, in-text citation markers and author–year mentions, checked against the sources table.

Parsing is pure (`parse_references`, `citation_markers`, `author_mentions`); `check_references` reads the
database. DOIs are found in any spelling and normalised with `kb.doi`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils
from rapidfuzz import fuzz, utils

from .build import SERIOUS_UPDATES
from .doi import DOI_IN_TEXT_RE, InvalidDOI, normalize_doi
from .numbers import CITATION_MARKER

_REF_LINE_RE = re.compile(
    r"^\s*(?:[-*+•]\s+)?(?:(?P<num>\d{1,3})[.)]\s+)?(?:\[(?P<br>\d{1,3})\]\s*)?(?P<body>\S.*)$"
)
_REF_HEADING_RE = re.compile(  # "## References", "**References**", "Reading list", "Papers mentioned"
    r"^\s*(?:#+\s*)?(?:\*\*|__)?(?:references|bibliography|sources|works cited|literature cited|"
    r"further reading|reading list|key papers|papers mentioned|papers cited|citations)"
    r"(?:\*\*|__)?\s*:?\s*(?:\*\*|__)?\s*$",
    re.IGNORECASE,
)
_URL_RE = re.compile(r"(?:https?://\S+|\bdoi:\s*\S+|\b10\.\d{4,9}/\S+)", re.IGNORECASE)
_YEAR_RE = re.compile(r"\b(19\d{2}|20\d{2})\b")
_AUTHORS_SEG_RE = re.compile(
    r"^(?:[A-Z][\w'’\-]+(?:\s+[A-Z][\w'’\-]+)*\s+[A-Z]{1,3}(?:,\s*|\s*$))+(?:et\s+al)?$"
)
_MARKER_RE = re.compile(CITATION_MARKER, re.IGNORECASE)
_NAME = r"[A-Z][A-Za-z'’\-]+(?:\s+(?:van|von|de|der|den|da|di|le|la)\s+[A-Z][A-Za-z'’\-]+)?"
_MENTION_RE = re.compile(
    rf"\b(?P<name>{_NAME})(?:\s+(?:and|&)\s+{_NAME})?"
    r"(?:\s+et\s+al\.?|\s+and\s+(?:colleagues|co-workers|coworkers)|(?=\s*\(\s*(?:19|20)\d{2}\s*\))|"
    r"(?<![’'])[’']s\s+(?:(?:[A-Z][\w-]+\s+){1,3}|research\s+)?(?:team|group|lab|laboratory|work|study|trial|review|paper|"
    r"analysis|research|cohort)\b)"
    r"(?:[’']?,?\s*\(?(?P<year>(?:19|20)\d{2})\)?)?"
)
_PAREN_MENTION_RE = re.compile(
    rf"\((?P<name>{_NAME})(?:\s+et\s+al\.?)?,?\s+(?P<year>(?:19|20)\d{{2}})\)"
)
# Common shortenings in printed titles, expanded before comparing.
_EXPANSIONS = {
    "bml": "bone marrow lesion", "bmls": "bone marrow lesions", "oa": "osteoarthritis",
    "oai": "osteoarthritis initiative", "mri": "magnetic resonance imaging",
    "tka": "total knee arthroplasty", "rct": "randomised controlled trial",
    "fnih": "foundation for the national institutes of health",
}  # fmt: skip
TITLE_WORDS_KEPT = 0.9  # share of a printed title's words the recorded title must have
_STOP = {"of", "the", "and", "in", "on", "for", "a", "an", "with", "to", "&", "from", "data"}


@dataclass
class Reference:
    label: str | None
    number: int | None
    doi: str | None
    raw: str
    start: int
    end: int
    printed_year: int | None = None
    printed_title: str | None = None
    printed_journal: str | None = None


@dataclass
class Mention:
    surname: str
    year: int | None
    start: int
    end: int
    text: str


@dataclass
class RefResult:
    label: str | None
    doi: str | None
    verdict: str  # ok | mismatch | unresolved | unused | retracted | missing
    problems: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    citation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "doi": self.doi, "verdict": self.verdict,
                "problems": self.problems}  # fmt: skip


def _find_doi(text: str) -> str | None:
    for m in DOI_IN_TEXT_RE.finditer(text):
        try:
            return normalize_doi(m.group())
        except InvalidDOI:
            continue
    return None


_AUTHOR_YEAR_RE = re.compile(
    r"^(?P<who>[^()]+?)\s*\((?P<year>(?:19|20)\d{2})[a-z]?\)[.,]?\s+(?P<rest>.+)$"
)
_QUOTED_TITLE_RE = re.compile(r"^[‘'\"“](?P<title>.+?)[’'\"”]\s*[,.]\s*(?P<journal>[^,.]+)")
_LOOKS_LIKE_AUTHORS_RE = re.compile(
    r"\bet\s+al\b|\b[A-Z]{1,3}(?:,|$)|\b[A-Z]\.(?:[A-Z]\.)*(?:,|\s+and\b|$)"
)
_VOLUME_RE = re.compile(r"^\(?(?:19|20)\d{2}\b|^\d")


def _journal_name(text: str) -> str | None:
    """`Arthritis Research & Therapy 23(1):35` -> `Arthritis Research & Therapy`."""
    if _VOLUME_RE.match(text.strip()):
        return None  # a year or a volume, no journal name
    name = re.split(r"\s*,?\s+\(?\d", text.strip())[0].strip(" .;,")
    return name or None


def _parse_body(body: str) -> tuple[int | None, str | None, str | None]:
    """(year, title, journal) from one printed reference in Vancouver (`Aso K, Walsh DA. Title.
    Journal. 2021;23:35.`), author–year (`Aso K (2021) Title. Journal 23:35`) or Harvard
    (`Aso, K. (2021) 'Title', Journal, 23, p. 35.`) style, as far as they can be told apart."""
    plain = _URL_RE.sub(" ", body).strip()
    years = [int(y) for y in re.findall(r"\((\d{4})\)", plain)] or [
        int(y) for y in _YEAR_RE.findall(plain)
    ]
    year = years[-1] if years else None
    title = journal = None
    if m := _AUTHOR_YEAR_RE.match(plain):
        year = int(m.group("year"))
        rest = m.group("rest").strip()
        if q := _QUOTED_TITLE_RE.match(rest):
            title, journal = q.group("title"), _journal_name(q.group("journal"))
        else:
            segs = [x.strip() for x in re.split(r"\.\s+", rest) if x.strip()]
            if _LOOKS_LIKE_AUTHORS_RE.search(m.group("who")):
                title = segs[0] if segs else None
                journal = _journal_name(segs[1]) if len(segs) > 1 else None
            else:  # no authors: the title stands before the year
                title, journal = m.group("who"), _journal_name(segs[0]) if segs else None
            if len(segs) == 1 and re.search(r"\d+\s*\(\d+\)|\d+:\d+", segs[0]):
                title, journal = None, _journal_name(segs[0])  # `Wood DS (2023) Journal 481:1543`
    else:
        segs = [x.strip() for x in re.split(r"\.\s+", plain) if x.strip()]
        authors = bool(segs) and bool(
            _AUTHORS_SEG_RE.match(segs[0].rstrip("."))
            or re.search(r"\bet\s+al$", segs[0].rstrip("."))
        )
        if authors:
            segs = segs[1:]
        at = next((i for i, x in enumerate(segs) if _VOLUME_RE.match(x)), len(segs))
        if at >= 2:
            title, journal = segs[at - 2], _journal_name(segs[at - 1])
        elif at == 1 and authors:  # `Nairn LN, et al. Knee Surg Sports Traumatol Arthrosc. 2021`
            journal = _journal_name(segs[0])
        elif segs:
            title = segs[0]
            if len(segs) > 1 and not _VOLUME_RE.match(segs[1]):
                journal = _journal_name(segs[1])
    if title:
        title = re.sub(r"\s*\([^)]*\)\s*$", "", title.strip(" .")).strip(" .")
    return year, title or None, journal or None


def parse_references(text: str) -> list[Reference]:
    """The numbered reference list: lines with a label ([3], 3., 1. [1]) that hold a DOI or follow a
    References heading."""
    refs: list[Reference] = []
    pos = 0
    in_section = False
    for line in text.splitlines(keepends=True):
        start, pos = pos, pos + len(line)
        if _REF_HEADING_RE.match(line):
            in_section = True
            continue
        if in_section and re.match(r"^\s*#{1,6}\s", line):
            in_section = False  # the next Markdown heading ends the list
        m = _REF_LINE_RE.match(line.rstrip("\r\n"))
        if not m:
            continue
        body = m.group("body")
        doi = _find_doi(line)
        numbered = bool(m.group("num") or m.group("br"))
        if numbered and not doi and not (in_section and _YEAR_RE.search(body)):
            continue
        if not numbered and not (
            in_section
            and (doi or (_YEAR_RE.search(body) and _LOOKS_LIKE_AUTHORS_RE.search(body[:80])))
        ):  # an unnumbered (author–year, Harvard) list: only under a References heading
            continue
        if m.group("br"):
            label, number = f"[{m.group('br')}]", int(m.group("br"))
        elif m.group("num"):
            label, number = f"{m.group('num')}.", int(m.group("num"))
        else:
            label, number = None, None
        year, title, journal = _parse_body(body)
        end = start + len(line.rstrip("\r\n"))
        refs.append(Reference(label, number, doi, line.strip(), start, end, year, title, journal))
    return refs


def citation_markers(text: str) -> list[int]:
    """Reference numbers cited by `[3]`, `[2, 4]`, `[1–3]`, `(ref 3)` markers in text."""
    numbers: list[int] = []
    for m in _MARKER_RE.finditer(text):
        for part in re.split(r",|\band\b", m.group("n") or m.group("r")):
            bits = re.split(r"\s*[–\-]\s*", part.strip())
            if len(bits) == 2 and bits[0].isdigit() and bits[1].isdigit():
                lo, hi = int(bits[0]), int(bits[1])
                numbers.extend(range(lo, hi + 1) if hi - lo < 50 else [lo, hi])
            elif bits[0].isdigit():
                numbers.append(int(bits[0]))
    return numbers


def author_mentions(text: str) -> list[Mention]:
    """Works named by author in text: `Shi et al.`, `Aso and colleagues (2021)`, `(Felson, 2001)`."""
    found: list[Mention] = []
    for rx in (_MENTION_RE, _PAREN_MENTION_RE):
        for m in rx.finditer(text):
            if any(f.start <= m.start() < f.end for f in found):
                continue
            year = int(m.group("year")) if m.group("year") else None
            if year is None:  # "Research published in 2023 (Shi et al.)": the nearest year before
                before = _YEAR_RE.findall(text[max(0, m.start() - 60) : m.start()])
                year = int(before[-1]) if before else None
            found.append(Mention(m.group("name"), year, m.start(), m.end(), m.group()))
    return sorted(found, key=lambda x: x.start)


def _surnames(authors: Any) -> list[str]:
    if isinstance(authors, str):
        try:
            authors = json.loads(authors)
        except json.JSONDecodeError:
            authors = [a for a in authors.split(",")]
    names = []
    for full in authors or []:
        bits = full.replace(".", "").split()
        if len(bits) >= 2 and bits[-1].isupper() and len(bits[-1]) <= 3:  # "Shi X"
            names.append(" ".join(bits[:-1]).lower())
        elif bits:
            names.append(bits[-1].lower())
    return names


def source_years(src: dict[str, Any]) -> set[int]:
    out = {src["year"]} if src.get("year") else set()
    for key in ("published_online", "published_print"):
        if src.get(key):
            out.add(int(str(src[key])[:4]))
    return out


def sources_by_author(
    db: sqlite_utils.Database, surname: str, year: int | None
) -> list[dict[str, Any]]:
    """The sources `surname` wrote (in `year`, if given): those they lead when there are any
    ("Felson's work" is every paper Felson led), else those they co-wrote ("Arden's group")."""
    rows = db.query(
        "select * from sources where authors like :pat", {"pat": f"%{surname}%"}
    )  # the LIKE is a prefilter; the exact test is below
    led, wrote = [], []
    for row in rows:
        names = _surnames(row.get("authors"))
        if not names or surname.lower() not in names:
            continue
        if year is not None and year not in source_years(row):
            continue
        (led if names[0] == surname.lower() else wrote).append(dict(row))
    return led or wrote


def source_by_author(
    db: sqlite_utils.Database, surname: str, year: int | None
) -> dict[str, Any] | None:
    """The source whose first author is `surname` (and whose year matches, if given)."""
    found = sources_by_author(db, surname, year)
    return found[0] if found else None


def _expand(title: str) -> str:
    words = re.findall(r"[\w\-]+", title.lower())
    return " ".join(_EXPANSIONS.get(w, w) for w in words)


def titles_agree(printed: str, recorded: str) -> bool:
    """Printed titles are often shortened: compare expanded content words, order-free."""
    a, b = _expand(printed), _expand(recorded)
    score = fuzz.token_set_ratio(a, b, processor=utils.default_process)
    # a shortened title keeps the recorded title's words: nearly every printed word is in it
    theirs = {w[:5] for w in b.split() if w not in _STOP}
    mine = [w for w in re.findall(r"[\w\-]+", printed.lower()) if w not in _STOP]
    kept = (
        sum(any(x[:5] in theirs for x in _EXPANSIONS.get(w, w).split()) for w in mine) / len(mine)
        if mine
        else 1.0
    )  # an abbreviation is kept when any word of it is
    return score >= 60 and kept >= TITLE_WORDS_KEPT


def journals_agree(printed: str, recorded: str) -> bool:
    """`Arthritis Res Ther` agrees with `Arthritis Research & Therapy` (each word a prefix, in order)."""
    a = [w for w in re.findall(r"[a-z]+", printed.lower()) if w not in _STOP]
    b = [w for w in re.findall(r"[a-z]+", recorded.lower()) if w not in _STOP]
    if a == b:
        return True
    if len(a) == len(b) and all(y.startswith(x) for x, y in zip(a, b, strict=True)):
        return True
    return fuzz.token_sort_ratio(" ".join(a), " ".join(b)) >= 85


def check_references(
    db: sqlite_utils.Database,
    refs: list[Reference],
    used: set[str],
    cited_numbers: set[int],
    mentions: list[Mention],
    has_markers: bool,
) -> list[RefResult]:
    """A verdict per listed reference, then one `missing` row per work named in the text but not listed."""
    results: list[RefResult] = []
    listed = {r.doi for r in refs if r.doi}
    marks = ", ".join("?" * len(listed))
    sources = {
        r["doi"]: dict(r)
        for r in db.query(f"select * from sources where doi in ({marks})", sorted(listed))
    }  # only the listed works: a field-wide KB holds hundreds of thousands
    for ref in refs:
        src = sources.get(ref.doi or "")
        cited = ref.number in cited_numbers if has_markers else False
        first_author = _surnames(src.get("authors"))[:1] if src else []
        named = any(m.surname.lower() in first_author for m in mentions)  # "Aso et al. (2020)"
        is_used = cited or named or (ref.doi in used)
        if src is None:
            why = (
                "no DOI found in this entry"
                if not ref.doi
                else "this DOI is not among the studies we hold"
            )
            results.append(RefResult(ref.label, ref.doi, "unresolved", note=why))
            continue
        citation = src.get("citation")
        if (src.get("update_status") or "") in SERIOUS_UPDATES:
            results.append(
                RefResult(ref.label, ref.doi, "retracted", citation=citation,
                          note=f"the source has a {src['update_status']} notice")
            )  # fmt: skip
            continue
        if not src.get("title") and not src.get("year"):
            results.append(
                RefResult(ref.label, ref.doi, "unresolved", citation=citation,
                          note="the KB knows this DOI but none of its metadata (title, year)")
            )  # fmt: skip
            continue
        problems = []
        if ref.printed_year and source_years(src) and ref.printed_year not in source_years(src):
            problems.append(
                {"field": "year", "article": str(ref.printed_year), "source": str(src["year"])}
            )
        if (
            ref.printed_title
            and src.get("title")
            and not titles_agree(ref.printed_title, src["title"])
        ):
            problems.append(
                {"field": "title", "article": ref.printed_title, "source": src["title"]}
            )
        if (
            ref.printed_journal
            and src.get("journal")
            and not journals_agree(ref.printed_journal, src["journal"])
        ):
            problems.append(
                {"field": "journal", "article": ref.printed_journal, "source": src["journal"]}
            )
        if problems:
            note = "; ".join(
                f"{p['field']}: {p['article']} here, {p['source']} in the source" for p in problems
            )
            results.append(RefResult(ref.label, ref.doi, "mismatch", problems, note, citation))
        elif not is_used:
            results.append(
                RefResult(ref.label, ref.doi, "unused", citation=citation,
                          note="listed, but no statement in the text rests on it")
            )  # fmt: skip
        else:
            results.append(RefResult(ref.label, ref.doi, "ok", citation=citation))
    listed_surnames = {
        n for r in refs for n in _surnames(sources.get(r.doi or "", {}).get("authors"))
    }
    listed_text = " ".join(r.raw.lower() for r in refs)
    seen: set[tuple[str, int | None]] = set()
    for m in mentions:
        key = (m.surname.lower(), m.year)
        if key in seen:
            continue
        seen.add(key)
        src = source_by_author(db, m.surname, m.year)
        if src and src["doi"] in listed:
            continue
        if not src and (m.surname.lower() in listed_surnames or m.surname.lower() in listed_text):
            continue
        when = f" ({m.year})" if m.year else ""
        note = f'"{m.text.strip()}" is named in the text but is not in the reference list'
        results.append(
            RefResult(None, src["doi"] if src else None, "missing", note=note + (
                f"; we hold it as {src['citation']}" if src else f"; we hold no study by {m.surname}{when}"),
                citation=src.get("citation") if src else None)
        )  # fmt: skip
    return results
