"""History on the claim and source pages and in `/-/history.json`, from a real git repository."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from datasette.app import Datasette
from test_history import SOURCES, Repo, claim
from test_web import METADATA, get

from kb import build


@pytest.fixture(scope="module")
def disputed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("history-web")
    repo = Repo(root / "repo")
    repo.write("sources.yml", SOURCES)
    repo.write("claims/one.yml", claim("one-prevalence"))
    repo.commit("Add the cohort's prevalence", "2026-01-05T09:00:00+00:00")
    repo.write("claims/one.yml", claim("one-prevalence", value=71, status="disputed",
               extra="  notes: The table says 71%, the abstract 66%.\n"))  # fmt: skip
    repo.commit("Dispute the prevalence: table and abstract disagree", "2026-02-10T15:30:00+00:00")
    db = root / "kb.db"
    build(repo.data, db)
    return db


@pytest.fixture(scope="module")
def ds(disputed_db: Path) -> Datasette:
    return Datasette([str(disputed_db)], metadata=METADATA)


def test_a_status_change_is_said_at_the_top_of_the_claim_page(ds: Datasette) -> None:
    html = get(ds, "/kb/claims/one-prevalence").text
    banner = html.index("data-status-change")
    assert banner < html.index('data-status="disputed"')  # above the status banner
    assert "Status changed on 2026-02-10: verified → disputed" in html
    banner = html[banner : html.index("</div>", banner)]
    assert "Dispute the prevalence" not in banner  # the reason as written is for curators, folded


def test_the_claim_page_lists_each_change_in_plain_words(ds: Datasette) -> None:
    html = get(ds, "/kb/claims/one-prevalence").text
    section = html[html.index("data-history") :]
    summary = section[section.index("<summary>") : section.index("</summary>")]
    assert "added on 2026-01-05; 1 later change, the last on 2026-02-10" in summary
    assert "2026-01-05</strong> · Added by Ann Curator: Add the cohort&#39;s prevalence" in section
    assert "value: <del>66</del> → <ins>71</ins>" in section
    assert "status: <del>verified</del> → <ins>disputed</ins>" in section
    assert "data/claims/one.yml" in section  # for curators, inside the folded section


def test_the_source_page_has_its_history(ds: Datasette) -> None:
    html = get(ds, "/kb/sources/10~2E5555~2Fone").text
    assert "data-history" in html and "Added by Ann Curator" in html


def test_history_json(ds: Datasette) -> None:
    doc = get(ds, "/-/history.json?claim=one-prevalence").json()
    assert doc["available"] is True
    assert [e["change"] for e in doc["events"]] == ["added", "changed"]
    assert doc["status_change"] == {"date": "2026-02-10T15:30:00+00:00", "old": "verified",
                                    "new": "disputed",
                                    "reason": "Dispute the prevalence: table and abstract disagree"}  # fmt: skip
    assert {"field": "value", "old": 66, "new": 71} in doc["events"][1]["fields"]
    source = get(ds, "/-/history.json?source=https://doi.org/10.5555/ONE").json()
    assert [e["change"] for e in source["events"]] == ["added"]
    assert get(ds, "/-/history.json?claim=no-such-claim").json()["events"] == []
    assert get(ds, "/-/history.json").status_code == 400


def test_a_build_without_git_says_history_is_unavailable(disputed_db: Path, tmp_path: Path) -> None:
    data = shutil.copytree(disputed_db.parent / "repo" / "data", tmp_path / "data")
    build(data, tmp_path / "kb.db")
    plain = Datasette([str(tmp_path / "kb.db")], metadata=METADATA)
    html = get(plain, "/kb/claims/one-prevalence").text
    assert "History is not available for this copy" in html
    assert "data-status-change" not in html
    assert get(plain, "/-/history.json?claim=one-prevalence").json()["available"] is False


def test_public_serves_history_json(public_server: str) -> None:
    response = httpx.get(f"{public_server}/-/history.json?claim=aso2021-medial-wb-pain", timeout=10)
    assert response.status_code == 200
    assert response.json()["id"] == "aso2021-medial-wb-pain"
