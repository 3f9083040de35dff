"""A table's default facets (metadata.yml) asked for again in the URL are computed once.

Datasette 0.65 runs every facet of `facets:` in the metadata and every `_facet=` of the URL, so
`/kb/claims?_facet=status` worked `status` out twice (the second as `status_2`). The middleware
removes, before Datasette sees the request, each `_facet`, `_facet_array` or `_facet_date` parameter
that names one of the table's default facets: the answer keeps that facet once, as the default it
is. The defaults are read once from Datasette's own `/-/metadata.json` (so metadata from plugins
counts too); the guard (`guard.py`) has already refused repeated and unknown facet parameters.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from datasette.utils import tilde_decode

# (parameter, value) as in a query string: (b"_facet", b"status"), (b"_facet_array", b"compartments")
Facet = tuple[bytes, bytes]
Defaults = dict[tuple[str, str], frozenset[Facet]]  # (database, table) → its default facets

METADATA_URL = "/-/metadata.json"
# `/db/table` and `/db/table.json`: a table page (Datasette's own route, `format` optional)
TABLE_PATH = re.compile(rb"^/([^/]+)/([^/.]+)(?:\.\w+)?$")


def _param(config: Any) -> Facet | None:
    """The URL parameter a metadata facet entry would be asked for with: `status` or
    `{"array": "compartments"}`; None for a form the URL cannot repeat (a JSON config)."""
    if isinstance(config, str):
        return (b"_facet", config.encode())
    if isinstance(config, dict) and len(config) == 1:
        kind, value = next(iter(config.items()))
        if isinstance(value, str):
            name = b"_facet" if kind == "column" else b"_facet_" + str(kind).encode()
            return (name, value.encode())
    return None


def default_facets(metadata: Any) -> Defaults:
    """Every table's default facets, from Datasette's metadata (as `/-/metadata.json` gives it)."""
    out: Defaults = {}
    databases = metadata.get("databases") if isinstance(metadata, dict) else None
    for database, db_meta in (databases or {}).items():
        tables = db_meta.get("tables") if isinstance(db_meta, dict) else None
        for table, table_meta in (tables or {}).items():
            facets = table_meta.get("facets") if isinstance(table_meta, dict) else None
            params = frozenset(p for p in map(_param, facets or []) if p is not None)
            if params:
                out[(database, table)] = params
    return out


def parse_defaults(status: int, body: bytes) -> Defaults:
    """The defaults from the metadata response; none when it could not be read."""
    if status != 200:
        return {}
    try:
        return default_facets(json.loads(body))
    except ValueError:
        return {}


def table_of(raw_path: bytes) -> tuple[str, str] | None:
    match = TABLE_PATH.match(raw_path)
    if match is None:
        return None
    return tilde_decode(match.group(1).decode("latin-1")), tilde_decode(
        match.group(2).decode("latin-1")
    )


def without_defaults(raw_path: bytes, query: bytes, defaults: Defaults) -> bytes:
    """The query string without the facet parameters that name one of the table's defaults."""
    table = table_of(raw_path)
    wanted = defaults.get(table) if table else None
    if not wanted or b"_facet" not in query:
        return query
    kept = []
    for part in query.split(b"&"):
        name, _, value = part.partition(b"=")
        if name.startswith(b"_facet") and (_unquote(name), _simple(_unquote(value))) in wanted:
            continue
        kept.append(part)
    return b"&".join(kept)


def _simple(value: bytes) -> bytes:
    """`{"simple": "status"}` (the JSON form of a facet parameter) is `status`."""
    if not value.startswith(b"{"):
        return value
    try:
        config = json.loads(value)
    except ValueError:
        return value
    if isinstance(config, dict) and set(config) == {"simple"} and isinstance(config["simple"], str):
        return config["simple"].encode()
    return value


def _unquote(raw: bytes) -> bytes:
    return unquote_to_bytes(raw.replace(b"+", b" "))
