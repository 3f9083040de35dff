"""`kb ingest`: fetch DOI metadata from Crossref, doi.org and OpenAlex into `data/fetched/`.

Only this package talks to the network; `kb build` reads what it wrote.

Public API:
- `ingest(dois, data_dir, ...)`: resolve normalised DOIs, write raw responses and records -> `IngestResult`
- `collect_dois(dois, from_article, all_sources, data_dir)`: the DOIs a command line asks for
- `SourcesError`: sources.yml cannot be read (raised by both, before any request)
- `Client`: the one HTTP client, paced per host, retrying
"""

from .client import Client
from .run import IngestResult, Outcome, SourcesError, collect_dois, ingest

__all__ = ["Client", "IngestResult", "Outcome", "SourcesError", "collect_dois", "ingest"]
