"""The response cache of a public instance: complete 200 GET JSON responses, which cannot change until
a rebuild restarts the process.

The API endpoints get only the parameters they read (`api_query`), so a cache-busting parameter
reaches neither Datasette nor a new cache entry. The website's API URLs (the FAQ and its JSON-LD) are
pinned: other traffic cannot evict them and no body-size cap applies to them. Everything else shares
a small LRU.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from .compression import compress
from .contract import ENDPOINTS, FAQ_URLS

CACHE_ENTRIES = 256  # the LRU: responses other than the pinned API URLs
CACHE_MAX_BODY = 256 * 1024  # per LRU entry
PINNED_MAX_BODY = 16 * 1024 * 1024  # per pinned entry: the whole FAQ of a large KB still fits


# The website API's endpoints, their JSON columns (always returned parsed, as if `_json=` were given)
# and the parameters each reads: defined once in contract.py. Anything else is dropped before
# Datasette sees the request (Datasette ignores it anyway), so `?_bust=123` cannot bypass the cache.
API_JSON_COLUMNS: dict[bytes, tuple[str, ...]] = {
    path.encode(): columns for path, (columns, _) in ENDPOINTS.items() if columns
}
API_PARAMS: dict[bytes, tuple[bytes, ...]] = {
    path.encode(): tuple(p.encode() for p in params) for path, (_, params) in ENDPOINTS.items()
}
# The URLs warmed at startup and pinned: the whole FAQ as the website asks for it (per article
# ones come from the plugin).
PINNED_URLS = FAQ_URLS
# Responses that do not depend on the Host header (no absolute URLs in them): cached across hosts.
API_PATHS = tuple(API_PARAMS)


def api_query(raw_path: bytes, query: bytes) -> bytes:
    """The query an API endpoint is served with: its own parameters (the first of each, in a fixed
    order), then `_json=` for every JSON column, so those are always parsed."""
    first: dict[bytes, bytes] = {}
    for part in query.split(b"&"):
        name = part.partition(b"=")[0]
        if name in API_PARAMS[raw_path] and name not in first:
            first[name] = part
    kept = [first[name] for name in API_PARAMS[raw_path] if name in first]
    kept += [b"_json=" + c.encode() for c in API_JSON_COLUMNS.get(raw_path, ())]
    return b"&".join(kept)


def cache_key(host: bytes | None, raw_path: bytes, query: bytes) -> tuple:
    """The same request in any parameter order gets the same key (a stable sort keeps the order of
    repeated parameters, which is all Datasette reads from them)."""
    params = tuple(sorted((p for p in query.split(b"&") if p), key=lambda p: p.partition(b"=")[0]))
    return (None if raw_path in API_PATHS else host, raw_path, params)


def etag_matches(if_none_match: bytes, etag: bytes) -> bool:
    """The client's If-None-Match names `etag` (weakly compared) or `*`."""
    wanted = etag.removeprefix(b"W/")
    for tag in if_none_match.split(b","):
        tag = tag.strip()
        if tag == b"*" or tag.removeprefix(b"W/") == wanted:
            return True
    return False


@dataclass
class Entry:
    headers: list[tuple[bytes, bytes]]
    body: bytes
    gzipped: bytes | None = None  # compressed once, on the first request that accepts gzip

    async def compressed(self) -> bytes:
        if self.gzipped is None:
            self.gzipped = await compress(self.body)
        return self.gzipped


class ResponseCache:
    """Complete 200 GET JSON responses: pinned keys (the website's API URLs) are never evicted and
    take bodies up to PINNED_MAX_BODY; everything else shares an LRU of small bodies."""

    def __init__(self, entries: int = CACHE_ENTRIES, max_body: int = CACHE_MAX_BODY):
        self.entries = entries
        self.max_body = max_body
        self.pinned_keys: set[tuple] = set()
        self.pinned: dict[tuple, Entry] = {}
        self.lru: OrderedDict[tuple, Entry] = OrderedDict()

    def get(self, key: tuple) -> Entry | None:
        if key in self.pinned:
            return self.pinned[key]
        hit = self.lru.get(key)
        if hit is not None:
            self.lru.move_to_end(key)
        return hit

    def put(self, key: tuple, entry: Entry) -> None:
        if key in self.pinned_keys:
            if len(entry.body) <= PINNED_MAX_BODY:
                self.pinned[key] = entry
            return
        if len(entry.body) > self.max_body:
            return
        self.lru[key] = entry
        self.lru.move_to_end(key)
        while len(self.lru) > self.entries:
            self.lru.popitem(last=False)
