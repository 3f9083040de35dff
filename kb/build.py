"""`kb build`: validated `data/` files in, one SQLite database out, replaced atomically.

Reads only files: curated YAML, and the records `kb ingest` stored under `data/fetched/records/`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from . import __version__
from .doi import doi_url
from .loader import Problem, data_fingerprint, load_data
from .schema import TABLES, ensure_db_shape, ensure_fts
from .validate import KB, validate

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
# Update types that put a source's claims under a warning, most serious first.
SERIOUS_UPDATES = ("retraction", "withdrawal", "removal", "expression_of_concern")


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
        records[rec["doi"].lower()] = rec
    return records, problems


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()
    return a == b


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
        theirs = fetched.get(key)
        if theirs in (None, "", []):
            continue
        ours = row.get(key)
        if ours in (None, "", []):
            row[key] = theirs
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


def _vancouver_name(full: str) -> str:
    """`David A. Walsh` -> `Walsh DA`; a name already written `Shi X` stays as it is."""
    bits = full.replace(".", "").split()
    if len(bits) < 2 or (bits[-1].isupper() and len(bits[-1]) <= 3):
        return " ".join(bits)
    return bits[-1] + " " + "".join(b[0] for b in bits[:-1])


def format_citation(src: dict[str, Any]) -> str:
    """Vancouver-style citation from what is known; unknown parts are left out, never guessed."""
    authors = src.get("authors") or []
    names = [_vancouver_name(full) for full in authors[:3]]
    who = ", ".join(names) + (", et al" if len(authors) > 3 else "")
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


def _rows(kb: KB, fetched: dict[str, dict[str, Any]]) -> tuple[dict[str, list[dict]], list[dict]]:
    claim_counts: dict[str, int] = {}
    for c in kb.claims:
        if c.get("source_doi"):
            claim_counts[c["source_doi"]] = claim_counts.get(c["source_doi"], 0) + 1

    sources, discrepancies = [], []
    updates: dict[str, str | None] = {}
    for src in kb.sources:
        row, diffs = merge_fetched(
            {k: v for k, v in src.items() if k != "_line"}, fetched.get(src["doi"])
        )
        discrepancies += diffs
        row.setdefault("url", doi_url(row["doi"]))
        row["citation"] = format_citation(row)
        row["claim_count"] = claim_counts.get(row["doi"], 0)
        updates[row["doi"]] = row.get("update_status")
        sources.append(row)

    claims = []
    for c in kb.claims:
        row = {k: v for k, v in c.items() if not k.startswith("_")}
        row["data_file"], row["data_line"] = c["_file"], c["_line"]
        row["figure"] = format_figure(row) or None
        upd = updates.get(row.get("source_doi") or "")
        row["source_update_status"] = upd
        row["flag"] = claim_flag(row, upd)
        claims.append(row)

    status_of = {c["id"]: c for c in claims}
    faq = []
    linked: dict[str, list[str]] = {}
    for link in kb.faq_claims:
        linked.setdefault(link["faq_id"], []).append(link["claim_id"])
    for f in kb.faq:
        row = dict(f)
        weak = [cid for cid in linked.get(f["id"], []) if status_of[cid]["flag"]]
        row["evidence_status"] = (
            "rests on claims that are not verified: " + ", ".join(weak) if weak else "verified"
        )
        if not linked.get(f["id"]):
            row["evidence_status"] = "no linked claims"
        faq.append(row)

    tables = {
        "sources": sources,
        "claims": claims,
        "articles": kb.articles,
        "article_references": kb.article_references,
        "article_statements": kb.article_statements,
        "faq": faq,
        "faq_claims": kb.faq_claims,
    }
    return tables, discrepancies


def check(data_dir: Path) -> tuple[KB, dict[str, dict[str, Any]], list[Problem]]:
    """Read and validate everything under data_dir; no database is touched."""
    raw = load_data(Path(data_dir))
    kb, problems = validate(raw)
    fetched, fetch_problems = load_fetched(Path(data_dir))
    return kb, fetched, problems + fetch_problems


def build(data_dir: Path | str = "data", db_path: Path | str = "kb.db") -> BuildResult:
    """Validate data_dir and build db_path atomically. Raises BuildError and leaves db_path untouched."""
    data_dir, db_path = Path(data_dir), Path(db_path)
    kb, fetched, problems = check(data_dir)
    if problems:
        raise BuildError(problems)

    fingerprint = data_fingerprint(data_dir)
    build_id = fingerprint[:12]
    db_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = db_path.with_name(f".{db_path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        conn = sqlite3.connect(tmp)
        db = sqlite_utils.Database(conn)
        ensure_db_shape(db)
        tables, discrepancies = _rows(kb, fetched)
        tables["source_discrepancies"] = discrepancies
        with conn:
            for name, rows in tables.items():
                if rows:
                    db[name].insert_all(rows, columns=TABLES[name]["columns"])
        ensure_fts(db)
        counts = {name: db[name].count for name in TABLES if name != "build_info"}
        info = {
            "build_id": build_id,
            "data_fingerprint": fingerprint,
            "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "kb_version": __version__,
            "counts": json.dumps(counts),
        }
        db["build_info"].insert_all([{"key": k, "value": v} for k, v in info.items()])
        fk_errors = db.execute("PRAGMA foreign_key_check").fetchall()
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        conn.close()
        if integrity != "ok" or fk_errors:
            raise RuntimeError(f"built database failed its checks: {integrity} {fk_errors[:3]}")
        os.replace(tmp, db_path)
    finally:
        tmp.unlink(missing_ok=True)
    return BuildResult(db_path=db_path, build_id=build_id, counts=counts)


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
