"""DOIs: validation and the one normal form used as a key everywhere."""

from __future__ import annotations

import re

DOI_RE = re.compile(r"^10\.\d{4,9}/\S+$")
_PREFIX_RE = re.compile(
    r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/|(?:dx\.)?doi\.org/)", re.IGNORECASE
)
# A DOI inside running text: stops at whitespace, quotes, angle brackets and trailing punctuation.
DOI_IN_TEXT_RE = re.compile(r"10\.\d{4,9}/[^\s\"'<>]+[^\s\"'<>.,;:)\]]")


class InvalidDOI(ValueError):
    pass


def normalize_doi(text: str) -> str:
    """Return the lower-case bare DOI for any common spelling, or raise InvalidDOI.

    >>> normalize_doi("https://doi.org/10.1186/S13075-021-02422-0")
    '10.1186/s13075-021-02422-0'
    """
    if not isinstance(text, str):
        raise InvalidDOI(f"not a DOI: {text!r}")
    doi = _PREFIX_RE.sub("", text.strip()).strip()
    if not DOI_RE.match(doi):
        raise InvalidDOI(f"not a DOI: {text!r} (expected 10.NNNN/suffix)")
    return doi.lower()


def is_doi(text: str) -> bool:
    try:
        normalize_doi(text)
    except InvalidDOI:
        return False
    return True


def doi_url(doi: str) -> str:
    return f"https://doi.org/{doi}"


def doi_slug(doi: str) -> str:
    """A file-name-safe form of a DOI: `10.1186/s13075-021-02422-0` -> `10.1186_s13075-021-02422-0`."""
    return re.sub(r"[^a-z0-9.\-]", "_", doi.lower())
