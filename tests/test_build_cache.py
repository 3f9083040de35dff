"""Rebuilds after a change: the cache beside the database never changes what gets built."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from kb import BuildError, build


def _content(db: Path) -> dict[str, list]:
    conn = sqlite3.connect(db)
    tables = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
    out = {
        t: sorted(map(repr, conn.execute(f"select * from [{t}]")))
        for t in tables
        if t != "build_info" and not t.endswith(("_fts", "_data", "_idx", "_docsize", "_config"))
    }
    out["search"] = [
        sorted(r[0] for r in conn.execute(
            "select claims.id from claims_fts join claims on claims.rowid = claims_fts.rowid "
            "where claims_fts match ?", [word]))
        for word in ("edited", "bml", "pain", "knee")
    ]  # fmt: skip
    conn.execute("insert into claims_fts(claims_fts) values('integrity-check')")
    return out


def test_changing_claim_files_rebuilds_the_same_database_as_from_scratch(
    data_copy: Path, tmp_path: Path
) -> None:
    build(data_copy, data_copy.parent / "kb.db")
    claims = sorted((data_copy / "claims").glob("*.yml"))
    text = claims[1].read_text()
    claims[1].write_text(text.replace("statement: ", "statement: Edited ", 1))
    moved = claims[2].read_text()
    claims[2].unlink()
    (data_copy / "claims" / "zz-moved.yml").write_text(moved)
    assert list((data_copy.parent / ".kb-cache").glob("manifest-*.json"))

    build(data_copy, data_copy.parent / "kb.db")  # applied to a copy of the previous database
    fresh = tmp_path / "fresh"
    shutil.copytree(data_copy, fresh / "data")
    build(fresh / "data", fresh / "kb.db")  # no cache: from scratch
    assert _content(data_copy.parent / "kb.db") == _content(fresh / "kb.db")


def test_a_bad_claim_edit_after_a_build_is_located_and_leaves_kb_db_alone(data_copy: Path) -> None:
    db = data_copy.parent / "kb.db"
    build(data_copy, db)
    before = db.read_bytes()
    path = sorted((data_copy / "claims").glob("*.yml"))[0]
    path.write_text(path.read_text().replace("status: unverified", "status: maybe", 1))
    with pytest.raises(BuildError) as err:
        build(data_copy, db)
    assert any(p.path.endswith(path.name) and p.line and "status" in (p.field or "")
               for p in err.value.problems)  # fmt: skip
    assert db.read_bytes() == before
