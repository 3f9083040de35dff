"""`kb ingest` against a hostile stand-in: the wrong paper, redirects away, drips, floods, bombs.

A fetched record is stored only if it is the record asked for, and no server can make ingest wait
without end or fill memory or `data/fetched/`.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import subprocess
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import KB, REPO
from test_ingest import crossref_work, openalex_work, recorded

from ingest import ingest
from ingest.client import MAX_BODY_BYTES
from ingest.doi_org import CSL_JSON
from ingest.standin import Canned, StandIn
from ingest.store import record_path
from kb import build

FAST = {"timeout": 2.0, "tries": 2, "backoff": 0.05}
DOI = "10.1016/j.knee.2022.10.004"  # the subchondroplasty review
OTHER = "10.9999/canine.hindlimb.2019"


@pytest.fixture
def stand_in_limits() -> tuple[int, float, int]:
    return (50, 1.0, 5)


@pytest.fixture
def elsewhere() -> Iterator[StandIn]:
    """Another set of hosts, serving a good-looking record for DOI: where no redirect may lead."""
    server = StandIn().start()
    server.add("crossref", DOI, crossref_work(DOI, title=["Served from elsewhere"]))
    yield server
    server.stop()


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# ---------------------------------------------------------------- the record asked for (item 9)


def csl_of(doi: str) -> Canned:
    csl = json.loads(recorded("doi_org/csl_10.1126_science.169.3946.635.json").body)
    return Canned(body=json.dumps({**csl, "DOI": doi}).encode(), content_type=CSL_JSON)


def test_a_crossref_record_of_another_doi_is_never_saved(stand_in: StandIn, tmp_path: Path) -> None:
    stand_in.add("crossref", DOI, crossref_work(OTHER))
    result = ingest([DOI], tmp_path, **FAST)
    outcome = result.outcomes[0]
    assert outcome.status == "failed" and result.exit_code == 1
    assert OTHER in outcome.errors[0] and outcome.errors[0].startswith("crossref:")
    assert stand_in.count("crossref") == 1  # the service's failure: not asked again
    assert not (tmp_path / "fetched").exists()


def test_a_crossref_record_of_another_doi_never_replaces_the_good_one(
    stand_in: StandIn, tmp_path: Path
) -> None:
    stand_in.add("crossref", DOI, crossref_work(DOI))
    assert ingest([DOI], tmp_path, **FAST).outcomes[0].status == "fetched"
    before = files_under(tmp_path)
    stand_in.add("crossref", DOI, crossref_work(OTHER.upper()))  # not the same after normalising
    again = ingest([DOI], tmp_path, refresh=True, **FAST)
    assert again.outcomes[0].status == "failed" and OTHER in again.outcomes[0].errors[0].lower()
    assert files_under(tmp_path) == before


def test_the_same_doi_spelled_differently_is_the_record_asked_for(
    stand_in: StandIn, tmp_path: Path
) -> None:
    stand_in.add("crossref", DOI, crossref_work(DOI.upper()))
    stand_in.add("openalex", DOI, openalex_work(DOI.upper()))
    outcome = ingest([DOI], tmp_path, **FAST).outcomes[0]
    assert outcome.status == "fetched" and outcome.fetched_from == ["crossref", "openalex"]


def test_an_openalex_work_of_another_doi_is_left_out(stand_in: StandIn, tmp_path: Path) -> None:
    stand_in.add("crossref", DOI, crossref_work(DOI))
    stand_in.add("openalex", DOI, openalex_work(OTHER))
    outcome = ingest([DOI], tmp_path, **FAST).outcomes[0]
    assert outcome.status == "partial" and outcome.fetched_from == ["crossref"]
    assert (
        outcome.errors[0].startswith("openalex: unexpected answer") and OTHER in outcome.errors[0]
    )
    record = json.loads(record_path(tmp_path, DOI).read_text())
    assert record["fetched_from"] == ["crossref"] and "pmid" not in record
    assert not (tmp_path / "fetched" / "openalex").exists()


@pytest.mark.parametrize("doi_in_answer", [OTHER, None])
def test_a_doi_org_record_of_another_or_no_doi_is_never_saved(
    stand_in: StandIn, tmp_path: Path, doi_in_answer: str | None
) -> None:
    body = json.loads(csl_of(DOI).body)
    if doi_in_answer:
        body["DOI"] = doi_in_answer
    else:
        del body["DOI"]
    stand_in.add("doi.org", DOI, Canned(body=json.dumps(body).encode(), content_type=CSL_JSON))
    outcome = ingest([DOI], tmp_path, **FAST).outcomes[0]
    assert outcome.status == "failed" and outcome.errors[0].startswith("doi.org: unexpected")
    assert not (tmp_path / "fetched").exists()


# ---------------------------------------------------------------- redirects (item 10)


def test_crossref_redirecting_to_another_host_is_a_failure(
    stand_in: StandIn, elsewhere: StandIn, tmp_path: Path
) -> None:
    away = f"{elsewhere.base}/works/{DOI}"
    stand_in.add("crossref", DOI, Canned(302, b"", "text/html", {"Location": away}))
    result = ingest([DOI], tmp_path, **FAST)
    outcome = result.outcomes[0]
    assert outcome.status == "failed" and "not one of crossref's hosts" in outcome.errors[0]
    assert elsewhere.count() == 0
    assert not (tmp_path / "fetched").exists()


def test_doi_org_may_send_us_to_crossref_but_nowhere_else(
    stand_in: StandIn, elsewhere: StandIn, tmp_path: Path
) -> None:
    sent_on, sent_away = "10.5555/to.crossref", DOI
    stand_in.add("doi.org", sent_on, csl_of(sent_on))
    stand_in.redirect_doi(sent_away, f"{elsewhere.base}/v1/works/{sent_away}/transform")
    result = ingest([sent_on, sent_away], tmp_path, **FAST)
    status = {o.doi: o for o in result.outcomes}
    assert status[sent_on].status == "fetched" and status[sent_on].fetched_from == ["doi.org"]
    assert status[sent_away].status == "failed"
    assert "not one of doi.org's hosts" in status[sent_away].errors[0]
    assert elsewhere.count() == 0 and not record_path(tmp_path, sent_away).exists()


# ---------------------------------------------------------------- time (item 11)


@pytest.mark.parametrize("from_status_line", [False, True], ids=["body", "status line"])
def test_a_server_that_drips_a_byte_a_second_times_out(
    stand_in: StandIn, tmp_path: Path, from_status_line: bool
) -> None:
    good = crossref_work(DOI).body
    stand_in.add("crossref", DOI, Canned(body=good, drip=0.5, drip_headers=from_status_line))
    started = time.monotonic()
    result = ingest([DOI], tmp_path, timeout=1.0, tries=1)
    elapsed = time.monotonic() - started
    outcome = result.outcomes[0]
    assert outcome.status == "failed" and "timed out" in outcome.errors[0]
    assert not (tmp_path / "fetched").exists()
    assert elapsed < 8  # the whole answer would take minutes to drip


def test_the_time_spent_on_one_doi_is_bounded(stand_in: StandIn, tmp_path: Path) -> None:
    """Every attempt times out: the retries stop when the DOI's time is spent, not after 20."""
    stand_in.add("crossref", DOI, Canned(body=b"{}", delay=2.0))
    result = ingest([DOI], tmp_path, timeout=0.3, tries=20, backoff=0.01, per_doi=1.0)
    outcome = result.outcomes[0]
    assert outcome.status == "failed" and "this DOI's time is spent" in outcome.errors[0]
    assert 2 <= stand_in.count("crossref") <= 5
    assert not result.offline


# ---------------------------------------------------------------- size (item 12)


def gzip_bomb(decoded_mb: int) -> bytes:
    """A gzip body of a JSON-looking prefix and `decoded_mb` MB of spaces (about 1000:1)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [packer.compress(b'{"status": "ok", "message": "')]
    block = b" " * (1 << 20)
    parts += [packer.compress(block) for _ in range(decoded_mb)]
    return b"".join(parts) + packer.flush()


HUGE = {
    "50 MB with its length": Canned(body=b" " * (1 << 20), repeat=50),
    "50 MB without a length": Canned(body=b" " * (1 << 20), repeat=50, length=False),
    "gzip bomb": Canned(body=gzip_bomb(300), headers={"Content-Encoding": "gzip"}),
}


@pytest.mark.parametrize("canned", HUGE.values(), ids=list(HUGE))
def test_a_huge_answer_is_refused_while_it_streams(
    stand_in: StandIn, tmp_path: Path, canned: Canned
) -> None:
    stand_in.add("crossref", DOI, canned)
    tracemalloc.start()
    try:
        result = ingest([DOI], tmp_path, timeout=10.0, tries=2, backoff=0.05)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    outcome = result.outcomes[0]
    assert outcome.status == "failed" and "response too large" in outcome.errors[0]
    assert stand_in.count("crossref") == 1  # the same answer again would be as large
    assert peak < 3 * MAX_BODY_BYTES  # never the whole body, let alone its decoded size
    assert not (tmp_path / "fetched").exists()


def test_a_gzip_answer_of_a_normal_size_is_read(stand_in: StandIn, tmp_path: Path) -> None:
    body = gzip.compress(crossref_work(DOI).body)
    stand_in.add("crossref", DOI, Canned(body=body, headers={"Content-Encoding": "gzip"}))
    assert ingest([DOI], tmp_path, **FAST).outcomes[0].status == "fetched"


# ---------------------------------------------------------------- text stays text (item 8)

MARKUP = "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_fetched_titles_and_abstracts_stay_text_through_the_build(
    stand_in: StandIn, data_copy: Path
) -> None:
    doi = "10.1186/s13075-021-02422-0"  # a curated source: its record reaches the build
    title = f"Bone marrow {MARKUP}lesions in <i>knee</i> &amp;lt;b&amp;gt;OA"
    abstract = (
        "<jats:sec><jats:title>Background</jats:title><jats:p>Lesions &lt; 5 mm "
        f"&lt;img src=x onerror=alert(1)&gt; were {MARKUP}common.</jats:p></jats:sec>"
    )
    journal = f"Arthritis {MARKUP}Research"
    stand_in.add("crossref", doi, crossref_work(
        doi, title=[title], abstract=abstract, **{"container-title": [journal]},
        author=[{"given": "Koji", "family": f"Aso{MARKUP}"}],
    ))  # fmt: skip
    outcome = ingest([doi], data_copy, **FAST).outcomes[0]
    assert outcome.status == "fetched"
    record = json.loads(record_path(data_copy, doi).read_text())
    assert record["title"] == "Bone marrow lesions in knee &lt;b&gt;OA"
    assert record["abstract"] == "Background: Lesions < 5 mm were common."
    assert record["journal"] == "Arthritis Research"
    assert "<script" not in json.dumps(record) and "<img" not in json.dumps(record)

    db_path = data_copy.parent / "kb.db"
    build(data_copy, db_path)
    db = sqlite3.connect(db_path)
    text = json.dumps(db.execute("select * from sources where doi = ?", [doi]).fetchall())
    assert "<script" not in text and "<img" not in text and "alert(1)" not in text
    assert "Lesions < 5 mm" in text  # a comparison is text, and stays


def test_the_build_reads_a_stored_record_as_text(data_copy: Path) -> None:
    """A record stored by an older ingest, or edited by hand, never puts markup in the KB."""
    doi = "10.1186/s13075-021-02422-0"
    path = record_path(data_copy, doi)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "doi": doi, "retrieved_at": "2026-01-01T00:00:00Z", "fetched_from": ["crossref"],
        "abstract": "<p>Real text</p><script>alert(1)</script><img src=x onerror=alert(1)>",
        "publisher": "<b>BioMed</b> Central", "update_notices": [], "update_status": None,
        "pmid": "<svg onload=alert(1)>",
    }))  # fmt: skip
    db_path = data_copy.parent / "kb.db"
    build(data_copy, db_path)
    row = (
        sqlite3.connect(db_path)
        .execute("select abstract, publisher, pmid from sources where doi = ?", [doi])
        .fetchone()
    )
    assert "<" not in json.dumps(row) and "alert(1)" not in json.dumps(row)
    assert row[0].startswith("Real text")


def test_the_command_line_bounds_each_doi(stand_in: StandIn, tmp_path: Path) -> None:
    stand_in.add("crossref", DOI, Canned(body=b"{}", delay=2.0))
    result = subprocess.run(
        [*KB, "ingest", DOI, "--data", str(tmp_path), "--timeout", "0.3", "--tries", "20",
         "--per-doi", "1"],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, **stand_in.env()}, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "this DOI's time is spent" in result.stdout
    assert stand_in.count("crossref") <= 5


def test_an_endless_article_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [*KB, "ingest", "--from-article", "/dev/zero", "--data", str(tmp_path)],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "/dev/zero: more than 1,000,000 characters: not an article" in result.stderr


def test_what_a_killed_ingest_left_is_swept(stand_in: StandIn, tmp_path: Path) -> None:
    proc = subprocess.Popen(["true"])
    proc.wait()
    records = tmp_path / "fetched" / "records"
    records.mkdir(parents=True)
    left = records / f".10.5555_x.json.140000.{proc.pid}.tmp"  # thread id, then process id
    running = records / f".10.5555_y.json.140000.{os.getpid()}.tmp"  # this one is still running
    for path in (left, running):
        path.write_text("{")
    stand_in.add("crossref", DOI, crossref_work(DOI))
    assert ingest([DOI], tmp_path, **FAST).outcomes[0].status == "fetched"
    assert not left.exists() and running.exists()
