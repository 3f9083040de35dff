"""The real `kb serve` over HTTP on loopback: the site end to end, and `kb serve --public` hardened
(one test per item of the hardening list)."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
from urllib.parse import urlsplit

import httpx
from datasette.app import Datasette
from test_web import METADATA

from kb.serve import PUBLIC_SETTINGS

FAQ = "/kb/faq.json?_shape=array&_json=claims"


def raw_get(base: str, path: bytes) -> tuple[int, dict[str, str]]:
    """Send path exactly as given (httpx would normalise it); return status and headers."""
    url = urlsplit(base)
    with socket.create_connection((url.hostname, url.port), timeout=10) as s:
        s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
    return int(head[0].split()[1]), {k.lower(): v for k, v in headers.items()}


def test_kb_serve_end_to_end(kb_server: str) -> None:
    with httpx.Client(base_url=kb_server, timeout=10) as client:
        home = client.get("/")
        assert home.status_code == 200 and "Fact-check a draft" in home.text
        facet = client.get("/kb/claims.json?status=unverified&_shape=array&_size=max").json()
        assert facet and {c["status"] for c in facet} == {"unverified"}
        page = client.get(f"/kb/claims/{facet[0]['id']}")
        assert 'data-status="unverified"' in page.text
        faq = client.get(FAQ, headers={"Origin": "https://amsk.co.uk"})
        assert faq.status_code == 200 and faq.json()[0]["claims"]
        assert faq.headers["access-control-allow-origin"] == "https://amsk.co.uk"
        assert client.get("/-/faq.jsonld").json()["@type"] == "FAQPage"


def test_public_refuses_arbitrary_sql(public_server: str) -> None:
    for path in ("/kb?sql=select+1", "/kb.json?sql=select+1", "/kb/claims.json?_where=1=1"):
        assert httpx.get(public_server + path, timeout=10).status_code == 403, path


def test_public_refuses_database_download(public_server: str) -> None:
    assert httpx.get(f"{public_server}/kb.db", timeout=10).status_code == 403


def test_public_refuses_csv_streaming_of_whole_tables(public_server: str) -> None:
    assert httpx.get(f"{public_server}/kb/claims.csv?_stream=on", timeout=10).status_code == 400
    rows = httpx.get(f"{public_server}/kb/claims.csv?_size=max", timeout=10).text.splitlines()
    assert len(rows) - 1 <= int(PUBLIC_SETTINGS["max_returned_rows"])


def test_public_bounds_sql_time(public_server: str, kb_db) -> None:
    served = httpx.get(f"{public_server}/-/settings.json", timeout=10).json()
    assert served["sql_time_limit_ms"] == int(PUBLIC_SETTINGS["sql_time_limit_ms"]) <= 1000
    # The same settings stop a runaway query: a canned query that would never end.
    endless = (
        "with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c"
    )
    metadata = {**METADATA, "databases": {"kb": {**METADATA["databases"]["kb"],
                "queries": {"endless": endless}}}}  # fmt: skip
    settings = {k: int(v) if v.isdigit() else v == "on" for k, v in PUBLIC_SETTINGS.items()}
    ds = Datasette([str(kb_db)], metadata=metadata, settings=settings)
    started = time.monotonic()
    response = asyncio.run(ds.client.get("/kb/endless.json?_timelimit=999999"))
    assert response.status_code == 400 and "too long" in response.text
    assert time.monotonic() - started < 2.0


def test_public_refuses_backslash_redirects(public_server: str) -> None:
    for path in (b"/\\example.com/", b"/%5Cexample.com/", b"/%5cexample.com", b"//example.com/"):
        status, headers = raw_get(public_server, path)
        assert status == 400 and "location" not in headers, path
    status, headers = raw_get(public_server, b"/kb/claims/")  # an ordinary trailing slash
    assert status == 302 and headers["location"] == "/kb/claims"


def test_public_escapes_user_text_where_it_is_echoed(public_server: str) -> None:
    hostile = "<script>alert(1)</script>"
    for path, params in (("/kb/claims", {"_search": hostile}), ("/kb/search", {"q": hostile}),
                         ("/kb/claims", {"status": hostile}), (f"/kb/{hostile}", {})):  # fmt: skip
        response = httpx.get(public_server + path, params=params, timeout=10)
        assert hostile not in response.text, path
    ld = httpx.get(f"{public_server}/-/faq.jsonld", params={"article": hostile}, timeout=10)
    assert ld.headers["content-type"].startswith("application/ld+json") and "<" not in ld.text


def test_public_json_cache_headers_build_id_and_304(public_server: str) -> None:
    first = httpx.get(public_server + FAQ, timeout=10)
    build = first.headers["x-kb-build"]
    assert first.headers["etag"] == f'W/"kb-{build}"'
    assert first.headers["cache-control"].startswith("public, max-age=")
    again = httpx.get(public_server + FAQ, headers={"If-None-Match": first.headers["etag"]},
                      timeout=10)  # fmt: skip
    assert again.status_code == 304 and again.headers["x-kb-build"] == build
    html = httpx.get(f"{public_server}/kb/faq", timeout=10)
    assert "etag" not in html.headers and "access-control-allow-origin" not in html.headers


def test_public_gzips_json(public_server: str) -> None:
    with httpx.stream("GET", public_server + FAQ, headers={"Accept-Encoding": "gzip"},
                      timeout=10) as response:  # fmt: skip
        body = b"".join(response.iter_raw())
        assert response.headers["content-encoding"] == "gzip"
    plain = httpx.get(public_server + FAQ, headers={"Accept-Encoding": "identity"}, timeout=10)
    assert gzip.decompress(body) == plain.content and len(body) < len(plain.content) / 2


def test_public_cors_preflight(public_server: str) -> None:
    ask = {"Origin": "https://amsk.co.uk", "Access-Control-Request-Method": "GET"}
    ok = httpx.options(f"{public_server}/kb/faq.json", headers=ask, timeout=10)
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == ask["Origin"]
    evil = httpx.options(f"{public_server}/kb/faq.json", headers={**ask, "Origin": "https://e.x"},
                         timeout=10)  # fmt: skip
    assert evil.status_code == 403


def test_public_head_then_get_returns_the_whole_body(public_server: str) -> None:
    for path in (f"{FAQ}&id=what-is-a-bml", "/kb/claim.json?id=aso2021-medial-wb-pain&_shape=array",
                 "/kb/source.json?doi=10.1186/s13075-021-02422-0&_shape=array"):  # fmt: skip
        head = httpx.head(public_server + path, timeout=10)
        assert head.status_code == 200 and head.content == b"", path
        get = httpx.get(public_server + path, timeout=10)
        assert get.status_code == 200 and get.json(), path
        again = httpx.get(public_server + path, timeout=10)  # now from the cache
        assert again.content == get.content and again.headers["x-kb-cache"] == "hit", path
        head_hit = httpx.head(public_server + path, timeout=10)
        assert head_hit.status_code == 200 and head_hit.content == b"", path
        assert head_hit.headers["content-length"] == str(len(get.content)), path


def test_public_304_only_where_a_200_would_be_sent(public_server: str) -> None:
    etag = httpx.get(public_server + FAQ, timeout=10).headers["etag"]
    for tag in ("*", etag):
        ask = {"If-None-Match": tag}
        refused = httpx.get(f"{public_server}/kb.json?sql=select+1", headers=ask, timeout=10)
        assert refused.status_code == 403, tag
        missing = httpx.get(f"{public_server}/kb/nosuch.json", headers=ask, timeout=10)
        assert missing.status_code == 404, tag
        no_row = httpx.get(f"{public_server}/kb/claims/no-such-claim.json", headers=ask, timeout=10)
        assert no_row.status_code == 404, tag
        fresh = httpx.get(f"{public_server}{FAQ}&id=why-do-bmls-hurt", headers=ask, timeout=10)
        assert fresh.status_code == 304 and fresh.content == b"", tag  # a 200: so 304


def test_public_json_is_shareable_by_a_cdn_and_never_sniffed(public_server: str) -> None:
    for path in (FAQ, "/-/faq.jsonld", "/kb/claim.json?id=aso2021-medial-wb-pain&_shape=array"):
        response = httpx.get(public_server + path, headers={"Accept-Encoding": "gzip"}, timeout=10)
        assert response.headers["vary"] == "Origin, Accept-Encoding", path
        assert response.headers["cache-control"].startswith("public"), path
        assert response.headers["x-content-type-options"] == "nosniff", path
    for path in ("/", "/kb/claims", "/kb/nosuch.json"):
        response = httpx.get(public_server + path, timeout=10)
        assert response.headers["x-content-type-options"] == "nosniff", path


def test_public_does_not_reveal_the_database_path(public_server: str) -> None:
    for path in ("/-/databases.json", "/-/databases", "/-/versions.json", "/-/threads.json"):
        response = httpx.get(public_server + path, timeout=10)
        assert response.status_code == 403 and "kb.db" not in response.text, path
    health = httpx.get(f"{public_server}/-/health", timeout=10)
    assert health.json()["ok"] is True and health.headers["cache-control"] == "no-store"
    for path in ("/kb.json", "/-/metadata.json", "/-/settings.json"):
        response = httpx.get(public_server + path, timeout=10)
        assert response.status_code == 200 and "kb.db" not in response.text, path


def test_public_warms_the_website_api_before_serving(public_server: str) -> None:
    # Never asked for before in this session: answered from memory all the same, because
    # `kb serve --public` fetched and pinned the website's FAQ URLs before it took a connection.
    for path in (f"{FAQ}&article=bml-signal", "/-/faq.jsonld?article=bml-signal"):
        response = httpx.get(public_server + path, timeout=10)
        assert response.status_code == 200 and response.headers["x-kb-cache"] == "hit", path
