"""A writer's journey on /-/check in a real Chromium against a real `kb serve`: paste a draft with one
sentence of each verdict, read what to change, at desktop and at phone width; an empty draft."""

from __future__ import annotations

from pathlib import Path

import pytest

ARTICLE = Path(__file__).parent / "fixtures" / "articles" / "pain-and-location.txt"
UNSUPPORTED = "Eating 40 grams of walnuts a day halved knee swelling within 12 weeks."
VERDICTS = ("supported", "contradicted", "misattributed", "unverified", "unsupported")


def one_of_each() -> str:
    """The test article (supported, contradicted, misattributed, unverified) plus an unsupported
    sentence, and pasted HTML that must be shown, not run."""
    text = ARTICLE.read_text(encoding="utf-8")
    return text.replace("\nReferences", f"\n{UNSUPPORTED} <b>bold?</b>\n\nReferences")


def check(page, base: str, text: str) -> None:
    page.goto(f"{base}/-/check", timeout=20_000)
    page.fill("textarea[name=text]", text)
    page.click("button.fc-submit")
    page.wait_for_load_state("domcontentloaded")


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_a_writer_reads_what_to_change_for_each_verdict(
    kb_server: str, page, shoot, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    check(page, kb_server, one_of_each())
    page.wait_for_selector("[data-notes]", timeout=20_000)
    toggle = page.locator("#fc-only-problems")
    assert toggle.is_checked()  # a long draft opens on the problems only
    assert not page.locator(".fc-note[data-verdict=supported]").first.is_visible()
    toggle.uncheck()
    for verdict in VERDICTS:
        note = page.locator(f".fc-note[data-verdict={verdict}]").first
        assert note.is_visible(), verdict  # on the page, not behind a hover
        text = note.inner_text()
        assert "What to change:" in text, verdict
        assert "-" not in note.locator(".fc-verdict .fc-tag").inner_text()  # words, not a code
    wrong = page.locator(".fc-note[data-verdict=contradicted]").filter(has_text="1,412").first
    assert "The study gives 582 knees" in wrong.locator("[data-change]").inner_text()
    assert "Aso et al. 2021" in wrong.inner_text()
    assert not wrong.locator("details.fc-ids code").is_visible()  # ids wait behind a toggle
    wrong.locator("details.fc-ids summary").click()
    assert wrong.locator("details.fc-ids code").inner_text() == "aso2021-n-longitudinal"
    unsupported = page.locator(".fc-note[data-verdict=unsupported]").first
    colour = unsupported.locator(".fc-tag").first.evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    assert colour == "rgb(192, 57, 43)"  # as loud as a contradiction, never harmless
    assert UNSUPPORTED in unsupported.locator(".fc-sentence").inner_text()  # the whole sentence
    assert page.locator(".fc-sentence b").count() == 0  # pasted HTML is shown, not run
    jump = page.locator("[data-jump] a")
    assert jump.count() == page.locator(".fc-note:not(.fc-fine)").count()
    jump.first.click()
    assert page.url.endswith("#note-3")
    refs = page.locator("table.fc-references tbody tr")
    assert refs.count() == 3 and "Aso et al. 2021" in refs.first.inner_text()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width + 1  # no sideways scroll
    page.locator("#summary").scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, document.querySelector('#summary').offsetTop - 10)")
    shoot(page, "check" if width > 600 else "check-phone")


@pytest.mark.browser
def test_an_empty_draft_gets_a_message(kb_server: str, page) -> None:
    check(page, kb_server, "   ")
    assert "Paste a draft" in page.locator("[data-error]").inner_text()
