"""The website API: the v1 JSON contract, lookups, JSON-LD, and what the ASGI layer adds (CORS,
build-id caching, gzip, the path guard), through `ds.client`."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
from pathlib import Path

import httpx
import pytest
from datasette.app import Datasette
from test_web import METADATA, RETRACTED_DOI, hostile_data

from kb.serve import PUBLIC_SETTINGS
from kb.web.cache import CACHE_ENTRIES
from kb.web.contract import CLAIM_LOOKUP, FAQ_ENTRY, SOURCE_LOOKUP, STATUSES, problems
from kb.web.cors import cors_origins
from kb.web.guard import refused_path

FAQ = "/kb/faq.json?_shape=array&_json=claims"
FAQ_V2 = "/kb/faq_v2.json?_shape=array"


def get(ds: Datasette, path: str, **kwargs) -> httpx.Response:
    return asyncio.run(ds.client.get(path, **kwargs))


def request(ds: Datasette, method: str, path: str, **kwargs) -> httpx.Response:
    return asyncio.run(ds.client.request(method, path, **kwargs))


@pytest.fixture(scope="module")
def ds(kb_db: Path) -> Datasette:
    return Datasette([str(kb_db)], metadata=METADATA)


@pytest.fixture(scope="module")
def public_ds(kb_db: Path) -> Datasette:
    """As `kb serve --public` runs it: the database immutable."""
    return Datasette(immutables=[str(kb_db)], metadata=METADATA,
                     settings={"default_cache_ttl": 300})  # fmt: skip


@pytest.fixture(scope="module")
def retracted_ds(tmp_path_factory: pytest.TempPathFactory) -> Datasette:
    import shutil

    from kb import build

    root = tmp_path_factory.mktemp("retracted")
    data = shutil.copytree(Path(__file__).resolve().parents[1] / "data", root / "data")
    build(hostile_data(data), root / "kb.db")
    return Datasette([str(root / "kb.db")], metadata=METADATA)


def public_settings() -> dict:
    """PUBLIC_SETTINGS as Datasette's constructor takes them."""
    return {k: int(v) if v.isdigit() else v == "on" for k, v in PUBLIC_SETTINGS.items()}


def build_id(db: Path) -> str:
    conn = sqlite3.connect(db)
    return conn.execute("select value from build_info where key = 'build_id'").fetchone()[0]


# ---------------------------------------------------------------- the contract


def test_faq_matches_the_v1_contract(ds: Datasette, kb_db: Path) -> None:
    response = get(ds, FAQ)
    assert response.status_code == 200
    entries = response.json()
    assert len(entries) == sqlite3.connect(kb_db).execute("select count(*) from faq").fetchone()[0]
    for entry in entries:
        assert problems(entry, FAQ_ENTRY) == [], entry["id"]
    assert entries[0]["article"]["title"]  # an object even though only _json=claims was asked for


def test_contract_check_fails_when_a_field_disappears_or_changes_type(ds: Datasette) -> None:
    entry = get(ds, FAQ).json()[0]
    gone = {k: v for k, v in entry.items() if k != "question"}
    assert problems(gone, FAQ_ENTRY) == ["$.question: missing"]
    retyped = {**entry, "claims": [{**entry["claims"][0], "status": 1}]}
    assert problems(retyped, FAQ_ENTRY) == ["$.claims[0].status: expected str, got int"]
    nested = {**entry, "claims": [{**entry["claims"][0], "source": {"doi": "x"}}]}
    assert problems(nested, FAQ_ENTRY)


def test_faq_is_in_display_order_and_filters_by_article_and_id(ds: Datasette, kb_db: Path) -> None:
    conn = sqlite3.connect(kb_db)
    expected = [r[0] for r in conn.execute("select id from faq order by article_id, position, id")]
    assert [e["id"] for e in get(ds, FAQ).json()] == expected
    article = conn.execute("select article_id from faq limit 1").fetchone()[0]
    one_article = get(ds, f"{FAQ}&article={article}").json()
    assert one_article and {e["article"]["id"] for e in one_article} == {article}
    assert get(ds, f"{FAQ}&article=no-such-article").json() == []
    assert [e["id"] for e in get(ds, f"{FAQ}&id={expected[1]}").json()] == [expected[1]]


def test_unverified_claims_are_shown_with_their_status_never_as_verified(ds: Datasette) -> None:
    entries = get(ds, FAQ).json()
    claims = [c for e in entries for c in e["claims"]]
    assert {c["status"] for c in claims} <= set(STATUSES)
    assert any(c["status"] == "unverified" for c in claims)
    for e in entries:
        weak = [c["id"] for c in e["claims"] if c["flag"]]
        assert (e["evidence_status"] == "verified") == (not weak and bool(e["claims"])), e["id"]
        for c in e["claims"]:
            assert (c["status"] != "verified") <= bool(c["flag"]), c["id"]


def test_a_retracted_source_is_flagged_in_the_faq(retracted_ds: Datasette) -> None:
    entries = get(retracted_ds, FAQ).json()
    hit = [
        c for e in entries for c in e["claims"] if (c["source"] or {}).get("doi") == RETRACTED_DOI
    ]
    assert hit
    for c in hit:
        assert c["source"]["update_status"] == "retraction"
        assert c["flag"].startswith("source retraction")
    uses = [e for e in entries if any(c in hit for c in e["claims"])]
    assert uses and all(e["evidence_status"] != "verified" for e in uses)
    doc = get(retracted_ds, "/-/faq.jsonld").json()
    cited = json.dumps(doc)
    assert RETRACTED_DOI not in cited  # a retracted paper is never cited as support


def test_claim_and_source_lookups(ds: Datasette, kb_db: Path) -> None:
    claim_id, doi = (
        sqlite3.connect(kb_db)
        .execute(
            "select id, source_doi from claims where source_doi is not null order by id limit 1"
        )
        .fetchone()
    )
    claim = get(ds, f"/kb/claim.json?id={claim_id}&_shape=array").json()
    assert len(claim) == 1 and problems(claim[0], CLAIM_LOOKUP) == []
    source = get(ds, f"/kb/source.json?doi={doi.upper()}&_shape=array").json()
    assert len(source) == 1 and problems(source[0], SOURCE_LOOKUP) == []
    assert claim_id in source[0]["claim_ids"]
    assert get(ds, "/kb/claim.json?id=no-such-claim&_shape=array").json() == []
    row = get(ds, f"/kb/claims/{claim_id}.json?_shape=array").json()
    assert row[0]["id"] == claim_id  # Datasette's own row JSON works too


def test_faq_json_ld_is_a_faqpage_citing_articles_by_doi(ds: Datasette) -> None:
    response = get(ds, "/-/faq.jsonld?article=bml-signal")
    assert response.headers["content-type"].startswith("application/ld+json")
    assert "<" not in response.text  # safe to paste into a <script> element
    doc = response.json()
    assert doc["@context"] == "https://schema.org" and doc["@type"] == "FAQPage"
    assert doc["url"].startswith("https://")
    assert len(doc["mainEntity"]) == len(get(ds, f"{FAQ}&article=bml-signal").json())
    citations = []
    for q in doc["mainEntity"]:
        assert q["@type"] == "Question" and q["name"]
        assert q["acceptedAnswer"]["@type"] == "Answer" and q["acceptedAnswer"]["text"]
        citations += q["acceptedAnswer"].get("citation", [])
    assert citations
    for c in citations:
        assert c["@type"] == "MedicalScholarlyArticle"
        assert c["identifier"]["propertyID"] == "DOI" and c["@id"].startswith("https://doi.org/10.")


# ---------------------------------------------------------------- the ASGI layer


def test_cors_only_for_json_and_only_for_allowed_origins(ds: Datasette) -> None:
    site = {"Origin": "https://amsk.co.uk"}
    ok = get(ds, FAQ, headers=site)
    assert ok.headers["access-control-allow-origin"] == "https://amsk.co.uk"
    assert "Origin" in ok.headers["vary"]
    other = get(ds, FAQ, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    html = get(ds, "/kb/faq", headers=site)
    assert "access-control-allow-origin" not in html.headers


def test_preflight_is_answered_for_json_only(ds: Datasette) -> None:
    ask = {"Origin": "https://amsk.co.uk", "Access-Control-Request-Method": "GET",
           "Access-Control-Request-Headers": "if-none-match"}  # fmt: skip
    ok = request(ds, "OPTIONS", "/kb/faq.json", headers=ask)
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == "https://amsk.co.uk"
    assert "GET" in ok.headers["access-control-allow-methods"]
    refused = request(ds, "OPTIONS", "/kb/faq.json", headers={**ask, "Origin": "https://x.example"})
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    html = request(ds, "OPTIONS", "/kb/faq", headers=ask)
    assert "access-control-allow-origin" not in html.headers


def test_origins_come_from_env_then_config_then_default(kb_db: Path, monkeypatch) -> None:
    assert cors_origins(None, None) == ("https://amsk.co.uk",)
    assert cors_origins(None, ["https://a.example/"]) == ("https://a.example",)
    assert cors_origins("https://b.example, https://c.example", ["https://a.example"]) == (
        "https://b.example", "https://c.example")  # fmt: skip
    monkeypatch.setenv("KB_CORS_ORIGINS", "https://b.example")
    env_ds = Datasette([str(kb_db)], metadata=METADATA)
    allowed = get(env_ds, FAQ, headers={"Origin": "https://b.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://b.example"
    assert (
        "access-control-allow-origin"
        not in get(env_ds, FAQ, headers={"Origin": "https://amsk.co.uk"}).headers
    )


def test_public_json_is_cacheable_by_build_and_revalidates_with_304(
    public_ds: Datasette, kb_db: Path
) -> None:
    first = get(public_ds, FAQ)
    build = build_id(kb_db)
    assert first.headers["x-kb-build"] == build
    assert first.headers["etag"] == f'W/"kb-{build}"'
    assert first.headers["cache-control"] == "public, max-age=300"
    again = get(public_ds, FAQ, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    stale = get(public_ds, FAQ, headers={"If-None-Match": 'W/"kb-0000"'})
    assert stale.status_code == 200


def test_development_json_names_its_build_but_is_not_cached(ds: Datasette, kb_db: Path) -> None:
    response = get(ds, FAQ)
    assert response.headers["x-kb-build"] == build_id(kb_db)
    assert "etag" not in response.headers


def test_gzip_when_asked_and_large_enough(ds: Datasette) -> None:
    big = get(ds, FAQ, headers={"Accept-Encoding": "gzip"})
    assert big.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in big.headers["vary"]
    assert big.json()  # httpx decodes it
    plain = get(ds, FAQ, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    small = get(ds, "/kb/claim.json?id=none&_shape=array", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers  # under 1 KB: not worth it


def test_backslash_paths_are_refused() -> None:
    for raw in (b"/\\example.com/", b"/%5Cexample.com/", b"/%5cexample.com", b"//example.com/"):
        assert refused_path(raw, raw.decode().replace("%5C", "\\").replace("%5c", "\\")), raw
    assert not refused_path(b"/kb/claims", "/kb/claims")
    assert not refused_path(b"/kb/sources/10~2E1186~2Fs13075", "/kb/sources/10~2E1186~2Fs13075")


def test_docs_describe_every_endpoint_and_contract_field() -> None:
    import importlib.util

    from kb.web.contract import CLAIM, SOURCE

    repo = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("gen_api_docs", repo / "scripts/gen_api_docs.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    fresh = gen.render(repo / "data")
    docs = (repo / "docs" / "api.md").read_text(encoding="utf-8")
    requests = [line for line in fresh.splitlines() if line.startswith("GET ")]
    assert len(requests) == len(gen.ENDPOINTS)
    for line in requests:
        assert line.split("?")[0] in docs, f"docs/api.md lacks {line}: run scripts/gen_api_docs.py"
    for field in [*FAQ_ENTRY, *CLAIM, *SOURCE, *CLAIM_LOOKUP, *SOURCE_LOOKUP]:
        assert f'"{field}"' in docs, field
    assert "new path" in docs  # the versioning rule
    assert "**`flag` is the field that decides**" in docs
    assert "tests/fixtures/api-contract.json" in docs


def test_head_then_get_returns_the_whole_body(kb_db: Path) -> None:
    ds = Datasette(immutables=[str(kb_db)], metadata=METADATA, settings=public_settings())
    for path in (
        FAQ,
        f"{FAQ}&id=what-is-a-bml",
        "/kb/claim.json?id=aso2021-medial-wb-pain&_shape=array",
    ):
        head = request(ds, "HEAD", path)
        assert head.status_code == 200 and head.content == b"", path
        full = get(ds, path)
        assert full.status_code == 200 and full.json(), path
        assert get(ds, path).content == full.content, path


def test_304_only_where_a_200_would_be_sent(kb_db: Path) -> None:
    ds = Datasette(immutables=[str(kb_db)], metadata=METADATA, settings=public_settings())
    etag = get(ds, FAQ).headers["etag"]
    for tag in ("*", etag):
        ask = {"If-None-Match": tag}
        assert get(ds, "/kb.json?sql=select+1", headers=ask).status_code == 403
        assert get(ds, "/kb/nosuch.json", headers=ask).status_code == 404
        assert get(ds, "/kb/claim.json?_shape=array&id=x", headers=ask).status_code == 304
        for path in (FAQ, f"{FAQ}&id=what-is-a-bml"):  # cached, and not yet cached
            assert get(ds, path, headers=ask).status_code == 304, (tag, path)


def test_the_faq_stays_cached_whatever_else_is_asked(kb_db: Path) -> None:
    ds = Datasette(immutables=[str(kb_db)], metadata=METADATA, settings=public_settings())
    assert get(ds, FAQ).headers.get("x-kb-cache") == "hit"  # warmed on the first request
    for i in range(CACHE_ENTRIES + 20):  # more distinct searches than the cache holds
        assert get(ds, f"/kb/search.json?_shape=array&q=pain+{i}").status_code == 200
    for path in (FAQ, "/-/faq.jsonld", "/-/faq.jsonld?article=bml-signal",
                 "/kb/faq.json?_json=claims&_shape=array"):  # fmt: skip
        assert get(ds, path).headers.get("x-kb-cache") == "hit", path


SLOW = "with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c"


def test_a_flood_of_slow_searches_cannot_starve_the_api(kb_db: Path) -> None:
    """20 requests that each hold an SQL thread for the whole time limit; meanwhile the website asks
    for the FAQ with a cache-busting parameter, and for a claim the cache has not seen (it needs a
    query): both are answered at once; the flood queues or gets 503."""
    kb = METADATA["databases"]["kb"]
    metadata = {**METADATA, "databases": {"kb": {**kb, "queries": {**kb["queries"], "slow": SLOW}}}}
    ds = Datasette(immutables=[str(kb_db)], metadata=metadata, settings=public_settings())

    async def scenario():
        await ds.client.get("/")  # startup and warming

        async def timed(path: str):
            await asyncio.sleep(0.1)  # the flood holds every slot by now
            t0 = time.perf_counter()
            response = await ds.client.get(path)
            return response, time.perf_counter() - t0

        flood = [ds.client.get(f"/kb/slow.json?_shape=array&n={i}") for i in range(20)]
        return await asyncio.gather(
            timed(f"{FAQ}&_bust=1"),
            timed("/kb/claim.json?_shape=array&id=aso2021-medial-wb-pain"),
            *flood,
        )

    (faq, faq_s), (claim, claim_s), *flood = asyncio.run(scenario())
    assert faq.status_code == 200 and faq.json() and faq.headers["x-kb-cache"] == "hit"
    assert claim.status_code == 200 and claim.json() and claim.headers["x-kb-cache"] == "miss"
    assert faq_s < 0.5, f"the FAQ waited {faq_s:.2f} s behind slow searches"
    assert claim_s < 0.5, f"the claim lookup waited {claim_s:.2f} s behind slow searches"
    assert {r.status_code for r in flood} <= {400, 503}  # 400: the time limit stopped it
    busy = [r for r in flood if r.status_code == 503]
    assert busy and all(r.headers["retry-after"] == "1" for r in busy)


def test_api_parameters_it_does_not_read_cannot_bust_the_cache(kb_db: Path) -> None:
    ds = Datasette(immutables=[str(kb_db)], metadata=METADATA, settings=public_settings())
    first = get(ds, FAQ)
    for path in (f"{FAQ}&_bust=1", f"{FAQ}&zzz=2&_json=claims&_json=nosuch", f"{FAQ}&_size=3",
                 "/kb/faq.json?_json=claims&_shape=array&_timelimit=1"):  # fmt: skip
        again = get(ds, path)
        assert again.headers["x-kb-cache"] == "hit" and again.content == first.content, path
    one = get(ds, f"{FAQ}&id=what-is-a-bml&id=how-common-are-bmls&_bust=3").json()
    assert [e["id"] for e in one] == ["what-is-a-bml"]  # the first of a repeated parameter
    ld = get(ds, "/-/faq.jsonld?article=bml-signal&_bust=4")
    assert ld.headers["x-kb-cache"] == "hit"


DISPUTED = "article-aso-1412-knees-24m"


def test_flagged_claims_are_never_presented_as_established(data_copy: Path, tmp_path: Path) -> None:
    """A FAQ answer resting on a disputed claim and on a verified claim from a retracted source:
    the FAQ JSON keeps the retracted one's status `verified` but flags it, evidence_status names
    both with the reason, and the JSON-LD neither cites the retracted paper nor states the answer
    as plain fact."""
    import yaml

    from kb import build

    hostile_data(data_copy)  # a retraction notice on RETRACTED_DOI (aso2021-* claims rest on it)
    faq_file = data_copy / "faq.yml"
    entries = yaml.safe_load(faq_file.read_text(encoding="utf-8"))
    entry = next(e for e in entries if "aso2021-medial-wb-pain" in e["claims"])
    entry["claims"].append(DISPUTED)
    faq_file.write_text(yaml.safe_dump(entries, sort_keys=False), encoding="utf-8")
    build(data_copy, tmp_path / "kb.db")
    ds = Datasette([str(tmp_path / "kb.db")], metadata=METADATA)

    faq = {e["id"]: e for e in get(ds, FAQ).json()}[entry["id"]]
    claims = {c["id"]: c for c in faq["claims"]}
    retracted = claims["aso2021-medial-wb-pain"]
    assert retracted["status"] == "verified" and retracted["flag"] == "source retraction"
    disputed = claims[DISPUTED]
    assert disputed["status"] == "disputed" and "disputed" in disputed["flag"]
    assert faq["evidence_status"] != "verified"
    assert "aso2021-medial-wb-pain (source retraction)" in faq["evidence_status"]
    assert f"{DISPUTED} ({disputed['flag']})" in faq["evidence_status"]

    v2 = get(ds, f"{FAQ_V2}&id={entry['id']}").json()[0]
    assert v2["evidence_status"] == "flagged"  # data, not prose
    evidence = {e["claim_id"]: e for e in v2["evidence"]}
    assert evidence["aso2021-medial-wb-pain"]["reason_code"] == "source_retraction"
    assert evidence[DISPUTED]["status"] == "disputed"  # from the same retracted source:
    assert evidence[DISPUTED]["reason_code"] == "source_retraction"  # the serious notice wins
    assert v2["evidence_note"] and "caution" in v2["evidence_note"]

    doc = get(ds, "/-/faq.jsonld").json()
    by_id = {q["identifier"]: q["acceptedAnswer"] for q in doc["mainEntity"]}
    answer = by_id[entry["id"]]
    assert answer["text"] == f"{faq['answer']} {v2['evidence_note']}"  # one wording, from the view
    cited = {c["identifier"]["value"] for c in answer.get("citation", [])}
    assert RETRACTED_DOI not in cited
    unflagged = {c["source"]["doi"] for c in faq["claims"] if not c["flag"] and c["source"]}
    assert cited <= unflagged  # only the sources of claims with no flag
    for e in get(ds, FAQ_V2).json():  # the rule for every answer
        flagged = any(c["flag"] for c in e["claims"])
        assert (e["evidence_status"] != "verified") == flagged, e["id"]
        assert by_id[e["id"]]["text"].endswith(e["evidence_note"] or e["answer"]), e["id"]


# ---------------------------------------------------------------- the frozen contract (snapshot)

SNAPSHOT = Path(__file__).parent / "fixtures" / "api-contract.json"
JSON_TYPES = {type(None): "null", bool: "boolean", int: "integer", float: "number", str: "string",
              list: "array", dict: "object"}  # fmt: skip


def _steps(path: str) -> list[str]:
    """`$[].claims[].source` -> ["[]", "claims", "[]", "source"]."""
    return [key or "[]" for key, _ in re.findall(r"\.([^.\[]+)|(\[\])", path[1:])]


def _values(doc, steps: list[str]):
    values = [doc]
    for step in steps:
        if step == "[]":
            values = [item for v in values if isinstance(v, list) for item in v]
        else:
            values = [v[step] for v in values if isinstance(v, dict) and step in v]
    return values


def snapshot_departures(fields: dict[str, list[str]], doc) -> list[str]:
    """Where doc loses a field of the snapshot, gives one a type it does not list, or has a field
    the snapshot does not know (new fields must be added to it, so they are frozen too)."""
    out = []
    for path, types in fields.items():
        steps = _steps(path)
        if not steps:
            found = [JSON_TYPES[type(doc)]]
        elif steps[-1] == "[]":
            found = [JSON_TYPES[type(v)] for v in _values(doc, steps)]
        else:
            parents = [p for p in _values(doc, steps[:-1]) if isinstance(p, dict)]
            found = [
                JSON_TYPES[type(p[steps[-1]])] if steps[-1] in p else "absent" for p in parents
            ]
        out += [f"{path}: {t} (the contract says {types})" for t in sorted(set(found) - set(types))]

    def walk(value, path: str) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                if f"{path}.{key}" not in fields:
                    out.append(f"{path}.{key}: not in the contract snapshot")
                walk(sub, f"{path}.{key}")
        elif isinstance(value, list):
            for item in value:
                walk(item, f"{path}[]")

    walk(doc, "$")
    return out


def test_responses_keep_every_field_and_type_of_the_committed_snapshot(
    ds: Datasette, retracted_ds: Datasette
) -> None:
    endpoints = json.loads(SNAPSHOT.read_text(encoding="utf-8"))["endpoints"]
    assert {"faq", "claim", "source", "search", "faq.jsonld"} <= set(endpoints)
    retracted_claim = "/kb/claim.json?_shape=array&id=aso2021-medial-wb-pain"
    for name, spec in endpoints.items():
        for server in (ds, retracted_ds):
            for path in (spec["request"], retracted_claim if name == "claim" else None):
                if path is None:
                    continue
                response = get(server, path)
                assert response.status_code == 200, path
                doc = response.json()
                assert doc, f"{path}: empty, so nothing was checked"
                assert snapshot_departures(spec["fields"], doc) == [], path


def test_the_snapshot_check_catches_a_lost_or_retyped_field(ds: Datasette) -> None:
    fields = json.loads(SNAPSHOT.read_text(encoding="utf-8"))["endpoints"]["faq"]["fields"]
    entries = get(ds, FAQ).json()
    lost = [{k: v for k, v in e.items() if k != "question"} for e in entries]
    assert snapshot_departures(fields, lost) == [
        "$[].question: absent (the contract says ['string'])"
    ]
    claim = entries[0]["claims"][0]
    retyped = [{**entries[0], "claims": [{**claim, "status": 1}]}]
    assert snapshot_departures(fields, retyped) == [
        "$[].claims[].status: integer (the contract says ['string'])"
    ]
    grown = [{**entries[0], "new_field": "x"}]
    assert snapshot_departures(fields, grown) == ["$[].new_field: not in the contract snapshot"]
