"""The BML evidence knowledge base.

Public API:
- `build(data_dir, db_path)`: validate `data/` and build the SQLite database atomically (`BuildError` on bad input)
- `check(data_dir)`: validate without building
- `search(db, query)`: ranked full-text search over claims
- `normalize_doi(text)`: the one DOI normal form
"""

__version__ = "0.1.0"

from .build import BuildError, BuildResult, build, check  # noqa: E402
from .doi import normalize_doi  # noqa: E402
from .search import search  # noqa: E402

__all__ = ["BuildError", "BuildResult", "build", "check", "normalize_doi", "search", "__version__"]
