"""The command line a writer or a script uses."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import click
from click.testing import CliRunner
from conftest import KB, REPO

from kb.cli import cli


def test_search_ranks_claims_and_speaks_json(kb_db: Path) -> None:
    result = subprocess.run(
        [*KB, "search", "varus knees", "--db", str(kb_db), "--json"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows and all("varus" in (r["statement"] + r["snippet"]).lower() for r in rows)
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


def test_every_command_has_help_with_an_example_and_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    runner = CliRunner()
    for name, command in cli.commands.items():
        assert isinstance(command, click.Command)
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0
        assert "Example" in result.output, f"kb {name} --help has no example"
        assert f"kb {name}" in readme, f"README does not document kb {name}"
