"""The command line a writer or a script uses."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import sqlite_utils
from click.testing import CliRunner
from conftest import KB, REPO, free_port

from kb.cli import cli


def test_search_ranks_claims_and_speaks_json(kb_db: Path) -> None:
    result = subprocess.run(
        [*KB, "search", "varus knees", "--db", str(kb_db), "--json"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows and "varus knees" in rows[0]["statement"]
    # every word matches in some indexed column (statement, population, notes, ...), not just the shown one
    columns = [c.name for c in sqlite_utils.Database(kb_db)["claims_fts"].columns]
    claims = {r["id"]: r for r in sqlite_utils.Database(kb_db)["claims"].rows}
    for row in rows:
        text = " ".join(str(claims[row["id"]][c] or "") for c in columns).lower()
        assert "varus" in text and "knee" in text, row["id"]
    assert {"id", "statement", "figure", "status", "source_doi", "snippet"} <= set(rows[0])


def test_search_treats_user_text_as_words_not_fts_syntax(kb_db: Path) -> None:
    for query in ['"unbalanced', "NOT OR AND", "knee*)", "-"]:
        result = subprocess.run(
            [*KB, "search", query, "--db", str(kb_db)], capture_output=True, text=True
        )
        assert result.returncode == 0, (query, result.stderr)
        assert "Traceback" not in result.stderr


def test_search_without_a_database_says_what_to_do(tmp_path: Path) -> None:
    result = subprocess.run(
        [*KB, "search", "pain", "--db", str(tmp_path / "none.db")], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "run `kb build` first" in result.stderr


def test_search_in_a_file_that_is_not_a_kb_database_is_a_clear_error(
    tmp_path: Path, kb_db: Path
) -> None:
    other = tmp_path / "other.db"
    sqlite_utils.Database(other)["notes"].insert({"text": "pain"})
    for db, reason in [
        (REPO / "metadata.yml", "file is not a database"),
        (other, "no claims table"),
    ]:
        result = subprocess.run(
            [*KB, "search", "pain", "--db", str(db)], capture_output=True, text=True
        )
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert f"{db} is not a kb database ({reason})" in result.stderr


def test_search_limit_below_one_is_a_usage_error(kb_db: Path) -> None:
    for limit in ("0", "-3"):
        result = CliRunner().invoke(cli, ["search", "pain", "--db", str(kb_db), "--limit", limit])
        assert result.exit_code == 2, result.output
        assert "Invalid value for '--limit'" in result.output
        assert "no claims match" not in result.output


def test_search_help_shows_only_search_examples() -> None:
    result = CliRunner().invoke(cli, ["search", "--help"])
    assert result.exit_code == 0
    examples = result.output.split("Examples:")[1].split("Options:")[0]
    lines = [line.strip() for line in examples.strip().splitlines()]
    assert lines and all(line.startswith("kb search ") for line in lines), lines


def test_serve_with_a_missing_metadata_file_is_an_error(data_copy: Path) -> None:
    workdir = data_copy.parent
    result = subprocess.run(
        [*KB, "serve", "--data", str(data_copy), "--db", str(workdir / "kb.db"),
         "--metadata", str(workdir / "missing.yml"), "--port", str(free_port())],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Invalid value for '--metadata'" in result.stderr
    assert "missing.yml" in result.stderr and "does not exist" in result.stderr
    assert not (workdir / "kb.db").exists(), "checked before building"
