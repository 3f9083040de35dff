"""`kb ingest`: fetch DOI metadata from Crossref, doi.org and OpenAlex into `data/fetched/`.

Only this package talks to the network; `kb build` reads what it wrote.

Public API:
- `ingest(dois, data_dir, ...)`: resolve normalised DOIs, write raw responses and records -> `IngestResult`
- `collect_dois(dois, from_article, all_sources, data_dir)`: the DOIs a command line asks for
- `Client`: the one paced, retrying HTTP client
"""

from .client import Client
from .run import IngestResult, Outcome, collect_dois, ingest

__all__ = ["Client", "IngestResult", "Outcome", "collect_dois", "ingest"]
