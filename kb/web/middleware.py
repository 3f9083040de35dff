"""The ASGI layer in front of Datasette: refuse redirect tricks, CORS and caching for JSON, gzip.

Order, outermost first: path guard → preflight → conditional GET (304) → response headers → gzip.

- Paths starting with `/\\`, `//` or `/%5C` are refused: Datasette 0.65 answers `/\\example.com/`
  with a redirect to `/\\example.com`, which browsers follow to another site (an open redirect).
- CORS only for JSON (`*.json`, `*.jsonld`), only for the configured origins; HTML never gets it.
- Every JSON response says which build it came from (`X-KB-Build`). When the database is immutable
  (`kb serve --public`), JSON also gets `Cache-Control: public` and a weak ETag from the build id, and
  a matching `If-None-Match` is answered 304 without running a query: the data only changes with a
  rebuild, which changes the build id.
- In public mode, JSON responses (200, under 256 KB) are kept in a small in-memory LRU keyed by host,
  path and query: they cannot change until a rebuild restarts the process, so the FAQ is answered
  without a database query, and a flood of slow searches cannot starve it of SQL threads.
- gzip for text and JSON bodies of 1 KB or more sent in one piece, when the client accepts it. A few
  lines of `zlib`, so no dependency; streamed bodies pass through as they are.
"""

from __future__ import annotations

import gzip
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

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
ALLOWED_METHODS = "GET, HEAD, OPTIONS"
ALLOWED_REQUEST_HEADERS = "If-None-Match, Accept, Accept-Language, Content-Language"
EXPOSED_HEADERS = "ETag, X-KB-Build"
CACHE_ENTRIES = 256
CACHE_MAX_BODY = 256 * 1024

# The website API: columns that hold JSON and are always returned parsed (as if `_json=` were given).
API_JSON_COLUMNS: dict[bytes, tuple[str, ...]] = {
    b"/kb/faq.json": ("article", "claims"),
    b"/kb/claim.json": ("source",),
    b"/kb/source.json": ("claim_ids",),
}


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


async def _plain(send: Send, status: int, text: str, headers: list[tuple[bytes, bytes]] = ()):
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


class KBMiddleware:
    """Wraps the Datasette ASGI app. `build_id` and `is_public` are async callables from the plugin."""

    def __init__(
        self,
        app: ASGIApp,
        origins: Iterable[str],
        build_id: Callable[[], Awaitable[str | None]],
        is_public: Callable[[], bool],
        max_age: Callable[[], int],
    ):
        self.app = app
        self.origins = tuple(origins)
        self.build_id = build_id
        self.is_public = is_public
        self.max_age = max_age
        self.cache: OrderedDict[tuple, tuple[int, list, bytes]] = OrderedDict()

    def allowed_origin(self, origin: bytes | None) -> bytes | None:
        if not origin:
            return None
        text = origin.decode("latin-1")
        if "*" in self.origins or text in self.origins:
            return origin
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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
        if is_json and raw_path in API_JSON_COLUMNS:
            scope = self.with_json_columns(scope, API_JSON_COLUMNS[raw_path])
        build = await self.build_id() if is_json else None
        public = self.is_public()
        etag = f'W/"kb-{build}"'.encode() if build and public else None
        if (
            etag
            and method in ("GET", "HEAD")
            and _etag_matches(headers.get(b"if-none-match", b""), etag)
        ):
            await send(
                {
                    "type": "http.response.start",
                    "status": 304,
                    "headers": self.json_headers(build, etag, origin),
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        gzip_ok = method != "HEAD" and _accepts_gzip(headers.get(b"accept-encoding", b""))
        send = self.gzip_send(send) if gzip_ok else send

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = list(message.get("headers", []))
                ctype = dict((k.lower(), v) for k, v in response_headers).get(b"content-type", b"")
                if ctype.startswith(JSON_TYPES):
                    ok = message["status"] == 200
                    drop = {b"cache-control"} if (ok and etag) else set()
                    drop |= {b"access-control-allow-origin"}  # only ours, never Datasette's `*`
                    response_headers = [
                        (k, v) for k, v in response_headers if k.lower() not in drop
                    ]
                    response_headers += self.json_headers(build, etag if ok else None, origin)
                message = dict(message, headers=response_headers)
            await send(message)

        if not (public and is_json and method in ("GET", "HEAD")):
            await self.app(scope, receive, send_with_headers)
            return
        key = (headers.get(b"host"), raw_path, scope.get("query_string", b""))
        hit = self.cache.get(key)
        if hit is not None:
            self.cache.move_to_end(key)
            status, cached_headers, body = hit
            await send_with_headers(
                {"type": "http.response.start", "status": status, "headers": cached_headers}
            )
            await send_with_headers({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, self.recorder(key, send_with_headers))

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
                    and len(body) <= CACHE_MAX_BODY
                ):
                    self.cache[key] = (200, parts["headers"], body)
                    while len(self.cache) > CACHE_ENTRIES:
                        self.cache.popitem(last=False)
                parts["body"] = True
            await send(message)

        return record

    def json_headers(
        self, build: str | None, etag: bytes | None, origin: bytes | None
    ) -> list[tuple[bytes, bytes]]:
        out = [(b"vary", b"Origin, Accept-Encoding")]
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
    def with_json_columns(scope: Scope, columns: tuple[str, ...]) -> Scope:
        query = scope.get("query_string", b"")
        extra = b"&".join(b"_json=" + c.encode() for c in columns)
        return dict(scope, query_string=query + b"&" + extra if query else extra)

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
                body = gzip.compress(body, compresslevel=6, mtime=0)
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
