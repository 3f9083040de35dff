"""The Datasette plugin: claim provenance pages, the home page, the FAQ as JSON-LD, and the ASGI
layer that serves the JSON API in public (CORS, caching by build id, gzip, path guard)."""

from __future__ import annotations

import datetime as dt
import time
from urllib.parse import quote

import markupsafe
from datasette import hookimpl
from datasette.utils import urlsafe_components
from datasette.utils.asgi import Response

from ..staleness import DEFAULT_DAYS, staleness_counts
from .alerts import alerts_atom
from .history import history_json, record_history
from .jsonld import dumps_safe, faq_page
from .middleware import DEFAULT_HEAVY_SLOTS, KBMiddleware, origins_from
from .provenance import claim_provenance, kb_overview

STATUS_CLASS = {"verified": "ok", "unverified": "warn", "disputed": "bad", "deprecated": "gone"}
DEV_BUILD_TTL = 2.0  # seconds a mutable database's build id is trusted before it is read again
WARM_ARTICLES = 50
# Datasette 0.65's messages for errors in a request's parameters that it reports as 500.
CLIENT_MISTAKES = (
    "Cannot sort table by ",
)  # articles whose FAQ URLs are warmed and pinned at startup


def kb_database(datasette):
    """The KB database: `kb` if attached, else the first one that is not internal."""
    if "kb" in datasette.databases:
        return datasette.databases["kb"]
    for name, db in datasette.databases.items():
        if not name.startswith("_"):
            return db
    return None


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    async def inner():
        db = kb_database(datasette)
        if db is None:
            return {}
        if view_name == "row" and table == "claims" and request is not None:
            pks = urlsafe_components(request.url_vars.get("pks", ""))
            if len(pks) == 1:
                found = await db.execute_fn(lambda conn: claim_provenance(conn, pks[0]))
                history = await db.execute_fn(lambda conn: record_history(conn, "claim", pks[0]))
                return {"kb": found, "status_class": STATUS_CLASS, "kb_history": history}
        if view_name == "row" and table == "sources" and request is not None:
            pks = urlsafe_components(request.url_vars.get("pks", ""))
            if len(pks) == 1:
                history = await db.execute_fn(lambda conn: record_history(conn, "source", pks[0]))
                return {"kb_history": history}
        if view_name == "index" or template == "index.html":
            try:
                overview = await db.execute_fn(kb_overview)
            except Exception:  # a database that is not a KB: the page still renders
                overview = None
            days = int(
                (datasette.plugin_config("kb") or {}).get("stale_after_days") or DEFAULT_DAYS
            )
            stale = await _stale_counts(db, days, overview) if overview else None
            return {"kb_overview": overview, "kb_db": db.name, "kb_staleness": stale}
        return {}

    return inner


_STALE: dict[tuple, dict] = {}  # the home page's staleness counts, per database, build and day


async def _stale_counts(db, days: int, overview: dict) -> dict | None:
    """Counted once per build and day (one pass over the claims), then served from memory."""
    key = (db.name, overview.get("build_id"), overview.get("built_at"), days, dt.date.today())
    if key not in _STALE:
        try:
            value = await db.execute_fn(lambda conn: staleness_counts(conn, days))
        except Exception:  # an older KB without the columns: no count rather than no page
            return None
        _STALE.clear()
        _STALE[key] = value
    return _STALE[key]


def _badge(status: str) -> markupsafe.Markup:
    cls = STATUS_CLASS.get(status, "warn")
    return markupsafe.Markup('<span class="kb-badge kb-{}">{}</span>').format(cls, status)


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if not isinstance(value, str):
        return None
    keys = row.keys() if hasattr(row, "keys") else []
    if table == "claims" and column == "status":
        return _badge(value)
    if table == "claims" and column == "flag":
        return markupsafe.Markup('<span class="kb-flag">{}</span>').format(value)
    if table is None and "snippet" in keys and "claim" in keys:  # the `search` query
        if column == "snippet":
            text = str(markupsafe.escape(value))
            return markupsafe.Markup(
                text.replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>")
            )
        if column == "claim":
            url = datasette.urls.row(database, "claims", value)
            return markupsafe.Markup('<a href="{}">{}</a>').format(url, value)
        if column == "status":
            return _badge(value)
    return None


async def faq_jsonld(datasette, request):
    db = kb_database(datasette)
    if db is None:
        return Response.json({"error": "no KB database"}, status=404)
    article = request.args.get("article", "")
    doc = await db.execute_fn(lambda conn: faq_page(conn, article))
    return Response(dumps_safe(doc), content_type="application/ld+json; charset=utf-8", status=200)


@hookimpl
def register_routes():
    return [
        (r"^/-/faq\.jsonld$", faq_jsonld),
        (r"^/-/history\.json$", history_json),
        (r"^/-/alerts\.atom$", alerts_atom),
    ]


@hookimpl
def menu_links(datasette, actor):
    db = kb_database(datasette)
    if db is None:
        return []
    return [
        {"href": datasette.urls.table(db.name, "claims"), "label": "Claims"},
        {"href": datasette.urls.database(db.name) + "/search", "label": "Search the claims"},
    ]


@hookimpl
def asgi_wrapper(datasette):
    cache: dict[str, object] = {"id": None, "at": 0.0}

    def is_public() -> bool:
        db = kb_database(datasette)
        return db is not None and not db.is_mutable

    async def build_id() -> str | None:
        now = time.monotonic()
        if cache["id"] is not None and (is_public() or now - cache["at"] < DEV_BUILD_TTL):
            return cache["id"]  # type: ignore[return-value]
        db = kb_database(datasette)
        if db is None:
            return None
        try:
            rows = await db.execute("select value from build_info where key = 'build_id'")
            value = rows.first()[0] if rows.first() else None
        except Exception:
            value = None
        cache.update(id=value, at=now)
        return value

    def max_age() -> int:
        return int(datasette.setting("default_cache_ttl") or 0)

    async def warm_urls() -> list[str]:
        """Each article's FAQ and FAQ JSON-LD, as the website asks for them (the whole FAQ and
        its JSON-LD are always warmed)."""
        db = kb_database(datasette)
        if db is None:
            return []
        try:
            rows = await db.execute(
                "select distinct article_id from faq where article_id is not null "
                f"order by article_id limit {WARM_ARTICLES}"
            )
        except Exception:
            return []
        urls = []
        for (article,) in rows:
            q = quote(str(article), safe="")
            urls += [f"/kb/faq.json?_shape=array&_json=claims&article={q}",
                     f"/-/faq.jsonld?article={q}"]  # fmt: skip
        return urls

    def heavy_slots() -> int:
        """Slow requests at a time: the plugin config's heavy_slots, and always at least one SQL
        thread left for everything else."""
        config = datasette.plugin_config("kb") or {}
        threads = int(datasette.setting("num_sql_threads") or 1)
        wanted = int(config.get("heavy_slots") or DEFAULT_HEAVY_SLOTS)
        return max(1, min(wanted, threads - 1))

    def hsts_max_age() -> int:
        """Strict-Transport-Security's max-age when served over HTTPS (plugin config; 0: not sent)."""
        return int((datasette.plugin_config("kb") or {}).get("hsts_max_age") or 0)

    def wrap(app):
        return KBMiddleware(
            app, origins_from(datasette), build_id, is_public, max_age, warm_urls, heavy_slots,
            hsts_max_age,
        )  # fmt: skip

    return wrap


@hookimpl
def handle_exception(datasette, request, exception):
    """A client's mistake that Datasette 0.65 answers with 500 (`_sort` naming no column) is a 400."""
    message = str(exception)
    if not message.startswith(CLIENT_MISTAKES):
        return None
    if request.path.endswith(".json"):
        return Response.json({"ok": False, "error": message, "status": 400}, status=400)
    return Response.text(f"Bad request: {message}.\n", status=400)


@hookimpl
def extra_css_urls(datasette):
    return [datasette.urls.static_plugins("bml-kb", "kb.css")]
