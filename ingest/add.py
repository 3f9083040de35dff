"""`kb add`: resolve DOIs as `kb ingest` does, then append a source record for each new work to
`data/sources.yml`, taken from what the services said (never invented).

The curated file is only ever appended to, as text: its comments, order and layout stay byte for
byte. The new text is checked by the same checks `kb validate` runs before it replaces the file
(atomically); a DOI already in the file is reported and left alone, and a failed fetch adds nothing.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from kb.doi import normalize_doi
from kb.fields import SOURCE_FIELDS
from kb.loader import Problem, read_records
from kb.validate import check_sources

from . import store
from .record import RECORD_FIELDS
from .run import IngestResult, Outcome, curated_sources, ingest

# Source fields a fetched record can give, in sources.yml's order (the validator's field order).
FETCHABLE = tuple(k for k in SOURCE_FIELDS if k in RECORD_FIELDS)
# Fields only a person can fill in: what kind of study it is, and what a reviewer must know.
CURATOR_ONLY = ("study_design", "notes")
# Fields a citation needs; when no service gave one, the curator looks for it on the paper's page.
CITATION_FIELDS = ("title", "journal", "year", "authors", "volume", "pages")
SERVICE_NAMES = {"crossref": "Crossref", "doi.org": "doi.org", "openalex": "OpenAlex"}
ADDED = ("fetched", "unchanged", "cached", "partial")  # outcomes that leave a usable record


@dataclass
class Added:
    """One DOI asked for. status: added, already (in sources.yml), or failed (nothing added)."""

    doi: str
    status: str
    entry: dict[str, Any] = field(default_factory=dict)
    to_fill: list[str] = field(default_factory=list)
    outcome: Outcome | None = None


@dataclass
class AddResult:
    added: list[Added] = field(default_factory=list)
    ingest: IngestResult | None = None
    sources_file: Path | None = None

    @property
    def exit_code(self) -> int:
        """0 when every DOI is in sources.yml now (added or already there), else 1."""
        return 0 if all(a.status in ("added", "already") for a in self.added) else 1


class AddError(ValueError):
    """The new records would not pass `kb validate`; nothing was written."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _public_url(url: str | None) -> str | None:
    """The address asked, without its query (which may carry a contact address or a key)."""
    if not url:
        return None
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def source_entry(record: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    """A sources.yml record from a fetched one: only fields a service gave, in the file's order;
    `metadata_origin` is the service that gave the first fields, `metadata_page` the address asked."""
    origin = (record.get("fetched_from") or ["crossref"])[0]
    entry: dict[str, Any] = {"doi": record["doi"]}
    for key in FETCHABLE:
        value = record.get(key)
        if value not in (None, "", []):
            entry[key] = value
    entry["metadata_origin"] = origin
    raw = store.load_raw(data_dir, origin, record["doi"]) or {}
    page = _public_url(raw.get("url"))
    if page:
        entry["metadata_page"] = page
    return entry


def still_to_fill(entry: dict[str, Any]) -> list[str]:
    """What a curator still has to fill in: the fields only a person can judge, then the citation
    fields no service gave (`pages` is satisfied by an article number)."""
    todo = [k for k in CURATOR_ONLY if k not in entry]
    for key in CITATION_FIELDS:
        if key == "pages" and "article_number" in entry:
            continue
        if key not in entry:
            todo.append(key)
    return todo


class _Dumper(yaml.SafeDumper):
    """Indents a nested list under its key, as sources.yml is written by hand."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def render_entry(entry: dict[str, Any], when: str) -> str:
    """The YAML text of one list item, with a comment saying where it came from and when."""
    body = yaml.dump(
        [entry], Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
        width=100,
    )  # fmt: skip
    service = SERVICE_NAMES.get(entry["metadata_origin"], entry["metadata_origin"])
    todo = ", ".join(still_to_fill(entry))
    head = f"# Added by `kb add` on {when} from {service}; still to fill in by a curator: {todo}\n"
    return head + body


def _appended(old: str, blocks: list[str]) -> str:
    text = old
    if text and not text.endswith("\n"):
        text += "\n"
    for block in blocks:
        text += "\n" + block
    return text


def _check(path: Path, text: str, rel: str, first_new_line: int) -> None:
    """Raise AddError when a record that starts at or after first_new_line fails the checks."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.check")
    try:
        tmp.write_text(text, encoding="utf-8")
        records, problems = read_records(tmp, rel, "source")
        _rows, found = check_sources(records)
    finally:
        tmp.unlink(missing_ok=True)
    new = [p for p in problems + found if p.line is None or p.line >= first_new_line]
    if new:
        raise AddError(new)


def append_sources(data_dir: Path, entries: list[dict[str, Any]], when: str) -> Path:
    """Append entries to DATA/sources.yml as text, checked, then atomically replaced."""
    path = Path(data_dir) / "sources.yml"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    text = _appended(old, [render_entry(e, when) for e in entries])
    rel = str(path.relative_to(Path(data_dir).parent))
    _check(path, text, rel, old.count("\n") + 1)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def add_fetched(
    wanted: list[str], data_dir: Path, fetched: IngestResult | None, curated: dict[str, Any]
) -> AddResult:
    """Append a record for each normalised DOI of `wanted` not in `curated` (sources.yml as read
    before the run) that `fetched` resolved; the others are reported. Raises AddError before any
    write when the new records would not pass the checks."""
    data_dir = Path(data_dir)
    result = AddResult(ingest=fetched, sources_file=data_dir / "sources.yml")
    outcomes = {o.doi: o for o in (fetched.outcomes if fetched else [])}
    entries = []
    for doi in wanted:
        if doi in curated:
            result.added.append(Added(doi, "already"))
            continue
        outcome = outcomes.get(doi)
        record = store.load_record(data_dir, doi) if outcome else None
        if outcome is None or outcome.status not in ADDED or record is None:
            result.added.append(Added(doi, "failed", outcome=outcome))
            continue
        entry = source_entry(record, data_dir)
        entries.append(entry)
        result.added.append(Added(doi, "added", entry, still_to_fill(entry), outcome))
    if entries:
        append_sources(data_dir, entries, dt.date.today().isoformat())
    return result


def add(dois: list[str], data_dir: Path | str = "data", **ingest_options: Any) -> AddResult:
    """Resolve the DOIs not yet in sources.yml (`ingest`, with its options) and append a record
    for each one that resolved. Raises InvalidDOI, SourcesError (before any request) and AddError
    (after the fetch, before any write)."""
    data_dir = Path(data_dir)
    wanted = list(dict.fromkeys(normalize_doi(d) for d in dois))
    curated = curated_sources(data_dir)
    new = [d for d in wanted if d not in curated]
    fetched = ingest(new, data_dir, curated=curated, **ingest_options) if new else None
    return add_fetched(wanted, data_dir, fetched, curated)


def render_text(result: AddResult) -> str:
    """What happened to each DOI, and what a curator still has to do."""
    lines = []
    for a in result.added:
        if a.status == "already":
            lines.append(f"{a.doi}: already in {result.sources_file}; not added again")
        elif a.status == "failed":
            why = "; ".join(a.outcome.errors) if a.outcome and a.outcome.errors else None
            state = a.outcome.status.replace("_", " ") if a.outcome else "not fetched"
            lines.append(f"{a.doi}: {state}{f' ({why})' if why else ''}; nothing added")
        else:
            service = SERVICE_NAMES.get(a.entry["metadata_origin"], a.entry["metadata_origin"])
            got = [k for k in FETCHABLE if k in a.entry]
            lines.append(
                f"{a.doi}: added to {result.sources_file} from {service} ({', '.join(got)})"
            )
            if a.outcome and a.outcome.update_status:
                lines.append(f"  warning: the work has a {a.outcome.update_status} notice")
            if a.outcome and a.outcome.errors:
                lines.append(f"  note: {'; '.join(a.outcome.errors)}")
            lines.append(f"  still to fill in: {', '.join(a.to_fill)}")
    if any(a.status == "added" for a in result.added):
        lines.append("Then add its claims under data/claims/ and run `kb validate`.")
    return "\n".join(lines)
