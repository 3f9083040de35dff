"""`kb ingest`: which DOIs to resolve, and resolving them: Crossref first, doi.org and OpenAlex after.

`ingest(...)` is the one entry point. It talks to the network through one `Client` and writes only
under `data/fetched/`; what it found comes back as an `IngestResult` for the caller to report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.build import merge_fetched
from kb.doi import DOI_IN_TEXT_RE, normalize_doi
from kb.loader import Located, Problem, parse_yaml, read_records

from . import crossref, doi_org, openalex, store
from .client import DOI_SECONDS, Client, Reply
from .record import merge_records

# Curated fields whose difference from the fetched record is reported to the person running ingest.
REPORTED_FIELDS = (
    "year",
    "title",
    "journal",
    "volume",
    "issue",
    "pages",
    "article_number",
    "authors",
)
RESOLVED = ("fetched", "unchanged", "cached")
MAX_ARTICLE_CHARS = 1_000_000  # the most --from-article reads (an article is a few thousand words)


@dataclass
class Outcome:
    """What happened to one DOI. status: fetched, unchanged, cached, partial, not_found or failed.

    `partial`: a record was written, but a service failed (its earlier answer, if any, was kept).
    """

    doi: str
    status: str
    fetched_from: list[str] = field(default_factory=list)
    update_status: str | None = None
    update_notices: list[dict[str, Any]] = field(default_factory=list)
    differences: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    connect_failed: bool = False


@dataclass
class IngestResult:
    outcomes: list[Outcome] = field(default_factory=list)
    offline: bool = False
    offline_reason: str | None = None
    requests: int = 0
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def exit_code(self) -> int:
        return 0 if not self.offline and all(o.status in RESOLVED for o in self.outcomes) else 1


# ---------------------------------------------------------------- which DOIs


def dois_from_article(path: Path) -> list[str]:
    """DOIs cited by an article: `references[].doi` of our articles/*.yml, or any DOI in a text file."""
    path = Path(path)
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read(MAX_ARTICLE_CHARS + 1)  # /dev/zero or a dump is not an article
    if len(text) > MAX_ARTICLE_CHARS:
        raise ValueError(f"{path}: more than {MAX_ARTICLE_CHARS:,} characters: not an article")
    if path.suffix.lower() in (".yml", ".yaml"):
        doc, problems = parse_yaml(text, str(path))  # located errors; no alias expansion
        if problems:
            raise ValueError(str(problems[0]))
        refs = doc.get("references") if isinstance(doc, dict) else None
        if not isinstance(refs, list):
            raise ValueError(f"{path}: no `references:` list")
        found = [str(r["doi"]) for r in refs if isinstance(r, dict) and r.get("doi")]
    else:
        found = DOI_IN_TEXT_RE.findall(text)
    return found


class SourcesError(ValueError):
    """sources.yml cannot be used; str() lists each problem as `file:line: message`."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _source_records(data_dir: Path) -> list[Located]:
    """sources.yml read by the project's loader (located records); none when there is no file.
    Raises SourcesError when it is not YAML, or not a list of records."""
    path = Path(data_dir) / "sources.yml"
    if not path.exists():
        return []
    records, problems = read_records(path, str(path.relative_to(Path(data_dir).parent)), "source")
    if problems:
        raise SourcesError(problems)
    return records


def curated_sources(data_dir: Path) -> dict[str, dict[str, Any]]:
    """sources.yml by normalised DOI. Raises SourcesError when the file cannot be read; its
    records are not validated further: ingest must work on data that does not build yet."""
    sources: dict[str, dict[str, Any]] = {}
    for src in _source_records(data_dir):
        try:
            doi = normalize_doi(src.get("doi"))
        except ValueError:
            continue
        sources[doi] = {k: v for k, v in src.items() if not k.startswith("_")} | {"doi": doi}
    return sources


def _all_source_dois(data_dir: Path) -> list[str]:
    """Every DOI of sources.yml (for --all); a source without a valid DOI is a SourcesError."""
    dois, problems = [], []
    for src in _source_records(data_dir):
        try:
            dois.append(normalize_doi(src.get("doi")))
        except ValueError as exc:
            problems.append(Problem(src["_file"], src.line_of("doi"), "doi", str(exc)))
    if problems:
        raise SourcesError(problems)
    return dois


def collect_dois(
    dois: Iterable[str], from_article: Path | None, all_sources: bool, data_dir: Path
) -> list[str]:
    """Normalised, de-duplicated DOIs in the order given. Raises InvalidDOI (a ValueError), and
    SourcesError for --all when sources.yml cannot be read or a source has no valid DOI."""
    wanted = list(dois)
    if from_article:
        wanted += dois_from_article(from_article)
    if all_sources:
        wanted += _all_source_dois(data_dir)
    seen: dict[str, None] = {}
    for text in wanted:
        seen.setdefault(normalize_doi(text), None)
    return list(seen)


# ---------------------------------------------------------------- resolving one DOI


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def differences(record: dict[str, Any], curated: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Curated-vs-fetched differences, as `kb build` will record them in source_discrepancies."""
    if not curated:
        return []
    _row, diffs = merge_fetched(curated, record)
    return [d for d in diffs if d["field"] in REPORTED_FIELDS]


def _describe(outcome: Outcome, record: dict[str, Any], curated: dict | None) -> Outcome:
    outcome.fetched_from = list(record.get("fetched_from") or [])
    outcome.update_status = record.get("update_status")
    outcome.update_notices = list(record.get("update_notices") or [])
    outcome.differences = differences(record, curated)
    return outcome


def _kept(outcome: Outcome, previous: dict[str, Any] | None) -> Outcome:
    """A failed outcome still reports the notices of the record it left in place."""
    if previous:
        outcome.update_status = previous.get("update_status")
        outcome.update_notices = list(previous.get("update_notices") or [])
    return outcome


@dataclass
class _Answers:
    """What the services said about one DOI this time: the bodies to build from, and failures."""

    doi: str
    data_dir: Path
    errors: list[str] = field(default_factory=list)
    lost: set[str] = field(default_factory=set)  # failed, and nothing stored to fall back on

    def body(self, reply: Reply) -> Any | None:
        """The fresh body; the stored one when the service failed; None when it has nothing.

        A failure (a fault, an answer of the wrong shape, or a 404 from a service that answered
        for this DOI before: more likely a fault than a DOI that vanished) is reported, and the
        service's stored answer is used again: a failed fetch never erases a good one.
        """
        if reply.ok:
            return reply.body
        stored = store.load_raw(self.data_dir, reply.service, self.doi)
        if reply.not_found and stored is None:
            return None
        if stored is None:
            self.errors.append(f"{reply.service}: {reply.error}")
            self.lost.add(reply.service)
            return None
        when = stored.get("retrieved_at") or "an earlier run"
        self.errors.append(f"{reply.service}: {reply.error} (kept its answer of {when})")
        return stored["body"]


def resolve(
    client: Client, doi: str, data_dir: Path, curated: dict | None, use_openalex: bool = True
) -> Outcome:
    """Fetch one DOI, save what was found, and say what happened. Never raises for network trouble.

    Nothing a service said before is lost to a failure: when Crossref fails the stored record is
    left as it is (`failed`); when another service fails, the record is rebuilt with that
    service's stored answer and the failure is reported (`partial`). Both make the run exit 1.
    """
    data_dir = Path(data_dir)
    answers = _Answers(doi, data_dir)
    previous = store.load_record(data_dir, doi)
    replies: list[Reply] = [crossref.fetch_work(client, doi)]
    parts: list[tuple[str, dict[str, Any]]] = []
    answers.body(replies[0])
    if answers.errors:  # Crossref failed: the others alone must not replace what it said
        outcome = Outcome(doi, "failed", errors=answers.errors)
        outcome.connect_failed = replies[0].connect_failed
        return _kept(outcome, previous)
    notices: list[dict[str, Any]] = []
    if replies[0].ok:
        parts.append((crossref.SERVICE, crossref.fields_from(replies[0].body)))
        replies.append(crossref.fetch_updates(client, doi))
        if (body := answers.body(replies[-1])) is not None:
            notices = crossref.notices_from(body, doi)
    else:  # not registered with Crossref: another agency may know it
        replies.append(doi_org.fetch_csl(client, doi))
        if (body := answers.body(replies[-1])) is not None:
            parts.append((doi_org.SERVICE, doi_org.fields_from(body)))
    if use_openalex:
        replies.append(openalex.fetch_work(client, doi))
        body = answers.body(replies[-1])
    else:  # not asked this time is not forgotten: its stored answer still counts
        body = (store.load_raw(data_dir, openalex.SERVICE, doi) or {}).get("body")
    if body is not None:
        parts.append((openalex.SERVICE, openalex.fields_from(body)))
    if previous and answers.lost & set(previous.get("fetched_from") or []):
        # the stored record has fields from a service that failed now and left no stored answer
        return _kept(Outcome(doi, "failed", errors=answers.errors), previous)
    if not parts:
        if answers.errors:
            return Outcome(doi, "failed", errors=answers.errors)
        return Outcome(doi, "not_found", errors=[f"{r.service}: {r.error}" for r in replies])
    retrieved_at = _now()
    for reply in replies:
        store.save_raw(data_dir, doi, reply, retrieved_at)
    record = merge_records(doi, parts, retrieved_at, notices)
    changed = store.save_record(data_dir, record)
    status = "partial" if answers.errors else "fetched" if changed else "unchanged"
    return _describe(Outcome(doi, status, errors=answers.errors), record, curated)


def _safe_resolve(
    client: Client, doi: str, data_dir: Path, curated: dict | None, oa: bool, seconds: float
) -> Outcome:
    """One DOI's unexpected trouble (a response of a shape nobody expected) never stops the others,
    and no DOI spends more than `seconds` on requests and the waits between them."""
    try:
        with client.budget(seconds):
            return resolve(client, doi, data_dir, curated, oa)
    except Exception as exc:  # noqa: BLE001 - reported per DOI, the run goes on
        return Outcome(doi, "failed", errors=[f"{type(exc).__name__}: {exc}"])


# ---------------------------------------------------------------- the run


def ingest(
    dois: list[str],
    data_dir: Path | str = "data",
    *,
    refresh: bool = False,
    mailto: str | None = None,
    use_openalex: bool = True,
    timeout: float = 30.0,
    tries: int = 4,
    backoff: float = 0.5,
    workers: int = 16,
    on_done: Callable[[Outcome], None] | None = None,
    curated: dict[str, dict[str, Any]] | None = None,
    per_doi: float = DOI_SECONDS,
) -> IngestResult:
    """Resolve normalised DOIs; DOIs with a record already are not fetched unless `refresh`.

    `timeout` bounds each response as a whole; `per_doi` the seconds one DOI may spend on its
    requests, retries and backoff (waiting for its turn behind other DOIs is not counted).

    `curated`: sources.yml by DOI (`curated_sources`), read here when not given; a sources.yml
    that cannot be read raises SourcesError before any request is sent.

    The first DOI to fetch goes alone: it learns the services' advertised limits, and when it
    cannot connect at all the run stops there (offline) having changed nothing.
    """
    data_dir = Path(data_dir)
    dois = list(dict.fromkeys(normalize_doi(d) for d in dois))
    started = dt.datetime.now(dt.UTC)
    curated = curated_sources(data_dir) if curated is None else curated
    store.sweep(data_dir)
    result = IngestResult()
    todo: list[str] = []
    for doi in dois:
        record = None if refresh else store.load_record(data_dir, doi)
        if record is None:
            todo.append(doi)
            continue
        outcome = _describe(Outcome(doi, "cached"), record, curated.get(doi))
        result.outcomes.append(outcome)
        if on_done:
            on_done(outcome)

    def done(outcome: Outcome) -> None:
        result.outcomes.append(outcome)
        if on_done:
            on_done(outcome)

    with Client(mailto=mailto, timeout=timeout, tries=tries, backoff=backoff) as client:
        if todo:
            head = _safe_resolve(
                client, todo[0], data_dir, curated.get(todo[0]), use_openalex, per_doi
            )
            if head.connect_failed:
                result.offline = True
                result.offline_reason = head.errors[0] if head.errors else None
            else:
                done(head)
                with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
                    futures = [
                        pool.submit(
                            _safe_resolve,
                            client,
                            d,
                            data_dir,
                            curated.get(d),
                            use_openalex,
                            per_doi,
                        )  # fmt: skip
                        for d in todo[1:]
                    ]
                    for future in as_completed(futures):
                        done(future.result())
                fetched = [o for o in result.outcomes if o.status != "cached"]
                if fetched and all(o.connect_failed for o in fetched):
                    result.offline = True
                    result.offline_reason = fetched[0].errors[0]
        result.requests = client.requests_sent
    order = {d: i for i, d in enumerate(dois)}
    result.outcomes.sort(key=lambda o: order.get(o.doi, len(order)))
    result.seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    return result
