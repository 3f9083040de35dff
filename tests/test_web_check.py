"""/-/check (the writers' form) and /-/check.json (the CMS endpoint) through Datasette's own client."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path

import httpx
import pytest
import yaml
from conftest import post_check
from datasette.app import Datasette

REPO = Path(__file__).resolve().parents[1]
METADATA = yaml.safe_load((REPO / "metadata.yml").read_text(encoding="utf-8"))
DRAFT = (
    "The longitudinal part of the OAI analysis drew on 1,412 varus knees over 24 months [1]. "
    "BMLs are found in up to 66% of symptomatic knees <script>alert('x')</script>.\n\n"
    "1. Aso K, et al. Association of subchondral bone marrow lesion localization with weight-bearing "
    "pain. Arthritis Res Ther. 2021. doi:10.1186/s13075-021-02422-0\n"
)


def run(coro):
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def ds(kb_db: Path) -> Datasette:
    return Datasette([str(kb_db)], metadata=METADATA)


def post_json(ds: Datasette, body: bytes | str, content_type: str) -> httpx.Response:
    return run(
        ds.client.post("/-/check.json", content=body, headers={"content-type": content_type})
    )


def test_cms_posts_raw_text_or_json_and_gets_the_contract(ds: Datasette) -> None:
    raw = post_json(ds, DRAFT, "text/plain")
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("application/json")
    data = raw.json()
    assert set(data) == {"statements", "references", "summary"}
    wrong = next(s for s in data["statements"] if "1,412" in s["text"])
    assert wrong["verdict"] == "contradicted"
    assert wrong["source_doi"] == "10.1186/s13075-021-02422-0"
    assert DRAFT[wrong["start"] : wrong["end"]] == wrong["text"]
    assert post_json(ds, json.dumps({"text": DRAFT}), "application/json").json() == data


def test_cms_endpoint_refuses_what_it_cannot_take(ds: Datasette) -> None:
    assert run(ds.client.get("/-/check.json")).status_code == 405
    too_big = "BMLs are common. " * (200 * 1024 // 17 + 10)
    response = post_json(ds, too_big, "text/plain")
    assert response.status_code == 413 and "KB" in response.json()["error"]
    assert post_json(ds, b"\xff\xfe", "text/plain").status_code == 400
    assert post_json(ds, json.dumps({"draft": DRAFT}), "application/json").status_code == 400


def test_form_echoes_the_draft_escaped(ds: Datasette) -> None:
    response = post_check(ds, DRAFT)
    assert response.status_code == 200
    assert "<script>alert" not in response.text
    assert "&lt;script&gt;alert" in response.text
    assert "contradicted" in response.text


def test_a_check_past_its_time_limit_stops_with_a_clear_error(kb_db: Path) -> None:
    metadata = copy.deepcopy(METADATA)
    metadata["plugins"]["kb"]["check_time_limit_ms"] = 1
    slow = Datasette([str(kb_db)], metadata=metadata)
    response = post_json(slow, DRAFT * 50, "text/plain")
    assert response.status_code == 400
    assert "took longer than 0.001 s" in response.json()["error"]
