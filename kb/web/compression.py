"""gzip of responses: text and JSON bodies of `GZIP_MIN_BYTES` or more, sent in one piece, when the
client accepts gzip. The standard library's `gzip`, so no dependency; streamed bodies pass through
as they are. A large body is compressed in a worker thread (zlib lets go of the GIL), so compressing
the whole FAQ of a large KB does not stall every other request on the event loop."""

from __future__ import annotations

import asyncio
import gzip

from .asgi import Message, Send

COMPRESSIBLE = (b"text/", b"application/json", b"application/ld+json", b"application/javascript")
GZIP_MIN_BYTES = 1024  # smaller bodies are sent as they are
GZIP_THREAD_BYTES = 64 * 1024  # larger bodies are compressed off the event loop


async def compress(body: bytes) -> bytes:
    if len(body) < GZIP_THREAD_BYTES:
        return gzip.compress(body, compresslevel=6, mtime=0)
    return await asyncio.to_thread(gzip.compress, body, 6, mtime=0)


def accepts_gzip(accept_encoding: bytes) -> bool:
    """The client's Accept-Encoding allows gzip (`gzip` or `*`, not with q=0)."""
    for part in accept_encoding.lower().split(b","):
        name, _, params = part.strip().partition(b";")
        if name.strip() in (b"gzip", b"*"):
            return b"q=0" not in params.replace(b" ", b"") or b"q=0." in params
    return False


def gzip_send(send: Send) -> Send:
    """A send() that compresses a compressible one-piece body and says it varies on Accept-Encoding."""
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
