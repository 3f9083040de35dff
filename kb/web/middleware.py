"""The ASGI layer in front of Datasette: refuse hostile requests, CORS and caching for JSON, gzip,
and keep slow searches from starving the website's API.

Order, outermost first: security headers → refusals (`guard.py`: path, method, query, public-only
paths, the body read up to its limit) → health and preflight → default facets → response cache and
conditional GET (304) → bounded slots for heavy requests (`gate.py`) → response headers → gzip.

- Every response gets the headers of `headers.py` (CSP, no framing, referrer policy, nosniff, HSTS
  over HTTPS when the `hsts_max_age` setting asks for it).
- Refused with a 4xx and a reason before Datasette sees them: paths a browser reads as another host
  (`/\\x`, `//x`, `/%5Cx`: Datasette 0.65 would redirect there), methods other than GET, HEAD,
  OPTIONS and POST, over-long query strings and searches, repeated or unknown facets, a malformed
  `_through`, a body over its route's limit (413 as soon as the limit is passed, chunked too) and a
  form that is not UTF-8.
- A table's default facet asked for again in the URL is dropped from it (`facets.py`): worked out once.
- `/-/health` answers `{"ok": true, "build": ...}` without touching SQL. In public mode
  `/-/databases`, `/-/versions` and `/-/threads` (the server's paths and exact software) are refused.
- CORS only for JSON (`*.json`, `*.jsonld`), only for the configured origins; HTML never gets it
  (`cors.py`).
- Every JSON response says which build it came from (`X-KB-Build`). When the database is immutable
  (`kb serve --public`), a 200 JSON response also gets `Cache-Control: public`, a weak ETag from the
  build id and `Vary: Origin, Accept-Encoding` (a public instance has no login, so Datasette's
  `Vary: Cookie, Authorization` would only stop CDNs sharing the response). A matching
  `If-None-Match` is answered 304 only where the answer would be that 200: from the cache, or by
  turning the app's own 200 into a 304. A request that fails still fails.
- In public mode, complete 200 GET JSON responses are cached in memory (`cache.py`), and the website's
  API URLs are fetched once at startup and pinned. HEAD is answered from a cached GET when there is
  one, and never stored.
- In public mode, requests that can run slow SQL (table pages and searches) share a few slots
  (`HeavyGate`; `heavy_slots` in the plugin config, default 1, always fewer than the SQL threads).
  One slot by default because Datasette renders every response on the event loop under one GIL: a
  second slow request at a time adds no throughput (measured: 71 vs 72 searches/s on 100k claims)
  but doubles how long the loop, and so every cached FAQ answer, waits behind slow requests. A
  fact-check runs in a worker process of its own (`checkpool.py`), never on the loop.
- gzip for text and JSON bodies of 1 KB or more sent in one piece, when the client accepts it
  (`compression.py`); streamed bodies pass through as they are.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from . import asgi, facets, guard
from .asgi import (
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    discard,
    internal_scope,
    no_body,
    plain,
)
from .cache import API_PARAMS, PINNED_URLS, Entry, ResponseCache, api_query, cache_key, etag_matches
from .check import BODY_LIMITS
from .compression import GZIP_MIN_BYTES, accepts_gzip, gzip_send
from .cors import allowed_origin, cors_headers, cors_origins, origins_from, preflight
from .gate import DEFAULT_HEAVY_SLOTS, HeavyGate, is_heavy
from .headers import https, secured, security_headers

# Names the plugin (`__init__.py`) and the tests import from here.
__all__ = ["DEFAULT_HEAVY_SLOTS", "KBMiddleware", "cors_origins", "origins_from"]

JSON_SUFFIXES = (b".json", b".jsonld")
JSON_TYPES = (b"application/json", b"application/ld+json")
PUBLIC_VARY = b"Origin, Accept-Encoding"
RETRY_AFTER_S = 1
HEALTH_PATH = b"/-/health"


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
        hsts_max_age: Callable[[], int] = lambda: 0,
    ):
        self.app = app
        self.origins = tuple(origins)
        self.build_id = build_id
        self.is_public = is_public
        self.max_age = max_age
        self.warm_urls = warm_urls
        self.cache = ResponseCache()
        self.gate = HeavyGate(heavy_slots)
        self.hsts_max_age = hsts_max_age
        self.warmed = False
        self.facets: facets.Defaults | None = None

    def allowed_origin(self, origin: bytes | None) -> bytes | None:
        return allowed_origin(self.origins, origin)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self.warm_on_startup(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = asgi.request_headers(scope)
        send = secured(send, security_headers(self.hsts_max_age(), https(scope, headers)))
        receive = await self.admit(scope, receive, send, headers)
        if receive is not None:
            await self.handle(scope, receive, send)

    async def admit(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[bytes, bytes]
    ) -> Receive | None:
        """The receive() to serve the request with, or None when it was answered here: a refusal
        (`guard`), the health check, or a CORS preflight. A body is read here, up to its limit."""
        raw_path = asgi.raw_path(scope)
        method = scope["method"]
        refusal = (
            (400, "Bad request: this path is not allowed.")
            if guard.refused_path(raw_path, scope["path"])
            else None
        )
        problem = guard.method_problem(method)
        if refusal is None and problem:
            refusal = (405, problem)
        problem = guard.query_problem(scope.get("query_string", b""))
        if refusal is None and problem:
            refusal = (400, problem)
        if refusal is None and self.is_public() and raw_path in guard.REFUSED_IN_PUBLIC:
            refusal = (403, "Forbidden: not available on a public instance.")
        if refusal is not None:
            extra = [(b"allow", ", ".join(guard.METHODS).encode())] if refusal[0] == 405 else []
            await plain(send, refusal[0], refusal[1] + "\n", extra)
            return None
        if raw_path == HEALTH_PATH:
            await self.health(send)
            return None
        if method == "OPTIONS" and raw_path.endswith(JSON_SUFFIXES):
            if b"access-control-request-method" in headers:
                await preflight(send, self.allowed_origin(headers.get(b"origin")), headers)
                return None
        if method != "POST":
            return receive
        return await self.read_body(raw_path, receive, send, headers)

    async def read_body(
        self, raw_path: bytes, receive: Receive, send: Send, headers: dict[bytes, bytes]
    ) -> Receive | None:
        """Read a POST body up to its route's limit (chunked too); refuse it at once past that."""
        limit = BODY_LIMITS.get(raw_path, guard.DEFAULT_BODY_LIMIT)
        declared = guard.declared_length(headers)
        body = (
            None
            if declared is not None and declared > limit
            else await guard.read_body(receive, limit)
        )
        if body is None:
            text = f"Payload too large: at most {limit // 1024} KB may be sent here.\n"
            await plain(send, 413, text, [(b"connection", b"close")])
            return None
        problem = guard.form_problem(body, headers.get(b"content-type", b""))
        if problem:
            await plain(send, 400, problem + "\n")
            return None
        return guard.replay(body, receive)

    async def health(self, send: Send) -> None:
        body = json.dumps({"ok": True, "build": await self.build_id()}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"cache-control", b"no-store"),
            (b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path = asgi.raw_path(scope)
        headers = asgi.request_headers(scope)
        method = scope["method"]
        is_json = raw_path.endswith(JSON_SUFFIXES)
        origin = self.allowed_origin(headers.get(b"origin"))
        public = self.is_public()
        if public and not self.warmed:
            await self.warm()
        if raw_path in API_PARAMS:
            scope = dict(scope, query_string=api_query(raw_path, scope.get("query_string", b"")))
        elif b"_facet" in scope.get("query_string", b""):  # a default facet asked for again
            defaults = await self.default_facets()
            query = facets.without_defaults(raw_path, scope["query_string"], defaults)
            scope = dict(scope, query_string=query)
        build = await self.build_id() if is_json else None
        etag = f'W/"kb-{build}"'.encode() if build and public else None
        not_modified = bool(
            etag
            and method in ("GET", "HEAD")
            and etag_matches(headers.get(b"if-none-match", b""), etag)
        )
        cacheable = public and is_json and method in ("GET", "HEAD")
        key = cache_key(headers.get(b"host"), raw_path, scope.get("query_string", b""))
        hit = self.cache.get(key) if cacheable else None
        gzip_ok = (
            method != "HEAD"
            and not not_modified
            and accepts_gzip(headers.get(b"accept-encoding", b""))
        )
        out = self.finish(
            gzip_send(send) if gzip_ok else send,
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
        gate = self.gate if public and is_heavy(raw_path) else None
        if gate is not None:
            if not await gate.acquire():
                await plain(
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
        return out + cors_headers(origin)

    async def default_facets(self) -> facets.Defaults:
        """Each table's default facets (`facets.py`), read from Datasette's metadata once."""
        if self.facets is None:
            self.facets = facets.parse_defaults(*await asgi.fetch(self.app, facets.METADATA_URL))
        return self.facets

    # ------------------------------------------------------------ warming the website's API

    async def warm(self) -> None:
        """Fetch the website's API URLs through the app once and pin them in the cache."""
        if self.warmed:
            return
        self.warmed = True
        urls = list(PINNED_URLS)
        if self.warm_urls is not None:
            urls += [u for u in await self.warm_urls() if u not in urls]
        scopes = [internal_scope(url) for url in urls]
        for scope in scopes:
            raw_path = scope["raw_path"]
            if raw_path in API_PARAMS:
                scope = dict(scope, query_string=api_query(raw_path, scope["query_string"]))
            self.cache.pinned_keys.add(cache_key(None, raw_path, scope["query_string"]))
        for scope in scopes:
            await self.handle(scope, no_body, discard)
        for entry in self.cache.pinned.values():  # the website asks with Accept-Encoding: gzip
            if len(entry.body) >= GZIP_MIN_BYTES:
                await entry.compressed()

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
