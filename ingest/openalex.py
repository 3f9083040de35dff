"""OpenAlex: `GET {KB_OPENALEX_URL}/works/https://doi.org/{doi}`; fills what Crossref lacks."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from .client import Client, Reply
from .record import clean_inline, other_doi

SERVICE = "openalex"
DEFAULT_URL = "https://api.openalex.org"


def base_url() -> str:
    return os.environ.get("KB_OPENALEX_URL", DEFAULT_URL).rstrip("/")


def rebuild_abstract(index: dict[str, list[int]] | None) -> str | None:
    """Text from an `abstract_inverted_index` (word -> positions). Pure."""
    if not index:
        return None
    slots: dict[int, str] = {}
    for word, positions in index.items():
        for pos in positions or []:
            slots[pos] = word
    return " ".join(slots[i] for i in sorted(slots)) or None


def _tail(url: str | None, prefix: str = "") -> str | None:
    """`https://pubmed.ncbi.nlm.nih.gov/17183658` -> `17183658`."""
    if not url:
        return None
    value = str(url).rstrip("/").rsplit("/", 1)[-1]
    return prefix + value if prefix and not value.upper().startswith(prefix) else value


def parse_work(work: dict[str, Any]) -> dict[str, Any]:
    """The record fields an OpenAlex Work gives. Pure."""
    ids = work.get("ids") or {}
    biblio = work.get("biblio") or {}
    location = work.get("primary_location") or {}
    first_page, last_page = biblio.get("first_page"), biblio.get("last_page")
    pages = first_page if not last_page or last_page == first_page else f"{first_page}-{last_page}"
    doi = (work.get("doi") or "").lower().removeprefix("https://doi.org/")
    fields = {
        "doi": doi or None,
        "title": clean_inline(work.get("title") or work.get("display_name")),
        "journal": (location.get("source") or {}).get("display_name"),
        "year": work.get("publication_year"),
        "volume": biblio.get("volume"),
        "issue": biblio.get("issue"),
        "pages": pages,
        "authors": [
            a["author"]["display_name"]
            for a in work.get("authorships") or []
            if (a.get("author") or {}).get("display_name")
        ],
        "pmid": _tail(ids.get("pmid")),
        "pmcid": _tail(ids.get("pmcid"), "PMC"),
        "license": location.get("license"),
        "open_access": (work.get("open_access") or {}).get("is_oa"),
        "abstract": rebuild_abstract(work.get("abstract_inverted_index")),
        "is_retracted": work.get("is_retracted"),
    }
    return {k: v for k, v in fields.items() if v not in (None, "", [])}


def work_problem(body: Any, doi: str | None = None) -> str | None:
    """What is wrong with the answer to /works/{id}, if anything: it must be one Work, and (when
    `doi` is given) the Work of that DOI."""
    if not isinstance(body, dict):
        return f"a JSON {type(body).__name__}, not a Work"
    if not isinstance(body.get("id"), str) or "results" in body:
        return "not a Work (no `id`)"
    return other_doi(body.get("doi"), doi) if doi else None


def fetch_work(client: Client, doi: str) -> Reply:
    params: dict[str, str] = {}
    if key := os.environ.get("KB_OPENALEX_API_KEY"):
        params["api_key"] = key
    if client.mailto:
        params["mailto"] = client.mailto
    url = f"{base_url()}/works/https://doi.org/{quote(doi, safe='/')}"
    return client.get(
        SERVICE, url, params=params or None, check=lambda body: work_problem(body, doi)
    )


def fields_from(body: dict[str, Any]) -> dict[str, Any]:
    return parse_work(body)
