"""`kb ingest` against a loopback stand-in serving recorded responses: pacing, faults, files, build."""

from __future__ import annotations

import copy
import email.utils
import json
import re
import socket
import sqlite3
import subprocess
import time
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from conftest import KB, REPO, free_port

from ingest import ingest
from ingest.doi_org import CSL_JSON
from ingest.report import render_text
from ingest.standin import CROSSREF, OPENALEX, Canned, StandIn, work_list
from ingest.store import raw_path, record_path
from kb import build

FIXTURES = Path(__file__).parent / "fixtures"
TEMPLATE = json.loads((FIXTURES / "crossref/works_10.1002_jor.1100150407.json").read_text())
FAST = {"timeout": 2.0, "tries": 3, "backoff": 0.05}
ASO = "10.1186/s13075-021-02422-0"  # one of our sources, with claims in data/claims/aso-2021.yml


def recorded(name: str) -> Canned:
    """A recorded body with the status and content type it was served with."""
    path = FIXTURES / name
    meta = json.loads(path.with_name(path.name.rsplit(".", 1)[0] + ".meta.json").read_text())
    headers = {k.lower(): v[0] for k, v in meta["response"]["headers"].items()}
    # the CSL-JSON recording kept no content-type; Crossref's transform serves it as below
    ctype = headers.get("content-type", "application/vnd.citationstyles.csl+json")
    return Canned(meta["response"]["status"]["code"], path.read_bytes(), ctype)


def crossref_work(doi: str, **changes: object) -> Canned:
    """A Crossref-shaped /works/{doi} response built from a recorded one (for DOIs none recorded)."""
    body = copy.deepcopy(TEMPLATE)
    body["message"]["DOI"] = doi
    body["message"].update(changes)
    return Canned(body=json.dumps(body).encode())


def openalex_work(doi: str) -> Canned:
    """A recorded OpenAlex Work, as the answer about `doi` (for DOIs none recorded)."""
    work = json.loads(
        (FIXTURES / "openalex/works_doi_10.1371_journal.pone.0000030.json").read_text()
    )
    return Canned(body=json.dumps({**work, "doi": f"https://doi.org/{doi}"}).encode())


def notice_work(notice_doi: str, *updates: dict) -> dict:
    """A Crossref notice work (a retraction, a correction...), shaped like the recorded works,
    whose `update-to` points at the works it updates."""
    work = copy.deepcopy(TEMPLATE["message"])
    for key in ("abstract", "reference", "author", "updated-by"):
        work.pop(key, None)
    label = updates[0]["type"].replace("_", " ").capitalize()
    work.update(DOI=notice_doi, title=[f"{label} notice"], **{"update-to": list(updates)})
    return work


def update_to(target: str, kind: str, source: str = "publisher", **extra: object) -> dict:
    """One `update-to` entry as Crossref serves it (Retraction Watch adds a `record-id`)."""
    updated = {"date-parts": [[2026, 2, 1]], "date-time": "2026-02-01T00:00:00Z",
               "timestamp": 1769904000000}  # fmt: skip
    label = kind.replace("_", " ").capitalize()
    return {"updated": updated, "DOI": target, "type": kind, "source": source, "label": label,
            **extra}  # fmt: skip


def run_kb(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [*KB, *args], capture_output=True, text=True, cwd=REPO, env={**os.environ, **env},
        timeout=60,
    )  # fmt: skip


# ---------------------------------------------------------------- pacing


@pytest.mark.parametrize("limits", [(20, 1.0, 3), (6, 1.0, 1)])
def test_requests_keep_to_the_advertised_rate_and_concurrency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limits: tuple[int, float, int]
) -> None:
    # two Crossref requests per DOI (the work, the notices that update it): more than one window
    dois = [f"10.5555/pace.{i}" for i in range(limits[0] // 2 + 4)]
    with StandIn(limits={"crossref": limits, "openalex": limits}) as server:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        for doi in dois:
            server.add("crossref", doi, crossref_work(doi))
        started = time.monotonic()
        result = ingest(dois, tmp_path / "data", **FAST)
        elapsed = time.monotonic() - started
    assert result.count("fetched") == len(dois)
    assert server.count("crossref") == server.count("updates") == server.count("openalex")
    for host in (CROSSREF, OPENALEX):
        assert server.max_in_window(host, limits[1]) <= limits[0]
        assert server.max_in_flight(host) <= limits[2]
    assert elapsed >= limits[1]  # more requests than one window allows: pacing had to wait
    assert elapsed < 4 * server.count(CROSSREF) / limits[0] * limits[1]


def test_doi_org_fallbacks_served_by_crossref_share_its_pace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """doi.org redirects to Crossref's transform endpoint: those requests count against Crossref."""
    limits = (10, 1.0, 2)
    in_crossref = [f"10.5555/mix.{i}" for i in range(6)]
    elsewhere = [f"10.5555/other.{i}" for i in range(6)]  # Crossref 404 -> doi.org -> transform
    csl = json.loads(recorded("doi_org/csl_10.1126_science.169.3946.635.json").body)
    with StandIn(limits={"crossref": limits, "openalex": (50, 1.0, 10)}) as server:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        for doi in in_crossref:
            server.add("crossref", doi, crossref_work(doi))
        for doi in elsewhere:
            body = json.dumps({**csl, "DOI": doi}).encode()
            server.add("doi.org", doi, Canned(body=body, content_type=CSL_JSON))
        mixed = [d for pair in zip(in_crossref, elsewhere, strict=True) for d in pair]
        result = ingest(mixed, tmp_path, **FAST)
    assert result.count("fetched") == len(in_crossref) + len(elsewhere)
    assert server.count("transform") == len(elsewhere)
    assert server.max_in_window(CROSSREF, limits[1]) <= limits[0]
    assert server.max_in_flight(CROSSREF) <= limits[2]


# ---------------------------------------------------------------- faults


def test_429_with_retry_after_seconds_then_success(stand_in: StandIn, tmp_path: Path) -> None:
    doi = "10.1038/srep16696"
    busy = recorded("openalex/error_429_10.1038_hdy.2013.26.html")  # an HTML body: never parsed
    busy.headers = {"Retry-After": "1"}
    stand_in.add("crossref", doi, busy, recorded("crossref/works_10.1038_srep16696.json"))
    result = ingest([doi], tmp_path, **FAST)
    assert result.outcomes[0].status == "fetched"
    hits = [h.at for h in stand_in.hits if h.service == "crossref"]
    assert len(hits) == 2 and hits[1] - hits[0] >= 1.0


def test_429_with_retry_after_http_date(stand_in: StandIn, tmp_path: Path) -> None:
    doi = "10.1038/srep16696"
    busy = recorded("openalex/error_429_10.1038_hdy.2013.26.html")
    # 3 s ahead, to the second: the wait is still over 1 s when the requests before it were slow
    busy.headers = {"Retry-After": email.utils.formatdate(time.time() + 3, usegmt=True)}
    stand_in.add("openalex", doi, busy, openalex_work(doi))
    stand_in.add("crossref", doi, recorded("crossref/works_10.1038_srep16696.json"))
    result = ingest([doi], tmp_path, **FAST)
    assert result.outcomes[0].fetched_from == ["crossref", "openalex"]
    hits = [h.at for h in stand_in.hits if h.service == "openalex"]
    assert len(hits) == 2 and hits[1] - hits[0] >= 0.9  # the date has whole-second precision


def test_503_then_success(stand_in: StandIn, tmp_path: Path) -> None:
    doi = "10.1371/journal.pone.0033693"
    unavailable = Canned(503, b"<html><body>Service Unavailable</body></html>", "text/html")
    stand_in.add(
        "crossref", doi, unavailable, recorded("crossref/works_10.1371_journal.pone.0033693.json")
    )
    result = ingest([doi], tmp_path, **FAST)
    assert result.outcomes[0].status == "fetched"
    assert result.outcomes[0].update_status == "correction"
    assert stand_in.count("crossref") == 2


def test_a_timeout_is_retried_and_a_dead_service_fails_alone(
    stand_in: StandIn, tmp_path: Path
) -> None:
    slow_then_ok, always_slow = "10.1038/srep16696", "10.1136/esmoopen-2020-000776"
    good = recorded("crossref/works_10.1038_srep16696.json")
    stand_in.add("crossref", slow_then_ok, Canned(body=good.body, delay=1.0), good)
    stand_in.add("crossref", always_slow, Canned(body=b"{}", delay=1.0))
    result = ingest([slow_then_ok, always_slow], tmp_path, timeout=0.3, tries=2, backoff=0.05)
    status = {o.doi: o for o in result.outcomes}
    assert status[slow_then_ok].status == "fetched"
    assert status[always_slow].status == "failed"
    assert "timed out" in status[always_slow].errors[0]
    assert not record_path(tmp_path, always_slow).exists()
    assert result.exit_code == 1


def test_truncated_json_is_retried_and_never_saved(stand_in: StandIn, tmp_path: Path) -> None:
    doi = "10.1136/jclinpath-2020-206745"
    good = recorded("crossref/works_10.1136_jclinpath-2020-206745.json")
    cut = Canned(body=good.body[: len(good.body) // 2])
    stand_in.add("crossref", doi, cut, good)
    assert ingest([doi], tmp_path, **FAST).outcomes[0].status == "fetched"
    before = {p: p.read_bytes() for p in (tmp_path / "fetched").rglob("*.json")}

    stand_in.add("crossref", doi, cut)  # from now on only ever truncated
    again = ingest([doi], tmp_path, refresh=True, **FAST)
    assert again.outcomes[0].status == "failed" and "invalid JSON" in again.outcomes[0].errors[0]
    after = {p: p.read_bytes() for p in (tmp_path / "fetched").rglob("*") if p.is_file()}
    assert after == before  # the good files are untouched, no temporary file is left behind


def test_a_refresh_while_a_service_fails_keeps_what_it_said_before(
    stand_in: StandIn, tmp_path: Path
) -> None:
    doi = "10.1371/journal.pone.0000030"
    work = json.loads(recorded("openalex/works_doi_10.1371_journal.pone.0000030.json").body)
    stand_in.add("crossref", doi, crossref_work(doi))
    stand_in.add("openalex", doi, Canned(body=json.dumps({**work, "is_retracted": True}).encode()))
    assert ingest([doi], tmp_path, **FAST).outcomes[0].status == "fetched"
    before = json.loads(record_path(tmp_path, doi).read_text())
    assert before["pmid"] == "17183658" and before["update_status"] == "retraction"
    stored = raw_path(tmp_path, "openalex", doi).read_bytes()

    stand_in.add("crossref", doi, crossref_work(doi, volume="99"))  # Crossref has news
    stand_in.add("openalex", doi, Canned(503, b"<html>Service Unavailable</html>", "text/html"))
    again = ingest([doi], tmp_path, refresh=True, **FAST)
    outcome = again.outcomes[0]
    assert again.exit_code == 1 and outcome.status == "partial"
    assert outcome.errors[0].startswith("openalex: HTTP 503")
    assert "openalex: HTTP 503" in render_text(again)
    record = json.loads(record_path(tmp_path, doi).read_text())
    assert record["volume"] == "99"  # what answered this time is taken
    assert record["pmid"] == "17183658" and record["update_status"] == "retraction"
    assert record["fetched_from"] == ["crossref", "openalex"]
    assert raw_path(tmp_path, "openalex", doi).read_bytes() == stored

    # not asking OpenAlex is not forgetting what it said
    quiet = ingest([doi], tmp_path, refresh=True, use_openalex=False, **FAST)
    assert quiet.outcomes[0].status == "unchanged" and quiet.exit_code == 0
    assert json.loads(record_path(tmp_path, doi).read_text()) == record


def test_a_crossref_404_for_a_doi_it_answered_before_changes_nothing(
    stand_in: StandIn, tmp_path: Path
) -> None:
    doi = "10.1038/srep16696"
    stand_in.add("crossref", doi, recorded("crossref/works_10.1038_srep16696.json"))
    assert ingest([doi], tmp_path, **FAST).outcomes[0].status == "fetched"
    before = {p: p.read_bytes() for p in (tmp_path / "fetched").rglob("*") if p.is_file()}
    stand_in.add("crossref", doi, recorded("crossref/works_404_10.1371_notarealdoi.txt"))
    again = ingest([doi], tmp_path, refresh=True, **FAST)
    assert again.outcomes[0].status == "failed" and again.exit_code == 1
    assert "HTTP 404" in again.outcomes[0].errors[0] and "kept" in again.outcomes[0].errors[0]
    assert {p: p.read_bytes() for p in (tmp_path / "fetched").rglob("*") if p.is_file()} == before


WRONG_SHAPES = {
    "crossref failed": ("crossref", {"status": "failed", "message": []}),
    "crossref list": ("crossref", json.loads(work_list([]))),
    "crossref message not a work": ("crossref", {"status": "ok", "message-type": "work",
                                                 "message": "10.1371/journal.pone.0000030"}),
    "openalex list": ("openalex", {"meta": {"count": 0}, "results": []}),
}  # fmt: skip


@pytest.mark.parametrize("service, body", WRONG_SHAPES.values(), ids=list(WRONG_SHAPES))
def test_a_200_of_the_wrong_shape_is_a_failure_and_overwrites_nothing(
    stand_in: StandIn, tmp_path: Path, service: str, body: dict
) -> None:
    doi = "10.1371/journal.pone.0000030"
    stand_in.add("crossref", doi, crossref_work(doi))
    stand_in.add("openalex", doi, recorded("openalex/works_doi_10.1371_journal.pone.0000030.json"))
    assert ingest([doi], tmp_path, **FAST).outcomes[0].status == "fetched"
    before = {p: p.read_bytes() for p in (tmp_path / "fetched").rglob("*") if p.is_file()}

    stand_in.add(service, doi, Canned(body=json.dumps(body).encode()))
    hits = stand_in.count(service)
    again = ingest([doi], tmp_path, refresh=True, **FAST)
    outcome = again.outcomes[0]
    assert again.exit_code == 1 and outcome.status in ("failed", "partial")
    assert outcome.errors[0].startswith(f"{service}: unexpected answer")
    assert stand_in.count(service) == hits + 1  # not a transient fault: asked once
    after = {p: p.read_bytes() for p in (tmp_path / "fetched").rglob("*") if p.is_file()}
    assert after == before


def test_a_doi_found_nowhere(stand_in: StandIn, tmp_path: Path) -> None:
    stand_in.add(
        "crossref", "10.1371/notarealdoi", recorded("crossref/works_404_10.1371_notarealdoi.txt")
    )
    stand_in.add(
        "openalex", "10.1371/notarealdoi",
        recorded("openalex/error_404_10.1371_journal.pmed.0030277.g001.html"),
    )  # fmt: skip
    result = ingest(["10.1371/notarealdoi"], tmp_path, **FAST)
    outcome = result.outcomes[0]
    assert outcome.status == "not_found" and result.exit_code == 1
    assert [h.service for h in stand_in.hits] == ["crossref", "doi.org", "openalex"]
    assert not (tmp_path / "fetched").exists()


def test_a_400_is_not_retried_and_has_no_fallback(stand_in: StandIn, tmp_path: Path) -> None:
    doi = "10.1371/journal.pone.0033693"
    stand_in.add("crossref", doi, recorded("crossref/works_400_validation_failure.json"))
    result = ingest([doi], tmp_path, **FAST)
    assert result.outcomes[0].status == "failed" and "HTTP 400" in result.outcomes[0].errors[0]
    assert [h.service for h in stand_in.hits] == ["crossref"]


def test_crossref_404_falls_back_to_doi_org_content_negotiation(
    stand_in: StandIn, tmp_path: Path
) -> None:
    doi = "10.1126/science.169.3946.635"
    stand_in.add("doi.org", doi, recorded("doi_org/csl_10.1126_science.169.3946.635.json"))
    result = ingest([doi], tmp_path, **FAST)
    assert result.outcomes[0].status == "fetched"
    assert [h.service for h in stand_in.hits] == ["crossref", "doi.org", "transform", "openalex"]
    record = json.loads(record_path(tmp_path, doi).read_text())
    assert (
        record["fetched_from"] == ["doi.org"]
        and record["title"] == "The Structure of Ordinary Water"
    )
    raw = json.loads(raw_path(tmp_path, "doi.org", doi).read_text())
    assert raw["status"] == 200 and raw["url"].endswith(
        f"/v1/works/{quote(doi, safe='')}/transform"
    )
    assert not raw_path(tmp_path, "crossref", doi).exists()  # the 404 is not kept


def test_a_notice_listed_by_crossref_flags_a_work_whose_record_does_not_say_so(
    stand_in: StandIn, tmp_path: Path
) -> None:
    silent, linked = "10.5555/retracted.silently", "10.5555/retracted.linked"
    notice_doi = "10.5555/retraction.notice"
    stand_in.add("crossref", silent, crossref_work(silent))  # no `updated-by` in its own record
    stand_in.add("updates", silent, Canned(body=work_list([
        notice_work(notice_doi, update_to(silent, "retraction"),
                    update_to(silent, "retraction", "retraction-watch", **{"record-id": 61234})),
        notice_work("10.5555/other.notice", update_to("10.5555/someone.else", "correction")),
    ])))  # fmt: skip
    # the same notice in the work's `updated-by` and in the list counts once
    stand_in.add("crossref", linked, crossref_work(linked, **{"updated-by": [
        update_to(notice_doi, "retraction")]}))  # fmt: skip
    stand_in.add("updates", linked, Canned(body=work_list([
        notice_work(notice_doi, update_to(linked, "retraction", "retraction-watch",
                                          **{"record-id": 61234})),
    ])))  # fmt: skip
    result = ingest([silent, linked], tmp_path, **FAST)
    expected = {"doi": notice_doi, "type": "retraction", "date": "2026-02-01",
                "source": "publisher, retraction-watch", "record_id": "61234"}  # fmt: skip
    for outcome in result.outcomes:
        assert outcome.status == "fetched" and outcome.update_status == "retraction"
        assert outcome.update_notices == [expected]
        record = json.loads(record_path(tmp_path, outcome.doi).read_text())
        assert record["update_status"] == "retraction"
        raw = json.loads(raw_path(tmp_path, "crossref-updates", outcome.doi).read_text())
        assert raw["body"]["message-type"] == "work-list"
    assert stand_in.count("updates") == 2
    assert f"updates:{silent}" in unquote(
        next(h.path for h in stand_in.hits if h.service == "updates")
    )

    hits = stand_in.count()
    assert ingest([silent], tmp_path, **FAST).requests == 0 and stand_in.count() == hits


# ---------------------------------------------------------------- files and cache


def test_files_follow_the_contract_and_a_warm_rerun_sends_nothing(
    stand_in: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_OPENALEX_API_KEY", "secret-key")
    doi = "10.1371/journal.pone.0000030"
    stand_in.add("crossref", doi, crossref_work(doi))
    stand_in.add("openalex", doi, recorded("openalex/works_doi_10.1371_journal.pone.0000030.json"))
    first = ingest(
        ["HTTPS://DOI.ORG/10.1371/JOURNAL.PONE.0000030".lower()],
        tmp_path,
        mailto="kb@example.org",
        **FAST,
    )
    assert first.outcomes[0].status == "fetched"
    assert "api_key=secret-key" in stand_in.hits[-1].path

    record = json.loads(record_path(tmp_path, doi).read_text())
    assert record["doi"] == doi and record["fetched_from"] == ["crossref", "openalex"]
    assert record["retrieved_at"].endswith("Z") and record["pmid"] == "17183658"
    assert record["update_status"] is None and record["update_notices"] == []
    for service in ("crossref", "openalex"):
        raw = json.loads(raw_path(tmp_path, service, doi).read_text())
        assert set(raw) == {"doi", "service", "url", "status", "retrieved_at", "headers", "body"}
        assert raw["status"] == 200 and "secret-key" not in raw["url"]
    assert "mailto=kb%40example.org" in stand_in.hits[0].path

    hits = stand_in.count()
    warm = ingest([doi], tmp_path, **FAST)
    assert warm.requests == 0 and stand_in.count() == hits
    assert warm.outcomes[0].status == "cached" and warm.exit_code == 0

    refreshed = ingest([doi], tmp_path, refresh=True, **FAST)
    assert refreshed.outcomes[0].status == "unchanged"
    assert (
        json.loads(record_path(tmp_path, doi).read_text()) == record
    )  # not even retrieved_at moved


def test_dois_that_differ_only_in_punctuation_get_their_own_files(
    stand_in: StandIn, tmp_path: Path
) -> None:
    underscore, parenthesis = "10.1002/ab_c", "10.1002/ab(c"
    stand_in.add("crossref", underscore, crossref_work(underscore, title=["Underscore"]))
    stand_in.add("crossref", parenthesis, crossref_work(parenthesis, title=["Parenthesis"]))
    assert ingest([underscore], tmp_path, **FAST).outcomes[0].status == "fetched"
    second = ingest([parenthesis], tmp_path, **FAST)
    assert second.outcomes[0].status == "fetched" and second.requests > 0
    assert record_path(tmp_path, underscore) != record_path(tmp_path, parenthesis)
    for doi, title in ((underscore, "Underscore"), (parenthesis, "Parenthesis")):
        record = json.loads(record_path(tmp_path, doi).read_text())
        assert (record["doi"], record["title"]) == (doi, title)

    # a record file that holds another DOI (renamed, copied by hand) is never served as cached
    plain = "10.1038/srep16696"
    stand_in.add("crossref", plain, recorded("crossref/works_10.1038_srep16696.json"))
    record_path(tmp_path, plain).write_bytes(record_path(tmp_path, underscore).read_bytes())
    third = ingest([plain], tmp_path, **FAST)
    assert third.outcomes[0].status == "fetched" and third.requests > 0
    assert json.loads(record_path(tmp_path, plain).read_text())["doi"] == plain


def test_no_network_says_so_and_changes_nothing(data_copy: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    env = {"KB_CROSSREF_URL": closed, "KB_OPENALEX_URL": closed, "KB_DOI_URL": closed}
    before = sorted(p for p in data_copy.rglob("*"))
    result = run_kb("ingest", "--all", "--data", str(data_copy), "--tries", "2", env=env)
    assert result.returncode == 1
    assert "no network" in result.stdout and "nothing under data/ was changed" in result.stdout
    assert sorted(p for p in data_copy.rglob("*")) == before


def test_an_unreachable_host_is_no_network_too(data_copy: Path) -> None:
    """Connections that time out (a dropped SYN, a dead route) get the same verdict as refused ones."""
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(0)
        url = f"http://127.0.0.1:{hole.getsockname()[1]}"
        queued = [
            socket.socket() for _ in range(3)
        ]  # fill the accept queue: later SYNs are dropped
        for sock in queued:
            sock.setblocking(False)
            sock.connect_ex(hole.getsockname())
        env = {"KB_CROSSREF_URL": url, "KB_OPENALEX_URL": url, "KB_DOI_URL": url}
        before = sorted(p for p in data_copy.rglob("*"))
        started = time.monotonic()
        result = run_kb("ingest", "--all", "--data", str(data_copy), "--timeout", "0.3", env=env)
        elapsed = time.monotonic() - started
        for sock in queued:
            sock.close()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no network" in result.stdout and "timed out" in result.stdout
    assert result.stderr.count("timed out") <= 1  # not one line per DOI
    assert sorted(p for p in data_copy.rglob("*")) == before
    assert elapsed < 10


def test_a_200_that_is_not_json_is_a_failure_asked_once(stand_in: StandIn, tmp_path: Path) -> None:
    doi = "10.1038/srep16696"
    maintenance = b"<html><body>Down for maintenance</body></html>"
    stand_in.add("crossref", doi, Canned(body=maintenance, content_type="text/html"))
    result = ingest([doi], tmp_path, **FAST)
    assert result.outcomes[0].status == "failed" and result.exit_code == 1
    assert "expected JSON, got 'text/html'" in result.outcomes[0].errors[0]
    assert stand_in.count("crossref") == 1
    assert not (tmp_path / "fetched").exists()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    for args in (["ingest"], ["ingest", "not-a-doi"], ["ingest", "--from-article", "missing.yml"]):
        result = run_kb(*args, "--data", str(tmp_path), env={})
        assert result.returncode == 2, (args, result.stderr)
    garbage = run_kb("ingest", "doi 10.1186", "--data", str(tmp_path), env={})
    assert garbage.returncode == 2 and "not a DOI: 'doi 10.1186'" in garbage.stderr


@pytest.mark.parametrize("how", ["--all", "explicit"])
def test_a_malformed_sources_yml_is_reported_with_its_line(
    stand_in: StandIn, data_copy: Path, how: str
) -> None:
    sources = data_copy / "sources.yml"
    lines = sources.read_text().splitlines(keepends=True)
    line = next(i for i, text in enumerate(lines) if text.startswith("  title:")) + 1
    lines[line - 1] = "  title: [an unclosed list\n"
    sources.write_text("".join(lines))
    args = ["--all"] if how == "--all" else [ASO]
    result = run_kb("ingest", *args, "--data", str(data_copy), env=stand_in.env())
    assert result.returncode == 2, result.stdout + result.stderr
    assert re.search(rf"data/sources\.yml:{line + 1}: YAML syntax error", result.stderr)
    assert stand_in.count() == 0 and not (data_copy / "fetched").exists()

    sources.write_text("doi: 10.1186/s13075-021-02422-0\n")  # a mapping, not a list of sources
    result = run_kb("ingest", *args, "--data", str(data_copy), env=stand_in.env())
    assert result.returncode == 2
    assert "data/sources.yml:1: expected a list of source records" in result.stderr


def test_a_source_without_a_valid_doi_is_reported_by_all(data_copy: Path) -> None:
    sources = data_copy / "sources.yml"
    text = sources.read_text()
    line = text[: text.index("- doi: ")].count("\n") + 1
    sources.write_text(text.replace("- doi: 10.1016/", "- doi: 10.1016 ", 1))  # a lost slash
    result = run_kb("ingest", "--all", "--data", str(data_copy), env={})
    assert result.returncode == 2
    assert f"data/sources.yml:{line}: doi: not a DOI" in result.stderr


def test_dois_from_an_article_yaml_or_text(tmp_path: Path) -> None:
    from ingest import collect_dois

    article = REPO / "data/articles/bml-signal.yml"
    from_yaml = collect_dois([], article, False, REPO / "data")
    assert ASO in from_yaml and len(from_yaml) == len(set(from_yaml)) >= 5
    text = tmp_path / "article.md"
    text.write_text(
        "See https://doi.org/10.1186/S13075-021-02422-0. Also (doi:10.1002/art.22851), "
        "and again 10.1186/s13075-021-02422-0; (Lancet, 10.1016/S0140-6736(02)07283-5).\n"
    )
    given = ["doi 10.7326/0003-4819-134-7-200104030-00007", "https://www.doi.org/10.1000%2Fabc"]
    assert collect_dois(given, text, False, tmp_path) == [
        "10.7326/0003-4819-134-7-200104030-00007", "10.1000/abc", ASO, "10.1002/art.22851",
        "10.1016/s0140-6736(02)07283-5",
    ]  # fmt: skip


# ---------------------------------------------------------------- the build sees it


def test_differences_are_reported_and_curated_values_kept(
    stand_in: StandIn, data_copy: Path
) -> None:
    stand_in.add("crossref", ASO, crossref_work(
        ASO, title=["A different title"], issued={"date-parts": [[2020, 12, 1]]},
        **{"published-print": {"date-parts": [[2020, 12]]}},
        volume="23", author=[{"given": "Koji", "family": "Aso"}],
    ))  # fmt: skip
    sources = (data_copy / "sources.yml").read_bytes()
    result = run_kb("ingest", ASO, "--data", str(data_copy), "--no-openalex", env=stand_in.env())
    assert result.returncode == 0, result.stderr
    assert f"{ASO}  year: curated 2021 | fetched 2020" in result.stdout
    assert (
        f"{ASO}  title: curated" in result.stdout and "fetched A different title" in result.stdout
    )
    assert "authors" in result.stdout and "volume" not in result.stdout
    assert (data_copy / "sources.yml").read_bytes() == sources

    db_path = data_copy.parent / "kb.db"
    build(data_copy, db_path)
    db = sqlite3.connect(db_path)
    assert db.execute("select year from sources where doi = ?", [ASO]).fetchone() == (2021,)
    fields = {
        r[0] for r in db.execute("select field from source_discrepancies where doi = ?", [ASO])
    }
    assert {"year", "title", "authors"} <= fields


def test_a_retraction_flags_every_claim_of_the_source(stand_in: StandIn, data_copy: Path) -> None:
    notice = {"DOI": "10.1186/s13075-099-00000-0", "type": "retraction",
              "updated": {"date-parts": [[2026, 2, 1]]}}  # fmt: skip
    stand_in.add("crossref", ASO, crossref_work(ASO, **{"updated-by": [
        {**notice, "source": "publisher", "label": "Retraction"},
        {**notice, "source": "retraction-watch", "record-id": 61234},
    ]}))  # fmt: skip
    result = run_kb("ingest", ASO, "--data", str(data_copy), "--json", env=stand_in.env())
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)["outcomes"][0]
    assert outcome["update_status"] == "retraction"
    assert outcome["update_notices"] == [{
        "doi": "10.1186/s13075-099-00000-0", "type": "retraction", "date": "2026-02-01",
        "source": "publisher, retraction-watch", "record_id": "61234",
    }]  # fmt: skip
    text = run_kb("ingest", ASO, "--data", str(data_copy), env=stand_in.env()).stdout
    assert f"{ASO}  RETRACTION" in text

    db_path = data_copy.parent / "kb.db"
    build(data_copy, db_path)
    db = sqlite3.connect(db_path)
    claims = db.execute(
        "select flag, source_update_status from claims where source_doi = ?", [ASO]
    ).fetchall()
    assert claims and all(
        status == "retraction" and "source retraction" in flag for flag, status in claims
    )
