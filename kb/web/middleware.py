"""The ASGI layer in front of Datasette: refuse redirect tricks, CORS and caching for JSON, gzip, and
keep slow searches from starving the website's API.

Order, outermost first: nosniff → path guard → preflight → (public) refusals → response cache and
conditional GET (304) → bounded slots for heavy requests → response headers → gzip.

- Paths starting with `/\\`, `//` or `/%5C` are refused: Datasette 0.65 answers `/\\example.com/`
  with a redirect to `/\\example.com`, which browsers follow to another site (an open redirect).
- Every response gets `X-Content-Type-Options: nosniff`.
- CORS only for JSON (`*.json`, `*.jsonld`), only for the configured origins; HTML never gets it.
- Every JSON response says which build it came from (`X-KB-Build`). When the database is immutable
  (`kb serve --public`), a 200 JSON response also gets `Cache-Control: public`, a weak ETag from the
  build id and `Vary: Origin, Accept-Encoding` (a public instance has no login, so Datasette's
  `Vary: Cookie, Authorization` would only stop CDNs sharing the response). A matching
  `If-None-Match` is answered 304 only where the answer would be that 200: from the cache, or by
  turning the app's own 200 into a 304. A request that fails still fails.
- In public mode, complete 200 GET JSON responses are cached in memory (`ResponseCache`): they cannot
  change until a rebuild restarts the process. The API endpoints get only the parameters they read
  (`api_query`), so a cache-busting parameter reaches neither Datasette nor a new cache entry. The
  website's API URLs (the FAQ and its JSON-LD) are fetched once at startup and pinned: other traffic
  cannot evict them and no body-size cap applies.
  HEAD is answered from a cached GET when there is one, and never stored.
- In public mode, requests that can run slow SQL (table pages and searches) share a few
  slots (`HeavyGate`; `heavy_slots` in the plugin config, default 1, always fewer than the SQL
  threads): a flood of them waits briefly, then gets 503 with `Retry-After`, while SQL threads stay
  free for the API lookups, the FAQ and Datasette's own pages. One slot by default because Datasette
  renders every response on the event loop under one GIL: a second slow request at a time adds no
  throughput (measured: 71 vs 72 searches/s on 100k claims) but doubles how long the loop, and so
  every cached FAQ answer, waits behind slow requests. `/-/check` (up to 5 s of Python) has a slot
  of its own, so a fact-check neither blocks searches nor runs twice at once.
- `/-/databases(.json)`, which shows the database's path on the server, is refused in public mode.
- gzip for text and JSON bodies of 1 KB or more sent in one piece, when the client accepts it (the
  standard library's `gzip`, so no dependency); streamed bodies pass through as they are.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .contract import ENDPOINTS, FAQ_URLS

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_ORIGINS = ("https://amsk.co.uk",)
JSON_SUFFIXES = (b".json", b".jsonld")
JSON_TYPES = (b"application/json", b"application/ld+json")
COMPRESSIBLE = (b"text/", b"application/json", b"application/ld+json", b"application/javascript")
GZIP_MIN_BYTES = 1024
GZIP_THREAD_BYTES = 64 * 1024  # larger bodies are compressed off the event loop
ALLOWED_METHODS = "GET, HEAD, OPTIONS"
ALLOWED_REQUEST_HEADERS = "If-None-Match, Accept, Accept-Language, Content-Language"
EXPOSED_HEADERS = "ETag, X-KB-Build"
PUBLIC_VARY = b"Origin, Accept-Encoding"
CACHE_ENTRIES = 256  # the LRU: responses other than the pinned API URLs
CACHE_MAX_BODY = 256 * 1024  # per LRU entry
PINNED_MAX_BODY = 16 * 1024 * 1024  # per pinned entry: the whole FAQ of a large KB still fits
DEFAULT_HEAVY_SLOTS = 1  # slow requests at a time (see the module docstring)
HEAVY_QUEUE = 32  # heavy requests waiting for a slot; more are refused at once
HEAVY_WAIT_S = 1.0  # how long a slow request waits for a slot before it gets 503
CHECK_WAIT_S = 6.0  # a fact-check may run 5 s (check_time_limit_ms): the next one waits for it
RETRY_AFTER_S = 1
REFUSED_IN_PUBLIC = (b"/-/databases", b"/-/databases.json")

# The website API's endpoints, their JSON columns (always returned parsed, as if `_json=` were given)
# and the parameters each reads: defined once in contract.py. Anything else is dropped before
# Datasette sees the request (Datasette ignores it anyway), so `?_bust=123` cannot bypass the cache.
API_JSON_COLUMNS: dict[bytes, tuple[str, ...]] = {
    path.encode(): columns for path, (columns, _) in ENDPOINTS.items() if columns
}
API_PARAMS: dict[bytes, tuple[bytes, ...]] = {
    path.encode(): tuple(p.encode() for p in params) for path, (_, params) in ENDPOINTS.items()
}
# Responses that do not depend on the Host header (no absolute URLs in them): cached across hosts.
API_PATHS = tuple(API_PARAMS)
# A table or query page (`/db/name`, `/db/name.json`): may run slow SQL (search, count, facets).
HEAVY_PATH = re.compile(rb"^/[^/]+/[^/]+$")
CHECK_PATHS = (b"/-/check", b"/-/check.json")

# The URLs warmed at startup and pinned in the cache (per article ones come from the plugin).
WARM_URLS = FAQ_URLS


def cors_origins(env: str | None, configured: Iterable[str] | None) -> tuple[str, ...]:
    """KB_CORS_ORIGINS (comma-separated) wins over the plugin config, which wins over the default."""
    if env is not None and env.strip():
        return tuple(o.strip().rstrip("/") for o in env.split(",") if o.strip())
    if configured:
        return tuple(str(o).rstrip("/") for o in configured)
    return DEFAULT_ORIGINS


def refused_path(raw_path: bytes, path: str) -> bool:
    """True for paths a browser could read as another host (`//x`, `/\\x`, `/%5Cx`, `/%2Fx`)."""
    head = raw_path[:4].lower()
    return (
        path.startswith(("//", "/\\"))
        or head.startswith((b"//", b"/\\", b"/%5c", b"/%2f"))
        or "\\" in path
    )


def is_heavy(raw_path: bytes) -> bool:
    """Requests that can hold an SQL thread for the whole time limit: table and query pages other
    than the website's API lookups (the fact-checker has a gate of its own)."""
    return (
        not raw_path.startswith(b"/-/")
        and raw_path not in API_JSON_COLUMNS
        and HEAVY_PATH.match(raw_path) is not None
    )


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


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers", [])}


def _etag_matches(if_none_match: bytes, etag: bytes) -> bool:
    wanted = etag.removeprefix(b"W/")
    for tag in if_none_match.split(b","):
        tag = tag.strip()
        if tag == b"*" or tag.removeprefix(b"W/") == wanted:
            return True
    return False


def _accepts_gzip(accept_encoding: bytes) -> bool:
    for part in accept_encoding.lower().split(b","):
        name, _, params = part.strip().partition(b";")
        if name.strip() in (b"gzip", b"*"):
            return b"q=0" not in params.replace(b" ", b"") or b"q=0." in params
    return False


async def _plain(send: Send, status: int, text: str, headers: Iterable[tuple[bytes, bytes]] = ()):
    body = text.encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def compress(body: bytes) -> bytes:
    """gzip; a large body in a worker thread (zlib lets go of the GIL), so compressing the whole FAQ
    of a large KB does not stall every other request on the event loop."""
    if len(body) < GZIP_THREAD_BYTES:
        return gzip.compress(body, compresslevel=6, mtime=0)
    return await asyncio.to_thread(gzip.compress, body, 6, mtime=0)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _discard(message: Message) -> None:
    return None


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


class HeavyGate:
    """At most `slots` slow requests at a time; up to HEAVY_QUEUE wait (each at most `wait` seconds)
    and the rest are refused. The semaphore belongs to the event loop that first used it: a new loop
    (as each test's `asyncio.run` brings) gets a new one."""

    def __init__(self, slots: Callable[[], int], wait: float = HEAVY_WAIT_S):
        self.slots = slots
        self.wait = wait
        self.waiting = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sem: asyncio.Semaphore | None = None

    def semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._sem is None or self._loop is not loop:
            self._loop, self._sem = loop, asyncio.Semaphore(max(1, self.slots()))
        return self._sem

    async def acquire(self) -> bool:
        sem = self.semaphore()
        if sem.locked() and self.waiting >= HEAVY_QUEUE:
            return False
        self.waiting += 1
        try:
            await asyncio.wait_for(sem.acquire(), self.wait)
            return True
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1

    def release(self) -> None:
        assert self._sem is not None
        self._sem.release()


class KBMiddleware:
    """Wraps the Datasette ASGI app. `build_id`, `warm_urls` are async callables from the plugin."""

    def __init__(
        self,
        app: ASGIApp,
        origins: Iterable[str],
        build_id: Callable[[], Awaitable[str | None]],
        is_public: Callable[[], bool],
        max_age: Callable[[], int],
        warm_urls: Callable[[], Awaitable[list[str]]] | None = None,
        heavy_slots: Callable[[], int] = lambda: DEFAULT_HEAVY_SLOTS,
    ):
        self.app = app
        self.origins = tuple(origins)
        self.build_id = build_id
        self.is_public = is_public
        self.max_age = max_age
        self.warm_urls = warm_urls
        self.cache = ResponseCache()
        self.gate = HeavyGate(heavy_slots)
        self.check_gate = HeavyGate(lambda: 1, CHECK_WAIT_S)
        self.warmed = False

    def allowed_origin(self, origin: bytes | None) -> bytes | None:
        if not origin:
            return None
        text = origin.decode("latin-1")
        if "*" in self.origins or text in self.origins:
            return origin
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self.warm_on_startup(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, self.nosniff(send))

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path = (scope.get("raw_path") or scope["path"].encode("utf-8")).partition(b"?")[0]
        if refused_path(raw_path, scope["path"]):
            await _plain(send, 400, "Bad request: this path is not allowed.\n")
            return
        headers = _headers(scope)
        method = scope["method"]
        is_json = raw_path.endswith(JSON_SUFFIXES)
        origin = self.allowed_origin(headers.get(b"origin"))
        if method == "OPTIONS" and is_json and b"access-control-request-method" in headers:
            await self.preflight(send, origin, headers)
            return
        public = self.is_public()
        if public and raw_path in REFUSED_IN_PUBLIC:
            await _plain(send, 403, "Forbidden: not available on a public instance.\n")
            return
        if public and not self.warmed:
            await self.warm()
        if raw_path in API_PARAMS:
            scope = dict(scope, query_string=api_query(raw_path, scope.get("query_string", b"")))
        build = await self.build_id() if is_json else None
        etag = f'W/"kb-{build}"'.encode() if build and public else None
        not_modified = bool(
            etag
            and method in ("GET", "HEAD")
            and _etag_matches(headers.get(b"if-none-match", b""), etag)
        )
        cacheable = public and is_json and method in ("GET", "HEAD")
        key = cache_key(headers.get(b"host"), raw_path, scope.get("query_string", b""))
        hit = self.cache.get(key) if cacheable else None
        gzip_ok = (
            method != "HEAD"
            and not not_modified
            and _accepts_gzip(headers.get(b"accept-encoding", b""))
        )
        out = self.finish(
            self.gzip_send(send) if gzip_ok else send,
            send,
            build,
            etag,
            origin,
            public,
            not_modified,
            method == "HEAD",
            ("hit" if hit else "miss") if cacheable else None,
        )
        if hit is not None:
            body, extra = hit.body, []
            if gzip_ok and len(body) >= GZIP_MIN_BYTES:  # JSON: compress once, not per request
                body, extra = await hit.compressed(), [(b"content-encoding", b"gzip")]
            length = [(b"content-length", str(len(body)).encode())]
            cached = [(k, v) for k, v in hit.headers if k.lower() != b"content-length"]
            await out({"type": "http.response.start", "status": 200,
                       "headers": cached + extra + length})  # fmt: skip
            await out({"type": "http.response.body", "body": body})
            return
        if cacheable and method == "GET":
            out = self.recorder(key, out)
        gate = None
        if public:
            gate = self.check_gate if raw_path in CHECK_PATHS else None
            gate = self.gate if is_heavy(raw_path) else gate
        if gate is not None:
            if not await gate.acquire():
                await _plain(
                    send,
                    503,
                    "Busy: too many slow requests at once. Try again in a moment.\n",
                    [
                        (b"retry-after", str(RETRY_AFTER_S).encode()),
                        (b"cache-control", b"no-store"),
                    ],
                )
                return
            try:
                await self.app(scope, receive, out)
            finally:
                gate.release()
            return
        await self.app(scope, receive, out)

    def finish(
        self,
        send: Send,
        raw_send: Send,
        build: str | None,
        etag: bytes | None,
        origin: bytes | None,
        public: bool,
        not_modified: bool,
        head: bool,
        cache_status: str | None,
    ) -> Send:
        """Our headers on JSON responses; a 200 the client already has becomes a 304 (no body);
        HEAD never carries a body."""
        state = {"swallow": False}

        async def out(message: Message) -> None:
            if message["type"] == "http.response.body":
                if state["swallow"]:
                    return
                if head:
                    message = dict(message, body=b"")
                await send(message)
                return
            if message["type"] != "http.response.start":
                await send(message)
                return
            status = message["status"]
            response_headers = list(message.get("headers", []))
            ctype = dict((k.lower(), v) for k, v in response_headers).get(b"content-type", b"")
            if not ctype.startswith(JSON_TYPES):
                await send(message)
                return
            ok = status == 200
            drop = {b"access-control-allow-origin"}  # only ours, never Datasette's `*`
            if ok and etag:
                drop.add(b"cache-control")
            if public:
                drop.add(b"vary")
            kept = [(k, v) for k, v in response_headers if k.lower() not in drop]
            ours = self.json_headers(build, etag if ok else None, origin, public, kept)
            if cache_status:
                ours.append((b"x-kb-cache", cache_status.encode()))
            if ok and not_modified:
                state["swallow"] = True
                await raw_send({"type": "http.response.start", "status": 304, "headers": ours})
                await raw_send({"type": "http.response.body", "body": b""})
                return
            await send(dict(message, headers=kept + ours))

        return out

    def recorder(self, key: tuple, send: Send) -> Send:
        """Forward the response and keep it in the cache if it is a whole 200 JSON body."""
        parts: dict[str, Any] = {}

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                parts.update(status=message["status"], headers=list(message.get("headers", [])))
            elif message["type"] == "http.response.body":
                body = message.get("body", b"")
                ctype = dict(parts.get("headers", [])).get(b"content-type", b"")
                if (
                    parts.get("status") == 200
                    and not message.get("more_body", False)
                    and "body" not in parts
                    and ctype.startswith(JSON_TYPES)
                ):
                    self.cache.put(key, Entry(parts["headers"], body))
                parts["body"] = True
            await send(message)

        return record

    def json_headers(
        self,
        build: str | None,
        etag: bytes | None,
        origin: bytes | None,
        public: bool = False,
        existing: Iterable[tuple[bytes, bytes]] = (),
    ) -> list[tuple[bytes, bytes]]:
        if public:
            out = [(b"vary", PUBLIC_VARY)]
        else:  # keep Datasette's Vary (Cookie, Authorization) in the same header
            vary = [v.strip() for k, v in existing if k.lower() == b"vary" for v in v.split(b",")]
            vary += [v for v in (b"Origin", b"Accept-Encoding") if v not in vary]
            out = [(b"vary", b", ".join(v for v in vary if v))]
        if build:
            out.append((b"x-kb-build", build.encode()))
        if etag:
            out += [
                (b"etag", etag),
                (b"cache-control", f"public, max-age={self.max_age()}".encode()),
            ]
        if origin:
            out += [
                (b"access-control-allow-origin", origin),
                (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
            ]
        return out

    # ------------------------------------------------------------ warming the website's API

    async def warm(self) -> None:
        """Fetch the website's API URLs through the app once and pin them in the cache."""
        if self.warmed:
            return
        self.warmed = True
        urls = list(WARM_URLS)
        if self.warm_urls is not None:
            urls += [u for u in await self.warm_urls() if u not in urls]
        scopes = [self.internal_scope(url) for url in urls]
        for scope in scopes:
            raw_path = scope["raw_path"]
            if raw_path in API_PARAMS:
                scope = dict(scope, query_string=api_query(raw_path, scope["query_string"]))
            self.cache.pinned_keys.add(cache_key(None, raw_path, scope["query_string"]))
        for scope in scopes:
            await self.handle(scope, _no_body, _discard)
        for entry in self.cache.pinned.values():  # the website asks with Accept-Encoding: gzip
            if len(entry.body) >= GZIP_MIN_BYTES:
                await entry.compressed()

    @staticmethod
    def internal_scope(url: str) -> Scope:
        path, _, query = url.partition("?")
        return {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": query.encode(), "headers": [(b"host", b"localhost")],
            "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 80),
        }  # fmt: skip

    def warm_on_startup(self, send: Send) -> Send:
        """Warm before the server reports startup complete, i.e. before it accepts a connection."""

        async def wrapped(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete" and self.is_public():
                try:
                    await self.warm()
                except Exception as exc:  # the instance still serves; the cache fills on demand
                    print(f"kb: warming the API cache failed: {exc!r}", flush=True)
            await send(message)

        return wrapped

    # ------------------------------------------------------------ small pieces

    @staticmethod
    def nosniff(send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != b"x-content-type-options"
                ]
                headers.append((b"x-content-type-options", b"nosniff"))
                message = dict(message, headers=headers)
            await send(message)

        return wrapped

    async def preflight(self, send: Send, origin: bytes | None, headers: dict[bytes, bytes]):
        wanted = headers.get(b"access-control-request-method", b"").decode("latin-1").upper()
        if origin is None or wanted not in ("GET", "HEAD"):
            await _plain(send, 403, "CORS preflight refused.\n", [(b"vary", b"Origin")])
            return
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [
                    (b"access-control-allow-origin", origin),
                    (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
                    (b"access-control-allow-headers", ALLOWED_REQUEST_HEADERS.encode()),
                    (b"access-control-max-age", b"86400"),
                    (b"vary", b"Origin"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    @staticmethod
    def gzip_send(send: Send) -> Send:
        start: Message | None = None
        passthrough = False

        async def wrapped(message: Message) -> None:
            nonlocal start, passthrough
            if passthrough or message["type"] not in ("http.response.start", "http.response.body"):
                await send(message)
                return
            if message["type"] == "http.response.start":
                start = message
                return
            assert start is not None
            headers = list(start.get("headers", []))
            names = {k.lower(): v for k, v in headers}
            body = message.get("body", b"")
            compressible = names.get(b"content-type", b"").startswith(COMPRESSIBLE)
            if compressible:
                vary = names.get(b"vary")
                if vary is None:
                    headers.append((b"vary", b"Accept-Encoding"))
                elif b"accept-encoding" not in vary.lower():
                    headers = [(k, v) for k, v in headers if k.lower() != b"vary"]
                    headers.append((b"vary", vary + b", Accept-Encoding"))
            if (
                compressible
                and not message.get("more_body", False)
                and len(body) >= GZIP_MIN_BYTES
                and b"content-encoding" not in names
            ):
                body = await compress(body)
                headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
                headers += [
                    (b"content-encoding", b"gzip"),
                    (b"content-length", str(len(body)).encode()),
                ]
                message = dict(message, body=body)
            passthrough = True
            await send(dict(start, headers=headers))
            await send(message)

        return wrapped


def origins_from(datasette) -> tuple[str, ...]:
    config = datasette.plugin_config("kb") or {}
    return cors_origins(os.environ.get("KB_CORS_ORIGINS"), config.get("cors_origins"))
