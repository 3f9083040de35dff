"""Reference lists as writers print them: Vancouver, author–year and Harvard, numbered or not."""

from __future__ import annotations

import pytest

from kb.references import parse_references, titles_agree


def test_a_harvard_list_under_a_references_heading_is_read() -> None:
    text = (
        "Essay text (Aso et al., 2020).\n\n## References\n\n"
        "Aso, K., Walsh, D.A. (2020) 'Association of lesion localization with pain', "
        "Arthritis Research & Therapy, 23(1), p. 35. doi:10.1186/s13075-021-02422-0.\n\n"
        "## Appendix\n\nSmith, J. (2019) not a reference any more.\n"
    )
    refs = parse_references(text)
    assert [(r.doi, r.printed_year, r.printed_journal) for r in refs] == [
        ("10.1186/s13075-021-02422-0", 2020, "Arthritis Research & Therapy")
    ]
    assert refs[0].printed_title == "Association of lesion localization with pain"


def test_vancouver_and_author_year_fields() -> None:
    text = (
        "References\n"
        "[1] Nairn LN, et al. Knee Surg Sports Traumatol Arthrosc. 2021;29(11):3599. doi:10.1007/x1\n"
        "[2] Aso K, Walsh DA. A title here. Arthritis Care & Research. 2021;23(1):35. doi:10.1186/x2\n"
        "Yu SP, Kraus VB, et al. (2024) Markers and lesions. Osteoarthritis and Cartilage. doi:10.1186/x3\n"
    )
    got = [(r.label, r.printed_title, r.printed_journal) for r in parse_references(text)]
    assert got == [
        ("[1]", None, "Knee Surg Sports Traumatol Arthrosc"),
        ("[2]", "A title here", "Arthritis Care & Research"),
        (None, "Markers and lesions", "Osteoarthritis and Cartilage"),
    ]


def test_a_shortened_title_agrees_but_a_different_one_does_not() -> None:
    real = "Fast quantitative bone marrow lesion measurement on knee MRI for the assessment of osteoarthritis"
    assert titles_agree("Fast quantitative BML measurement on knee MRI", real)
    assert not titles_agree(
        "Deep learning segmentation of BMLs on knee MRI: a validation study", real
    )


@pytest.mark.parametrize(
    "heading",
    ["## References", "**References**", "REFERENCES", "## Reading list", "Papers mentioned:"],
)
def test_a_reference_list_under_any_usual_heading_is_read(heading) -> None:
    """An unnumbered list (bullets, author–year) counts as the reference list under the headings
    writers use, not only "References": otherwise every author named in the text reads as missing."""
    text = (
        "Zanetti and colleagues (2000) compared scans with tissue.\n\n"
        f"{heading}\n\n"
        "- Zanetti M, et al. Bone marrow edema pattern in osteoarthritic knees. Radiology. 2000;"
        "215(3):835-840. https://doi.org/10.1148/radiology.215.3.r00jn05835\n"
    )
    (ref,) = parse_references(text)
    assert ref.doi == "10.1148/radiology.215.3.r00jn05835"
