"""The Datasette plugin: claim provenance pages, the home page, the FAQ as JSON-LD, and the ASGI
layer that serves the JSON API in public (CORS, caching by build id, gzip, path guard)."""

from __future__ import annotations

import datetime as dt
import time
from urllib.parse import quote

import markupsafe
from datasette import hookimpl
from datasette.utils import (
    path_from_row_pks,
    path_with_added_args,
    tilde_encode,
    urlsafe_components,
)
from datasette.utils.asgi import Response

from ..staleness import DEFAULT_DAYS, staleness_counts
from .alerts import alerts_atom
from .contract import FAQ_ARTICLE_URLS
from .history import history_json, record_history
from .jsonld import dumps_safe, faq_entries, faq_page
from .middleware import DEFAULT_HEAVY_SLOTS, KBMiddleware, origins_from
from .provenance import claim_provenance, kb_overview, source_page

STATUS_CLASS = {"verified": "ok", "unverified": "warn", "disputed": "bad", "deprecated": "gone"}
# What readers call the claims' columns (headers, facets, filters).
COLUMN_LABELS = {
    "statement": "Claim", "figure": "Figure", "status": "Status", "topic": "Topic",
    "source_doi": "Study", "measure": "Kind of figure", "study_design": "Study design",
    "certainty": "Certainty", "compartments": "Part of the knee", "question": "Question",
}  # fmt: skip
# Facets offered on demand (a link adds them), so a search page runs only status and topic.
MORE_FACETS = [("question", "_facet"), ("measure", "_facet"), ("study_design", "_facet"),
               ("certainty", "_facet"), ("compartments", "_facet_array")]  # fmt: skip
DEV_BUILD_TTL = 2.0  # seconds a mutable database's build id is trusted before it is read again
WARM_ARTICLES = 50  # articles whose FAQ URLs are warmed and pinned at startup
# Datasette 0.65's messages for errors in a request's parameters that it reports as 500.
CLIENT_MISTAKES = ("Cannot sort table by ",)


def kb_database(datasette):
    """The KB database: `kb` if attached, else the first one that is not internal."""
    if "kb" in datasette.databases:
        return datasette.databases["kb"]
    for name, db in datasette.databases.items():
        if not name.startswith("_"):
            return db
    return None


def row_url(datasette, database: str, table: str, pk: str) -> str:
    """A row page's URL, its key encoded the way Datasette reads it (a DOI's `/` and `.`)."""
    return datasette.urls.row(database, table, path_from_row_pks({"pk": pk}, ["pk"], False))


# Row pages of ours: what each shows, and the kind of record its history is kept under.
ROW_PAGES = {"claims": (claim_provenance, "claim"), "sources": (source_page, "source")}


@hookimpl
def prepare_jinja2_environment(env, datasette):
    env.globals["row_url"] = lambda database, table, pk: row_url(datasette, database, table, pk)
    env.globals["status_class"] = STATUS_CLASS
    env.filters["tilde_encode"] = tilde_encode
    env.filters["marks"] = marks
    env.globals["path_with_added_args"] = path_with_added_args


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    async def inner():
        db = kb_database(datasette)
        if db is None:
            return {}
        if view_name == "row" and table in ROW_PAGES and request is not None:
            pks = urlsafe_components(request.url_vars.get("pks", ""))
            if len(pks) == 1:
                fn, kind = ROW_PAGES[table]
                found = await db.execute_fn(lambda conn: fn(conn, pks[0]))
                history = await db.execute_fn(lambda conn: record_history(conn, kind, pks[0]))
                return {"kb": found, "kb_history": history}  # status_class is a global
        if view_name == "table" and table == "claims":
            return {"kb_column_labels": COLUMN_LABELS, "kb_more_facets": [n for n, _ in MORE_FACETS],
                    "kb_facet_params": MORE_FACETS}  # fmt: skip
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


def marks(text: str | None) -> markupsafe.Markup:
    """A search snippet: its text escaped, its `<mark>` highlights kept."""
    escaped = str(markupsafe.escape(text or ""))
    return markupsafe.Markup(
        escaped.replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>")
    )


def _badge(status: str) -> markupsafe.Markup:
    cls = STATUS_CLASS.get(status, "warn")
    return markupsafe.Markup('<span class="kb-badge kb-{}">{}</span>').format(cls, status)


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if table == "claims" and column == "source_doi" and isinstance(value, dict):  # expanded key
        url = row_url(datasette, database, "sources", value["value"])
        return markupsafe.Markup('<a href="{}">{}</a>').format(
            url, value["label"] or value["value"]
        )
    if not isinstance(value, str):
        return None
    keys = row.keys() if hasattr(row, "keys") else []
    if table == "claims" and column == "status":
        return _badge(value)
    if table == "claims" and column == "flag":
        return markupsafe.Markup('<span class="kb-flag">{}</span>').format(value)
    if table is None and "snippet" in keys and "claim" in keys:  # the `search` query
        if column == "snippet":
            return marks(value)
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


async def faq_html(datasette, request):
    """The FAQ as the website's readers see it: questions, answers, how well each is supported."""
    db = kb_database(datasette)
    if db is None:
        return Response.html("no database", status=404)
    article = request.args.get("article", "")
    entries = await db.execute_fn(lambda conn: faq_entries(conn, article))
    context = {"entries": entries, "db_name": db.name}
    html = await datasette.render_template("faq.html", context, request=request)
    return Response.html(html)


@hookimpl
def register_routes():
    return [
        (r"^/-/faq\.jsonld$", faq_jsonld),
        (r"^/-/faq$", faq_html),
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
        {"href": datasette.urls.path("/-/faq"), "label": "Questions patients ask"},
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
        return [
            url.format(quote(str(article), safe=""))
            for (article,) in rows
            for url in FAQ_ARTICLE_URLS
        ]

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
