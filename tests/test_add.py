"""`kb add` against the loopback stand-in serving recorded responses: a fetched work becomes a
source record appended to sources.yml, comments and order kept, and `kb validate` still passes."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from test_ingest import FAST, crossref_work, recorded, run_kb

from ingest.add import add
from ingest.standin import Canned, StandIn
from ingest.store import raw_path

JOR = "10.1002/jor.1100150407"  # a real recorded Crossref answer (tests/fixtures/README.md)
ASO = "10.1186/s13075-021-02422-0"  # already in data/sources.yml


def sources_of(data: Path) -> list[dict]:
    return yaml.safe_load((data / "sources.yml").read_text(encoding="utf-8"))


def test_a_fetched_work_is_appended_with_its_origin_and_what_is_left_to_fill(
    stand_in: StandIn, data_copy: Path
) -> None:
    stand_in.add("crossref", JOR, recorded(f"crossref/works_{JOR.replace('/', '_')}.json"))
    before = (data_copy / "sources.yml").read_text(encoding="utf-8")
    done = run_kb("add", f"https://doi.org/{JOR}", "--data", str(data_copy), env=stand_in.env())
    assert done.returncode == 0, done.stderr + done.stdout
    after = (data_copy / "sources.yml").read_text(encoding="utf-8")
    assert after.startswith(before)  # comments, order and layout kept byte for byte
    added = sources_of(data_copy)[-1]
    assert added["doi"] == JOR
    assert added["title"].startswith("Growth hormone secretagogue increases muscle strength")
    assert added["journal"] == "Journal of Orthopaedic Research"
    assert (added["year"], added["volume"], added["issue"], added["pages"]) == (
        1997, "15", "4", "519-527"
    )  # fmt: skip
    assert added["authors"][0] == "Richard L. Lieber" and len(added["authors"]) == 12
    assert added["metadata_origin"] == "crossref"
    assert added["metadata_page"] == f"{stand_in.bases['api.crossref.org']}/works/{JOR}"
    assert "study_design" not in added and "notes" not in added  # only a person can say
    assert "still to fill in: study_design, notes" in done.stdout
    assert "# Added by `kb add`" in after[len(before) :]
    assert raw_path(data_copy, "crossref", JOR).exists()  # the raw answer is kept
    valid = run_kb("validate", "--data", str(data_copy), env={})
    assert valid.returncode == 0, valid.stderr


def test_a_doi_already_in_sources_is_reported_not_duplicated(
    stand_in: StandIn, data_copy: Path
) -> None:
    before = (data_copy / "sources.yml").read_bytes()
    done = run_kb("add", ASO.upper(), "--data", str(data_copy), env=stand_in.env())
    assert done.returncode == 0
    assert f"{ASO}: already in" in done.stdout
    assert (data_copy / "sources.yml").read_bytes() == before
    assert stand_in.count() == 0  # nothing was asked


def test_a_failed_fetch_adds_nothing(stand_in: StandIn, data_copy: Path) -> None:
    doi = "10.5555/always.down"
    stand_in.add("crossref", doi, Canned(503, b"busy", "text/plain"))
    before = (data_copy / "sources.yml").read_bytes()
    result = add([doi], data_copy, **FAST)
    assert [a.status for a in result.added] == ["failed"] and result.exit_code == 1
    assert (data_copy / "sources.yml").read_bytes() == before


def test_a_doi_found_nowhere_adds_nothing_and_exits_1(stand_in: StandIn, data_copy: Path) -> None:
    before = (data_copy / "sources.yml").read_bytes()
    done = run_kb("add", "10.5555/nowhere", "--data", str(data_copy), env=stand_in.env())
    assert done.returncode == 1
    assert "nothing added" in done.stdout
    assert (data_copy / "sources.yml").read_bytes() == before


def test_only_what_a_service_gave_is_written(stand_in: StandIn, tmp_path: Path) -> None:
    """A work without pages, volume or authors: those stay out and are listed to fill in."""
    doi = "10.5555/sparse"
    body = json.loads(recorded("crossref/works_10.1038_srep16696.json").body)
    body["message"].update(DOI=doi, author=[], volume=None)
    data = tmp_path / "data"
    data.mkdir()
    (data / "sources.yml").write_text(
        "# our sources\n- doi: 10.5555/first\n  metadata_origin: crossref\n"
    )
    stand_in.add("crossref", doi, Canned(body=json.dumps(body).encode()))
    result = add([doi], data, **FAST)
    entry = result.added[0].entry
    assert "authors" not in entry and "volume" not in entry and "pages" not in entry
    assert entry["article_number"] == body["message"]["article-number"]
    assert result.added[0].to_fill == ["study_design", "notes", "authors", "volume"]
    text = (data / "sources.yml").read_text()
    assert text.startswith("# our sources\n- doi: 10.5555/first\n")
    assert [s["doi"] for s in yaml.safe_load(text)] == ["10.5555/first", doi]


def test_kb_ingest_add_does_the_same_after_an_ordinary_run(
    stand_in: StandIn, data_copy: Path
) -> None:
    stand_in.add("crossref", JOR, recorded(f"crossref/works_{JOR.replace('/', '_')}.json"))
    stand_in.add("crossref", ASO, crossref_work(ASO))
    before = (data_copy / "sources.yml").read_text(encoding="utf-8")
    done = run_kb("ingest", JOR, ASO, "--add", "--data", str(data_copy), env=stand_in.env())
    assert done.returncode == 0, done.stderr + done.stdout
    assert f"{JOR}: added to" in done.stdout and f"{ASO}: already in" in done.stdout
    after = (data_copy / "sources.yml").read_text(encoding="utf-8")
    assert after.startswith(before)
    assert [s["doi"] for s in sources_of(data_copy)].count(ASO) == 1
    assert sources_of(data_copy)[-1]["doi"] == JOR
