"""Parsing every recorded response shape into our record: pure functions, no server."""

from __future__ import annotations

import email.utils
import json
import time
from pathlib import Path

from ingest import crossref, doi_org, openalex
from ingest.client import parse_interval, parse_retry_after
from ingest.record import clean_abstract, merge_notices, merge_records, notice

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def crossref_fields(name: str) -> dict:
    return crossref.parse_work(load(f"crossref/{name}")["message"])


def test_jats_abstract_becomes_plain_text_without_its_heading() -> None:
    rec = crossref_fields("works_10.1002_jor.1100150407.json")
    assert rec["abstract"].startswith("Twenty‐two beagles were divided")
    assert "<jats" not in rec["abstract"] and "Abstract" not in rec["abstract"][:20]
    assert "(p < 0.001)" in rec["abstract"]  # an escaped `&lt;` in the text stays a character
    assert rec["year"] == 1997 and rec["published_print"] == "1997-07"
    assert rec["published_online"] == "2005-02-18"
    assert rec["pages"] == "519-527" and rec["volume"] == "15" and rec["issue"] == "4"
    assert rec["authors"][0] == "Richard L. Lieber"
    assert rec["journal"] == "Journal of Orthopaedic Research"
    assert rec["update_notices"] == []


def test_article_number_without_pages() -> None:
    rec = crossref_fields("works_10.1038_srep16696.json")
    assert rec["article_number"] == "16696" and "pages" not in rec
    assert rec["year"] == 2015 and rec["published_online"] == "2015-11-19"
    assert rec["title"].endswith("Parkinson’s disease genetically related mutants")
    assert rec["license"].startswith("https://creativecommons.org/")


def test_year_only_dates_and_a_page_that_is_the_article_number() -> None:
    rec = crossref_fields("works_10.1136_esmoopen-2020-000776.json")
    assert rec["year"] == 2020 and rec["published_print"] == "2020"
    assert rec["article_number"] == "e000776" and "pages" not in rec
    assert "abstract" not in rec


def test_italic_title_and_structured_abstract() -> None:
    rec = crossref_fields("works_10.1136_jclinpath-2020-206745.json")
    assert rec["title"] == (
        "Construction of a reference material panel for detecting KRAS/NRAS/EGFR/BRAF/MET "
        "mutations in plasma ctDNA"
    )
    # online first in 2020, printed in the May 2021 issue: cited as 2021
    assert rec["year"] == 2021 and rec["published_online"] == "2020-08-17"
    paragraphs = rec["abstract"].split("\n\n")
    assert paragraphs[0].startswith("Background: The absence of high-quality")
    assert "(KRAS)/neuroblastoma ras oncogene (NRAS)" in paragraphs[1]


def test_correction_in_updated_by() -> None:
    rec = crossref_fields("works_10.1371_journal.pone.0033693.json")
    assert rec["update_notices"] == [
        {
            "doi": "10.1371/annotation/c76da2c1-ccb8-4797-94c1-359d3ceceeda",
            "type": "correction",
            "date": "2012-05-08",
            "source": "publisher",
            "record_id": None,
        }
    ]
    record = merge_records(
        "10.1371/journal.pone.0033693", [("crossref", rec)], "2026-01-01T00:00:00Z"
    )
    assert record["update_status"] == "correction"


def test_csl_json_from_doi_org_has_string_titles() -> None:
    rec = doi_org.parse_csl(load("doi_org/csl_10.1126_science.169.3946.635.json"))
    assert rec["title"] == "The Structure of Ordinary Water"
    assert rec["journal"] == "Science"
    assert rec["year"] == 1970 and rec["published_print"] == "1970-08-14"
    assert rec["pages"] == "635-641" and rec["authors"][0] == "Henry S. Frank"


def test_openalex_inverted_index_and_ids() -> None:
    rec = openalex.parse_work(load("openalex/works_doi_10.1371_journal.pone.0000030.json"))
    assert rec["abstract"].startswith(
        "Triosephosphate isomerase (TPI) deficiency is an autosomal recessive disorder caused by"
    )
    assert rec["pmid"] == "17183658" and rec["open_access"] is True
    assert rec["is_retracted"] is False
    assert rec["pages"] == "e30" and rec["year"] == 2006
    assert openalex.rebuild_abstract(None) is None


def test_crossref_first_openalex_fills_gaps_and_retraction_flag() -> None:
    cr = crossref_fields("works_10.1136_esmoopen-2020-000776.json")
    oa = {"abstract": "From OpenAlex.", "pmid": "1", "open_access": True, "year": 1999,
          "is_retracted": True}  # fmt: skip
    record = merge_records(
        "10.1136/ESMOOPEN-2020-000776", [("crossref", cr), ("openalex", oa)], "t"
    )
    assert record["doi"] == "10.1136/esmoopen-2020-000776"
    assert record["year"] == 2020  # Crossref wins
    assert record["abstract"] == "From OpenAlex." and record["pmid"] == "1"
    assert record["fetched_from"] == ["crossref", "openalex"]
    assert record["update_status"] == "retraction"


def test_the_same_notice_from_publisher_and_retraction_watch_counts_once() -> None:
    entries = [
        {"DOI": "10.1/RETRACTION", "type": "retraction", "source": "publisher",
         "updated": {"date-parts": [[2024, 3, 1]]}},
        {"DOI": "10.1/retraction", "type": "retraction", "source": "retraction-watch",
         "record-id": 51234, "updated": {"date-parts": [[2024, 3, 2]]}},
        {"DOI": "10.1/fix", "type": "correction", "source": "publisher"},
    ]  # fmt: skip
    merged = merge_notices([notice(e) for e in entries])
    assert len(merged) == 2
    assert merged[0] == {
        "doi": "10.1/retraction", "type": "retraction", "date": "2024-03-01",
        "source": "publisher, retraction-watch", "record_id": "51234",
    }  # fmt: skip
    record = merge_records("10.1/x", [("crossref", {"update_notices": merged})], "t")
    assert record["update_status"] == "retraction"


def test_update_to_on_notices_points_back_at_the_work() -> None:
    notices = [
        {"DOI": "10.1/notice", "update-to": [{"DOI": "10.1/X", "type": "expression_of_concern",
                                               "source": "publisher"}]},
        {"DOI": "10.1/other", "update-to": [{"DOI": "10.1/y", "type": "correction"}]},
    ]  # fmt: skip
    found = crossref.parse_update_to(notices, "10.1/x")
    assert [(n["doi"], n["type"]) for n in found] == [("10.1/notice", "expression_of_concern")]


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("3") == 3.0
    now = time.time()
    later = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= parse_retry_after(later, now=now) <= 31
    meta = load("openalex/error_429_10.1038_hdy.2013.26.meta.json")
    past = meta["response"]["headers"]["Retry-After"][0]  # a recorded date, long gone
    assert parse_retry_after(past) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_interval("1s") == 1.0 and parse_interval("500ms") == 0.5


def test_clean_abstract_handles_html_too() -> None:
    assert clean_abstract("<p>One &amp; <i>two</i>.</p><p>Three.</p>") == "One & two.\n\nThree."


def test_recorded_answers_have_the_shape_each_service_promises() -> None:
    for name in ("jor.1100150407", "srep16696", "esmoopen-2020-000776", "journal.pone.0033693"):
        path = next((FIXTURES / "crossref").glob(f"works_10.*{name}.json"))
        assert crossref.work_problem(json.loads(path.read_text())) is None
    assert "status 'failed'" in crossref.work_problem(
        load("crossref/works_400_validation_failure.json")
    )
    assert crossref.work_list_problem(load("crossref/works_10.1038_srep16696.json")) is not None
    assert doi_org.csl_problem(load("doi_org/csl_10.1126_science.169.3946.635.json")) is None
    assert (
        openalex.work_problem(load("openalex/works_doi_10.1371_journal.pone.0000030.json")) is None
    )
    assert openalex.work_problem({"meta": {}, "results": []}) is not None
