"""The /-/check page in a real Chromium against a real `kb serve`: paste, submit, see verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

ARTICLE = Path(__file__).parent / "fixtures" / "articles" / "pain-and-location.txt"


@pytest.mark.browser
def test_paste_a_draft_and_see_verdicts(kb_server: str, page) -> None:
    page.goto(f"{kb_server}/-/check", timeout=20_000)
    page.fill("textarea[name=text]", ARTICLE.read_text(encoding="utf-8") + "\n<b>bold?</b>")
    page.click("input[type=submit]")
    page.wait_for_selector(".fc-article", timeout=20_000)
    contradicted = page.locator(".fc-s.fc-contradicted")
    assert contradicted.count() >= 1
    assert "1,412" in contradicted.first.inner_text()
    assert page.locator(".fc-s.fc-supported").count() >= 2
    assert "582" in contradicted.first.get_attribute("title")
    colour = contradicted.first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour not in ("rgba(0, 0, 0, 0)", "transparent")
    rows = page.locator("table.fc-references tbody tr")
    assert rows.count() == 3
    assert "mismatch" in rows.first.inner_text().lower()
    assert page.locator(".fc-article b").count() == 0  # pasted HTML is shown, not run
