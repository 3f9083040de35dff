"""The BML evidence knowledge base.

Public API:
- `build(data_dir, db_path)`: validate `data/` and build the SQLite database atomically (`BuildError` on bad input)
- `check(data_dir)`: validate without building
- `search(db, query)`: ranked full-text search over claims
- `normalize_doi(text)`: the one DOI normal form
- `impact(conn, since)`: what a notice or a changed claim breaks (`kb.impact`)
- `staleness(conn, days)`: claims whose evidence nobody has checked lately (`kb.staleness`)
- `load_history(data_dir, cache_folder)`: claims' and sources' history from git (`kb.history`)
"""

__version__ = "0.1.0"

from .build import BuildError, BuildResult, build, check  # noqa: E402
from .doi import normalize_doi  # noqa: E402
from .history import load_history  # noqa: E402
from .impact import impact  # noqa: E402
from .search import search  # noqa: E402
from .staleness import staleness  # noqa: E402

__all__ = [
    "BuildError", "BuildResult", "build", "check", "impact", "load_history", "normalize_doi",
    "search", "staleness", "__version__",
]  # fmt: skip
