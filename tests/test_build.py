"""`kb build`: the database a reader browses, built from data/ alone."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import sqlite_utils
from conftest import KB

from kb import build
from kb.build import format_figure, merge_fetched
from kb.citation import format_citation
from kb.doi import doi_slug


def test_curated_kb_has_every_figure_with_its_status(kb_db: Path) -> None:
    db = sqlite_utils.Database(kb_db)
    assert db["claims"].count >= 25
    statuses = {r["status"] for r in db.query("select distinct status from claims")}
    assert {"verified", "unverified"} <= statuses
    # every claim resting on a source links to a row that exists (foreign keys checked by the build too)
    orphans = list(
        db.query(
            "select id from claims where source_doi is not null and source_doi not in (select doi from sources)"
        )
    )
    assert orphans == []
    # unverified claims carry a visible flag, verified ones on sound sources do not
    assert all(r["flag"] for r in db.query("select flag from claims where status != 'verified'"))


def test_sources_are_keyed_by_lower_case_doi_with_a_citation(kb_db: Path) -> None:
    db = sqlite_utils.Database(kb_db)
    for row in db["sources"].rows:
        assert row["doi"] == row["doi"].lower()
        assert row["citation"].endswith(f"doi:{row['doi']}")
        assert row["url"]


def test_the_article_problems_found_in_the_public_records_are_in_the_data(kb_db: Path) -> None:
    db = sqlite_utils.Database(kb_db)
    refs = {r["label"]: r for r in db.query("select * from article_references")}
    assert refs["[3]"]["verdict"] == "mismatch" and refs["[3]"]["printed_year"] == 2020
    assert refs["[5]"]["verdict"] == "unused"
    assert refs["[2]"]["verdict"] == "unresolved"
    missing = list(db.query("select doi from article_references where verdict = 'missing'"))
    assert {"doi": "10.1016/j.bonr.2023.101667"} in missing
    contradicted = list(
        db.query("select figures from article_statements where verdict = 'contradicted'")
    )
    assert any("1,412" in r["figures"] for r in contradicted)
    unverified = " ".join(
        r["figures"]
        for r in db.query("select figures from article_statements where verdict = 'unverified'")
    )
    for figure in ("66%", "540", "14–30%"):
        assert figure in unverified


def test_verified_claims_name_what_was_read(kb_db: Path) -> None:
    # verified_against is the public page the figure was seen on, one a reader can open (never a
    # file of ours), and curated_by a role a reader understands; an excerpt's locator is never inferred
    db = sqlite_utils.Database(kb_db)
    for row in db.query("select id, verified_against from claims where status = 'verified'"):
        assert row["verified_against"].startswith(("https://", "http://")), row
        assert "dossier" not in row["verified_against"].lower(), row
    for row in db.query("select doi, metadata_page from sources where metadata_origin = 'manual'"):
        assert row["metadata_page"].startswith(("https://", "http://")), row
    assert {r["curated_by"] for r in db.query("select distinct curated_by from claims")} == {
        "AMSK evidence team"
    }
    # where the quote's place was not seen (Aso's sample sentence) no locator is given; where the
    # reading notes say the abstract, it is
    assert not list(
        db.query("select id from claims where locator is not null and id like 'aso2021-%'")
    )
    row = next(db.query("select locator from claims where id = 'yusuf2011-bml-pain-or-range'"))
    assert row["locator"] == "abstract"
    # per-analysis n only where the source ties it: none on the Aso regressions or Yu associations
    assert not list(
        db.query(
            "select id from claims where n is not null and measure in ('regression_coefficient', "
            "'association') and (id like 'aso2021-%-pain' or id like 'yu2024-%')"
        )
    )


def test_the_articles_unsourced_assertions_are_linked_and_unverified(kb_db: Path) -> None:
    db = sqlite_utils.Database(kb_db)
    for sid in ("bml-signal-s10", "bml-signal-s15", "bml-signal-s21"):
        row = next(db.query(
            "select s.verdict, c.status from article_statements s join claims c on c.id = s.claim_id "
            "where s.id = ?", [sid]
        ))  # fmt: skip
        assert row["status"] == "unverified" and row["verdict"] != "supported", (sid, row)
    # the FAQ on subchondroplasty rests on the article's own description, so it is not "verified"
    entry = next(db.query("select * from faq_entries where id = 'what-is-subchondroplasty'"))
    assert entry["evidence_status"] != "verified"
    weak = {e["claim_id"]: e for e in json.loads(entry["evidence"])}
    assert weak["article-subchondroplasty-procedure"]["reason_code"] == "unverified"


def test_faq_evidence_status_never_hides_unverified_claims(kb_db: Path) -> None:
    from kb.schema import EVIDENCE_STATUSES

    db = sqlite_utils.Database(kb_db)
    assert db["faq"].count == 5
    for row in db.query("select * from faq_entries"):
        assert row["evidence_status"] in EVIDENCE_STATUSES
        evidence = json.loads(row["evidence"])
        weak = [e for e in evidence if e["status"] != "verified"]
        assert all(e["reason_code"] == e["status"] for e in weak), row["id"]
        if weak:
            assert row["evidence_status"] in ("partly_verified", "unverified"), row["id"]
            assert row["evidence_note"], row["id"]


def test_full_text_search_is_in_sync_with_claims(kb_db: Path) -> None:
    db = sqlite_utils.Database(kb_db)
    assert db["claims_fts"].count == db["claims"].count
    assert db["sources_fts"].count == db["sources"].count
    hits = list(db.query("select rowid from claims_fts where claims_fts match 'knees'"))
    assert hits


def test_rebuild_replaces_the_database_atomically(data_copy: Path, tmp_path: Path) -> None:
    db_path = tmp_path / "kb.db"
    first = build(data_copy, db_path)
    path = sorted((data_copy / "claims").glob("*.yml"))[0]
    path.write_text(path.read_text() + "\n# a reviewer's comment\n")
    second = build(data_copy, db_path)
    assert first.build_id != second.build_id
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        row = conn.execute("select value from build_info where key = 'build_id'").fetchone()
    assert row[0] == second.build_id
    assert not list(tmp_path.glob(".kb.db.*.tmp"))


def test_fetched_metadata_fills_gaps_reports_differences_and_flags_retractions(
    data_copy: Path, tmp_path: Path
) -> None:
    """A record written by `kb ingest` never silently overwrites the curated value."""
    aso = "10.1186/s13075-021-02422-0"
    records = data_copy / "fetched" / "records"
    records.mkdir(parents=True)
    (records / f"{doi_slug(aso)}.json").write_text(
        json.dumps(
            {
                "doi": aso,
                "fetched_from": ["crossref"],
                "retrieved_at": "2026-11-24T08:00:00Z",
                "year": 2020,
                "license": "CC BY 4.0",
                "update_status": "retraction",
                "update_notices": [
                    {"doi": "10.1186/test-notice", "type": "retraction", "date": "2026-01-01"}
                ],
            }
        )
    )
    db = sqlite_utils.Database(build(data_copy, tmp_path / "kb.db").db_path)
    source = db["sources"].get(aso)
    assert source["year"] == 2021  # curated value kept
    assert source["license"] == "CC BY 4.0"  # gap filled
    assert source["update_status"] == "retraction"
    diff = db["source_discrepancies"].get((aso, "year"))
    assert (diff["curated"], diff["fetched"], diff["fetched_from"]) == ("2021", "2020", "crossref")
    flags = [r["flag"] for r in db.query("select flag from claims where source_doi = ?", [aso])]
    assert flags and all(f.startswith("source retraction") for f in flags)


def test_format_figure_reads_like_print() -> None:
    assert format_figure({"value": 66, "unit": "%", "qualifier": "up to"}) == "up to 66%"
    assert (
        format_figure(
            {
                "measure": "odds_ratio",
                "value": 3.2,
                "value_low": 1.5,
                "value_high": 6.8,
                "interval": "95% CI",
            }
        )
        == "OR 3.2 (95% CI 1.5–6.8)"
    )
    assert format_figure({"value_low": 14, "value_high": 30, "unit": "%"}) == "14–30%"
    assert (
        format_figure({"measure": "regression_coefficient", "value": 0.08, "p_value": 0.02})
        == "B = 0.08 (p = 0.02)"
    )
    assert format_figure({"value": 1412, "unit": "knees"}) == "1,412 knees"
    assert (
        format_figure({"measure": "ratio", "value_low": 2, "value_high": 5, "unit": "ratio"})
        == "2–5×"
    )
    assert (
        format_figure(
            {
                "value": -313.5,
                "value_low": -4244.7,
                "value_high": 3617.7,
                "unit": "mm³",
                "interval": "95% CI",
            }
        )
        == "−313.5 mm³ (95% CI −4,244.7 to 3,617.7 mm³)"
    )


def test_citation_leaves_unknown_parts_out() -> None:
    assert (
        format_citation({"doi": "10.1016/j.knee.2022.10.004"}) == "doi:10.1016/j.knee.2022.10.004"
    )
    text = format_citation(
        {"doi": "10.1/x", "authors": ["Koji Aso", "David A. Walsh"], "title": "T", "journal": "J", "year": 2021,
         "volume": "23", "issue": "1", "pages": "35"}
    )  # fmt: skip
    assert text == "Aso K, Walsh DA. T. J. 2021;23(1):35. doi:10.1/x"
    assert (
        format_citation({"doi": "10.1/y", "authors": ["Shi X", "Mai Y"]})
        == "Shi X, Mai Y. doi:10.1/y"
    )
    # only the first author was seen: the citation must not pass for a single-author paper
    assert (
        format_citation({"doi": "10.1/z", "authors": ["Felson DT"], "authors_complete": False})
        == "Felson DT, et al. doi:10.1/z"
    )


def test_fetched_author_list_completes_a_partial_one_but_never_replaces_a_different_one() -> None:
    partial = {"doi": "10.1/z", "authors": ["Felson DT"], "authors_complete": False}
    full = ["David T. Felson", "Jingbo Niu", "Ali Guermazi"]
    row, diffs = merge_fetched(partial, {"authors": full, "fetched_from": ["crossref"]})
    assert row["authors"] == full and row["authors_complete"] is None and diffs == []
    row, diffs = merge_fetched(partial, {"authors": ["Jane Doe"], "fetched_from": ["crossref"]})
    assert row["authors"] == ["Felson DT"] and [d["field"] for d in diffs] == ["authors"]
    complete = {"doi": "10.1/z", "authors": ["Felson DT"]}
    row, diffs = merge_fetched(complete, {"authors": full, "fetched_from": ["crossref"]})
    assert row["authors"] == ["Felson DT"] and [d["field"] for d in diffs] == ["authors"]


def test_build_cli_reports_counts(data_copy: Path) -> None:
    result = subprocess.run(
        [*KB, "build", "--data", "data", "--db", "out/kb.db"],
        cwd=data_copy.parent,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "claims" in result.stdout and (data_copy.parent / "out" / "kb.db").exists()


def test_claims_answering_one_question_are_grouped(data_copy: Path, tmp_path: Path) -> None:
    """Two studies' answers to one question are counted on it, and each claim names it."""
    (data_copy / "claims" / "zz-answers.yml").write_text(
        "".join(
            f"- id: answer-{i}\n  statement: answer {i}\n  topic: prevalence\n  measure: prevalence\n"
            f"  value: {60 + i}\n  unit: '%'\n  status: unverified\n  notes: test\n"
            "  question: bml-prevalence-symptomatic-oa\n  curated_on: 2026-11-25\n  curated_by: t\n"
            for i in (1, 2)
        )
    )
    db_path = tmp_path / "q.db"
    build(data_copy, db_path)
    db = sqlite_utils.Database(db_path)
    question = db["questions"].get("bml-prevalence-symptomatic-oa")
    assert question["claim_count"] >= 2
    answers = {r["id"] for r in db["claims"].rows_where("question = ?", [question["id"]])}
    assert {"answer-1", "answer-2"} <= answers
