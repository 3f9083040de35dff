"""The staleness report: claims whose source was never checked for notices, or whose source or
claim was not re-checked for N days; `kb stale` and the count on the home page."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path

import pytest
from datasette.app import Datasette
from test_impact import ASO, with_notice
from test_ingest import run_kb
from test_web import METADATA, get

from kb import build
from kb.staleness import staleness, staleness_counts


@pytest.fixture
def one_checked(data_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The curated data, with only ASO's record fetched (no notices on it)."""
    with_notice(data_copy, monkeypatch)
    db = data_copy.parent / "kb.db"
    build(data_copy, db)
    return db


def test_sources_never_checked_and_checks_grown_old(one_checked: Path) -> None:
    conn = sqlite3.connect(one_checked)
    sourced = {r[0] for r in conn.execute("select id from claims where source_doi is not null")}
    aso = {r[0] for r in conn.execute("select id from claims where source_doi = ?", [ASO])}
    report = staleness(conn, days=365)
    assert {c["id"] for c in report.never_checked} == sourced - aso
    assert report.notices_old == [] and report.not_reverified == []  # all fresh today
    later = staleness(conn, days=30, today=dt.date.today() + dt.timedelta(days=31))
    assert {c["id"] for c in later.notices_old} == aso
    assert {c["id"] for c in later.not_reverified} == sourced  # nobody re-checked any claim
    assert later.total == len(sourced)
    counts = staleness_counts(conn, days=30, today=dt.date.today() + dt.timedelta(days=31))
    assert counts == {"days": 30, "today": later.today, "claims": len(sourced),
                      "never_checked": len(sourced - aso), "notices_old": len(aso),
                      "not_reverified": len(sourced), "total": len(sourced)}  # fmt: skip


def test_kb_stale_exits_1_when_anything_is_stale(one_checked: Path) -> None:
    data = one_checked.parent / "data"
    done = run_kb("stale", "--data", str(data), "--db", str(one_checked), env={})
    assert done.returncode == 1
    assert "source never checked for retractions or corrections" in done.stdout
    assert "Run `kb ingest --all`" in done.stdout


def test_the_home_page_counts_it_for_curators_behind_a_toggle(one_checked: Path) -> None:
    conn = sqlite3.connect(one_checked)
    expected = len(staleness(conn).never_checked)
    html = get(Datasette([str(one_checked)], metadata=METADATA), "/").text
    block = html[html.index('<details class="kb-section" data-staleness>') :]
    block = block[: block.index("</details>")]
    assert re.search(rf"<span data-never-checked>{expected}</span> rest on a source nobody", block)
    assert "source_doi" not in block and "retrieved_at" not in block  # no plumbing words


def test_a_committed_change_counts_as_a_re_check(tmp_path: Path) -> None:
    """In a git repository, a claim changed recently is not stale though curated long ago."""
    from test_history import SOURCES, Repo, claim

    repo = Repo(tmp_path / "repo")
    repo.write("sources.yml", SOURCES)
    repo.write("claims/one.yml", claim("one-prevalence") + "\n" + claim("one-other", value=12))
    repo.commit("Add the claims", "2026-01-05T09:00:00+00:00")
    repo.write(
        "claims/one.yml", claim("one-prevalence", value=70) + "\n" + claim("one-other", value=12)
    )
    repo.commit("Re-read the table: 70%", "2026-02-10T09:00:00+00:00")
    build(repo.data, tmp_path / "kb.db")
    conn = sqlite3.connect(tmp_path / "kb.db")
    report = staleness(conn, days=30, today=dt.date(2026, 3, 1))
    assert [c["id"] for c in report.not_reverified] == ["one-other"]
    counts = staleness_counts(conn, days=30, today=dt.date(2026, 3, 1))
    assert (counts["not_reverified"], counts["never_checked"], counts["total"]) == (1, 2, 2)
