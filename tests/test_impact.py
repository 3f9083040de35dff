"""`kb impact` on a KB where a source has a retraction notice fetched from the loopback stand-in:
every FAQ answer, article statement and reference resting on it is listed with what to do."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_ingest import FAST, crossref_work, run_kb

from ingest import ingest
from ingest.standin import StandIn

ASO = "10.1186/s13075-021-02422-0"  # [3] of the bml-signal article; FAQ answers rest on its claims


def notice(kind: str, date: tuple[int, int, int]) -> dict:
    """One `updated-by` entry as Crossref serves it."""
    return {"DOI": f"10.1186/s13075-099-{kind}", "type": kind, "source": "publisher",
            "label": kind.capitalize(), "updated": {"date-parts": [list(date)]}}  # fmt: skip


def with_notice(data: Path, monkeypatch: pytest.MonkeyPatch, *notices: dict) -> None:
    """data/fetched/ gets ASO's record with these notices, fetched by `ingest` from the stand-in."""
    with StandIn() as server:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        server.add("crossref", ASO, crossref_work(ASO, **{"updated-by": list(notices)}))
        result = ingest([ASO], data, **FAST)
    assert result.outcomes[0].status == "fetched"


@pytest.fixture
def retracted(data_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with_notice(data_copy, monkeypatch, notice("retraction", (2026, 2, 1)))
    yield data_copy


def impact_of(data: Path, *args: str):
    return run_kb("impact", "--data", str(data), "--db", str(data.parent / "kb.db"), *args, env={})


def test_a_retraction_lists_every_page_resting_on_it_and_exits_1(retracted: Path) -> None:
    done = impact_of(retracted)
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "was retracted on 2026-02-01." in out
    assert (
        "FAQ “What is a bone marrow lesion?” cites a claim whose source was retracted on "
        "2026-02-01 (aso2021-medial-wb-pain): rewrite the answer without it"
    ) in out
    assert (
        "rests on a claim whose source was retracted on 2026-02-01 (aso2021-n-longitudinal)" in out
    )
    assert "remove or replace the figure" in out
    assert "cites [3], which was retracted on 2026-02-01: remove the reference" in out


def test_the_json_names_each_page_and_claim(retracted: Path) -> None:
    done = impact_of(retracted, "--json")
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    alert = next(a for a in doc["alerts"] if a["id"] == f"source:{ASO}:retraction")
    assert alert["severity"] == "serious" and alert["date"] == "2026-02-01"
    assert alert["needs_action"] is True
    kinds = {p["kind"] for p in alert["pages"]}
    assert kinds == {"faq", "statement", "reference"}
    faq = {p["id"] for p in alert["pages"] if p["kind"] == "faq"}
    assert "what-is-a-bml" in faq
    assert "aso2021-medial-wb-pain" in alert["claims"]


def test_since_leaves_out_what_happened_before(retracted: Path) -> None:
    done = impact_of(retracted, "--since", "2026-03-01", "--json")
    ids = [a["id"] for a in json.loads(done.stdout)["alerts"]]
    assert f"source:{ASO}:retraction" not in ids
    # what is left are disputed claims; the article's "up to 66%" and "two to five times" rest on
    # two of them, so those pages still need action
    needing = {a["id"] for a in json.loads(done.stdout)["alerts"] if a["needs_action"]}
    assert needing == {"claim:article-bml-prevalence-66:disputed",
                       "claim:article-bml-pain-2-to-5x:disputed"}  # fmt: skip
    assert done.returncode == 1
    later = impact_of(retracted, "--since", "2026-01-15", "--json")
    assert later.returncode == 1
    assert f"source:{ASO}:retraction" in [a["id"] for a in json.loads(later.stdout)["alerts"]]


def test_a_correction_asks_for_a_check_not_a_removal(
    data_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_notice(data_copy, monkeypatch, notice("correction", (2026, 3, 5)))
    done = impact_of(data_copy)
    assert done.returncode == 1
    assert "was corrected on 2026-03-05" in done.stdout
    assert "read the notice and check the answer still holds" in done.stdout
    assert "remove or replace" not in done.stdout


def test_a_bad_date_is_a_usage_error(data_copy: Path) -> None:
    assert impact_of(data_copy, "--since", "last week").returncode == 2


def test_a_claim_changed_since_the_date_lists_the_answers_resting_on_it(tmp_path: Path) -> None:
    """The curated data in a real git repository: a value changed in a later commit."""
    from conftest import DATA
    from test_history import Repo

    repo = Repo(tmp_path / "repo")
    shutil.copytree(DATA, repo.data, dirs_exist_ok=True)
    repo.commit("The curated data", "2026-01-05T09:00:00+00:00")
    path = repo.data / "claims" / "aso-2021.yml"
    text = path.read_text(encoding="utf-8")
    at = text.index("- id: aso2021-medial-wb-pain")
    old = "status: verified"
    i = text.index(old, at)
    text = text[:i] + "status: disputed" + text[i + len(old) :]
    path.write_text(text.replace("  value: 0.11\n", "  value: 0.12\n", 1), encoding="utf-8")
    repo.commit("Dispute the medial weight-bearing figure", "2026-03-03T12:00:00+00:00")
    done = impact_of(repo.data, "--since", "2026-03-01")
    assert done.returncode == 1, done.stderr
    assert (
        "FAQ “What is a bone marrow lesion?” cites a disputed claim (aso2021-medial-wb-pain)"
    ) in done.stdout
    assert (
        "FAQ “Why can a bone marrow lesion be painful?” cites a claim changed on 2026-03-03 "
        "(value 0.11 → 0.12): “Dispute the medial weight-bearing figure” "
        "(aso2021-medial-walking-pain): check the answer still says what the claim now says."
    ) in done.stdout
    before = impact_of(repo.data, "--since", "2026-03-04", "--json")
    ids = [a["id"] for a in json.loads(before.stdout)["alerts"]]
    assert "claim:aso2021-medial-wb-pain:disputed" not in ids  # disputed before that date


def test_a_withdrawn_claim_names_its_replacement_and_the_answers_to_fix(data_copy: Path) -> None:
    path = data_copy / "claims" / "shi-2023.yml"
    text = path.read_text(encoding="utf-8")
    at = text.index("- id: shi2023-bml-before-cartilage")
    i = text.index("  status: verified\n", at)
    withdrawn = (
        "  status: deprecated\n  deprecated_reason: The review's wording was misread.\n"
        "  superseded_by: aso2021-medial-wb-pain\n"
    )
    path.write_text(
        text[:i] + withdrawn + text[i + len("  status: verified\n") :], encoding="utf-8"
    )
    done = impact_of(data_copy, "--json")
    assert done.returncode == 1, done.stderr
    alert = next(
        a for a in json.loads(done.stdout)["alerts"]
        if a["id"] == "claim:shi2023-bml-before-cartilage:deprecated"
    )  # fmt: skip
    assert alert["summary"].endswith("was withdrawn: The review's wording was misread.")
    assert alert["pages"]  # the article (and any FAQ answer) resting on it
    for page in alert["pages"]:
        assert "cites a withdrawn claim (shi2023-bml-before-cartilage)" in page["action"] or (
            "rests on a withdrawn claim (shi2023-bml-before-cartilage)" in page["action"]
        )
        assert page["action"].endswith("; its replacement is aso2021-medial-wb-pain.")
