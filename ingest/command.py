"""The `kb ingest` command: parse options, call `ingest.run.ingest`, report."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kb.doi import InvalidDOI

from .client import DOI_SECONDS
from .report import progress_line, render_json, render_text
from .run import SourcesError, collect_dois, curated_sources, ingest


class DataError(click.ClickException):
    """The curated data cannot be used (printed as `file:line: message`): a usage error, exit 2."""

    exit_code = 2


@click.command(name="ingest")
@click.argument("dois", nargs=-1)
@click.option(
    "--from-article", "from_article", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Take the DOIs an article cites: data/articles/*.yml (references[].doi) or any text/Markdown.",
)  # fmt: skip
@click.option("--all", "all_sources", is_flag=True, help="Every source in data/sources.yml.")
@click.option("--refresh", is_flag=True, help="Fetch again DOIs that already have a record.")
@click.option(
    "--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default="data",
    show_default=True, help="Folder of curated data; records go to DATA/fetched/.",
)  # fmt: skip
@click.option(
    "--mailto", envvar="KB_MAILTO", metavar="ADDRESS",
    help="Contact address sent to Crossref and OpenAlex (polite pool). Default: $KB_MAILTO.",
)  # fmt: skip
@click.option(
    "--no-openalex", is_flag=True,
    help="Do not ask OpenAlex (abstract, PMID, open access); what it said before is kept.",
)  # fmt: skip
@click.option(
    "--timeout", default=30.0, show_default=True,
    help="Seconds one response may take, from the request to its last byte.",
)  # fmt: skip
@click.option(
    "--per-doi", "per_doi", default=DOI_SECONDS, show_default=True,
    help="Seconds one DOI may spend on all its requests, retries and waits between them.",
)  # fmt: skip
@click.option(
    "--tries", default=4, show_default=True, help="Attempts per request before giving up."
)
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
        from .add import AddError, add_fetched
        from .add import render_text as render_added

        try:
            added = add_fetched(wanted, data_dir, result, curated)
        except AddError as exc:
            raise DataError(str(exc)) from exc
        click.echo(render_added(added), err=as_json)
        sys.exit(max(result.exit_code, added.exit_code))
    sys.exit(result.exit_code)
