"""What clinicians, writers and patients read, through `ds.client`: no plumbing on any page, source
pages like claim pages, the plain search page, the FAQ page and the claims table's columns."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from conftest import post_check
from datasette.app import Datasette
from test_web import METADATA

from kb.schema import TABLES

CLAIM = "aso2021-medial-wb-pain"
DOI = "10.1186/s13075-021-02422-0"
DOCUMENT = (
    "Bone marrow lesions (BMLs) were found in 1,412 knees. Higher BML scores went with more "
    "weight-bearing pain (B = 0.08, p = 0.02) [1].\n\nReferences\n"
    "1. Aso K, et al. Arthritis Res Ther. 2020. doi:10.1186/s13075-021-02422-0\n"
)


def get(ds: Datasette, path: str, **kwargs) -> httpx.Response:
    return asyncio.run(ds.client.get(path, **kwargs))


@pytest.fixture(scope="module")
def ds(kb_db: Path) -> Datasette:
    return Datasette([str(kb_db)], metadata=METADATA)


class VisibleText(HTMLParser):
    """The text a reader sees without opening anything: no scripts or styles, and of a closed
    `<details>` (curators' fields, history, Datasette's menu) only its `<summary>`."""

    HIDDEN = {"script", "style", "template", "textarea"}
    VOID = {"br", "img", "input", "meta", "link", "hr", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, shown, shown outside it)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.VOID:
            return
        outer = self.stack[-1][1] if self.stack else True
        shown = outer and tag not in self.HIDDEN
        if tag == "details" and "open" not in dict(attrs):
            shown = False
        if tag == "summary" and self.stack and self.stack[-1][0] == "details":
            shown = self.stack[-1][2]
        self.stack.append((tag, shown, outer))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        open_tags = [t for t, _, _ in self.stack]
        if (
            tag in open_tags
        ):  # close it and anything left open inside it; a stray end tag is ignored
            del self.stack[len(open_tags) - 1 - open_tags[::-1].index(tag) :]

    def handle_data(self, data: str) -> None:
        if not self.stack or self.stack[-1][1]:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def snake_columns() -> set[str]:
    return {c for spec in TABLES.values() for c in spec["columns"] if "_" in c}


def plumbing(text: str, claim_ids: set[str]) -> list[str]:
    """Every piece of our build a reader should never see."""
    found = []
    patterns = {
        "a file path": r"\b(?:data|shared|tests|kb)/[\w./-]+",
        "a file name": r"\b[\w-]+\.(?:md|ya?ml|py|db)\b",
        "file:line": r"\b[\w./-]+\.\w+:\d+\b",
        "the dossier": r"(?i)\bdossier\b",
        "KB": r"(?i)\bKB\b",
        "the curation team": r"(?i)curation team",
    }
    for what, pattern in patterns.items():
        found += [f"{what}: {m.group(0)!r}" for m in re.finditer(pattern, text)]
    found += [f"a claim id: {cid!r}" for cid in claim_ids if cid in text]
    found += [
        f"a column name: {name!r}"
        for name in snake_columns()
        if re.search(rf"\b{re.escape(name)}\b", text)
    ]
    return found


def test_the_plumbing_check_catches_what_it_should() -> None:
    text = "Read in shared/sources/DOSSIER.md [3], data/claims/x.yml:12 by the KB curation team"
    found = plumbing(text + " aso2021-x and source_doi", {"aso2021-x"})
    assert len(found) >= 6, found
    assert plumbing("Aso et al. 2021 found 582 knees (p = 0.02).", {"aso2021-x"}) == []


def test_no_page_a_reader_opens_shows_plumbing(ds: Datasette, kb_db: Path) -> None:
    conn = sqlite3.connect(kb_db)
    ids = {r[0] for r in conn.execute("select id from claims")}
    row = conn.execute("select id from claims where status = 'unverified' limit 1").fetchone()
    pages = {
        "home": get(ds, "/"),
        "claims table": get(ds, "/kb/claims"),
        "claim": get(ds, f"/kb/claims/{CLAIM}"),
        "unverified claim": get(ds, f"/kb/claims/{row[0]}"),
        "source": get(ds, "/kb/sources/10~2E1186~2Fs13075-021-02422-0"),
        "search": get(ds, "/kb/search", params={"q": "pain"}),
        "FAQ page": get(ds, "/-/faq"),
        "check": get(ds, "/-/check"),
    }
    csrf = re.search(r'name="csrftoken" value="([^"]+)"', pages["check"].text)
    posted = asyncio.run(
        ds.client.post(
            "/-/check",
            data={"text": DOCUMENT, "csrftoken": csrf.group(1)},
            cookies={"ds_csrftoken": pages["check"].cookies.get("ds_csrftoken", "")},
        )
    )
    pages["check result"] = posted
    problems = {}
    for name, response in pages.items():
        assert response.status_code == 200, (name, response.text[:300])
        found = plumbing(visible_text(response.text), ids)
        if found:
            problems[name] = found
    assert not problems, "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_faq_json_prose_has_no_plumbing(ds: Datasette, kb_db: Path) -> None:
    ids = {r[0] for r in sqlite3.connect(kb_db).execute("select id from claims")}
    entries = get(ds, "/kb/faq_v2.json?_shape=array").json()
    assert entries
    problems = {}
    for e in entries:
        prose = [e["question"], e["answer"], e["evidence_note"] or ""]
        prose += [c["statement"] for c in e["claims"]]
        found = plumbing(" ".join(prose), ids)
        if found:
            problems[e["id"]] = found
    assert not problems, "\n".join(f"{k}: {v}" for k, v in problems.items())


QUESTION = """
- id: lesion-size-and-pain
  question: Does a larger bone marrow lesion mean more knee pain?
  topic: pain
  disagreement: One study ties more pain to higher lesion scores; another finds lesion size changes little.
"""


def with_question(data: Path) -> Path:
    """data/ with two claims from different studies answering one question that has a note."""
    with (data / "questions.yml").open("a", encoding="utf-8") as f:
        f.write(QUESTION)
    for name, claim in (
        ("aso-2021.yml", CLAIM),
        ("perry-2019.yml", "perry2019-bml-volume-difference"),
    ):
        path = data / "claims" / name
        text = path.read_text(encoding="utf-8")
        assert f"- id: {claim}\n" in text, claim
        path.write_text(
            text.replace(f"- id: {claim}\n", f"- id: {claim}\n  question: lesion-size-and-pain\n"),
            encoding="utf-8",
        )
    return data


@pytest.fixture(scope="module")
def question_ds(tmp_path_factory: pytest.TempPathFactory) -> Datasette:
    import shutil

    from kb import build

    root = tmp_path_factory.mktemp("questions")
    data = with_question(
        shutil.copytree(Path(__file__).resolve().parents[1] / "data", root / "data")
    )
    build(data, root / "kb.db")
    return Datasette([str(root / "kb.db")], metadata=METADATA)


def test_a_claim_page_shows_the_other_studies_on_its_question(question_ds: Datasette) -> None:
    html = get(question_ds, f"/kb/claims/{CLAIM}").text
    section = html[html.index("data-question") :]
    assert "Does a larger bone marrow lesion mean more knee pain?" in section
    assert "another finds lesion size changes little" in section  # the disagreement note
    other = re.search(r"data-other-answers>(.*?)</ul>", section, re.S).group(1)
    assert "Perry et al. 2019" in other and "/kb/claims/perry2019-bml-volume-difference" in other
    assert 'class="kb-badge' in other  # with its status
    alone = get(question_ds, "/kb/claims/felson2001-n-patients").text
    assert "data-question" not in alone  # no question, no section


def test_search_marks_claims_with_other_answers_and_the_api_serves_them(
    question_ds: Datasette,
) -> None:
    html = get(question_ds, "/kb/search", params={"q": "weight-bearing pain"}).text
    result = re.search(rf'data-claim="{CLAIM}">(.*?)</li>', html, re.S).group(1)
    assert "1 other study on this question (they disagree)" in visible_text(result)
    claim = get(question_ds, f"/kb/claim.json?_shape=array&id={CLAIM}").json()[0]
    assert claim["question"]["id"] == "lesion-size-and-pain"
    assert claim["question"]["disagreement"].startswith("One study")
    assert [o["id"] for o in claim["other_answers"]] == ["perry2019-bml-volume-difference"]
    assert claim["other_answers"][0]["short_citation"] == "Perry et al. 2019"


ARTICLE = Path(__file__).parent / "fixtures" / "articles" / "pain-and-location.txt"


def test_the_check_page_leads_with_the_verdict_then_the_evidence_then_what_to_change(
    ds: Datasette,
) -> None:
    html = post_check(ds, ARTICLE.read_text(encoding="utf-8")).text
    notes = re.findall(
        r'<li class="fc-note[^"]*" id="note-\d+" data-verdict="(\w+)">(.*?)</li>', html, re.S
    )
    assert notes
    wrong = next(body for verdict, body in notes if verdict == "contradicted" and "1,412" in body)
    text = visible_text(wrong)
    assert text.index("Contradicted") < text.index("Our evidence") < text.index("What to change")
    assert "582 knees" in text and "Aso et al. 2021" in text
    assert "The study gives 582 knees" in text  # what to change, with the figure to use
    assert "aso2021-n-longitudinal" not in text  # the id is behind the toggle
    assert "aso2021-n-longitudinal" in wrong  # ... but there for curators
    moved = next(body for verdict, body in notes if verdict == "misattributed")
    assert re.search(r"comes from \w[\w' -]* et al\. \d{4}: cite it instead", visible_text(moved))
    assert ' title="' not in html[html.index("data-notes") : html.index("</table>")]  # no hover
    refs = html[html.index('class="rows-and-columns fc-references"') :]
    assert "Aso et al. 2021" in refs and "Association of subchondral bone marrow lesion" in refs
    summaries = re.findall(r'data-summary="(\w+)"', html)
    assert summaries == ["statements", "references"]  # apart, each with its legend
    start = html.index("data-jump")
    jump = html[start : html.index("</nav>", start)]
    assert jump.count('href="#note-') == sum(1 for v, _ in notes if v != "supported")


def test_the_check_page_says_what_went_wrong_and_keeps_the_draft(ds: Datasette) -> None:
    empty = post_check(ds, "   ")
    assert empty.status_code == 400 and "Paste a draft" in empty.text
    long = "BMLs are common in knees. " * 9000  # ~230,000 characters
    response = post_check(ds, long)
    assert response.status_code == 413 and "split it" in response.text
    kept = re.search(r"<textarea[^>]*>(.*?)</textarea>", response.text, re.S).group(1)
    assert kept.startswith("BMLs are common in knees.") and len(kept) > 200_000


def test_a_long_draft_opens_on_the_problems_only(ds: Datasette) -> None:
    text = ARTICLE.read_text(encoding="utf-8")
    short = post_check(ds, text).text
    assert 'id="fc-only-problems" class="fc-toggle" checked' not in short
    long = post_check(ds, "\n\n".join([text] * 3)).text
    assert 'id="fc-only-problems" class="fc-toggle" checked' in long


def test_the_claim_pages_source_link_opens_a_source_page_like_a_claim_page(
    ds: Datasette, kb_db: Path
) -> None:
    claim = get(ds, f"/kb/claims/{CLAIM}").text
    href = re.search(r'href="([^"]+)" data-source-link', claim).group(1)
    page = get(ds, href)
    assert page.status_code == 200, href  # the DOI encoded as Datasette reads row keys
    html = page.text
    text = visible_text(html)
    for author in ("Koji Aso", "Seyed Mohsen Shahtaheri", "Daniel F. McWilliams", "David A. Walsh"):
        assert author in text  # all authors, as text
    assert "[&quot;" not in html and '["Koji' not in text  # not a JSON list
    assert "Arthritis Research & Therapy" in text and "2021" in text
    assert f'href="https://doi.org/{DOI}"' in html
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/33468243/"' in html
    assert text.index("not checked yet") < text.index("Citation")  # notices near the top
    figures = html[html.index("data-claims") :]
    n = sqlite3.connect(kb_db).execute("select count(*) from claims where source_doi = ?", [DOI])
    assert figures.count('class="kb-badge') >= n.fetchone()[0]
    assert f'href="/kb/claims/{CLAIM}"' in figures


def test_a_retracted_source_says_so_at_the_top_of_its_page(tmp_path: Path, data_copy: Path) -> None:
    from test_web import hostile_data

    from kb import build

    build(hostile_data(data_copy), tmp_path / "kb.db")
    retracted = Datasette([str(tmp_path / "kb.db")], metadata=METADATA)
    html = get(retracted, "/kb/sources/10~2E1186~2Fs13075-021-02422-0").text
    banner = re.search(
        r'<div class="kb-banner kb-bad" data-update-status role="alert">(.*?)</div>', html, re.S
    )
    assert (
        banner
        and "retraction" in banner.group(1)
        and "Do not rely on its figures" in banner.group(1)
    )


def test_short_citations_name_a_study_as_a_reader_would() -> None:
    from kb.citation import format_short_citation

    def short(**src) -> str:
        return format_short_citation({"doi": "10.1/x", **src})

    four = ["Koji Aso", "Seyed Mohsen Shahtaheri", "Daniel F. McWilliams", "David A. Walsh"]
    assert short(authors=four, year=2021) == "Aso et al. 2021"
    assert short(authors=["Felson DT", "Hill CL"], year=2001) == "Felson and Hill 2001"
    assert short(authors=["Felson DT"], year=2007) == "Felson 2007"
    assert short(authors=["Nairn LN"], authors_complete=False, year=2021) == "Nairn et al. 2021"
    assert short(
        title="Bone marrow lesions predict increase in knee cartilage defects", year=2009
    ) == ("“Bone marrow lesions predict increase in…” 2009")
    assert short(journal="Knee", year=2022) == "Knee 2022"
    assert short() == "doi:10.1/x"  # nothing else is known: never a guess


def test_every_claim_and_source_page_is_free_of_plumbing(ds: Datasette, kb_db: Path) -> None:
    """Curated prose can name a claim id (an article statement's reason, a reference note): the
    page shows it as a link named by the claim's figure. Every row page is checked."""
    from datasette.utils import tilde_encode

    conn = sqlite3.connect(kb_db)
    ids = {r[0] for r in conn.execute("select id from claims")}
    pages = [f"/kb/claims/{tilde_encode(i)}" for i in sorted(ids)]
    pages += [f"/kb/sources/{tilde_encode(d)}" for (d,) in conn.execute("select doi from sources")]
    problems = {}
    for path in pages:
        response = get(ds, path)
        assert response.status_code == 200, path
        found = plumbing(visible_text(response.text), ids)
        if found:
            problems[path] = found
    assert not problems, "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_a_claim_that_is_not_verified_says_why(ds: Datasette, kb_db: Path) -> None:
    claim_id, notes = (
        sqlite3.connect(kb_db)
        .execute(
            "select id, notes from claims where status = 'unverified' and notes is not null "
            "and notes not like '%http%' order by id limit 1"
        )
        .fetchone()
    )
    html = get(ds, f"/kb/claims/{claim_id}").text
    why = re.search(r"<p data-why>(.*?)</p>", html, re.S)
    assert why and " ".join(notes.split()[:8]) in visible_text(why.group(1))
