"""Validation at scale: thousands of bad records, every problem reported once, with its line."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from conftest import KB, REPO

BAD = 3000  # records, two problems each: enough that a scan of earlier problems per record shows


def bad_sources(n: int) -> str:
    """n sources, each with a wrong metadata_origin (a required field) and a year that is not one."""
    return "".join(
        f"- doi: 10.5555/bad.{i}\n  metadata_origin: guessed\n  year: nineteen-{i}\n"
        for i in range(n)
    )


def test_thousands_of_bad_records_report_every_problem_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "sources.yml").write_text(bad_sources(BAD))
    result = subprocess.run(
        [*KB, "validate", "--data", str(data)], capture_output=True, text=True, cwd=REPO,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    origin = [e for e in errors if ".metadata_origin: 'guessed' is not one of" in e]
    year = [e for e in errors if ".year: expected" in e]
    assert len(origin) == len(year) == BAD and len(errors) == 2 * BAD
    assert not any("required field is missing" in e for e in errors)  # wrong is not also missing
    last = BAD - 1
    assert re.search(
        rf"data/sources\.yml:{3 * last + 2}: sources\[10\.5555/bad\.{last}\]", origin[-1]
    )
