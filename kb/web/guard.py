"""What a request to the site may be: its method, path, query and body are bounded before Datasette
sees it, so one request can neither hold the server for long nor be answered with a 500.

Each check returns the reason for a 4xx (a sentence a client can act on), or None when the request
may pass. The body is read here, up to its route's limit and no further (chunked bodies too): a
body over the limit is answered 413 without reading the rest.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, unquote_to_bytes

from .asgi import Message, Receive

METHODS = ("GET", "HEAD", "OPTIONS", "POST")
MAX_QUERY_BYTES = 8 * 1024  # the whole query string, as sent
MAX_PARAMS = 64
MAX_SEARCH_CHARS = 200  # a search box's text
MAX_SEARCH_TERMS = 16  # words in one search
SEARCH_PARAMS = re.compile(rb"^(?:q|_search(?:_.+)?)$")
FACET_PARAMS = (b"_facet", b"_facet_array", b"_facet_date")
FACET_SIZE = b"_facet_size"
MAX_FACETS = 6
DEFAULT_BODY_LIMIT = 64 * 1024  # bytes of body for any route without a limit of its own
# Paths a public instance does not answer: the database's path on the server, the exact versions
# and threads of the software (what an attacker would look up first). /-/health says it is up.
REFUSED_IN_PUBLIC = (b"/-/databases", b"/-/databases.json", b"/-/versions", b"/-/versions.json",
                     b"/-/threads", b"/-/threads.json")  # fmt: skip
_TERM = re.compile(r"\w+")


def refused_path(raw_path: bytes, path: str) -> bool:
    """True for paths a browser could read as another host (`//x`, `/\\x`, `/%5Cx`, `/%2Fx`)."""
    head = raw_path[:4].lower()
    return (
        path.startswith(("//", "/\\"))
        or head.startswith((b"//", b"/\\", b"/%5c", b"/%2f"))
        or "\\" in path
    )


def method_problem(method: str) -> str | None:
    if method in METHODS:
        return None
    return f"Method not allowed: this site answers {', '.join(METHODS)}."


def _params(query: bytes) -> list[tuple[bytes, bytes]]:
    out = []
    for part in query.split(b"&"):
        if part:
            name, _, value = part.partition(b"=")
            out.append((unquote_to_bytes(name.replace(b"+", b" ")),
                        unquote_to_bytes(value.replace(b"+", b" "))))  # fmt: skip
    return out


def query_problem(query: bytes) -> str | None:
    """Why a query string is refused: too long, too many parameters, a search too long, repeated or
    unknown facets, a malformed `_through`."""
    if len(query) > MAX_QUERY_BYTES:
        return f"Bad request: the query string is longer than {MAX_QUERY_BYTES} bytes."
    params = _params(query)
    if len(params) > MAX_PARAMS:
        return f"Bad request: more than {MAX_PARAMS} query parameters."
    facets: set[tuple[bytes, bytes]] = set()
    for name, value in params:
        if SEARCH_PARAMS.match(name):
            problem = search_problem(value.decode("utf-8", "replace"))
            if problem:
                return problem
        elif name.startswith(b"_facet"):
            if name not in FACET_PARAMS and name != FACET_SIZE:
                return f"Bad request: unknown facet parameter {name.decode('latin-1')!r}."
            if name in FACET_PARAMS:
                if (name, value) in facets:
                    return "Bad request: the same facet is asked for twice."
                facets.add((name, value))
        elif name == b"_through" and not _valid_through(value):
            return 'Bad request: _through takes {"table": ..., "column": ..., "value": ...}.'
    if len(facets) > MAX_FACETS:
        return f"Bad request: more than {MAX_FACETS} facets."
    return None


def search_problem(text: str) -> str | None:
    if len(text) > MAX_SEARCH_CHARS:
        return f"Bad request: search for at most {MAX_SEARCH_CHARS} characters."
    if len(_TERM.findall(text)) > MAX_SEARCH_TERMS:
        return f"Bad request: search for at most {MAX_SEARCH_TERMS} words."
    return None


def _valid_through(value: bytes) -> bool:
    try:
        through = json.loads(value)
    except (ValueError, RecursionError):
        return False
    return isinstance(through, dict) and all(
        isinstance(through.get(k), str) for k in ("table", "column", "value")
    )


def declared_length(headers: dict[bytes, bytes]) -> int | None:
    value = headers.get(b"content-length", b"").strip()
    return int(value) if value.isdigit() else None


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as more than `limit` bytes have arrived."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return b"".join(parts)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive() that hands the app the body already read, then waits on the real one (which
    next reports the client's disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def form_problem(body: bytes, content_type: bytes) -> str | None:
    """A URL-encoded form whose text is not UTF-8 (Datasette would answer 500)."""
    if not content_type.lower().startswith(b"application/x-www-form-urlencoded"):
        return None
    try:
        parse_qsl(body.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return "Bad request: the form is not UTF-8 text."
    return None
