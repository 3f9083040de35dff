"""Reading data/: hostile YAML is refused with its file and line, quickly, before it expands."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import KB, REPO

from kb.loader import ALIAS_MESSAGE, parse_yaml


def billion_laughs(levels: int = 9) -> str:
    """Nine levels of nine aliases each: about 10^9 strings once expanded."""
    lines = ['- lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        aliases = ", ".join([f"*l{i - 1}"] * 9)
        lines.append(f"  lol{i}: &l{i} [{aliases}]")
    return "\n".join(lines) + "\n"


def run_kb(*args: str) -> subprocess.CompletedProcess:
    # 30 s: far more than a refusal takes; an expansion would run for minutes, then run out of memory
    return subprocess.run([*KB, *args], capture_output=True, text=True, cwd=REPO, timeout=30)


@pytest.mark.parametrize("command", ["validate", "build"])
def test_billion_laughs_is_refused_with_its_line(
    data_copy: Path, tmp_path: Path, command: str
) -> None:
    sources = data_copy / "sources.yml"
    sources.write_text(sources.read_text() + billion_laughs())
    line = sources.read_text().splitlines().index(billion_laughs().splitlines()[0]) + 1
    extra = ["--db", str(tmp_path / "kb.db")] if command == "build" else []
    result = run_kb(command, "--data", str(data_copy), *extra)
    assert result.returncode == 1, result.stderr
    assert f"data/sources.yml:{line}: {ALIAS_MESSAGE}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "kb.db").exists()


def test_an_alias_in_an_article_given_to_ingest_is_refused(tmp_path: Path) -> None:
    article = tmp_path / "article.yml"
    article.write_text("id: x\nreferences:\n" + billion_laughs().replace("- lol0", "  - lol0"))
    result = run_kb("ingest", "--from-article", str(article), "--data", str(tmp_path))
    assert result.returncode == 2
    assert f"article.yml:3: {ALIAS_MESSAGE}" in result.stderr


@pytest.mark.parametrize(
    "text, line",
    [
        ("- doi: 10.1/a\n  authors: &who [A, B]\n- doi: 10.1/b\n  authors: *who\n", 2),
        ("- &base {doi: 10.1/a}\n- <<: *base\n  title: T\n", 1),  # a merge key needs an alias
        ("- doi: 10.1/a\n  title: [*nowhere]\n", 2),
    ],
)
def test_anchors_aliases_and_merge_keys_are_refused(text: str, line: int) -> None:
    doc, problems = parse_yaml(text, "data/x.yml")
    assert doc is None and [(p.line, p.message) for p in problems] == [(line, ALIAS_MESSAGE)]


def test_ampersands_and_asterisks_in_text_are_text() -> None:
    text = "- title: R&D of **bold** claims & more *here*\n  notes: '&not an anchor'\n"
    doc, problems = parse_yaml(text, "data/x.yml")
    assert problems == []
    assert doc[0]["title"] == "R&D of **bold** claims & more *here*"
    assert doc[0]["notes"] == "&not an anchor"
