"""The claims table in a real Chromium against a real `kb serve`: facet, search, open a claim page."""

from __future__ import annotations

import pytest


@pytest.mark.browser
def test_browse_facet_search_and_open_a_claim(kb_server: str, page) -> None:
    page.goto(f"{kb_server}/", timeout=20_000)
    page.click(".kb-card h2 a:text-is('Claims')")
    page.wait_for_selector("table.rows-and-columns", timeout=20_000)
    # apply a facet: status = verified
    page.click(".facet-info[data-column=status] a:text-is('verified')")
    page.wait_for_url("**status=verified**", timeout=20_000)
    badges = page.locator("table.rows-and-columns td.col-status .kb-badge")
    assert badges.count() >= 1
    assert {b.inner_text().strip().lower() for b in badges.all()} == {"verified"}
    # search within the facet
    page.fill("input#_search", "pain")
    page.press("input#_search", "Enter")
    page.wait_for_url("**_search=pain**", timeout=20_000)
    first = page.locator("table.rows-and-columns td.col-id a").first
    claim_id = first.inner_text().strip()
    first.click()
    page.wait_for_selector("[data-status]", timeout=20_000)
    assert page.locator("[data-claim-id]").inner_text() == claim_id
    assert page.locator("[data-status]").get_attribute("data-status") == "verified"
    assert page.locator(".kb-banner .kb-badge").inner_text().strip().lower() == "verified"
    doi = page.locator("a[data-doi]")
    assert doi.get_attribute("href").startswith("https://doi.org/10.")
    assert doi.is_visible()
