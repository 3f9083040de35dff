"""Checking curated records against their specifications (`kb.fields`): one pass that reports every problem.

`validate(raw)` returns a `KB` of clean rows (keys = database columns) and the list of problems.
The build refuses to run while there is any problem.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .doi import InvalidDOI, normalize_doi
from .fields import (
    ARTICLE_FIELDS,
    CERTAINTIES,
    CLAIM_FIELDS,
    DESIGN_CERTAINTY,
    EXCERPT_MAX_WORDS,
    FAQ_FIELDS,
    ID_RE,
    PARTIAL_DATE_RE,
    PUBLIC_URL_RE,
    QUESTION_FIELDS,
    REFERENCE_FIELDS,
    SOURCE_FIELDS,
    STATEMENT_FIELDS,
    Field,
)  # the specifications, as data
from .loader import Located, Problem, RawData


@dataclass
class KB:
    """Validated rows, ready to insert. Keys are database column names."""

    sources: list[dict[str, Any]] = field(default_factory=list)
    questions: list[dict[str, Any]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    articles: list[dict[str, Any]] = field(default_factory=list)
    article_references: list[dict[str, Any]] = field(default_factory=list)
    article_statements: list[dict[str, Any]] = field(default_factory=list)
    faq: list[dict[str, Any]] = field(default_factory=list)
    faq_claims: list[dict[str, Any]] = field(default_factory=list)


def certainty_above_design(certainty: str | None, design: str | None) -> str | None:
    """Why a claim's certainty is higher than its study design starts at, or None when it is not."""
    start = DESIGN_CERTAINTY.get(design or "")
    if not certainty or not start or certainty not in CERTAINTIES:
        return None
    if CERTAINTIES.index(certainty) < CERTAINTIES.index(start):
        return f"{certainty!r} is higher than a {design} starts at ({start!r}); certainty may only be lowered"
    return None


def is_public_url(text: str) -> bool:
    """An http(s) address a reader can open: provenance ends at a public page, never at a file of ours."""
    return bool(PUBLIC_URL_RE.match(text.strip()))


def _suggest(key: str, known: dict[str, Field]) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _coerce(value: Any, spec: Field) -> tuple[Any, str | None]:
    """Return (clean value, error message or None)."""
    kind = spec.kind
    if kind in ("str", "id"):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return None, f"expected text, got {type(value).__name__}"
        text = str(value).strip()
        if not text:
            return None, None
        if kind == "id" and not ID_RE.match(text):
            return None, f"{text!r} is not a valid id (lower-case letters, digits and hyphens)"
        if spec.choices and text not in spec.choices:
            return None, f"{text!r} is not one of: {', '.join(spec.choices)}"
        return text, None
    if kind == "doi":
        try:
            return normalize_doi(str(value)), None
        except InvalidDOI as exc:
            return None, str(exc)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return None, f"expected a whole number, got {value!r}"
        return value, None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, f"expected a number, got {value!r}"
        return value, None
    if kind == "bool":
        if not isinstance(value, bool):
            return None, f"expected true or false, got {value!r}"
        return value, None
    if kind == "date":
        if isinstance(value, dt.date):
            return value.isoformat(), None
        try:
            return dt.date.fromisoformat(str(value)).isoformat(), None
        except ValueError:
            return None, f"expected a date YYYY-MM-DD, got {value!r}"
    if kind == "partial_date":
        text = value.isoformat() if isinstance(value, dt.date) else str(value)
        if not PARTIAL_DATE_RE.match(text):
            return None, f"expected YYYY, YYYY-MM or YYYY-MM-DD, got {value!r}"
        return text, None
    if kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
            return None, "expected a list of text items"
        items = [str(v).strip() for v in value]
        if spec.choices:
            bad = [v for v in items if v not in spec.choices]
            if bad:
                return None, f"{bad[0]!r} is not one of: {', '.join(spec.choices)}"
        return items, None
    if kind == "records":
        if not isinstance(value, list) or not all(isinstance(v, Located) for v in value):
            return None, "expected a list of mappings"
        return value, None
    raise AssertionError(kind)


def _check_record(
    rec: Located, spec: dict[str, Field], label: str, path: str, problems: list[Problem]
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    start = len(problems)
    for key, value in rec.items():
        if key == "_file":
            continue
        where = f"{label}.{key}"
        if key not in spec:
            problems.append(
                Problem(path, rec.line_of(key), where, f"unknown field{_suggest(str(key), spec)}")
            )
            continue
        if value is None:
            continue
        clean, err = _coerce(value, spec[key])
        if err:
            problems.append(Problem(path, rec.line_of(key), where, err))
        elif clean is not None:
            row[key] = clean
    reported = {p.field for p in problems[start:]}  # this record's: linear in the problems
    for key, f in spec.items():
        if f.required and key not in row and f"{label}.{key}" not in reported:
            problems.append(Problem(path, rec.line, f"{label}.{key}", "required field is missing"))
    return row


def _unique_records(
    records: list[Located],
    spec: dict[str, Field],
    file: str,
    key: str,
    what: str,
    problems: list[Problem],
) -> Iterator[tuple[Located, dict[str, Any], str]]:
    """Check each record of one file against spec; yield (record, clean row, label) for those whose
    `key` is present and seen for the first time (a repeat is reported as a duplicate `what`)."""
    seen: dict[str, str] = {}
    for rec in records:
        path = rec["_file"]
        label = f"{file}[{rec.get(key, '?')}]"
        row = _check_record(rec, spec, label, path, problems)
        value = row.get(key)
        if not value:
            continue
        if value in seen:
            problems.append(
                Problem(path, rec.line_of(key), f"{label}.{key}",
                        f"duplicate {what} (first at {seen[value]})")
            )  # fmt: skip
            continue
        seen[value] = f"{path}:{rec.line}"
        yield rec, row, label


def check_sources(records: list[Located]) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Every check on sources.yml (it needs nothing outside the file): clean rows and problems."""
    problems: list[Problem] = []
    rows: list[dict[str, Any]] = []
    for rec, row, label in _unique_records(
        records, SOURCE_FIELDS, "sources", "doi", "DOI", problems
    ):
        path = rec["_file"]
        if row.get("authors_complete") is False and not row.get("authors"):
            problems.append(
                Problem(path, rec.line_of("authors_complete"), f"{label}.authors_complete",
                        "says the author list is incomplete, but there is no author list")
            )  # fmt: skip
        if row.get("metadata_origin") == "manual" and not row.get("metadata_page"):
            problems.append(
                Problem(
                    path,
                    rec.line,
                    f"{label}.metadata_page",
                    "manual metadata must say where it was read",
                )
            )
        elif row.get("metadata_origin") == "manual" and not is_public_url(row["metadata_page"]):
            problems.append(
                Problem(path, rec.line_of("metadata_page"), f"{label}.metadata_page",
                        "must be the address (http or https) of the public page the metadata was read on")
            )  # fmt: skip
        row["_line"] = rec.line
        rows.append(row)
    return rows, problems


def check_questions(records: list[Located]) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Every check on questions.yml (it needs nothing outside the file): clean rows and problems."""
    problems: list[Problem] = []
    found = _unique_records(records, QUESTION_FIELDS, "questions", "id", "question id", problems)
    rows = [row for _rec, row, _label in found]
    return rows, problems


def check_claims(records: list[Located]) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The checks one claim file can make on its own; `ClaimChecker` adds those across files.

    Rows keep `_file`, `_line` and the lines of `id` and `source_doi` for the checks across files.
    A pure function of the records: its result can be cached by file content.
    """
    problems: list[Problem] = []
    rows: list[dict[str, Any]] = []
    for rec in records:
        path = rec["_file"]
        label = f"claims[{rec.get('id', '?')}]"
        before = len(problems)
        row = _check_record(rec, CLAIM_FIELDS, label, path, problems)
        if not row.get("id"):
            continue
        # a field already reported as wrong is not also "missing" in the checks below
        wrong = {p.field for p in problems[before:]}
        low, high = row.get("value_low"), row.get("value_high")
        if low is not None and high is not None and low > high:
            problems.append(
                Problem(path, rec.line_of("value_low"), f"{label}.value_low",
                        f"value_low {low} is greater than value_high {high}")
            )  # fmt: skip
        excerpt = row.get("excerpt")
        if excerpt and len(excerpt.split()) > EXCERPT_MAX_WORDS:
            problems.append(
                Problem(path, rec.line_of("excerpt"), f"{label}.excerpt",
                        f"an excerpt is a short quote: {len(excerpt.split())} words, at most {EXCERPT_MAX_WORDS}")
            )  # fmt: skip
        too_high = certainty_above_design(row.get("certainty"), row.get("study_design"))
        if too_high:
            problems.append(Problem(path, rec.line_of("certainty"), f"{label}.certainty", too_high))
        status = row.get("status")
        if status == "deprecated" and not row.get("deprecated_reason"):
            problems.append(
                Problem(
                    path,
                    rec.line_of("status"),
                    f"{label}.deprecated_reason",
                    "a deprecated claim must say why",
                )
            )
        if status == "verified":
            for needed in ("source_doi", "verified_against"):
                if needed not in row and f"{label}.{needed}" not in wrong:
                    problems.append(
                        Problem(
                            path,
                            rec.line_of("status"),
                            f"{label}.{needed}",
                            "a verified claim needs it",
                        )
                    )
            if "verified_against" in row and not is_public_url(row["verified_against"]):
                problems.append(
                    Problem(path, rec.line_of("verified_against"), f"{label}.verified_against",
                            "must be the address (http or https) of the public page the figure was seen on")
                )  # fmt: skip
        elif (
            status not in ("deprecated", "unverified")
            and "source_doi" not in row
            and f"{label}.source_doi" not in wrong
        ):
            problems.append(
                Problem(
                    path,
                    rec.line,
                    f"{label}.source_doi",
                    "only an unverified claim may lack a source",
                )
            )
        if status in ("unverified", "disputed") and not row.get("notes"):
            problems.append(
                Problem(path, rec.line_of("status"), f"{label}.notes",
                        f"a {status} claim must say in notes what is missing or contested")
            )  # fmt: skip
        row["_file"], row["_line"] = path, rec.line
        row["_id_line"], row["_doi_line"] = rec.line_of("id"), rec.line_of("source_doi")
        if "superseded_by" in row:
            row["_superseded_line"] = rec.line_of("superseded_by")
        if "question" in row:
            row["_question_line"] = rec.line_of("question")
        rows.append(row)
    return rows, problems


class _Causes:
    """Which file that could not be read seems to define a key (claim id, article id, DOI).

    Reads the problems found so far (a list that only grows while checking); a reference to a key
    one of those files defines is a consequence of that file, not a problem of its own.
    """

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        self.read = 0
        self.files: dict[str, str] = {}

    def of(self, key: str) -> str | None:
        for p in self.problems[self.read :]:
            for lost in p.lost or ():
                self.files.setdefault(lost, p.path)
        self.read = len(self.problems)
        return self.files.get(key)


def _missing(
    problems: list[Problem], causes: _Causes, key: str, path: str, line: int | None, where: str,
    message: str,
) -> None:  # fmt: skip
    """A reference to something that is not there, marked as a consequence when it is."""
    problems.append(Problem(path, line, where, message, cause=causes.of(key)))


def triage(problems: list[Problem]) -> tuple[list[Problem], list[Problem]]:
    """(root causes, consequences): files that could not be read first, then every other problem
    in order; the consequences are missing references into those files."""
    roots = [p for p in problems if p.cause is None]
    roots.sort(key=lambda p: p.lost is None)  # stable: otherwise the order is kept
    return roots, [p for p in problems if p.cause is not None]


class ClaimChecker:
    """The checks across claim files, fed one file's rows at a time so a build can stream."""

    def __init__(
        self, dois: set[str] | dict[str, Any], problems: list[Problem],
        questions: set[str] = frozenset(),
    ):  # fmt: skip
        self.dois = dois
        self.questions = questions
        self.problems = problems
        self.causes = _Causes(problems)
        self.seen: dict[str, str] = {}
        self.superseding: list[tuple[str, int, str, str]] = []

    def add(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Check rows against the claims seen before them; returns the rows to keep."""
        kept = []
        for row in rows:
            path, cid = row["_file"], row["id"]
            label = f"claims[{cid}]"
            if cid in self.seen:
                self.problems.append(
                    Problem(path, row["_id_line"], f"{label}.id",
                            f"duplicate claim id (first at {self.seen[cid]})")
                )  # fmt: skip
            else:
                self.seen[cid] = f"{path}:{row['_line']}"
                kept.append(row)
                if row.get("superseded_by"):
                    line = row.get("_superseded_line", row["_line"])
                    self.superseding.append((path, line, cid, row["superseded_by"]))
            doi = row.get("source_doi")
            if doi and doi not in self.dois:
                _missing(self.problems, self.causes, doi, path, row["_doi_line"],
                         f"{label}.source_doi", f"{doi} is not in sources.yml")  # fmt: skip
            question = row.get("question")
            if question and question not in self.questions:
                line = row.get("_question_line", row["_line"])
                _missing(self.problems, self.causes, question, path, line,
                         f"{label}.question", f"no question {question!r} in questions.yml")  # fmt: skip
        return kept

    def finish(self) -> None:
        """Checks that need every claim: `superseded_by` points at a claim, and never back round."""
        replaced_by = {cid: target for _path, _line, cid, target in self.superseding}
        where = {cid: (path, line) for path, line, cid, _target in self.superseding}
        state: dict[str, int] = {}  # 1: on the chain being followed, 2: done
        for path, line, cid, target in self.superseding:
            if target not in self.seen:
                _missing(self.problems, self.causes, target, path, line,
                         f"claims[{cid}].superseded_by", f"no claim {target!r}")  # fmt: skip
            chain, node = [], cid
            while node in replaced_by and node not in state:
                state[node] = 1
                chain.append(node)
                node = replaced_by[node]
            if state.get(node) == 1:  # the chain came back to a claim on it
                loop = chain[chain.index(node) :]
                at_path, at_line = where[node]
                message = (
                    "a claim cannot be superseded by itself"
                    if len(loop) == 1
                    else "claims supersede each other in a circle: " + " → ".join([*loop, node])
                )
                self.problems.append(
                    Problem(at_path, at_line, f"claims[{node}].superseded_by", message)
                )
            for n in chain:
                state[n] = 2


def check_articles(
    records: list[Located], dois: set[str] | dict[str, Any], claims: dict[str, Any],
    kb: KB, problems: list[Problem],
) -> set[str]:  # fmt: skip
    """Articles, their references and statements into kb; returns the article ids."""
    seen_articles: set[str] = set()
    seen_statements: dict[str, str] = {}
    causes = _Causes(problems)
    for rec in records:
        path = rec["_file"]
        label = f"articles[{rec.get('id', '?')}]"
        row = _check_record(rec, ARTICLE_FIELDS, label, path, problems)
        aid = row.get("id")
        if not aid:
            continue
        if aid in seen_articles:
            problems.append(Problem(path, rec.line_of("id"), f"{label}.id", "duplicate article id"))
            continue
        seen_articles.add(aid)
        for pos, ref in enumerate(row.pop("references", []), start=1):
            rlabel = f"{label}.references[{pos}]"
            r = _check_record(ref, REFERENCE_FIELDS, rlabel, path, problems)
            if r.get("doi") and r["doi"] not in dois:
                _missing(problems, causes, r["doi"], path, ref.line_of("doi"), f"{rlabel}.doi",
                         f"{r['doi']} is not in sources.yml")  # fmt: skip
            r.update(article_id=aid, position=pos, id=f"{aid}-ref-{pos}")
            kb.article_references.append(r)
        for pos, st in enumerate(row.pop("statements", []), start=1):
            slabel = f"{label}.statements[{st.get('id', pos)}]"
            s = _check_record(st, STATEMENT_FIELDS, slabel, path, problems)
            sid = s.get("id")
            if not sid:
                continue
            if sid in seen_statements:
                problems.append(
                    Problem(path, st.line_of("id"), f"{slabel}.id", "duplicate statement id")
                )
                continue
            seen_statements[sid] = path
            if s.get("claim_id") and s["claim_id"] not in claims:
                _missing(problems, causes, s["claim_id"], path, st.line_of("claim_id"),
                         f"{slabel}.claim_id", f"no claim {s['claim_id']!r}")  # fmt: skip
            s.update(article_id=aid, position=pos)
            kb.article_statements.append(s)
        kb.articles.append(row)
    return seen_articles


def check_faq(
    records: list[Located], articles: set[str], claims: dict[str, Any], kb: KB,
    problems: list[Problem],
) -> None:  # fmt: skip
    """FAQ entries and their claim links into kb."""
    seen_faq: set[str] = set()
    causes = _Causes(problems)
    for rec in records:
        path = rec["_file"]
        label = f"faq[{rec.get('id', '?')}]"
        row = _check_record(rec, FAQ_FIELDS, label, path, problems)
        fid = row.get("id")
        if not fid:
            continue
        if fid in seen_faq:
            problems.append(Problem(path, rec.line_of("id"), f"{label}.id", "duplicate FAQ id"))
            continue
        seen_faq.add(fid)
        if row.get("article_id") and row["article_id"] not in articles:
            _missing(problems, causes, row["article_id"], path, rec.line_of("article_id"),
                     f"{label}.article_id", f"no article {row['article_id']!r}")  # fmt: skip
        for cid in row.pop("claims", []):
            if cid not in claims:
                _missing(problems, causes, cid, path, rec.line_of("claims"), f"{label}.claims",
                         f"no claim {cid!r}")  # fmt: skip
                continue
            kb.faq_claims.append({"faq_id": fid, "claim_id": cid})
        kb.faq.append(row)


def by_file(records: list[Located]) -> list[list[Located]]:
    """Records grouped by `_file`, in order."""
    groups: dict[str, list[Located]] = {}
    for rec in records:
        groups.setdefault(rec["_file"], []).append(rec)
    return list(groups.values())


def validate(raw: RawData) -> tuple[KB, list[Problem]]:
    problems = list(raw.problems)
    kb = KB()
    kb.sources, found = check_sources(raw.sources)
    problems += found
    dois = {row["doi"] for row in kb.sources}
    kb.questions, found = check_questions(raw.questions)
    problems += found
    checker = ClaimChecker(dois, problems, {row["id"] for row in kb.questions})
    for records in by_file(raw.claims):
        rows, found = check_claims(records)
        problems += found
        kb.claims += checker.add(rows)
    checker.finish()
    for row in kb.claims:
        del row["_id_line"], row["_doi_line"]
        row.pop("_superseded_line", None)
        row.pop("_question_line", None)
    articles = check_articles(raw.articles, dois, checker.seen, kb, problems)
    check_faq(raw.faq, articles, checker.seen, kb, problems)
    problems.sort(key=lambda p: (p.path, p.line or 0))
    return kb, problems
