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
from kb.staleness import staleness


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
