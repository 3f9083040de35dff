"""The headers every response gets: a Content-Security-Policy the pages work under, no framing, a
referrer policy, `nosniff`, and HSTS when the site is served over HTTPS and the setting asks for it.

Scripts run only from this site, plus the inline scripts of the templates (Datasette's and ours)
named by their SHA-256 hash, computed from the template files when the server starts. An inline
script that holds template code cannot be hashed ahead, except the one value Datasette's table page
fills in (`KNOWN_VALUES`): put such code in a static file, or the browser will refuse it (the
browser tests catch that). Styles may be inline (Datasette's pages set `style=` and per-page
`<style>` blocks); nothing else comes from another site.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from pathlib import Path

import datasette

from .asgi import Message, Send

OUR_TEMPLATES = Path(__file__).parent / "templates"
DATASETTE_TEMPLATES = Path(datasette.__file__).parent / "templates"
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S)
# Template expressions inside Datasette's inline scripts, and every value they take.
KNOWN_VALUES = {"{{ datasette_allow_facet }}": ("true", "false")}
REFERRER_POLICY = b"strict-origin-when-cross-origin"


def _variants(script: str) -> list[str]:
    out = [script]
    for expression, values in KNOWN_VALUES.items():
        out = (
            [s.replace(expression, v) for s in out for v in values] if expression in script else out
        )
    return [s for s in out if "{{" not in s and "{%" not in s]


def inline_script_hashes(*folders: Path) -> list[str]:
    """`'sha256-…'` for every inline script in the templates of these folders."""
    hashes: set[str] = set()
    for folder in folders:
        for template in sorted(folder.glob("*.html")):
            for match in _INLINE_SCRIPT.finditer(template.read_text(encoding="utf-8")):
                for script in _variants(match.group(1)):
                    digest = hashlib.sha256(script.encode("utf-8")).digest()
                    hashes.add(f"'sha256-{base64.b64encode(digest).decode()}'")
    return sorted(hashes)


@lru_cache(maxsize=1)
def content_security_policy() -> bytes:
    scripts = " ".join(["'self'", *inline_script_hashes(DATASETTE_TEMPLATES, OUR_TEMPLATES)])
    return (
        "default-src 'self'; "
        f"script-src {scripts}; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ).encode()


def https(scope: dict, headers: dict[bytes, bytes]) -> bool:
    """Served over HTTPS: directly, or behind a proxy that says so."""
    return scope.get("scheme") == "https" or headers.get(b"x-forwarded-proto") == b"https"


def security_headers(hsts_max_age: int, over_https: bool) -> list[tuple[bytes, bytes]]:
    out = [
        (b"x-content-type-options", b"nosniff"),
        (b"content-security-policy", content_security_policy()),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", REFERRER_POLICY),
    ]
    if hsts_max_age > 0 and over_https:
        out.append((b"strict-transport-security", f"max-age={hsts_max_age}".encode()))
    return out


def secured(send: Send, ours: list[tuple[bytes, bytes]]) -> Send:
    """A send() that gives the response our headers, replacing any of the same name."""
    names = {k for k, _ in ours}

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
            message = dict(message, headers=kept + ours)
        await send(message)

    return wrapped
