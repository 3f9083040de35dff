"""The `kb ingest` and `kb add` commands: parse options, call `ingest.run.ingest` or
`ingest.add.add`, report."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from kb.doi import InvalidDOI

from .add import AddError, add, add_fetched
from .add import render_text as render_added
from .client import DOI_SECONDS
from .report import progress_line, render_json, render_text
from .run import SourcesError, collect_dois, curated_sources, ingest


class DataError(click.ClickException):
    """The curated data cannot be used (printed as `file:line: message`): a usage error, exit 2."""

    exit_code = 2


def data_option(help_text: str) -> Callable:
    """The `--data` option, with what the command does with the folder."""
    return click.option(
        "--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default="data",
        show_default=True, help=help_text,
    )  # fmt: skip


MAILTO_OPTION = click.option(
    "--mailto", envvar="KB_MAILTO", metavar="ADDRESS",
    help="Contact address sent to Crossref and OpenAlex (polite pool). Default: $KB_MAILTO.",
)  # fmt: skip
TIMEOUT_OPTION = click.option(
    "--timeout", default=30.0, show_default=True,
    help="Seconds one response may take, from the request to its last byte.",
)  # fmt: skip
TRIES_OPTION = click.option(
    "--tries", default=4, show_default=True, help="Attempts per request before giving up."
)


@click.command(name="ingest")
@click.argument("dois", nargs=-1)
@click.option(
    "--from-article", "from_article", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Take the DOIs an article cites: data/articles/*.yml (references[].doi) or any text/Markdown.",
)  # fmt: skip
@click.option("--all", "all_sources", is_flag=True, help="Every source in data/sources.yml.")
@click.option("--refresh", is_flag=True, help="Fetch again DOIs that already have a record.")
@data_option("Folder of curated data; records go to DATA/fetched/.")
@MAILTO_OPTION
@click.option(
    "--no-openalex", is_flag=True,
    help="Do not ask OpenAlex (abstract, PMID, open access); what it said before is kept.",
)  # fmt: skip
@TIMEOUT_OPTION
@click.option(
    "--per-doi", "per_doi", default=DOI_SECONDS, show_default=True,
    help="Seconds one DOI may spend on all its requests, retries and waits between them.",
)  # fmt: skip
@TRIES_OPTION
@click.option(
    "--add", "add_new", is_flag=True,
    help="Then append a source record to sources.yml for each DOI not in it (as `kb add`).",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def ingest_cmd(
    dois: tuple[str, ...], from_article: Path | None, all_sources: bool, refresh: bool,
    data_dir: Path, mailto: str | None, no_openalex: bool, timeout: float, per_doi: float, tries: int,
    as_json: bool, add_new: bool = False,
) -> None:  # fmt: skip
    """Resolve DOIs from Crossref (then doi.org and OpenAlex) into data/fetched/.

    DOIs may be written 10.…, doi:10.…, doi 10.…, https://(www.)doi.org/10.… or percent-encoded
    (10.1000%2Fabc). DOIs that already have a record are not fetched again unless --refresh; a
    service that fails never erases what it said before (its stored answer is kept and the failure
    reported). Retractions and corrections (in the work's record or in the notices Crossref lists
    for it) are reported, and so is every difference from the curated sources.yml (the curated
    value is kept). An answer is stored only when it is the record of the DOI asked for, came
    from the service's own hosts (doi.org may redirect to Crossref) and is at most 10 MB decoded;
    anything else is that service's failure. Service URLs come from
    KB_CROSSREF_URL, KB_OPENALEX_URL and KB_DOI_URL; KB_OPENALEX_API_KEY is sent when set.

    Exit code 0 when every DOI resolved, 1 when some did not (or a service failed), 2 on a usage
    error or a sources.yml that cannot be read.

    \b
    Examples:
      kb ingest 10.1186/s13075-021-02422-0 --mailto you@example.org
      kb ingest --from-article data/articles/bml-signal.yml
      kb ingest --all --refresh --json
      kb ingest 10.1002/jor.1100150407 --add
    """
    try:
        curated = curated_sources(data_dir)
        wanted = collect_dois(dois, from_article, all_sources, data_dir)
    except SourcesError as exc:
        raise DataError(str(exc)) from exc
    except InvalidDOI as exc:
        raise click.BadParameter(str(exc), param_hint="DOI") from exc
    except (OSError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    if not wanted:
        raise click.UsageError("no DOIs: give DOIs, --from-article FILE or --all")
    if not mailto:
        click.echo("note: no --mailto/KB_MAILTO: Crossref serves the slower public pool", err=True)

    if sys.stderr.isatty() and not as_json:
        with click.progressbar(length=len(wanted), label="Resolving DOIs", file=sys.stderr) as bar:
            result = ingest(
                wanted, data_dir, refresh=refresh, mailto=mailto, use_openalex=not no_openalex,
                timeout=timeout, tries=tries, on_done=lambda _o: bar.update(1), curated=curated,
                per_doi=per_doi,
            )  # fmt: skip
    else:
        counter = iter(range(1, len(wanted) + 1))
        result = ingest(
            wanted, data_dir, refresh=refresh, mailto=mailto, use_openalex=not no_openalex,
            timeout=timeout, tries=tries, curated=curated, per_doi=per_doi,
            on_done=lambda o: click.echo(f"[{next(counter)}/{len(wanted)}] {progress_line(o)}", err=True),
        )  # fmt: skip
    click.echo(render_json(result) if as_json else render_text(result))
    if add_new:  # the curated file as it was read before the run decides what is new
        try:
            added = add_fetched(wanted, data_dir, result, curated)
        except AddError as exc:
            raise DataError(str(exc)) from exc
        click.echo(render_added(added), err=as_json)
        sys.exit(max(result.exit_code, added.exit_code))
    sys.exit(result.exit_code)


@click.command(name="add")
@click.argument("dois", nargs=-1, required=True)
@data_option("Folder of curated data: records go to DATA/fetched/, sources to DATA/sources.yml.")
@MAILTO_OPTION
@TIMEOUT_OPTION
@TRIES_OPTION
def add_cmd(
    dois: tuple[str, ...], data_dir: Path, mailto: str | None, timeout: float, tries: int
) -> None:
    """Add works to data/sources.yml from their fetched metadata, and say what is left to fill in.

    Each DOI is resolved as `kb ingest` does (Crossref, doi.org, OpenAlex; paced, retried, the raw
    answers kept under data/fetched/), then a source record is appended to sources.yml with the
    fields the services gave, `metadata_origin` naming the service and `metadata_page` the address
    asked. Nothing is invented, and the file's comments and order are kept (the record is appended
    as text, and checked as `kb validate` would before the file is replaced). A DOI already in
    sources.yml is reported and not added again; a DOI that could not be fetched adds nothing.

    Exit code 0 when every DOI is in sources.yml afterwards, 1 when some could not be fetched,
    2 on a usage error or a sources.yml that cannot be read.

    \b
    Examples:
      kb add 10.1186/s13075-021-02422-0 --mailto you@example.org
      kb add doi:10.1002/jor.1100150407 https://doi.org/10.1038/srep16696
    """
    try:
        result = add(list(dois), data_dir, mailto=mailto, timeout=timeout, tries=tries)
    except (SourcesError, AddError) as exc:
        raise DataError(str(exc)) from exc
    except InvalidDOI as exc:
        raise click.BadParameter(str(exc), param_hint="DOI") from exc
    click.echo(render_added(result))
    sys.exit(result.exit_code)
