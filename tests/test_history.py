"""The history of claims and sources, derived by `kb build` from real git repositories made in
temporary folders: known commits, a claim file renamed, a claim moved between files, no .git."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from kb import build

SOURCES = """\
# our sources
- doi: 10.5555/one
  title: A cohort of knees
  metadata_origin: crossref
"""
CLAIM = """\
- id: {id}
  statement: {statement}
  topic: prevalence
  measure: prevalence
  value: {value}
  unit: "%"
  status: {status}
  source_doi: 10.5555/one
  verified_against: https://doi.org/10.5555/one
  curated_on: 2026-01-01
  curated_by: test
{extra}"""


def claim(id: str, value: float = 66, status: str = "verified", extra: str = "",
          statement: str = "BMLs were common in painful knees.") -> str:  # fmt: skip
    return CLAIM.format(id=id, value=value, status=status, extra=extra, statement=statement)


class Repo:
    """A git repository with a data/ folder, committing with known dates and messages."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        (self.data / "claims").mkdir(parents=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, date: str = "2026-01-01T10:00:00+00:00") -> str:
        env = {**os.environ, "GIT_AUTHOR_NAME": "Ann Curator", "GIT_AUTHOR_EMAIL": "ann@example.org",
               "GIT_COMMITTER_NAME": "Ann Curator", "GIT_COMMITTER_EMAIL": "ann@example.org",
               "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, "GIT_CONFIG_NOSYSTEM": "1",
               "HOME": str(self.root)}  # fmt: skip
        done = subprocess.run(["git", *args], cwd=self.root, env=env, capture_output=True,
                              text=True, check=True, timeout=30)  # fmt: skip
        return done.stdout

    def write(self, rel: str, text: str) -> None:
        (self.data / rel).write_text(text, encoding="utf-8")

    def commit(self, message: str, date: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message, date=date)


def history_of(db: Path, record_id: str) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute(
        "select * from history where record_id = ? order by seq", [record_id])]  # fmt: skip
    conn.close()
    for r in rows:
        r["fields"] = json.loads(r["fields"])
    return rows


def build_info(db: Path) -> dict[str, str]:
    conn = sqlite3.connect(db)
    info = dict(conn.execute("select key, value from build_info"))
    conn.close()
    return info


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo")
    r.write("sources.yml", SOURCES)
    r.write("claims/one.yml", claim("one-prevalence") + "\n" + claim("one-other", value=12))
    r.commit("Add the first source and its claims", "2026-01-05T09:00:00+00:00")
    return r


def test_added_then_changed_with_fields_reason_and_date(repo: Repo, tmp_path: Path) -> None:
    repo.write("claims/one.yml", claim("one-prevalence", value=71, status="disputed",
               extra="  notes: A second reading gives 71%.\n") + "\n" + claim("one-other", value=12))  # fmt: skip
    repo.commit("Dispute the prevalence: the table says 71%", "2026-02-10T15:30:00+00:00")
    db = tmp_path / "kb.db"
    build(repo.data, db)
    events = history_of(db, "one-prevalence")
    assert [e["change"] for e in events] == ["added", "changed"]
    assert events[0]["date"].startswith("2026-01-05") and events[0]["file"] == "data/claims/one.yml"
    assert events[0]["reason"] == "Add the first source and its claims"
    changed = events[1]
    assert changed["date"].startswith("2026-02-10")
    assert changed["reason"] == "Dispute the prevalence: the table says 71%"
    assert changed["author"] == "Ann Curator"
    assert {f["field"]: (f["old"], f["new"]) for f in changed["fields"]} == {
        "value": (66, 71), "status": ("verified", "disputed"),
        "notes": (None, "A second reading gives 71%."),
    }  # fmt: skip
    assert [e["change"] for e in history_of(db, "one-other")] == ["added"]  # untouched since
    assert [e["change"] for e in history_of(db, "10.5555/one")] == ["added"]
    assert build_info(db)["history"] == "available"


def test_a_renamed_claim_file_keeps_the_history(repo: Repo, tmp_path: Path) -> None:
    repo.git("mv", "data/claims/one.yml", "data/claims/cohort-2020.yml")
    repo.commit("Name the claim file after its source", "2026-03-01T08:00:00+00:00")
    db = tmp_path / "kb.db"
    build(repo.data, db)
    events = history_of(db, "one-prevalence")
    assert [e["change"] for e in events] == ["added", "moved"]
    assert events[1]["previous_file"] == "data/claims/one.yml"
    assert events[1]["file"] == "data/claims/cohort-2020.yml"
    assert events[1]["fields"] == []


def test_a_claim_moved_between_files_keeps_the_history(repo: Repo, tmp_path: Path) -> None:
    repo.write("claims/one.yml", claim("one-prevalence"))
    repo.write("claims/two.yml", "# moved here\n" + claim("one-other", value=13))
    repo.commit(
        "Move the other claim to its own file, and fix its value", "2026-03-02T08:00:00+00:00"
    )
    db = tmp_path / "kb.db"
    build(repo.data, db)
    events = history_of(db, "one-other")
    assert [e["change"] for e in events] == ["added", "changed"]
    assert events[1]["previous_file"] == "data/claims/one.yml"
    assert events[1]["file"] == "data/claims/two.yml"
    assert events[1]["fields"] == [{"field": "value", "old": 12, "new": 13}]
    assert [e["change"] for e in history_of(db, "one-prevalence")] == ["added"]


def test_a_removed_claim_and_a_new_commit_after_a_build(repo: Repo, tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    build(repo.data, db)
    repo.write("claims/one.yml", claim("one-prevalence"))
    repo.commit("Drop the other claim", "2026-04-01T08:00:00+00:00")
    build(repo.data, db)  # the cached history belongs to the previous commit: read again
    assert [e["change"] for e in history_of(db, "one-other")] == ["added", "removed"]


def test_an_unreadable_version_is_skipped_not_read_as_everything_removed(
    repo: Repo, tmp_path: Path
) -> None:
    repo.write("claims/one.yml", "- id: [broken\n")
    repo.commit("Oops", "2026-05-01T08:00:00+00:00")
    repo.write(
        "claims/one.yml", claim("one-prevalence", value=70) + "\n" + claim("one-other", value=12)
    )
    repo.commit("Fix the file; 70%", "2026-05-02T08:00:00+00:00")
    db = tmp_path / "kb.db"
    build(repo.data, db)
    events = history_of(db, "one-prevalence")
    assert [e["change"] for e in events] == ["added", "changed"]
    assert events[1]["fields"] == [{"field": "value", "old": 66, "new": 70}]


def test_a_build_without_git_works_and_says_history_is_unavailable(
    repo: Repo, tmp_path: Path
) -> None:
    tarball = tmp_path / "unpacked" / "data"
    shutil.copytree(repo.data, tarball)  # what a release tarball holds: data/, no .git
    db = tmp_path / "kb.db"
    result = build(tarball, db)
    assert result.counts["claims"] == 2
    assert build_info(db)["history"].startswith("unavailable")
    assert history_of(db, "one-prevalence") == []


def test_data_unpacked_inside_another_repository_has_no_history(tmp_path: Path) -> None:
    outer = Repo(tmp_path / "outer")  # a repository that never tracked this data
    (outer.data / "README").write_text("not the KB\n", encoding="utf-8")
    outer.commit("Something else", "2026-01-01T00:00:00+00:00")
    data = tmp_path / "outer" / "unpacked" / "data"
    (data / "claims").mkdir(parents=True)
    (data / "sources.yml").write_text(SOURCES, encoding="utf-8")
    (data / "claims" / "one.yml").write_text(claim("one-prevalence"), encoding="utf-8")
    build(data, tmp_path / "kb.db")
    assert build_info(tmp_path / "kb.db")["history"].startswith("unavailable")
