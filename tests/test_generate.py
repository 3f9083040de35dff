"""The synthetic KB generator behind the benchmarks: same seed, same files; and they pass `kb validate`."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import KB

from benchmarks.generate import write_data, write_db


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_generator_is_deterministic_and_its_output_validates(tmp_path: Path) -> None:
    a = write_data(tmp_path / "a" / "data", 200)
    b = write_data(tmp_path / "b" / "data", 200)
    assert _tree(a) == _tree(b)
    assert _tree(a) != _tree(write_data(tmp_path / "c" / "data", 200, seed=7))
    result = subprocess.run([*KB, "validate", "--data", str(a)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "200 claims" in result.stdout


def test_generated_database_matches_a_build_of_the_generated_files(tmp_path: Path) -> None:
    import sqlite3

    from kb import build

    data = write_data(tmp_path / "data", 200)
    build(data, tmp_path / "built.db")
    write_db(tmp_path / "direct.db", 200)
    columns = "id, statement, figure, status, flag, source_doi, superseded_by, compartments"
    rows = [
        sqlite3.connect(db).execute(f"select {columns} from claims order by id").fetchall()
        for db in (tmp_path / "built.db", tmp_path / "direct.db")
    ]
    assert rows[0] == rows[1]
