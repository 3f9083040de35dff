"""The documentation keeps up with the commands: every `kb` command has help with an example and
a row in README.md's command table (after sqlite-utils' tests/test_docs.py)."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner
from conftest import REPO

from kb.cli import cli


def commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and subcommand, as the words after `kb`."""
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += commands(command, (*prefix, name))
    return found


def readme_table() -> set[str]:
    """The commands in the first column of the table under '## The command line'."""
    section = (REPO / "README.md").read_text().split("## The command line", 1)[1]
    section = section.split("\n## ", 1)[0]
    return {m.group(1) for m in re.finditer(r"^\| `kb ([a-z-]+(?: [a-z-]+)*)", section, re.M)}


def help_of(words: tuple[str, ...]) -> str:
    result = CliRunner().invoke(cli, [*words, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("words", commands(), ids=" ".join)
def test_command_has_help_with_an_example(words: tuple[str, ...]) -> None:
    text = help_of(words)
    name = " ".join(words)
    assert text.split("\n\n")[1].strip(), f"kb {name} --help says nothing about what it does"
    assert re.search(r"^\s*Examples?:", text, re.M), f"kb {name} --help has no example"
    block = re.split(r"^\s*Examples?:", text, flags=re.M)[1].split("Options:")[0]
    lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
    assert lines and all(line.startswith(f"kb {name}") for line in lines), lines


@pytest.mark.parametrize("words", commands(), ids=" ".join)
def test_every_option_has_help(words: tuple[str, ...]) -> None:
    command = cli
    for word in words:
        command = command.commands[word]
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"kb {' '.join(words)} {param.opts[0]} has no help text"


def test_kb_help_lists_every_command() -> None:
    text = help_of(())
    for words in commands():
        assert f"kb {' '.join(words)}" in text.split("Commands:")[0], f"kb --help omits {words}"


@pytest.mark.parametrize("name", sorted({" ".join(words) for words in commands()}))
def test_command_is_in_the_readme_table(name: str) -> None:
    assert name in readme_table(), f"README.md's command table has no row for kb {name}"
