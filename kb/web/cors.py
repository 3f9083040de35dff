"""CORS for the website's API: only JSON (`*.json`, `*.jsonld`), only for the configured origins,
read-only methods; HTML never gets it.

The origins come from KB_CORS_ORIGINS (comma-separated), else the plugin config's `cors_origins`,
else `DEFAULT_ORIGINS`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from .asgi import Headers, Send, plain

DEFAULT_ORIGINS = ("https://amsk.co.uk",)
ALLOWED_METHODS = "GET, HEAD, OPTIONS"
ALLOWED_REQUEST_HEADERS = "If-None-Match, Accept, Accept-Language, Content-Language"
EXPOSED_HEADERS = "ETag, X-KB-Build"
PREFLIGHT_MAX_AGE_S = 86400


def cors_origins(env: str | None, configured: Iterable[str] | None) -> tuple[str, ...]:
    """KB_CORS_ORIGINS (comma-separated) wins over the plugin config, which wins over the default."""
    if env is not None and env.strip():
        return tuple(o.strip().rstrip("/") for o in env.split(",") if o.strip())
    if configured:
        return tuple(str(o).rstrip("/") for o in configured)
    return DEFAULT_ORIGINS


def origins_from(datasette) -> tuple[str, ...]:
    config = datasette.plugin_config("kb") or {}
    return cors_origins(os.environ.get("KB_CORS_ORIGINS"), config.get("cors_origins"))


def allowed_origin(origins: tuple[str, ...], origin: bytes | None) -> bytes | None:
    """The request's Origin if it may read our JSON, else None."""
    if not origin:
        return None
    if "*" in origins or origin.decode("latin-1") in origins:
        return origin
    return None


def cors_headers(origin: bytes | None) -> Headers:
    """What a JSON response carries for an allowed origin."""
    if not origin:
        return []
    return [
        (b"access-control-allow-origin", origin),
        (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
    ]


async def preflight(send: Send, origin: bytes | None, headers: dict[bytes, bytes]) -> None:
    """Answer an OPTIONS preflight: 204 for an allowed origin asking to GET or HEAD, else 403."""
    wanted = headers.get(b"access-control-request-method", b"").decode("latin-1").upper()
    if origin is None or wanted not in ("GET", "HEAD"):
        await plain(send, 403, "CORS preflight refused.\n", [(b"vary", b"Origin")])
        return
    await send(
        {
            "type": "http.response.start",
            "status": 204,
            "headers": [
                (b"access-control-allow-origin", origin),
                (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
                (b"access-control-allow-headers", ALLOWED_REQUEST_HEADERS.encode()),
                (b"access-control-max-age", str(PREFLIGHT_MAX_AGE_S).encode()),
                (b"vary", b"Origin"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})
