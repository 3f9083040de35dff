"""Datasette plugin: paste a draft at /-/check and see it annotated; POST /-/check.json for the CMS.

The check runs in Datasette's thread executor (`Database.execute_fn`), never on the event loop, and
stops at a deadline (plugin setting `check_time_limit_ms`, default 5 s) with a clear error: the SQL
time limit does not reach the Python side of a check, so this bounds what one request can cost.
"""

from __future__ import annotations

import json
import time
from typing import Any

import sqlite_utils
from datasette import hookimpl
from datasette.utils.asgi import Response

from ..factcheck import COLOURS, CheckTookTooLong, Report, check_text
from .checkview import writer_view

MAX_BYTES = 200 * 1024
PAGE_MAX_BODY = (
    4 * MAX_BYTES
)  # a form-encoded draft a little too long is read, to keep it in the box
DEFAULT_TIME_LIMIT_MS = 5000


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


async def _run_check(datasette, text: str) -> Report:
    """The report; CheckTookTooLong past the time limit."""
    db = _kb_database(datasette)
    if db is None:
        raise LookupError("no KB database is attached")
    limit = _time_limit_ms(datasette) / 1000

    def run(conn) -> Report:
        deadline = time.monotonic() + limit
        return check_text(sqlite_utils.Database(conn), text, deadline=deadline)

    return await db.execute_fn(run)


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


def _too_large(request, limit: int = MAX_BYTES) -> bool:
    length = request.headers.get("content-length")
    return bool(length and length.isdigit() and int(length) > limit)


async def check_page(datasette, request):
    context: dict[str, Any] = {"draft": "", "report": None, "segments": [], "error": None,
                               "colours": COLOURS, "max_kb": MAX_BYTES // 1024,
                               "db_name": getattr(_kb_database(datasette), "name", "kb")}  # fmt: skip
    status = 200
    too_long = (f"The draft is longer than one check takes (about {MAX_BYTES // 1024},000 "
                "characters): split it and check each part.")  # fmt: skip
    if request.method == "POST":
        if _too_large(request, PAGE_MAX_BODY):  # too large even to give the text back
            context["error"] = too_long
            status = 413
        else:
            form = await request.post_vars()
            draft = form.get("text", "")
            context["draft"] = draft
            if len(draft.encode("utf-8")) > MAX_BYTES:
                context["error"] = too_long
                status = 413
            elif not draft.strip():
                context["error"] = "Paste a draft into the box first: it was empty."
                status = 400
            else:
                try:
                    report = await _run_check(datasette, draft)
                except CheckTookTooLong as exc:
                    context["error"] = _too_slow(datasette, exc)
                    status = 400
                else:
                    context["report"] = report
                    context["segments"] = _segments(report)
                    found = report.to_dict()
                    db = _kb_database(datasette)
                    context.update(await db.execute_fn(lambda c: writer_view(c, found, draft)))
    html = await datasette.render_template("check.html", context, request=request)
    return Response.html(html, status=status)


async def check_json(datasette, request):
    if request.method != "POST":
        return Response.json(
            {"error": 'POST the draft as raw text or as {"text": ...}'}, status=405
        )
    if _too_large(request):
        return Response.json({"error": f"larger than {MAX_BYTES // 1024} KB"}, status=413)
    body = await request.post_body()
    if len(body) > MAX_BYTES:
        return Response.json({"error": f"larger than {MAX_BYTES // 1024} KB"}, status=413)
    try:
        raw = body.decode("utf-8")
    except UnicodeDecodeError:
        return Response.json({"error": "the body is not UTF-8 text"}, status=400)
    text = raw
    if "json" in (request.headers.get("content-type") or "") or raw.lstrip().startswith("{"):
        try:
            payload = json.loads(raw)
        except json.JSONDecodeError:
            payload = None
        if isinstance(payload, dict):
            if not isinstance(payload.get("text"), str):
                return Response.json({"error": 'JSON body needs a "text" string'}, status=400)
            text = payload["text"]
    try:
        report = await _run_check(datasette, text)
    except CheckTookTooLong as exc:
        return Response.json({"error": _too_slow(datasette, exc)}, status=400)
    return Response.json(report.to_dict())


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
