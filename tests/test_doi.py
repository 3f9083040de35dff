import re

import pytest

from kb.doi import DOI_IN_TEXT_RE, InvalidDOI, doi_slug, normalize_doi


@pytest.mark.parametrize(
    "text",
    [
        "10.1186/s13075-021-02422-0",
        "10.1186/S13075-021-02422-0",
        "doi:10.1186/s13075-021-02422-0",
        "DOI: 10.1186/s13075-021-02422-0",
        "https://doi.org/10.1186/s13075-021-02422-0",
        "http://dx.doi.org/10.1186/S13075-021-02422-0",
        "  doi.org/10.1186/s13075-021-02422-0 ",
        "https://www.doi.org/10.1186/s13075-021-02422-0",
        "www.doi.org/10.1186/s13075-021-02422-0",
        "doi 10.1186/s13075-021-02422-0",
        "DOI  10.1186/s13075-021-02422-0",
        "10.1186%2Fs13075-021-02422-0",
        "https://doi.org/10.1186%2FS13075-021-02422-0",
    ],
)
def test_every_common_spelling_normalises_to_one_key(text: str) -> None:
    assert normalize_doi(text) == "10.1186/s13075-021-02422-0"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "11.1186/x",
        "10.12/x",
        "10.1186/",
        "10.1186/has space",
        "pmid:123",
        "doi",
        "doi10.1186/x",
        "https://example.org/10.1186/x",
        "10.1186%2F",
        "https://doi.org/10.1186/a%20b",
    ],
)
def test_invalid_dois_are_refused(text: str) -> None:
    with pytest.raises(InvalidDOI):
        normalize_doi(text)


def test_slug_is_file_name_safe() -> None:
    assert (
        doi_slug("10.7326/0003-4819-134-7-200104030-00007")
        == "10.7326_0003-4819-134-7-200104030-00007"
    )


def test_slugs_are_unique_and_plain_dois_keep_readable_names() -> None:
    assert doi_slug("10.1186/S13075-021-02422-0") == "10.1186_s13075-021-02422-0"
    odd = ["10.1002/ab_c", "10.1002/ab(c", "10.1002/ab/c", "10.1002/ab:c", "10.1002/ab%c"]
    slugs = [doi_slug(d) for d in odd] + [doi_slug("10.1002/ab.c"), doi_slug("10.1002/abc")]
    assert len(set(slugs)) == len(slugs)
    assert all(re.fullmatch(r"[a-z0-9._~\-]+", s) for s in slugs)
    assert doi_slug("10.1002/ab_c") == doi_slug("10.1002/AB_C")  # DOIs compare case-insensitively
    assert len(doi_slug("10.1002/" + "x(" * 300)) < 200  # long DOIs still make a file name


@pytest.mark.parametrize(
    "text, found",
    [
        ("See 10.1186/s13075-021-02422-0.", "10.1186/s13075-021-02422-0"),
        ("(doi:10.1002/art.22851), and", "10.1002/art.22851"),
        ("first 10.1000/abc; then", "10.1000/abc"),
        ("as shown (Lancet, 10.1016/S0140-6736(02)07283-5).", "10.1016/S0140-6736(02)07283-5"),
        ("numbered 10.1002/abc(1).", "10.1002/abc(1)"),
        ("in [10.1000/x[2]], end", "10.1000/x[2]"),
        ("unbalanced 10.1002/ab(c, here", "10.1002/ab(c"),
        ("https://doi.org/10.1000/abc?.", "10.1000/abc"),
    ],
)
def test_a_doi_in_running_text_leaves_the_punctuation_around_it(text: str, found: str) -> None:
    assert DOI_IN_TEXT_RE.findall(text) == [found]
