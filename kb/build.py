"""`kb build`: validated `data/` files in, one SQLite database out, replaced atomically.

Reads only files: curated YAML, and the records `kb ingest` stored under `data/fetched/records/`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from . import __version__
from .cache import BuildCache, DataFile, scan
from .citation import format_citation, format_short_citation, vancouver_name
from .dbfile import remove_temp, sweep_temp_files, temp_path, write_error, writing
from .doi import doi_url
from .history import load_history
from .lexicon import lexicon_rows, load_lexicon
from .loader import Problem, load_data, read_article, read_records
from .markup import strip_markup, text_only
from .schema import (
    DERIVED,
    FTS,
    SERIOUS_UPDATES,
    TABLES,
    count_claim_terms,
    ensure_db_shape,
    ensure_fts,
)
from .validate import (
    KB,
    ClaimChecker,
    check_articles,
    check_claims,
    check_faq,
    check_questions,
    check_sources,
    validate,
)  # fmt: skip

CACHE_FOLDER = ".kb-cache"  # beside the database: each data file's checked records, by content

# Metadata fields a fetched record may fill in when the curated record leaves them empty,
# and that are compared with the curated value when both exist.
COMPARED_FIELDS = (
    "title", "journal", "year", "volume", "issue", "pages", "article_number", "authors",
    "publisher", "published_online", "published_print", "pmid", "pmcid", "license", "open_access",
)  # fmt: skip
# Fields only a fetched record provides.
FETCHED_ONLY_FIELDS = (
    "abstract",
    "update_status",
    "update_notices",
    "retrieved_at",
    "fetched_from",
)
# Source fields that are text, never markup: tags in them (JATS from Crossref, HTML pasted by hand)
# are dropped when the database is built, and entities are left as written (`&lt;` is not made `<`),
# so no JSON the website reads carries markup that came from a record.
PLAIN_TEXT_FIELDS = ("title", "journal", "publisher", "abstract")


class BuildError(Exception):
    """Input problems that stop a build; `problems` lists every one of them."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in data/")


@dataclass
class BuildResult:
    db_path: Path
    build_id: str
    counts: dict[str, int]


# ---------------------------------------------------------------- fetched records


def load_fetched(data_dir: Path) -> tuple[dict[str, dict[str, Any]], list[Problem]]:
    """The normalised records `kb ingest` wrote, by DOI."""
    records: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    folder = Path(data_dir) / "fetched" / "records"
    for path in sorted(folder.glob("*.json")):
        rel = str(path.relative_to(Path(data_dir).parent))
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            problems.append(
                Problem(rel, getattr(exc, "lineno", None), None, f"not valid JSON: {exc}")
            )
            continue
        if not isinstance(rec, dict) or not isinstance(rec.get("doi"), str):
            problems.append(Problem(rel, 1, "doi", "a fetched record needs a doi"))
            continue
        records[rec["doi"].lower()] = text_only(rec)  # fetched text never brings markup
    return records, problems


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()
    return a == b


def _leads(ours: list[str], theirs: Any, row: dict[str, Any]) -> bool:
    """Curated authors known to be incomplete, and the fetched list starts with the same surnames."""
    if row.get("authors_complete") is not False or not isinstance(theirs, list):
        return False

    def surname(name: Any) -> str:
        return vancouver_name(str(name)).split()[0].casefold()

    return len(theirs) >= len(ours) and all(
        surname(a) == surname(b) for a, b in zip(ours, theirs, strict=False)
    )


def plain_text(value: Any) -> Any:
    """A text field without markup (`kb.markup.strip_markup`); anything else as it is."""
    if not isinstance(value, str) or "<" not in value:
        return value
    return strip_markup(value) or None


def merge_fetched(
    source: dict[str, Any], fetched: dict[str, Any] | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Curated values win; fetched values fill gaps; every difference is returned, never hidden."""
    row = dict(source)
    discrepancies: list[dict[str, Any]] = []
    if not fetched:
        return row, discrepancies
    origin = ", ".join(fetched.get("fetched_from") or []) or None
    for key in COMPARED_FIELDS:
        theirs = plain_text(fetched.get(key)) if key in PLAIN_TEXT_FIELDS else fetched.get(key)
        if theirs in (None, "", []):
            continue
        ours = row.get(key)
        if ours in (None, "", []) or (key == "authors" and _leads(ours, theirs, row)):
            row[key] = theirs
            if key == "authors":
                row["authors_complete"] = None
        elif not _same(ours, theirs):
            discrepancies.append(
                {
                    "doi": row["doi"],
                    "field": key,
                    "curated": json.dumps(ours) if isinstance(ours, list) else str(ours),
                    "fetched": json.dumps(theirs) if isinstance(theirs, list) else str(theirs),
                    "fetched_from": origin,
                }
            )
    for key in FETCHED_ONLY_FIELDS:
        if fetched.get(key) not in (None, "", []):
            row[key] = fetched[key]
    return row, discrepancies


# ---------------------------------------------------------------- derived display fields


def _num(x: float) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        x = int(x)
    text = f"{x:,}"
    return text.replace("-", "−")


def _span(low: float, high: float) -> str:
    """`14–30`, but `−4,244.7 to 3,617.7` where a dash would read as a minus sign."""
    joiner = " to " if low < 0 or high < 0 else "–"
    return f"{_num(low)}{joiner}{_num(high)}"


_MEASURE_PREFIX = {"odds_ratio": "OR ", "regression_coefficient": "B = ", "r_squared": "R² = ",
                   "dice": "Dice "}  # fmt: skip
_SILENT_UNITS = ("", "ratio")  # an odds ratio or a multiplier carries no unit word


def format_figure(claim: dict[str, Any]) -> str:
    """A claim's figure as a reader would print it: `up to 66%`, `OR 3.2 (95% CI 1.5–6.8)`, `2–5×`."""
    unit = claim.get("unit") or ""
    if unit in _SILENT_UNITS:
        unit = "×" if claim.get("measure") == "ratio" else ""
    sep = "" if unit in ("%", "×", "") else " "
    value, low, high = claim.get("value"), claim.get("value_low"), claim.get("value_high")
    parts: list[str] = []
    if value is not None:
        parts.append(_MEASURE_PREFIX.get(claim.get("measure", ""), "") + _num(value) + sep + unit)
        if low is not None and high is not None:
            label = claim.get("interval") or "range"
            parts.append(f"({label} {_span(low, high)}{sep}{unit})")
    elif low is not None and high is not None:
        parts.append(f"{_span(low, high)}{sep}{unit}")
    if claim.get("p_value") is not None:
        p = _num(claim["p_value"])
        parts.append(f"(p = {p})" if parts else f"p = {p}")
    text = " ".join(parts).strip()
    if text and claim.get("qualifier"):
        text = f"{claim['qualifier']} {text}"
    return text


def claim_flag(claim: dict[str, Any], update_status: str | None) -> str | None:
    """The warning a reader must see beside the claim, if any."""
    flags = []
    if update_status in SERIOUS_UPDATES:
        flags.append(f"source {update_status.replace('_', ' ')}")
    elif update_status:
        flags.append(f"source has a {update_status.replace('_', ' ')}")
    if claim["status"] != "verified":
        flags.append(claim["status"])
    return "; ".join(flags) or None


# ---------------------------------------------------------------- rows


def _source_rows(
    sources: list[dict[str, Any]], fetched: dict[str, dict[str, Any]]
) -> tuple[list[dict], list[dict]]:
    rows, discrepancies = [], []
    for src in sources:
        row, diffs = merge_fetched(
            {k: v for k, v in src.items() if k != "_line"}, fetched.get(src["doi"])
        )
        discrepancies += diffs
        for key in PLAIN_TEXT_FIELDS:
            if key in row:
                row[key] = plain_text(row[key])
        row.setdefault("url", doi_url(row["doi"]))
        row["citation"] = format_citation(row)
        row["short_citation"] = format_short_citation(row)
        rows.append(row)
    return rows, discrepancies


def _claim_rows(claims: list[dict[str, Any]], updates: dict[str, str | None]) -> list[dict]:
    rows = []
    for c in claims:
        row = {k: v for k, v in c.items() if not k.startswith("_")}
        row["data_file"], row["data_line"] = c["_file"], c["_line"]
        row["figure"] = format_figure(row) or None
        upd = updates.get(row.get("source_doi") or "")
        row["source_update_status"] = upd
        row["flag"] = claim_flag(row, upd)
        rows.append(row)
    return rows


def _faq_rows(kb: KB) -> list[dict[str, Any]]:
    """FAQ rows as curated; their evidence status is the `faq_entries` view's (kb/schema.py)."""
    return [dict(f) for f in kb.faq]


def _insert(conn: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    columns = list(TABLES[table]["columns"])
    sql = (
        f"insert or replace into [{table}] ({', '.join(f'[{c}]' for c in columns)}) "
        f"values ({', '.join('?' * len(columns))})"
    )
    conn.executemany(sql, ([_db_value(r.get(c)) for c in columns] for r in rows))


def _db_value(value: Any) -> Any:
    """As sqlite-utils stores it: lists and mappings as JSON text."""
    if isinstance(value, list | dict | tuple):
        return json.dumps(value, default=repr, ensure_ascii=False)
    return value


# ---------------------------------------------------------------- checking, file by file


def check(data_dir: Path) -> tuple[KB, dict[str, dict[str, Any]], list[Problem]]:
    """Read and validate everything under data_dir; no database is touched."""
    raw = load_data(Path(data_dir))
    kb, problems = validate(raw)
    fetched, fetch_problems = load_fetched(Path(data_dir))
    _lexicon, lexicon_problems = load_lexicon(Path(data_dir))
    return kb, fetched, problems + fetch_problems + lexicon_problems


ClaimSink = Callable[[str, list[dict[str, Any]], dict[str, str | None]], None]


def _checked(file: DataFile, kind: str, check_fn: Callable) -> tuple[list[dict], list[Problem]]:
    records, problems = read_records(file.path, file.rel, kind)
    rows, found = check_fn(records)
    return rows, problems + found


def check_streaming(
    data_dir: Path, files: list[DataFile], cache: BuildCache, on_claims: ClaimSink,
    problems: list[Problem],
) -> tuple[KB, dict[str, dict[str, Any]]]:  # fmt: skip
    """What `check` does, one claim file at a time, each file's own checks read from the cache.

    The claims are not kept in the KB: `on_claims(rel, rows, update_status_by_doi)` receives each
    file's clean rows. Returns the KB without claims and the fetched records; problems are added to
    `problems` as they are found (sorted at the end).
    """
    kb = KB()
    fetched, found = load_fetched(data_dir)
    problems += found
    by_path = {f.path: f for f in files}
    sources = by_path.get(data_dir / "sources.yml")
    if sources:
        kb.sources, found = cache.get(sources, lambda: _checked(sources, "source", check_sources))
        problems += found
    else:
        rel = str((data_dir / "sources.yml").relative_to(data_dir.parent))
        problems.append(Problem(rel, None, None, "missing: every KB needs sources.yml"))
    dois = {row["doi"] for row in kb.sources}
    updates = {doi: (fetched.get(doi) or {}).get("update_status") or None for doi in dois}
    questions = by_path.get(data_dir / "questions.yml")
    if questions:
        kb.questions, found = cache.get(
            questions, lambda: _checked(questions, "question", check_questions)
        )
        problems += found
    checker = ClaimChecker(dois, problems, {row["id"] for row in kb.questions})
    for file in files:
        if file.path.parent == data_dir / "claims" and file.path.suffix == ".yml":
            rows, found = cache.get(file, lambda f=file: _checked(f, "claim", check_claims))
            problems += found
            on_claims(file.rel, checker.add(rows), updates)
    checker.finish()
    faq: list = []
    if data_dir / "faq.yml" in by_path:
        faq, found = read_records(data_dir / "faq.yml", by_path[data_dir / "faq.yml"].rel, "faq")
        problems += found
    articles: list = []
    for file in files:
        if file.path.parent == data_dir / "articles" and file.path.suffix == ".yml":
            read_article(file.path, file.rel, articles, problems)
    article_ids = check_articles(articles, dois, checker.seen, kb, problems)
    check_faq(faq, article_ids, checker.seen, kb, problems)
    problems.sort(key=lambda p: (p.path, p.line or 0))
    return kb, fetched


# ---------------------------------------------------------------- build


def _claim_changes(
    cache: BuildCache, files: list[DataFile], data_dir: Path, db_path: Path
) -> set[str] | None:
    """Claim files changed since db_path was built; None if anything else changed (or is unknown)."""
    manifest = cache.manifest()
    if not manifest or not db_path.exists() or build_id_of(db_path) != manifest["fingerprint"]:
        return None
    old, new = manifest["files"], {f.rel: f.digest for f in files}
    changed = {rel for rel in old.keys() | new.keys() if old.get(rel) != new.get(rel)}
    claim_dir = str((data_dir / "claims").relative_to(data_dir.parent)) + os.sep
    for rel in changed:
        tail = rel[len(claim_dir) :]
        if not rel.startswith(claim_dir) or os.sep in tail or not tail.endswith(".yml"):
            return None
    return changed


def _fts_sync(conn: sqlite3.Connection, files: list[str], command: str) -> None:
    """Add (command '') or remove (command 'delete') the FTS entries of these files' claims."""
    columns = ", ".join(f"[{c}]" for c in FTS["claims"])
    head, sel = ("[claims_fts], rowid", "'delete', rowid") if command else ("rowid", "rowid")
    for rel in files:
        conn.execute(
            f"insert into [claims_fts] ({head}, {columns}) "
            f"select {sel}, {columns} from [claims] where data_file = ?",
            [rel],
        )


def build(data_dir: Path | str = "data", db_path: Path | str = "kb.db") -> BuildResult:
    """Validate data_dir and build db_path atomically. Raises BuildError and leaves db_path untouched.

    Claim files stream through validation into the database, so memory stays flat as the KB grows.
    Each file's parse and checks are cached by content in `.kb-cache/` beside the database; when only
    claim files changed since db_path was built, a copy of db_path gets just those files' rows
    replaced (every cross-file check still runs), then the same checks and `os.replace`.
    """
    data_dir, db_path = Path(data_dir), Path(db_path)
    if not data_dir.is_dir():
        raise BuildError([Problem(str(data_dir), None, None, "data folder not found")])
    files, fingerprint = scan(data_dir)
    cache = BuildCache(db_path.parent / CACHE_FOLDER, db_path.name)
    changed = _claim_changes(cache, files, data_dir, db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    sweep_temp_files(db_path)
    cache.sweep()
    tmp = temp_path(db_path)
    problems: list[Problem] = []
    conn: sqlite3.Connection | None = None
    try:
        if changed is not None:
            with writing(db_path):
                shutil.copyfile(db_path, tmp)
        conn = sqlite3.connect(tmp, isolation_level=None)
        db = sqlite_utils.Database(conn)
        if changed is None:
            ensure_db_shape(db)
        conn.execute("PRAGMA foreign_keys = OFF")  # checked once, at the end
        conn.execute("begin")
        if changed is not None:
            _fts_sync(conn, sorted(changed), "delete")
            conn.executemany("delete from claims where data_file = ?", [[r] for r in changed])

        def on_claims(rel: str, rows: list[dict], updates: dict[str, str | None]) -> None:
            if not problems and (changed is None or rel in changed):
                _insert(conn, "claims", _claim_rows(rows, updates))

        kb, fetched = check_streaming(data_dir, files, cache, on_claims, problems)
        lexicon, found = load_lexicon(data_dir)
        problems += found
        if problems:
            conn.close()
            raise BuildError(problems)
        if changed is None:
            sources, discrepancies = _source_rows(kb.sources, fetched)
            _insert(conn, "sources", sources)
            _insert(conn, "questions", kb.questions)
            _insert(conn, "lexicon", lexicon_rows(lexicon))
            _insert(conn, "source_discrepancies", discrepancies)
            for name in ("articles", "article_references", "article_statements", "faq_claims"):
                _insert(conn, name, getattr(kb, name))
        else:
            _fts_sync(conn, sorted(changed), "")
        conn.execute(
            "update sources set claim_count = "
            "(select count(*) from claims where claims.source_doi = sources.doi)"
        )
        conn.execute(
            "update questions set "
            "claim_count = (select count(*) from claims where claims.question = questions.id), "
            "source_count = (select count(distinct source_doi) from claims "
            "where claims.question = questions.id)"
        )
        _insert(conn, "faq", _faq_rows(kb))
        history = load_history(data_dir, cache.folder, db_path.name)
        conn.execute("delete from history")
        _insert(conn, "history", history.rows)
        conn.execute("commit")
        if changed is None:
            ensure_fts(db)
        else:
            count_claim_terms(conn)
        counts = {name: db[name].count for name in TABLES if name not in DERIVED}
        info = {
            "build_id": fingerprint[:12],
            "data_fingerprint": fingerprint,
            "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "kb_version": __version__,
            "counts": json.dumps(counts),
            "history": history.status,
            "history_commit": history.commit,
        }
        with conn:
            _insert(conn, "build_info", [{"key": k, "value": v} for k, v in info.items()])
        fk_errors = db.execute("PRAGMA foreign_key_check").fetchall()
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        conn.close()
        if integrity != "ok" or fk_errors:
            raise RuntimeError(f"built database failed its checks: {integrity} {fk_errors[:3]}")
        with writing(db_path):
            os.replace(tmp, db_path)
    except sqlite3.OperationalError as exc:
        if (clear := write_error(exc, db_path)) is None:
            raise
        raise clear from exc
    finally:
        if conn is not None:
            conn.close()  # a no-op when closed; else its journal is rolled back and removed
        remove_temp(tmp)
    cache.save_manifest(fingerprint, files)
    cache.prune()
    return BuildResult(db_path=db_path, build_id=fingerprint[:12], counts=counts)


def build_id_of(db_path: Path | str) -> str | None:
    """The data fingerprint a database was built from, or None if it is missing or not ours."""
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            row = conn.execute(
                "select value from build_info where key = 'data_fingerprint'"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None
