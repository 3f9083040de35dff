"""`kb serve`: rebuild when `data/` changed, then run Datasette with our metadata, templates and plugin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .build import BuildResult, build, build_id_of
from .loader import data_fingerprint

# What a public instance needs: read-only, no arbitrary SQL, no downloads, bounded query time.
PUBLIC_SETTINGS = {
    "default_allow_sql": "off",
    "allow_download": "off",
    "allow_csv_stream": "off",
    "suggest_facets": "off",
    "sql_time_limit_ms": "250",
    "facet_time_limit_ms": "100",
    "max_returned_rows": "1000",
    "default_cache_ttl": "300",
}


def publish_options() -> str:
    """PUBLIC_SETTINGS as `datasette publish ... --extra-options` takes them, so a published
    instance runs with the same settings as `kb serve --public` (publish adds -i and an inspect file)."""
    return " ".join(f"--setting {name} {value}" for name, value in PUBLIC_SETTINGS.items())


def ensure_built(data_dir: Path, db_path: Path) -> BuildResult | None:
    """Build db_path if it is missing or was built from other data. Returns None when it was current."""
    if db_path.exists() and build_id_of(db_path) == data_fingerprint(data_dir):
        return None
    return build(data_dir, db_path)


def datasette_args(db_path: Path, metadata: Path, host: str, port: int, public: bool) -> list[str]:
    args = [sys.executable, "-m", "datasette", "serve", "--host", host, "--port", str(port)]
    if metadata.exists():
        args += ["--metadata", str(metadata)]
    if public:
        inspect_file = db_path.with_suffix(".inspect.json")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "datasette",
                "inspect",
                str(db_path),
                "--inspect-file",
                str(inspect_file),
            ],
            check=True,
        )
        args += ["-i", str(db_path), "--inspect-file", str(inspect_file)]
        for name, value in PUBLIC_SETTINGS.items():
            args += ["--setting", name, value]
    else:
        args += [str(db_path)]
    return args


def serve(
    data_dir: Path, db_path: Path, metadata: Path, host: str, port: int, public: bool
) -> None:
    """Replace this process with Datasette (signals and exit codes then belong to it)."""
    args = datasette_args(db_path, metadata, host, port, public)
    os.execv(args[0], args)


if __name__ == "__main__":
    # `python -m kb.serve --extra-options`: the settings for `datasette publish` (see README, Deploying)
    if sys.argv[1:] != ["--extra-options"]:
        sys.exit("usage: python -m kb.serve --extra-options")
    print(publish_options())
