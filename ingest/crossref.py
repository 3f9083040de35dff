"""Crossref REST API: `GET {KB_CROSSREF_URL}/works/{doi}` -> the fields of our record, and
`GET {KB_CROSSREF_URL}/works?filter=updates:{doi}` -> the notices (retractions, corrections, ...)
that update the work: a notice's `update-to` may be all that says so when the work's own record
carries no `updated-by`."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from .client import Client, Reply
from .record import (
    clean_abstract,
    clean_inline,
    date_from_parts,
    first,
    notice,
    other_doi,
    person_name,
)

SERVICE = "crossref"
UPDATES_SERVICE = "crossref-updates"  # the notices list: stored apart, paced with Crossref
DEFAULT_URL = "https://api.crossref.org"


def base_url() -> str:
    return os.environ.get("KB_CROSSREF_URL", DEFAULT_URL).rstrip("/")


def _license(work: dict[str, Any]) -> str | None:
    licences = [x for x in work.get("license") or [] if x.get("URL")]
    vor = [x for x in licences if x.get("content-version") == "vor"]
    return (vor or licences or [{}])[0].get("URL")


def parse_work(work: dict[str, Any]) -> dict[str, Any]:
    """The record fields a Crossref work (the `message` of /works/{doi}) gives. Pure.

    `year` is the citable year: the print issue's when there is one (an online-first paper of
    2020 printed in a 2021 issue is cited as 2021), else the year it was issued.
    """
    published_print = date_from_parts(work.get("published-print")) or date_from_parts(
        (work.get("journal-issue") or {}).get("published-print")
    )
    published_online = date_from_parts(work.get("published-online"))
    issued = date_from_parts(work.get("issued")) or date_from_parts(work.get("published"))
    pages = work.get("page")
    article_number = work.get("article-number")
    if pages and pages == article_number:
        pages = None  # e000776 given as both: it is an article number, not a page range
    fields = {
        "doi": (work.get("DOI") or "").lower() or None,
        "title": clean_inline(first(work.get("title"))),
        "journal": clean_inline(first(work.get("container-title"))),
        "year": int((published_print or issued or published_online)[:4])
        if (published_print or issued or published_online)
        else None,
        "volume": work.get("volume"),
        "issue": work.get("issue"),
        "pages": pages,
        "article_number": article_number,
        "authors": [n for n in (person_name(a) for a in work.get("author") or []) if n],
        "publisher": work.get("publisher"),
        "published_online": published_online,
        "published_print": published_print,
        "license": _license(work),
        "abstract": clean_abstract(work.get("abstract")),
        "update_notices": [notice(u) for u in work.get("updated-by") or []],
    }
    return {k: v for k, v in fields.items() if v not in (None, "", [])} | {
        "update_notices": fields["update_notices"]
    }


def parse_update_to(notices: list[dict[str, Any]], doi: str) -> list[dict[str, Any]]:
    """Notices (works with `update-to`, e.g. from `/works?filter=updates:{doi}`) that update `doi`."""
    found = []
    for item in notices:
        for target in item.get("update-to") or []:
            if (target.get("DOI") or "").lower() == doi.lower():
                found.append(notice({**target, "DOI": item.get("DOI")}))
    return found


def _envelope_problem(body: Any, message_type: str) -> str | None:
    """What is wrong with a REST API answer that should be `{"status": "ok", ...}`, if anything."""
    if not isinstance(body, dict):
        return f"a JSON {type(body).__name__}, not an object"
    if body.get("status") != "ok":
        return f"status {body.get('status')!r}, not 'ok'"
    if body.get("message-type") != message_type:
        return f"message-type {body.get('message-type')!r}, not {message_type!r}"
    return None


def work_problem(body: Any, doi: str | None = None) -> str | None:
    """What is wrong with the answer to /works/{doi}, if anything: it must carry one work, and
    (when `doi` is given) the work of that DOI."""
    if problem := _envelope_problem(body, "work"):
        return problem
    message = body.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("DOI"), str):
        return "`message` is not a work with a DOI"
    return other_doi(message["DOI"], doi) if doi else None


def fetch_work(client: Client, doi: str) -> Reply:
    params = {"mailto": client.mailto} if client.mailto else None
    url = f"{base_url()}/works/{quote(doi, safe='/')}"
    return client.get(SERVICE, url, params=params, check=lambda body: work_problem(body, doi))


def fields_from(body: dict[str, Any]) -> dict[str, Any]:
    """The record fields of a /works/{doi} answer that passed `work_problem`."""
    return parse_work(body["message"])


def work_list_problem(body: Any) -> str | None:
    """What is wrong with a /works?filter=... answer, if anything: it must list works."""
    if problem := _envelope_problem(body, "work-list"):
        return problem
    items = (
        (body.get("message") or {}).get("items") if isinstance(body.get("message"), dict) else None
    )
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        return "`message.items` is not a list of works"
    return None


def fetch_updates(client: Client, doi: str) -> Reply:
    """The notices that update `doi` (paced with the other Crossref requests: same host)."""
    params = {"filter": f"updates:{doi}", "rows": "100"}
    if client.mailto:
        params["mailto"] = client.mailto
    return client.get(
        UPDATES_SERVICE, f"{base_url()}/works", params=params, check=work_list_problem
    )


def notices_from(body: dict[str, Any], doi: str) -> list[dict[str, Any]]:
    """The notices of a /works?filter=updates:{doi} answer that passed `work_list_problem`."""
    return parse_update_to(body["message"]["items"], doi)
