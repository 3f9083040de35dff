"""Datasette plugin: paste a draft at /-/check and see it annotated; POST /-/check.json for the CMS.

The check runs in a worker process (`checkpool.py`), never on the event loop or in one of its
threads, and stops at a deadline (plugin setting `check_time_limit_ms`, default 1.5 s) with a clear
400; a check that does not stop is killed. A few checks wait for a worker; more get 503 with
Retry-After. The draft is limited to MAX_BYTES of text (counted decoded, not as sent): the
request body itself is capped earlier, while it is read (`BODY_LIMITS`, used by the middleware).
"""

from __future__ import annotations

import json
import weakref
from typing import Any

from datasette import hookimpl
from datasette.utils.asgi import Response

from ..factcheck import COLOURS, CheckTookTooLong, Report
from .checkpool import DEFAULT_WORKERS, CheckBusy, CheckFailed, CheckPool
from .checkview import writer_view

MAX_BYTES = 200 * 1024  # of draft text, UTF-8
# Request bodies: URL-encoding (the form) takes up to 3 bytes per byte of text, plus the CSRF token.
BODY_LIMITS = {b"/-/check": 3 * MAX_BYTES + 4096, b"/-/check.json": 3 * MAX_BYTES + 4096}
DEFAULT_TIME_LIMIT_MS = 1500
RETRY_AFTER_S = 5
_POOLS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _kb_database(datasette):
    """The first attached database that holds a claims table (normally `kb`)."""
    for name, db in datasette.databases.items():
        if name.startswith("_"):
            continue
        return db
    return None


def _time_limit_ms(datasette) -> int:
    config = datasette.plugin_config("kb") or {}
    return int(config.get("check_time_limit_ms") or DEFAULT_TIME_LIMIT_MS)


def check_pool(datasette) -> CheckPool:
    """The server's pool of check workers (started with the server, see `startup`)."""
    pool = _POOLS.get(datasette)
    if pool is None:
        db = _kb_database(datasette)
        if db is None or not db.path:
            raise CheckFailed("no KB database file is attached")
        config = datasette.plugin_config("kb") or {}
        workers = int(config.get("check_workers") or DEFAULT_WORKERS)
        pool = _POOLS[datasette] = CheckPool(str(db.path), workers=workers)
    return pool


async def _run_check(datasette, text: str) -> Report:
    """The report; CheckTookTooLong past the time limit, CheckBusy, CheckFailed."""
    return await check_pool(datasette).check(text, _time_limit_ms(datasette) / 1000)


def _refusal(datasette, exc: Exception) -> tuple[int, str, dict[str, str]]:
    """Status, message and headers for a check that did not finish."""
    if isinstance(exc, CheckTookTooLong):
        return 400, _too_slow(datasette, exc), {}
    if isinstance(exc, CheckBusy):
        retry = {"Retry-After": str(RETRY_AFTER_S)}
        return 503, "Busy: other drafts are being checked. Try again in a moment.", retry
    return 503, f"The check could not be completed ({exc}).", {}


def _too_slow(datasette, exc: CheckTookTooLong) -> str:
    seconds = _time_limit_ms(datasette) / 1000
    return f"The check took longer than {seconds:g} s ({exc}): split the draft and check each part."


def _segments(report: Report) -> list[dict[str, Any]]:
    """The input cut into plain runs and annotated statements, in order, for the template."""
    out: list[dict[str, Any]] = []
    pos = 0
    for s in sorted(report.statements, key=lambda s: s.start):
        if s.start < pos:
            continue
        if s.start > pos:
            out.append({"text": report.text[pos : s.start], "statement": None})
        out.append({"text": s.text, "statement": s})
        pos = s.end
    if pos < len(report.text):
        out.append({"text": report.text[pos:], "statement": None})
    return out


async def check_page(datasette, request):
    context: dict[str, Any] = {"draft": "", "report": None, "segments": [], "error": None,
                               "colours": COLOURS, "max_kb": MAX_BYTES // 1024,
                               "db_name": getattr(_kb_database(datasette), "name", "kb")}  # fmt: skip
    status, headers = 200, {}
    if request.method == "POST":
        try:
            form = await request.post_vars()
        except UnicodeDecodeError:
            form = None
        draft = form.get("text", "") if form is not None else ""
        context["draft"] = draft
        if form is None:
            context["error"] = "The draft is not UTF-8 text."
            status = 400
        elif len(draft.encode("utf-8")) > MAX_BYTES:
            context["error"] = (f"The draft is longer than one check takes (about "
                                f"{MAX_BYTES // 1024},000 characters): split it and check each "
                                "part.")  # fmt: skip
            status = 413
        elif not draft.strip():
            context["error"] = "Paste a draft into the box first: it was empty."
            status = 400
        else:
            try:
                report = await _run_check(datasette, draft)
            except (CheckTookTooLong, CheckBusy, CheckFailed) as exc:
                status, context["error"], headers = _refusal(datasette, exc)
            else:
                context["report"] = report
                context["segments"] = _segments(report)
                found = report.to_dict()
                db = _kb_database(datasette)
                context.update(await db.execute_fn(lambda c: writer_view(c, found, draft)))
    html = await datasette.render_template("check.html", context, request=request)
    return Response.html(html, status=status, headers=headers)


async def check_json(datasette, request):
    if request.method != "POST":
        return Response.json(
            {"error": 'POST the draft as raw text or as {"text": ...}'}, status=405
        )
    body = await request.post_body()
    try:
        raw = body.decode("utf-8")
    except UnicodeDecodeError:
        return Response.json({"error": "the body is not UTF-8 text"}, status=400)
    text, error = _draft_of(raw, request.headers.get("content-type") or "")
    if error:
        return Response.json({"error": error}, status=400)
    if len(text.encode("utf-8")) > MAX_BYTES:
        return Response.json({"error": f"larger than {MAX_BYTES // 1024} KB"}, status=413)
    try:
        report = await _run_check(datasette, text)
    except (CheckTookTooLong, CheckBusy, CheckFailed) as exc:
        status, message, headers = _refusal(datasette, exc)
        return Response.json({"error": message}, status=status, headers=headers)
    return Response.json(report.to_dict())


def _draft_of(raw: str, content_type: str) -> tuple[str, str | None]:
    """The draft in a CMS body, and what is wrong with the body if anything. Sent as JSON, it must be
    an object with a "text" string; raw text that merely starts with `{` is checked as it is."""
    declared = "json" in content_type.lower()
    if not declared and not raw.lstrip().startswith("{"):
        return raw, None
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # bad syntax, too deep, a 5,000-digit number
        if not declared:
            return raw, None
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:120]
        return "", f"the body is not valid JSON: {reason}"
    if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
        if not declared and not isinstance(payload, dict):
            return raw, None
        return "", 'JSON body needs a "text" string'
    return payload["text"], None


@hookimpl
def startup(datasette):
    """Start the check workers with the server, so the first check finds one warm."""
    try:
        check_pool(datasette)
    except CheckFailed:
        pass  # no database file: /-/check answers 503 saying so


@hookimpl
def register_routes():
    return [(r"^/-/check$", check_page), (r"^/-/check\.json$", check_json)]


@hookimpl
def skip_csrf(scope):
    # the JSON endpoint is for a CMS posting raw text, not for browser forms
    return scope.get("path") == "/-/check.json"


@hookimpl
def menu_links(datasette, actor):
    return [{"href": datasette.urls.path("/-/check"), "label": "Fact-check a draft"}]
