"""A clinician's and the website's journeys in a real Chromium against a real `kb serve`: facet,
search, open a claim and its source and come back; the plain search page; the claims table on a
phone; the FAQ page; the FAQ JSON read by a page on the clinic's origin, as the website does."""

from __future__ import annotations

import json

import pytest

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 1000}


@pytest.mark.browser
def test_a_clinician_facets_searches_opens_a_claim_and_its_source_and_comes_back(
    kb_server: str, page, shoot
) -> None:
    page.set_viewport_size(DESKTOP)
    page.goto(f"{kb_server}/", timeout=20_000)
    shoot(page, "home")
    page.click(".kb-card h2 a:text-is('Claims')")
    page.wait_for_selector("table.kb-claims", timeout=20_000)
    headers = page.locator("table.kb-claims thead th").all_inner_texts()
    assert [h.strip() for h in headers] == ["Claim", "Figure", "Status", "Topic", "Study"]
    facets = page.locator("[data-facets] .kb-facet").evaluate_all(
        "els => els.map(e => e.dataset.column)"
    )
    assert facets[0] == "status"
    assert (
        page.locator(".suggested-facets").count() == 0
        and page.locator("pre.wrapped-sql").count() == 0
    )
    shoot(page, "claims")
    page.click("[data-column=status] a[data-facet-value=verified]")
    page.wait_for_url("**status=verified**", timeout=20_000)
    badges = page.locator("table.kb-claims td.col-status .kb-badge")
    assert badges.count() >= 1
    assert {b.inner_text().strip().lower() for b in badges.all()} == {"verified"}
    page.fill("input#_search", "pain")
    page.press("input#_search", "Enter")
    page.wait_for_url("**_search=pain**", timeout=20_000)
    assert "status=verified" in page.url  # the search kept the facet
    first = page.locator("table.kb-claims td.col-statement a").first
    statement = first.inner_text().strip()
    first.click()
    page.wait_for_selector("[data-status]", timeout=20_000)
    assert page.locator("h1").inner_text().strip() == statement
    assert page.locator("[data-status]").get_attribute("data-status") == "verified"
    doi = page.locator("a[data-doi]")
    assert doi.get_attribute("href").startswith("https://doi.org/10.") and doi.is_visible()
    claim_url = page.url
    shoot(page, "claim", full_page=True)
    doi_href = doi.get_attribute("href")
    page.click("a[data-source-link]")
    page.wait_for_selector("[data-source]", timeout=20_000)
    assert page.locator("[data-authors]").is_visible()
    assert page.locator("[data-update-status]").is_visible()
    assert page.locator("a[data-doi]").get_attribute("href") == doi_href  # the claim's study
    claims = page.locator("[data-claims] li")
    assert claims.count() >= 1 and claims.first.locator(".kb-badge").is_visible()
    shoot(page, "source", full_page=True)
    page.go_back()
    page.wait_for_url(claim_url, timeout=20_000)
    assert page.locator("h1").inner_text().strip() == statement


@pytest.mark.browser
def test_the_plain_search_page_lists_claims_best_first(kb_server: str, page, shoot) -> None:
    page.set_viewport_size(DESKTOP)
    page.goto(f"{kb_server}/", timeout=20_000)
    page.fill("#kb-q", "weight-bearing pain")
    page.press("#kb-q", "Enter")
    page.wait_for_selector("[data-results]", timeout=20_000)
    assert "Custom SQL" not in page.content()
    first = page.locator(".kb-result").first
    assert first.locator(".kb-badge").is_visible()
    assert first.locator("[data-source-link]").inner_text().endswith(("2021", "2019", "2023"))
    assert "weight-bearing" in first.locator(".kb-result-statement").inner_text()
    shoot(page, "search")
    first.locator(".kb-result-statement").click()
    page.wait_for_selector("[data-status]", timeout=20_000)


@pytest.mark.browser
def test_on_a_phone_each_claim_card_labels_its_values(kb_server: str, page, shoot) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"{kb_server}/kb/claims?status=disputed", timeout=20_000)
    row = page.locator("table.kb-claims tbody tr").first
    labels = row.locator("td").evaluate_all(
        "tds => tds.map(td => getComputedStyle(td, '::before').content)"
    )
    assert labels == ['"Claim"', '"Figure"', '"Status"', '"Topic"', '"Study"']
    status = row.locator("td.col-status").inner_text().strip().lower()
    assert status.startswith("disputed")  # the value under the Status label is a status
    page.goto(f"{kb_server}/kb/claims", timeout=20_000)
    shoot(page, "claims-phone")


@pytest.mark.browser
def test_the_faq_card_leads_to_a_readable_page(kb_server: str, page, shoot) -> None:
    page.set_viewport_size(DESKTOP)
    page.goto(f"{kb_server}/", timeout=20_000)
    page.click(".kb-card h2 a:text-is('Questions patients ask')")
    page.wait_for_selector(".kb-faq", timeout=20_000)
    first = page.locator(".kb-faq").first
    assert first.locator("h2").inner_text().endswith("?")
    assert first.locator(".kb-badge").first.is_visible()  # how well the answer is supported
    assert "{" not in first.inner_text()  # prose, not JSON
    shoot(page, "faq")


WEBSITE = """<!doctype html><meta charset="utf-8"><title>FAQ</title><body><main id="faq"></main>
<script>
fetch(KB + "/kb/faq_v2.json?_shape=array").then(r => r.json()).then(entries => {
  const main = document.getElementById("faq");
  for (const e of entries) {
    const section = document.createElement("section");
    section.dataset.status = e.evidence_status;
    const h = document.createElement("h2"); h.textContent = e.question; section.append(h);
    const p = document.createElement("p"); p.textContent = e.answer; section.append(p);
    if (e.evidence_status !== "verified") {
      const note = document.createElement("p"); note.className = "note";
      note.textContent = e.evidence_note; section.append(note);
    }
    const cites = document.createElement("ul");
    const named = new Set(e.claims.filter(c => c.source && !c.flag).map(c => c.source.short_citation));
    for (const name of named) {
      const li = document.createElement("li"); li.textContent = name; cites.append(li);
    }
    section.append(cites); main.append(section);
  }
  document.body.dataset.loaded = "yes";
}).catch(err => { document.body.dataset.loaded = "failed: " + err; });
</script>"""


@pytest.mark.browser
def test_the_website_reads_the_faq_json_from_its_own_origin(kb_server: str, page, shoot) -> None:
    """A page served as https://amsk.co.uk (intercepted in the browser: no traffic leaves the
    machine) fetches faq_v2 across origins, as the clinic's website does, and renders it."""
    html = WEBSITE.replace("KB + ", json.dumps(kb_server) + " + ")
    page.route(
        "https://amsk.co.uk/faq",
        lambda route: route.fulfill(status=200, content_type="text/html", body=html),
    )
    page.set_viewport_size(DESKTOP)
    page.goto("https://amsk.co.uk/faq", timeout=20_000)
    page.wait_for_function("document.body.dataset.loaded", timeout=20_000)
    assert page.evaluate("document.body.dataset.loaded") == "yes"  # CORS let the site read it
    sections = page.locator("section")
    assert sections.count() >= 1
    statuses = set(sections.evaluate_all("els => els.map(e => e.dataset.status)"))
    assert statuses <= {"verified", "partly_verified", "unverified", "flagged"}
    for section in sections.all():
        if section.get_attribute("data-status") != "verified":
            assert section.locator(".note").inner_text().strip()  # the patient sentence is there
    shoot(page, "website-faq")
