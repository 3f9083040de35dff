"""DOIs: validation and the one normal form used as a key everywhere."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import unquote

DOI_RE = re.compile(r"^10\.\d{4,9}/\S+$")
# `doi:`, `doi ` and the resolver's URLs (https://, http://, www., dx., or none of them)
_PREFIX_RE = re.compile(
    r"^(?:doi\s*:\s*|doi\s+|(?P<url>(?:https?://)?(?:www\.|dx\.)?doi\.org/))", re.IGNORECASE
)
_ENCODED_SLASH_RE = re.compile(r"^10\.\d{4,9}%2f", re.IGNORECASE)
# A DOI inside running text. It stops at whitespace, quotes and angle brackets; a bracket is part of
# it only when balanced inside it (`10.1016/s0140-6736(02)07283-5`), and it never ends on
# punctuation of the sentence around it (`.`, `,`, `;`, `:`, `?`, `!`, or a closing bracket).
DOI_IN_TEXT_RE = re.compile(
    r"10\.\d{4,9}/"
    r"(?:\([^\s\"'<>()\[\]]*\)|\[[^\s\"'<>()\[\]]*\]|[^\s\"'<>)\]])+"
    r"(?<![.,;:?!])"
)


# DOIs whose file name can simply be the DOI with `/` as `_` (see doi_slug).
_READABLE_RE = re.compile(r"10\.\d{4,9}/[a-z0-9.\-]+")
_UNSAFE_RE = re.compile(r"[^a-z0-9.\-]")
_MAX_SLUG = 150  # file names stay well under the usual 255-byte limit


class InvalidDOI(ValueError):
    pass


def normalize_doi(text: str) -> str:
    """Return the lower-case bare DOI for any common spelling, or raise InvalidDOI.

    Spellings: `10.…`, `doi:10.…`, `doi 10.…`, `https://doi.org/10.…` (also `http://`, `www.`,
    `dx.`, or no scheme), and the percent-encoded forms of a URL or of `10.1000%2Fabc`.

    >>> normalize_doi("https://doi.org/10.1186/S13075-021-02422-0")
    '10.1186/s13075-021-02422-0'
    """
    if not isinstance(text, str):
        raise InvalidDOI(f"not a DOI: {text!r}")
    doi = text.strip()
    prefix = _PREFIX_RE.match(doi)
    if prefix:
        doi = doi[prefix.end() :].strip()
    if (prefix and prefix.group("url")) or _ENCODED_SLASH_RE.match(doi):
        doi = unquote(doi)  # a URL's percent-encoding, or a DOI pasted from one (`10.1000%2Fabc`)
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
    """A file name for a DOI, unique per (lower-cased) DOI.

    A DOI of letters, digits, `.` and `-` after its one `/` keeps a readable, reversible name:
    `10.1186/s13075-021-02422-0` -> `10.1186_s13075-021-02422-0`. Any other DOI (`_`, `(`, a
    second `/`, ...) would share that name with another, so its readable part is followed by `~`
    and a hash of the whole DOI: `10.1002/ab_c` -> `10.1002_ab_c~0278ee00a8b415c5`. Readable names never
    contain `~`, so the two kinds never meet.
    """
    doi = doi.lower()
    if _READABLE_RE.fullmatch(doi) and len(doi) <= _MAX_SLUG:
        return doi.replace("/", "_")
    digest = hashlib.sha256(doi.encode("utf-8")).hexdigest()[:16]
    return f"{_UNSAFE_RE.sub('_', doi)[:_MAX_SLUG]}~{digest}"
