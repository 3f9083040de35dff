"""The `kb` command line: each command parses its options and calls one library function."""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click
import sqlite_utils

from .build import BuildError, build, check
from .loader import Problem
from .search import SearchError
from .search import search as search_claims
from .staleness import DEFAULT_DAYS
from .validate import triage

T = TypeVar("T")

DATA_OPTION = click.option(
    "--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default="data",
    show_default=True, help="Folder of curated YAML files.",
)  # fmt: skip
DB_OPTION = click.option(
    "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default="kb.db",
    show_default=True, help="The SQLite database to build or read.",
)  # fmt: skip


def _report_problems(problems: list[Problem]) -> None:
    """Root causes first; what only follows from a file that could not be read is counted, not listed."""
    roots, consequences = triage(problems)
    for p in roots:
        click.echo(f"error: {p}", err=True)
    follow: dict[str, int] = {}
    for p in consequences:
        follow[p.cause] = follow.get(p.cause, 0) + 1
    for cause, n in follow.items():
        click.echo(
            f"note: {n} more problem(s) not listed: references to what {cause} defines, "
            "which could not be read",
            err=True,
        )
    click.echo(f"{len(roots)} problem(s) found; nothing was built.", err=True)


def _read_built(data_dir: Path, db_path: Path, read: Callable[[sqlite3.Connection], T]) -> T:
    """Build the database if data/ changed, then read(conn) on it opened read-only."""
    from .serve import ensure_built

    _checked(lambda: ensure_built(data_dir, db_path))
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return read(conn)
    finally:
        conn.close()


def _checked(run: Callable[[], T]) -> T:
    """run(), with bad data/ reported as problems and exit code 1 (never a traceback)."""
    try:
        return run()
    except BuildError as exc:
        _report_problems(exc.problems)
        sys.exit(1)
    except OSError as exc:  # a file the loader does not read itself, e.g. under data/fetched/
        where = f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc)
        click.echo(f"error: {where}", err=True)
        sys.exit(1)


@click.group()
@click.version_option(package_name="bml-kb")
def cli() -> None:
    """Evidence knowledge base for articles on knee bone marrow lesions.

    \b
    Typical use:
      kb ingest --all        fetch every source's metadata into data/fetched/
      kb add 10.1186/s13075-021-02422-0   add a work to data/sources.yml from its metadata
      kb validate            check data/ without building
      kb build               build kb.db from data/
      kb search "weight-bearing pain"
      kb check draft.md      fact-check an article draft
      kb impact --since 2026-01-01   what a retraction or a changed claim breaks
      kb stale --days 180    claims whose evidence nobody has checked lately
      kb serve               build if needed and browse at http://127.0.0.1:8001
    """


@cli.command(name="validate")
@DATA_OPTION
def validate_cmd(data_dir: Path) -> None:
    """Check every file in data/ and report every problem (file:line: field: message).

    Exit code 0 when data/ is valid, 1 when it is not.

    \b
    Example:
      kb validate --data data
    """
    kb, _fetched, problems = _checked(lambda: check(data_dir))
    if problems:
        _report_problems(problems)
        sys.exit(1)
    click.echo(
        f"ok: {len(kb.sources)} sources, {len(kb.claims)} claims, {len(kb.questions)} questions, "
        f"{len(kb.articles)} articles, {len(kb.faq)} FAQ entries"
    )


@cli.command(name="build")
@DATA_OPTION
@DB_OPTION
def build_cmd(data_dir: Path, db_path: Path) -> None:
    """Validate data/ and build the database atomically.

    On any problem nothing is written and the previous database stays as it was.

    \b
    Example:
      kb build --data data --db kb.db
    """
    result = _checked(lambda: build(data_dir, db_path))
    counts = ", ".join(f"{n} {t}" for t, n in result.counts.items() if n)
    click.echo(f"built {result.db_path} (build {result.build_id}): {counts}")


@cli.command(name="search")
@click.argument("query")
@DB_OPTION
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(min=1),
    help="Most results to show (at least 1).",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print results as a JSON list.")
def search_cmd(query: str, db_path: Path, limit: int, as_json: bool) -> None:
    """Search claims by relevance. Every word must match; stems match too (lesion ~ lesions).

    \b
    Examples:
      kb search "weight-bearing pain"
      kb search CTX-I --json
    """
    if not db_path.exists():
        raise click.ClickException(f"{db_path} not found: run `kb build` first")
    try:
        results = search_claims(sqlite_utils.Database(db_path), query, limit=limit)
    except SearchError as exc:
        raise click.ClickException(
            f"{db_path} is {exc}: point --db at the database `kb build` wrote"
        ) from None
    if as_json:
        click.echo(json.dumps(results, indent=2, ensure_ascii=False))
        return
    if not results:
        click.echo(f"no claims match {query!r}")
        return
    for r in results:
        status = r["flag"] or r["status"]
        figure = f" [{r['figure']}]" if r["figure"] else ""
        click.echo(f"{r['id']}{figure} ({status})")
        click.echo(f"    {r['statement']}")
        if r["citation"]:
            click.echo(f"    {r['citation']}")


@cli.command(name="check")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@DB_OPTION
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
    show_default=True, help="Report format.",
)  # fmt: skip
def check_cmd(file, db_path: Path, fmt: str) -> None:
    """Fact-check an article draft (plain text or Markdown; - for stdin) against the KB.

    Every sentence with a figure or a matching claim gets a verdict (supported, unverified,
    contradicted, misattributed, unsupported); every reference gets one too (ok, mismatch,
    unresolved, unused, retracted, missing). Exit code 0 when nothing is flagged, 1 when
    something is, 2 on errors.

    \b
    Examples:
      kb check draft.md
      kb check - --format json < draft.txt
    """
    from .factcheck import MAX_DRAFT_CHARS, check_text
    from .render import render_markdown, render_text

    try:
        if not db_path.exists():
            raise click.ClickException(f"{db_path} not found: run `kb build` first")
        text = file.read(MAX_DRAFT_CHARS + 1)  # never more: `kb check /dev/zero` ends here
        if len(text) > MAX_DRAFT_CHARS:
            raise click.ClickException(
                f"{file.name} is longer than {MAX_DRAFT_CHARS:,} characters: split it and check "
                "each part"
            )
        report = check_text(sqlite_utils.Database(db_path), text)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except (OSError, UnicodeDecodeError, sqlite3.Error) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        click.echo(render_markdown(report), nl=False)
    else:
        click.echo(render_text(report, colour=sys.stdout.isatty()))
    sys.exit(1 if report.flagged else 0)


@cli.command(name="impact")
@DATA_OPTION
@DB_OPTION
@click.option(
    "--since", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
    help="Only what happened on or after this date (notices by their date, claims by their git history).",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the alerts as JSON.")
def impact_cmd(data_dir: Path, db_path: Path, since, as_json: bool) -> None:
    """List what a retraction, a correction or a changed claim breaks, and what to do.

    For every source with a retraction, expression of concern or correction, every claim that is
    disputed or withdrawn and (with --since) every claim changed since the date: the FAQ answers,
    article statements and reference lists that rest on it. Builds the database first if data/
    changed. Exit code 0 when nothing needs action, 1 when some page does (so it can run on a
    schedule), 2 on errors.

    \b
    Examples:
      kb impact
      kb impact --since 2026-01-01 --json
    """
    from .impact import impact, render_text

    alerts = _read_built(
        data_dir, db_path, lambda conn: impact(conn, since.date() if since else None)
    )
    if as_json:
        doc = {"since": since.date().isoformat() if since else None,
               "alerts": [a.to_dict() for a in alerts]}  # fmt: skip
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(alerts))
    sys.exit(1 if any(a.needs_action for a in alerts) else 0)


@cli.command(name="stale")
@DATA_OPTION
@DB_OPTION
@click.option(
    "--days", default=DEFAULT_DAYS, show_default=True, type=click.IntRange(min=1),
    help="A claim is stale when it, or its source's notices, were last checked longer ago than this.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def stale_cmd(data_dir: Path, db_path: Path, days: int, as_json: bool) -> None:
    """Report claims whose evidence has gone unchecked.

    Three lists: claims whose source was never checked for retractions and corrections (no record
    from `kb ingest`), whose source's notices were last fetched more than DAYS ago, and claims not
    re-verified (curated or changed, by their git history) for DAYS. Builds the database first if
    data/ changed. Exit code 0 when nothing is stale, 1 when something is.

    \b
    Examples:
      kb stale
      kb stale --days 180 --json
    """
    from .staleness import render_text, staleness

    report = _read_built(data_dir, db_path, lambda conn: staleness(conn, days))
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else render_text(report))
    sys.exit(1 if report.total else 0)


@cli.command(name="serve")
@DATA_OPTION
@DB_OPTION
@click.option(
    "--metadata", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default="metadata.yml", show_default=True,
    help="Datasette metadata file (titles, facets, canned queries); it must exist.",
)  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8001, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--public", is_flag=True,
    help="Settings for a public instance: immutable, no arbitrary SQL, no downloads, tight time limits.",
)  # fmt: skip
def serve_cmd(
    data_dir: Path, db_path: Path, metadata: Path, host: str, port: int, public: bool
) -> None:
    """Build the database if data/ changed since the last build, then serve it with Datasette.

    \b
    Examples:
      kb serve                      # http://127.0.0.1:8001/kb
      kb serve --public --host 0.0.0.0 --port 8080
    """
    from .serve import ensure_built, serve

    result = _checked(lambda: ensure_built(data_dir, db_path))
    if result:
        click.echo(f"built {result.db_path} (build {result.build_id})", err=True)
    serve(data_dir, db_path, metadata, host, port, public)


from ingest.command import add_cmd, ingest_cmd  # noqa: E402 - the network side lives in its own package

cli.add_command(ingest_cmd)
cli.add_command(add_cmd)


if __name__ == "__main__":
    cli()
