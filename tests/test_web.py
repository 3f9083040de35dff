"""Datasette serving the KB through `ds.client`: metadata, facets, search, the claim page, the home page,
and curated text that tries to run a script."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path

import httpx
import pytest
import yaml
from datasette.app import Datasette

from kb import build

REPO = Path(__file__).resolve().parents[1]
METADATA = yaml.safe_load((REPO / "metadata.yml").read_text(encoding="utf-8"))
RETRACTED_DOI = "10.1186/s13075-021-02422-0"
SCRIPT = "<script>alert('kb')</script>"


def get(ds: Datasette, path: str, **kwargs) -> httpx.Response:
    return asyncio.run(ds.client.get(path, **kwargs))


@pytest.fixture(scope="module")
def ds(kb_db: Path) -> Datasette:
    return Datasette([str(kb_db)], metadata=METADATA)


def hostile_data(data: Path) -> Path:
    """data/ plus a claim whose text holds a <script>, and a retraction notice on one source."""
    with (data / "claims" / "shi-2023.yml").open("a", encoding="utf-8") as f:
        f.write(
            "\n- id: hostile-script\n"
            f'  statement: "BMLs {SCRIPT} are <b>bold</b>"\n'
            "  topic: mechanism\n  measure: association\n  status: unverified\n"
            f'  notes: "nothing read {SCRIPT}"\n'
            f'  excerpt: "{SCRIPT}"\n'
            "  curated_on: 2026-11-24\n  curated_by: a test\n"
        )
    records = data / "fetched" / "records"
    records.mkdir(parents=True, exist_ok=True)
    (records / "aso-2021.json").write_text(
        json.dumps({"doi": RETRACTED_DOI, "update_status": "retraction",
                    "update_notices": "Retracted by the publisher (test notice)"}),
        encoding="utf-8",
    )  # fmt: skip
    return data


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    data = shutil.copytree(REPO / "data", root / "data")
    db_path = root / "kb.db"
    build(hostile_data(data), db_path)
    return db_path


@pytest.fixture(scope="module")
def hostile_ds(hostile_db: Path) -> Datasette:
    return Datasette([str(hostile_db)], metadata=METADATA)


def test_every_table_and_column_a_reader_sees_is_described(kb_db: Path) -> None:
    import sqlite3

    assert METADATA["title"] and METADATA["license"] and METADATA["source"]
    tables = METADATA["databases"]["kb"]["tables"]
    conn = sqlite3.connect(kb_db)
    visible = [
        name
        for (name,) in conn.execute("select name from sqlite_master where type = 'table'")
        if "_fts" not in name and not tables.get(name, {}).get("hidden")
    ]
    for name in visible:
        assert tables.get(name, {}).get("description"), f"{name} has no description"
        columns = [row[1] for row in conn.execute(f"pragma table_info([{name}])")]
        missing = set(columns) - set(tables[name].get("columns", {}))
        assert not missing, f"{name}: columns without a description: {sorted(missing)}"


def test_facets_status_first_and_the_rest_on_demand(ds: Datasette) -> None:
    data = get(ds, "/kb/claims.json?_size=0").json()
    assert list(data["facet_results"]) == [
        "status",
        "topic",
    ]  # cheap, indexed: every search runs them
    asked = "&".join(f"_facet={n}" for n in ("measure", "study_design", "certainty"))
    data = get(ds, f"/kb/claims.json?_size=0&{asked}&_facet_array=compartments").json()
    facets = data["facet_results"]
    for name in ("status", "topic", "measure", "study_design", "certainty"):
        assert name in facets
    compartments = {r["value"] for r in facets["compartments"]["results"]}
    assert "medial tibiofemoral" in compartments  # array items, not JSON strings
    by_array = get(ds, "/kb/claims.json?_facet_array=compartments&compartments__arraycontains="
                       "medial+tibiofemoral&_shape=array").json()  # fmt: skip
    assert by_array and all(
        "medial tibiofemoral" in json.loads(c["compartments"]) for c in by_array
    )
    sources = get(ds, "/kb/sources.json?_size=0").json()["facet_results"]
    assert {"journal", "year"} <= set(sources)


def test_table_search_works_on_claims_and_sources(ds: Datasette) -> None:
    claims = get(ds, "/kb/claims.json?_search=subchondroplasty&_shape=array").json()
    assert claims and any("subchondroplasty" in c["statement"].lower() for c in claims)
    sources = get(ds, "/kb/sources.json?_search=osteoarthritis&_shape=array").json()
    assert sources


def test_search_query_ranks_and_highlights_and_escapes_user_text(ds: Datasette) -> None:
    rows = get(ds, "/kb/search.json?q=weight+bearing+pain&_shape=array").json()
    assert rows and "<mark>" in rows[0]["snippet"]
    assert all(
        {"claim", "statement", "snippet", "figure", "status", "flag", "source_doi",
         "short_citation"} <= set(r)
        for r in rows
    )  # fmt: skip
    for hostile in ('"', "AND OR NOT", "pain*", "(", "NEAR(", "", "   ", 'a" OR "b'):
        response = get(ds, "/kb/search.json", params={"q": hostile, "_shape": "array"})
        assert response.status_code == 200, (hostile, response.text[:200])
    page = get(ds, "/kb/search", params={"q": "pain"})
    assert page.status_code == 200 and "<mark>" in page.text
    assert 'href="/kb/claims/' in page.text  # each result links to its claim page


def test_claim_page_shows_the_provenance_chain(ds: Datasette) -> None:
    html = get(ds, "/kb/claims/aso2021-medial-wb-pain").text
    assert 'data-status="verified"' in html
    assert 'href="https://doi.org/10.1186/s13075-021-02422-0"' in html
    assert "Arthritis Research &amp; Therapy" in html  # the citation
    assert "no retraction or correction on record" not in html  # nobody looked: say so
    assert re.search(r"data-update-status>\s*not checked yet", html)
    assert "What is a bone marrow lesion?" in html  # the FAQ entry that uses it
    assert "Curated by" in html
    every_field = html[html.index("data-every-field") :]
    assert "data/claims/aso-2021.yml:" in every_field  # for curators, collapsed


def test_claim_page_says_what_was_read_and_when_notices_were_checked(
    data_copy: Path, tmp_path: Path
) -> None:
    import sqlite3

    records = data_copy / "fetched" / "records"
    records.mkdir(parents=True, exist_ok=True)
    (records / "aso-2021.json").write_text(
        json.dumps({"doi": RETRACTED_DOI, "update_status": None,
                    "retrieved_at": "2026-11-20T09:30:00Z", "fetched_from": ["crossref"]}),
        encoding="utf-8",
    )  # fmt: skip
    build(data_copy, tmp_path / "kb.db")
    read_in = "https://pubmed.ncbi.nlm.nih.gov/33468243/"
    conn = sqlite3.connect(tmp_path / "kb.db")
    with conn:
        conn.execute(
            "update claims set verified_against = ?, locator = 'abstract' where id = ?",
            [read_in, "aso2021-medial-wb-pain"],
        )
    ds = Datasette([str(tmp_path / "kb.db")], metadata=METADATA)
    html = get(ds, "/kb/claims/aso2021-medial-wb-pain").text
    assert "Checked against the abstract in the PubMed record" in html  # what was read, in words
    assert f'href="{read_in}"' in html  # and where: a page the reader can open
    assert "not necessarily" not in html  # the box does not undercut itself
    assert "none found in the record fetched 2026-11-20" in html
    source = get(ds, "/kb/claim.json?id=aso2021-medial-wb-pain&_shape=array").json()[0]["source"]
    assert source["update_status"] is None
    assert source["update_checked_at"] == "2026-11-20T09:30:00Z"  # null would mean: never looked
    other = get(ds, "/kb/claim.json?id=felson2001-n-patients&_shape=array").json()[0]["source"]
    assert other["update_status"] is None and other["update_checked_at"] is None


def test_unverified_and_disputed_claims_are_impossible_to_miss(ds: Datasette) -> None:
    html = get(ds, "/kb/claims/article-nerve-fibre-ingrowth").text
    banner = re.search(
        r'<div class="kb-banner kb-warn" data-status="unverified".*?</div>', html, re.S
    )
    assert banner and "Do not present it as established" in banner.group(0)
    assert "No source: no published study we hold gives this figure." in html
    assert "What knee bone marrow lesions signal about OA" in html  # the article that uses it
    disputed = get(ds, "/kb/claims/article-aso-1412-knees-24m").text
    assert 'class="kb-banner kb-bad" data-status="disputed"' in disputed
    table = get(ds, "/kb/claims?status=disputed").text
    assert '<span class="kb-badge kb-bad">disputed</span>' in table
    quote = get(ds, "/kb/claims/article-bml-prevalence-66").text
    assert "No quote recorded." in quote  # said, not left out


def test_home_page_links_everything_a_reader_needs(ds: Datasette) -> None:
    html = get(ds, "/").text
    for href in ('href="/kb/claims"', 'href="/kb/sources"', 'href="/-/faq"', 'action="/kb/search"',
                 'href="/-/check"', 'href="/-/faq.jsonld"'):  # fmt: skip
        assert href in html, href
    assert "verified</span>" in html and "unverified</span>" in html


def test_faq_query_and_faq_table_share_a_name_and_both_stay_reachable(ds: Datasette) -> None:
    # The website's v1 path is the canned query `faq`; Datasette 0.65 gives the name to the query,
    # so the faq table has no page of its own (docs/api.md). Every entry keeps its row page.
    api = get(ds, "/kb/faq.json?_shape=array&_json=claims")
    assert api.status_code == 200 and api.json()[0]["claims"]
    page = get(ds, "/kb/faq").text
    assert "FAQ with the claims and sources behind each answer" in page
    for entry in api.json():
        row = get(ds, f"/kb/faq/{entry['id']}")
        assert row.status_code == 200 and entry["question"] in row.text, entry["id"]
        assert get(ds, f"/kb/faq/{entry['id']}.json?_shape=array").json()[0]["id"] == entry["id"]
    claim_page = get(ds, "/kb/claims/aso2021-medial-wb-pain").text
    for href in re.findall(r'href="(/kb/faq/[^"]+)"', claim_page):  # the claim page links rows
        assert get(ds, href).status_code == 200, href
    docs = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    assert "/kb/faq/<id>" in docs and "the table has no page of its own" in docs


def test_hidden_tables_stay_off_the_database_page(ds: Datasette) -> None:
    tables = {t["name"]: t for t in get(ds, "/kb.json").json()["tables"]}
    assert tables["claims_fts"]["hidden"] and tables["build_info"]["hidden"]
    assert not tables["claims"]["hidden"]


def test_curated_script_is_rendered_inert(hostile_ds: Datasette) -> None:
    for path in ("/kb/claims/hostile-script", "/kb/claims?_search=bold", "/kb/search?q=bold",
                 "/kb/claims?id=hostile-script"):  # fmt: skip
        html = get(hostile_ds, path).text
        assert "bold" in html, path
        assert SCRIPT not in html and "<b>bold</b>" not in html, path
        assert "&lt;script&gt;" in html, path


def test_retracted_source_flags_its_claims(hostile_ds: Datasette) -> None:
    html = get(hostile_ds, "/kb/claims/aso2021-medial-wb-pain").text
    assert 'data-source-flag role="alert"' in html
    assert "Source retraction" in html and "Do not rely on this figure." in html
    row = get(hostile_ds, "/kb/claims/aso2021-medial-wb-pain.json?_shape=array").json()[0]
    assert row["flag"] == "source retraction" and row["source_update_status"] == "retraction"
