"""The ASGI vocabulary the request layer shares (`middleware.py` and the modules it calls): message
types, a request's raw path and headers, a plain-text answer, and a request made from inside the
server (warming the cache)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]


def raw_path(scope: Scope) -> bytes:
    """The path as sent (percent-escapes kept), without the query string."""
    return (scope.get("raw_path") or scope["path"].encode("utf-8")).partition(b"?")[0]


def request_headers(scope: Scope) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers", [])}


async def plain(send: Send, status: int, text: str, headers: Iterable[tuple[bytes, bytes]] = ()):
    """Answer with `text` as text/plain."""
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


async def no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def discard(message: Message) -> None:
    return None


def internal_scope(url: str) -> Scope:
    """A GET of `url` as if from a client on loopback: how the server asks itself for a page."""
    path, _, query = url.partition("?")
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": query.encode(), "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 80),
    }  # fmt: skip


async def fetch(app: ASGIApp, url: str) -> tuple[int, bytes]:
    """GET `url` from `app` from inside the server: the status and the body."""
    parts: dict[str, Any] = {"status": 0, "body": b""}

    async def collect(message: Message) -> None:
        if message["type"] == "http.response.start":
            parts["status"] = message["status"]
        elif message["type"] == "http.response.body":
            parts["body"] += message.get("body", b"")

    await app(internal_scope(url), no_body, collect)
    return parts["status"], parts["body"]
