"""The Datasette plugin: claim provenance pages and the routes the KB adds to Datasette."""

from __future__ import annotations

from datasette import hookimpl


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    return {}
