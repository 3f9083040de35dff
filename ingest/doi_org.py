"""doi.org content negotiation: CSL-JSON for a DOI any agency registered (follows redirects)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from . import crossref
from .client import Client, Reply
from .record import (
    clean_abstract,
    clean_inline,
    date_from_parts,
    first,
    other_doi,
    person_name,
)

SERVICE = "doi.org"
DEFAULT_URL = "https://doi.org"
CSL_JSON = "application/vnd.citationstyles.csl+json"
# Where doi.org may send a content-negotiation request: the registration agencies' metadata
# services (Crossref's transform endpoint, at KB_CROSSREF_URL, is added to these). A redirect
# anywhere else is doi.org's failure, not followed.
AGENCY_URLS = (
    "https://data.crossref.org",
    "https://api.datacite.org",
    "https://data.datacite.org",
    "https://data.medra.org",
)


def base_url() -> str:
    return os.environ.get("KB_DOI_URL", DEFAULT_URL).rstrip("/")


def parse_csl(csl: dict[str, Any]) -> dict[str, Any]:
    """The record fields a CSL-JSON item gives (title and container-title are strings here). Pure."""
    published_print = date_from_parts(csl.get("published-print"))
    published_online = date_from_parts(csl.get("published-online"))
    issued = date_from_parts(csl.get("issued"))
    pages = csl.get("page")
    article_number = csl.get("article-number") or csl.get("number")
    if pages and pages == article_number:
        pages = None
    best = published_print or issued or published_online
    fields = {
        "doi": (csl.get("DOI") or "").lower() or None,
        "title": clean_inline(first(csl.get("title"))),
        "journal": clean_inline(first(csl.get("container-title"))),
        "year": int(best[:4]) if best else None,
        "volume": csl.get("volume"),
        "issue": csl.get("issue"),
        "pages": pages,
        "article_number": article_number,
        "authors": [n for n in (person_name(a) for a in csl.get("author") or []) if n],
        "publisher": csl.get("publisher"),
        "published_online": published_online,
        "published_print": published_print,
        "abstract": clean_abstract(csl.get("abstract")),
    }
    return {k: v for k, v in fields.items() if v not in (None, "", [])}


def csl_problem(body: Any, doi: str | None = None) -> str | None:
    """What is wrong with a CSL-JSON answer, if anything: one item with a type and a DOI or title,
    and (when `doi` is given) that DOI."""
    if not isinstance(body, dict):
        return f"a JSON {type(body).__name__}, not a CSL-JSON item"
    if not isinstance(body.get("type"), str) or not (body.get("DOI") or body.get("title")):
        return "not a CSL-JSON item (no type, DOI or title)"
    return other_doi(body.get("DOI"), doi) if doi else None


def fetch_csl(client: Client, doi: str) -> Reply:
    url = f"{base_url()}/{quote(doi, safe='/')}"
    return client.get(
        SERVICE, url, accept=CSL_JSON, check=lambda body: csl_problem(body, doi),
        redirects_to=(crossref.base_url(), *AGENCY_URLS),
    )  # fmt: skip


def fields_from(body: dict[str, Any]) -> dict[str, Any]:
    return parse_csl(body)
