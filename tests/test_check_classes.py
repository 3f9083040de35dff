"""`kb check` by class of sentence: each mechanism the checker gained in 40045f1..66182f1, tried on
sentences written afresh from the curated claims in data/claims/, with its safety side (the
same finding stated the right way round is not contradicted, a figure that does not fit is not
supported).

A sentence below that plainly belongs to its class but gets the wrong verdict is kept and marked
`xfail(strict=True)` with what the checker says today: when the checker is fixed the test passes,
strict makes that a failure, and the mark comes off.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest

from benchmarks.accuracy import SHARED, main
from kb.factcheck import Statement, check_text
from kb.figures import extract_figures
from kb.lexicon import load_lexicon
from kb.references import author_mentions, citation_markers, sources_by_author

REPO = Path(__file__).resolve().parents[1]

ASO = "10.1186/s13075-021-02422-0"
NAIRN = "10.1007/s00167-020-06294-w"
PERRY = "10.1186/s12891-019-2424-4"
YU = "10.1186/s13075-023-03253-x"
DRIBAN_2013 = "10.1186/ar4292"
FELSON_2001 = "10.7326/0003-4819-134-7-200104030-00007"
FELSON_2003 = "10.7326/0003-4819-139-5_part_1-200309020-00008"
FELSON_2007 = "10.1002/art.22851"
GUERMAZI_2012 = "10.1136/bmj.e5339"

# reference-list entries as a writer prints them (title, journal and year as the sources give them)
REF_ASO = (
    "Aso K, Shahtaheri SM, McWilliams DF, Walsh DA. Association of subchondral bone marrow lesion "
    "localization with weight-bearing pain in people with knee osteoarthritis. Arthritis Res "
    f"Ther. 2021;23:35. doi:{ASO}"
)
REF_NAIRN = (
    "Nairn LN, et al. Subchondroplasty for bone marrow lesions: a systematic review. Knee Surg "
    f"Sports Traumatol Arthrosc. 2021. doi:{NAIRN}"
)
REF_YU = (
    "Yu SP, Deveza LA, Kraus VB, et al. Association of biochemical markers with bone marrow lesion "
    "changes on imaging—data from the Foundation for the National Institutes of Health "
    f"Osteoarthritis Biomarkers Consortium. Arthritis Research & Therapy. 2024. doi:{YU}"
)


def xfail(reason: str):
    return pytest.mark.xfail(strict=True, reason=reason)


def with_references(body: str, *entries: str) -> str:
    listed = "\n".join(f"{i}. {e}" for i, e in enumerate(entries, 1))
    return f"{body}\n\nReferences\n\n{listed}\n"


@pytest.fixture(scope="module")
def lexicon():
    lx, problems = load_lexicon(REPO / "data")
    assert problems == []
    return lx


@pytest.fixture
def said(db, index):
    """The statement holding `fragment` (the text's first one by default), or None if the check
    reports nothing there."""

    def at(text: str, fragment: str | None = None) -> Statement | None:
        where = text.index(fragment) if fragment else 0
        hits = [s for s in check_text(db, text, index).statements if s.start <= where < s.end]
        return hits[0] if hits else None

    return at


@pytest.fixture
def verdict(said):
    """The statement holding `fragment`, which the check must report."""

    def at(text: str, fragment: str | None = None) -> Statement:
        s = said(text, fragment)
        assert s is not None, f"no statement reported for {fragment or text!r}"
        return s

    return at


def _why(s: Statement) -> tuple[str, str | None, str]:
    return s.verdict, s.claim_id, s.explanation


# -- 1. A reversed finding without a figure --------------------------------------------------------


@pytest.mark.parametrize(
    "sentence, claim",
    [
        # an effect where the claim found none, and none where it found one
        ("Daily vitamin D supplements visibly shrank bone marrow lesions compared with placebo.",
         "perry2019-"),
        ("Women who started an oral bisphosphonate saw no difference in how often their lesions "
         "shrank.", "oralbp2020-more-decreases"),
        # higher odds against lower, and lower against higher
        ("More severe BMLs at the start went with lower odds of knee replacement in the TASOAC "
         "cohort.", "dore2010a-knee-replacement-or"),
        ("Subregions with no BML at either visit had higher odds of cartilage loss than those with "
         "a stable lesion.", "roemer2009-no-bml-cartilage-or"),
        ("Knees whose BMLs shrank were less likely to see their knee pain resolve.",
         "zhang2011-shrinking-bml-pain-resolution"),
        # after where the claim says before
        ("According to Shi and colleagues, lesions in the bone beneath the cartilage are a late "
         "consequence of cartilage breakdown.", "shi2023-bml-before-cartilage"),
        ("The Bone Reports review holds that subchondral bone changes, BMLs among them, come only "
         "after the cartilage has worn thin.", "shi2023-bml-before-cartilage"),
        # a comparison turned round
        ("Women with early knee OA who had BMLs showed a smaller angle between the growth plate "
         "and the medial tibial plateau.", "tibinc2022-growth-plate-angle"),
        ("In women with early knee OA, a flatter medial posterior slope of the tibia went with "
         "BMLs.", "ishibashi2023-slope-bml"),
        # a study design the claim denies
        ("Almost every study in the 2021 subchondroplasty review was a randomised controlled "
         "trial.", "nairn2021-level-iv-studies"),
        ("Nairn and colleagues found the subchondroplasty studies they reviewed rested mostly on "
         "randomised controlled trials.", "nairn2021-level-iv-studies"),
    ],
)  # fmt: skip
def test_a_reversed_finding_without_a_figure_is_contradicted(verdict, sentence, claim) -> None:
    s = verdict(sentence)
    assert s.verdict == "contradicted" and s.claim_id.startswith(claim), _why(s)
    assert "opposite finding" in s.explanation, s.explanation


@pytest.mark.parametrize(
    "sentence",
    [
        "Lesions behind the kneecap had nothing to do with pain when bearing weight.",
        "Daily vitamin D supplements cut BML volume compared with placebo.",
        "Among women with a BML, those starting an oral bisphosphonate were no more likely to "
        "see the lesion shrink.",
        "The subchondroplasty studies pooled in the 2021 review were mostly randomised trials.",
        "Of the 17 subchondroplasty studies in the 2021 review, most were randomised "
        "controlled trials.",
    ],
)  # fmt: skip
def test_a_reversed_finding_in_other_words_is_contradicted(verdict, sentence) -> None:
    """The same class in words the direction patterns do not yet know: found while writing the
    tests above, each is today a false "supported"."""
    s = verdict(sentence)
    assert s.verdict == "contradicted", _why(s)


@pytest.mark.parametrize(
    "sentence, claim",
    [
        ("Daily vitamin D supplements made no difference to BML volume compared with placebo.",
         "perry2019-"),
        ("Subregions with no BML at either visit had lower odds of cartilage loss than those with "
         "a stable lesion.", "roemer2009-no-bml-cartilage-or"),
        ("Knees whose BMLs shrank were more likely to see their knee pain resolve.",
         "zhang2011-shrinking-bml-pain-resolution"),
        ("The Bone Reports review holds that subchondral bone changes, BMLs among them, may "
         "precede the breakdown of cartilage.", "shi2023-bml-before-cartilage"),
        ("In women with early knee OA, BMLs went with a larger angle between the growth plate and "
         "the medial tibial plateau.", "tibinc2022-growth-plate-angle"),
        ("In women with early knee OA, a steeper medial posterior tibial slope went with BMLs.",
         "ishibashi2023-slope-bml"),
        ("Almost every study in the 2021 subchondroplasty review rested on level IV evidence.",
         "nairn2021-level-iv-studies"),
    ],
)  # fmt: skip
def test_the_same_finding_the_right_way_round_is_supported(verdict, sentence, claim) -> None:
    s = verdict(sentence)
    assert s.verdict == "supported" and s.claim_id.startswith(claim), _why(s)


def test_a_finding_stated_from_the_other_end_is_not_contradicted(verdict) -> None:
    s = verdict(
        "Driban and colleagues found that smaller BMLs at the start went with less knee pain at "
        "the start."
    )
    assert s.verdict != "contradicted", _why(s)


# -- 2. A clause that cites nothing speaks of the study its sentence's other clause matched --------

FIRST_CLAUSE = (
    "Across 1,412 bow-legged knees, a higher medial lesion score went with more pain when walking, "
)


def test_a_clause_is_checked_against_the_study_of_the_clause_before(said, verdict) -> None:
    second = "but lesions in the kneecap compartment were not associated with more pain."
    first = verdict(FIRST_CLAUSE + second)
    assert first.verdict == "supported" and first.source_doi == ASO, _why(first)
    s = verdict(FIRST_CLAUSE + second, second)
    assert s.verdict == "contradicted" and s.claim_id == "aso2021-lateral-pf-wb-pain", _why(s)
    # on its own the clause names no study, and nothing contradicts it
    alone = said(second[4:].capitalize())
    assert alone is None or alone.verdict != "contradicted", _why(alone)


def test_a_clause_agreeing_with_the_study_of_the_clause_before_is_supported(verdict) -> None:
    second = (
        "while lateral patellofemoral lesions also went with more pain during weight-bearing "
        "activities."
    )
    s = verdict(FIRST_CLAUSE + second, second)
    assert s.verdict == "supported" and s.source_doi == ASO, _why(s)


def test_a_clause_naming_the_compartment_by_its_lay_name_is_contradicted(verdict) -> None:
    second = "but lesions behind the kneecap were not associated with more pain."
    s = verdict(FIRST_CLAUSE + second, second)
    assert s.verdict == "contradicted" and s.source_doi == ASO, _why(s)


# -- 3. Number words, "a decade", "nearly" ---------------------------------------------------------


def test_number_words_are_read_as_figures() -> None:
    figs = {f.text: f for f in extract_figures(
        "They took in one thousand four hundred and twelve varus knees, found an odds ratio of "
        "three point two, an R² of zero point nine four, and followed people for a decade; almost "
        "600 knees, just under 600 knees."
    )}  # fmt: skip
    knees = figs["one thousand four hundred and twelve varus knees"]
    assert (knees.kind, knees.unit, knees.value) == ("count", "knees", 1412)
    ratio = figs["odds ratio of three point two"]
    assert (ratio.kind, ratio.unit) == ("measure", "odds_ratio")
    assert (ratio.value, ratio.decimals) == (3.2, 1)
    assert figs["R² of zero point nine four"].value == pytest.approx(0.94)
    assert (figs["a decade"].kind, figs["a decade"].value) == ("duration", 120)
    assert figs["almost 600 knees"].qualifier == figs["just under 600 knees"].qualifier == "nearly"


@pytest.mark.parametrize(
    "sentence, claim",
    [
        ("Cross-sectionally, the Osteoarthritis Initiative analysis took in one thousand four "
         "hundred and twelve varus knees.", "aso2021-n-cross-sectional"),
        ("Knees whose BML score climbed by two units or more had an odds ratio of three point two "
         "of going on to frequent knee pain.", "felson2007-enlarging-bml-new-pain-or"),
        ("The automated model agreed with a trained reader's BML volumes with an R² of zero point "
         "nine four.", "preiswerk2022-r2-model-vs-trained-reader"),
        # "almost 600" is a little below: 582 fits, and "nearly 700" fits 651
        ("The longitudinal part of the varus-knee analysis followed almost 600 knees over 24 "
         "months.", "aso2021-n-longitudinal"),
        ("The 2011 MOST study of fluctuating knee pain followed nearly 700 knees.",
         "zhang2011-n-knees"),
        ("The automated model agreed with a trained reader's BML volumes with an R² of nought "
         "point nine four.", "preiswerk2022-r2-model-vs-trained-reader"),
    ],
)  # fmt: skip
def test_a_figure_in_words_agrees_with_the_source(verdict, sentence, claim) -> None:
    s = verdict(sentence)
    assert s.verdict == "supported" and s.claim_id == claim, _why(s)


@pytest.mark.parametrize(
    "sentence, claim, source_gives",
    [
        ("Knees whose BML score climbed by two units or more had an odds ratio of four point two "
         "of going on to frequent knee pain.", "felson2007-enlarging-bml-new-pain-or", "3.2"),
        # 651 is above 600: "almost 600" never reaches up to it
        ("The 2011 MOST study of fluctuating knee pain followed almost 600 knees.",
         "zhang2011-n-knees", "651"),
        # a decade is 120 months, not the study's eight years
        ("Over a decade, 21% of BMLs shrank or disappeared completely.",
         "foong2014-bmls-shrank-or-resolved", "96 months"),
    ],
)  # fmt: skip
def test_a_figure_in_words_that_the_source_gives_otherwise_is_contradicted(
    verdict, sentence, claim, source_gives
) -> None:
    s = verdict(sentence)
    assert s.verdict == "contradicted" and s.claim_id == claim, _why(s)
    assert source_gives in s.explanation, s.explanation


def test_a_decade_against_an_eight_year_finding_is_not_unsupported(verdict) -> None:
    s = verdict("Over a decade, 55% of BMLs stayed the same size.")
    assert s.verdict == "contradicted" and s.source_doi, _why(s)
    assert "96" in s.explanation or "eight" in s.explanation, s.explanation


# -- 4. Hedged figures find the claims within their hedge ------------------------------------------


def test_a_hedged_figure_finds_the_claims_its_hedge_allows(index) -> None:
    def found(text: str) -> set[str]:
        return {r["id"] for r in index.by_figures(extract_figures(text), [])}

    assert "aso2021-n-cross-sectional" in found("over 1,400 knees")  # 1,412
    assert "aso2021-n-longitudinal" in found("almost 600 knees")  # 582
    assert "zhang2011-n-knees" not in found("almost 600 knees")  # 651 is above
    assert "aso2021-n-cross-sectional" not in found("1,400 knees")  # no hedge, no reach
    assert "aso2021-n-cross-sectional" not in found("more than 1,500 knees")


@pytest.mark.parametrize(
    "hedged, fits",
    [("over 1,400", True), ("more than 1,400", True), ("over fourteen hundred", True),
     ("some 1,400", True), ("over 1,500", False), ("under 1,400", False)],
)  # fmt: skip
def test_a_hedged_sample_size_is_supported_by_the_study_it_fits(verdict, hedged, fits) -> None:
    """Few words tie "the team looked at over 1,400 knees" to Aso 2021: its 1,412 knees do."""
    s = verdict(f"The team looked at {hedged} bow-legged knees.")
    if fits:
        assert s.verdict == "supported" and s.claim_id == "aso2021-n-cross-sectional", _why(s)
    else:
        assert s.verdict != "supported", _why(s)


def test_a_hedge_the_source_does_not_fit_is_contradicted(verdict) -> None:
    s = verdict(
        "The cross-sectional analysis drew on more than 1,500 bow-legged knees from the "
        "Osteoarthritis Initiative."
    )
    assert s.verdict == "contradicted" and "1,412" in s.explanation, _why(s)


# -- 5. Back references with up to two words before the noun ---------------------------------------


def test_back_references_allow_two_words_before_the_noun(lexicon) -> None:
    back = lexicon.back_reference
    for phrase in ("the same Japanese team", "that small Danish trial", "That review",
                   "the included studies"):  # fmt: skip
        m = back.search(f"In {phrase} they counted again.")
        assert m and m.group() == phrase, phrase
    # four words between "the same" and "team": no longer one phrase
    assert not back.search("the same week a different research team")


HIROSAKI = (
    "A Hirosaki study of women in the Iwaki Health Promotion Project linked more severe BMLs with "
    "a larger medial proximal tibial angle (p = 0.036). "
)
NAIRN_SENTENCE = "A 2021 systematic review of subchondroplasty included 17 studies. "


@pytest.mark.parametrize(
    "before, sentence, wrong, source_gives",
    [
        (HIROSAKI, "The same Japanese team examined 500 women in all.", True, "441"),
        (HIROSAKI, "The same Japanese team examined 441 women in all.", False, None),
        (NAIRN_SENTENCE, "That review's patients were 61 years old on average.", True, "54"),
        (NAIRN_SENTENCE, "That review's patients were 54 years old on average.", False, None),
    ],
)  # fmt: skip
def test_a_sentence_pointing_back_is_checked_against_the_study_before(
    verdict, before, sentence, wrong, source_gives
) -> None:
    s = verdict(before + sentence, sentence)
    if wrong:
        # the study before gives the figure; another Iwaki study (359 women) or another review's
        # age (62) is not what the sentence means
        assert s.verdict == "contradicted" and source_gives in s.explanation, _why(s)
    else:
        assert s.verdict == "supported", _why(s)


def test_the_included_studies_are_the_review_before(verdict) -> None:
    sentence = "The included studies were nearly all randomised controlled trials."
    s = verdict(NAIRN_SENTENCE + sentence, sentence)
    assert s.verdict == "contradicted" and s.source_doi == NAIRN, _why(s)
    right = "The included studies were nearly all level IV case series."
    s = verdict(NAIRN_SENTENCE + right, right)
    assert s.verdict != "contradicted", _why(s)


# -- 6. A bare number vouches only as a count ------------------------------------------------------


def test_a_bare_number_beside_a_measure_is_not_covered_by_another_measure(verdict) -> None:
    """0.81 is the source's R² for one reader against the model, not its Dice (0.70)."""
    wrong = verdict(
        "The overlap between the model's BML outlines and the reference outlines, scored with "
        "Dice, averaged 0.81."
    )
    assert wrong.verdict != "supported", _why(wrong)
    assert "0.81" in [u["text"] for u in wrong.unchecked]
    right = verdict(
        "The overlap between the model's BML outlines and the reference outlines, scored with "
        "Dice, averaged 0.70."
    )
    assert right.verdict == "supported" and right.claim_id == "preiswerk2022-mean-dice", _why(right)


def test_a_bare_count_that_is_a_claims_value_still_vouches(verdict) -> None:
    start = "The 2001 study of BMLs and knee pain enrolled 401 people, 351 with knee pain and "
    right = verdict(start + "50 without.")
    assert right.verdict == "supported" and right.source_doi == FELSON_2001, _why(right)
    wrong = verdict(start + "60 without.")
    assert wrong.verdict != "supported", _why(wrong)
    assert "60" in [u["text"] for u in wrong.unchecked]


@xfail(
    "a bare count before its total is no figure: 'unverified: 401 people is the size of the study "
    "in Felson et al. 2001, but what the sentence says that study found was not checked', though "
    "felson2001-n-with-pain says exactly this ('Of the 401 people in the 2001 study, 351 had knee "
    "pain.'): the 351 is never compared"
)
def test_a_bare_count_before_its_total_is_supported(verdict) -> None:
    s = verdict("In the 2001 study, 351 of the 401 people had knee pain.")
    assert s.verdict == "supported", _why(s)


# -- 7. An author's group or work ------------------------------------------------------------------


def test_an_authors_group_or_work_names_the_papers_they_led_else_co_wrote(db) -> None:
    assert [(m.surname, m.text) for m in author_mentions("Nigel Arden's group showed it")] == [
        ("Arden", "Arden's group")
    ]
    assert [m.surname for m in author_mentions("David Felson's work found it")] == ["Felson"]
    # Arden co-wrote Perry 2019 and led nothing we hold
    assert [s["doi"] for s in sources_by_author(db, "Arden", None)] == [PERRY]
    # Felson led three papers we hold and co-wrote more: the ones he led
    assert {s["doi"] for s in sources_by_author(db, "Felson", None)} == {
        FELSON_2001, FELSON_2003, FELSON_2007
    }  # fmt: skip
    assert [s["doi"] for s in sources_by_author(db, "Guermazi", None)] == [GUERMAZI_2012]


@pytest.mark.parametrize(
    "sentence, want, source",
    [
        ("Nigel Arden's group found that two years of vitamin D shrank bone marrow lesions "
         "compared with placebo.", "contradicted", PERRY),
        ("David Felson's work found that knees with BMLs had 9.5 times the odds of radiographic "
         "progression.", "contradicted", FELSON_2003),
        ("David Felson's work found that knees with BMLs had 6.5 times the odds of radiographic "
         "progression.", "supported", FELSON_2003),
        # Felson's finding, credited to Arden's group
        ("Nigel Arden's group found that knees with BMLs had 6.5 times the odds of radiographic "
         "progression.", "misattributed", FELSON_2003),
    ],
)  # fmt: skip
def test_a_finding_credited_to_an_authors_group_is_checked_against_their_papers(
    verdict, sentence, want, source
) -> None:
    s = verdict(sentence)
    assert s.verdict == want and s.source_doi == source, _why(s)


# -- 8. A contradiction yields to an unverified claim of the same source that fits better ----------


def test_a_finding_we_hold_unverified_is_not_contradicted_by_its_verified_sibling(verdict) -> None:
    """Aso 2021's stair-climbing result was never seen: its B is no wrong weight-bearing B."""
    text = with_references(
        "Pain on climbing stairs was the item most closely tied to lateral patellofemoral "
        "lesions (B = 0.15, p = 0.003) [1].",
        REF_ASO,
    )
    s = verdict(text)
    assert s.verdict == "unverified" and s.claim_id == "aso2021-lateral-pf-stair-pain", _why(s)
    assert "not verified" in s.explanation


@pytest.mark.parametrize("b, want", [("0.31", "contradicted"), ("0.13", "supported")])
def test_the_verified_sibling_still_judges_its_own_finding(verdict, b, want) -> None:
    text = with_references(
        "Lateral patellofemoral lesions went with more pain during weight-bearing activities "
        f"(B = {b}, p = 0.01) [1].",
        REF_ASO,
    )
    s = verdict(text)
    assert s.verdict == want and s.claim_id == "aso2021-lateral-pf-wb-pain", _why(s)


# -- 9. A sample size only one study has names that study ------------------------------------------


def test_a_sample_size_only_one_study_has_names_it(verdict) -> None:
    s = verdict(
        "In a separate study of 404 people, knee pain rose and fell as the lesions grew and shrank."
    )
    assert s.verdict == "unverified" and s.source_doi == DRIBAN_2013, _why(s)
    assert "404 people is the size of the study" in s.explanation


def test_a_sample_size_two_studies_share_names_neither(verdict) -> None:
    """600 is the FNIH sample of both Deveza 2017 and Yu 2024: which study is meant is not told."""
    s = verdict(
        "In a separate study of 600 people, knee pain rose and fell as the lesions grew and shrank."
    )
    assert s.verdict != "supported" and "is the size of the study" not in s.explanation, _why(s)


def test_a_sample_size_only_one_study_has_names_it_in_other_words(verdict) -> None:
    s = verdict("Another study of 404 people found knee pain waxed and waned with lesion size.")
    assert s.verdict == "unverified" and s.source_doi == DRIBAN_2013, _why(s)


# -- 10. Support through how a study was run needs a finding the study gives -----------------------

TRIAL = "In a two-year trial of 50 people, "


@pytest.mark.parametrize(
    "finding",
    [
        "daily vitamin D reduced the size of the lesions compared with placebo.",
        "a daily 800 IU of vitamin D significantly shrank the lesions compared with placebo.",
        "taking 800 IU of vitamin D each day made bone marrow lesions smaller than a placebo "
        "did.",
        "vitamin D every day cut lesion volume compared with placebo.",
        "daily vitamin D led to smaller lesions than placebo.",
    ],
)  # fmt: skip
def test_a_trials_size_does_not_vouch_for_a_finding_it_did_not_make(verdict, finding) -> None:
    """Perry 2019 found no significant change in BML volume: its n and length agreeing is no
    support for a sentence saying vitamin D shrank the lesions."""
    s = verdict(TRIAL + finding)
    assert s.verdict == "contradicted" and s.source_doi == PERRY, _why(s)


def test_a_trials_size_with_its_own_finding_is_supported(verdict) -> None:
    s = verdict(
        TRIAL + "800 IU of vitamin D a day did not significantly change BML volume compared with "
        "placebo."
    )
    assert s.verdict == "supported" and s.source_doi == PERRY, _why(s)


def test_a_trials_size_with_a_finding_we_do_not_hold_is_unverified(verdict) -> None:
    s = verdict(TRIAL + "daily vitamin D improved how well people slept.")
    assert s.verdict == "unverified" and s.source_doi == PERRY, _why(s)
    assert "not among its checked findings" in s.explanation


def test_a_time_point_does_not_vouch_for_a_reversed_finding(verdict) -> None:
    s = verdict(
        "Zoledronic acid did reduce knee pain more than placebo at 12 months in the pilot trial."
    )
    assert s.verdict == "contradicted", _why(s)


# -- 11. "(ref 3)" citation markers ----------------------------------------------------------------


def test_ref_markers_cite_and_are_no_figures() -> None:
    text = "as shown (ref 3), (refs 2 and 4), (references 5-7), [1, 8] and (Ref. 9)"
    assert citation_markers(text) == [3, 2, 4, 5, 6, 7, 1, 8, 9]
    figs = extract_figures(
        "The review pooled 756 patients (ref 2) and 17 studies (refs 12 and 14)."
    )
    assert [f.value for f in figs] == [756, 17]


@pytest.mark.parametrize("marker, want", [("(ref 2)", "supported"), ("(ref 1)", "misattributed")])
def test_a_ref_marker_names_the_work_the_sentence_rests_on(db, index, marker, want) -> None:
    text = with_references(
        f"The 2021 subchondroplasty review pooled 756 patients {marker}.", REF_ASO, REF_NAIRN
    )
    report = check_text(db, text, index)
    s = report.statements[0]
    assert s.verdict == want and s.source_doi == NAIRN, _why(s)
    if want == "supported":
        assert {r.label: r.verdict for r in report.references} == {"1.": "unused", "2.": "ok"}


# -- 12. A share after "by" or before "more"/"less" is a change ------------------------------------


def test_a_share_of_change_is_read_as_a_change() -> None:
    (third,) = extract_figures("The procedure lowers your chance of surgery by about a third.")
    assert (third.kind, third.unit) == ("percent", "% change")
    (more,) = extract_figures("It went with 1.1% more cartilage lost each year.")
    assert (more.unit, more.value) == ("% change", 1.1)
    (share,) = extract_figures("In all, 39% of people had a smaller lesion.")
    assert share.unit == "%"
    # "each one-point higher score" is the unit the effect is counted in, not a figure
    assert extract_figures("Each one-point higher score went with more loss.") == []


@pytest.mark.parametrize(
    "sentence, want, claim",
    [
        ("Each one-point higher BML score at baseline went with 1.14% more tibial cartilage lost "
         "per year.", "supported", "tanamas2010-tibial-cartilage-loss"),
        ("Each one-point higher BML score at baseline went with 2.5% more tibial cartilage lost "
         "per year.", "contradicted", "tanamas2010-tibial-cartilage-loss"),
        ("Within two years, subchondroplasty cut conversion to total knee replacement by 70% in "
         "patients who were already candidates for it.", "supported", "astur2019-tka-reduction-70"),
    ],
)  # fmt: skip
def test_a_change_agrees_with_a_claim_stating_a_change(verdict, sentence, want, claim) -> None:
    s = verdict(sentence)
    assert s.verdict == want and s.claim_id == claim, _why(s)


@pytest.mark.parametrize(
    "sentence",
    [
        # 39% is the share of people whose lesion shrank, not how much it shrank
        "At six months, zoledronic acid had cut BML size by 39%.",
        # 74% is how many had osteophytes, not how much more common they were
        "In the Framingham MRI study, osteophytes were 74% more common than BMLs.",
    ],
)
def test_a_change_is_never_supported_by_a_share(verdict, sentence) -> None:
    s = verdict(sentence)
    assert s.verdict != "supported", _why(s)


# -- 13. A year that dates the study is the source's -----------------------------------------------

YU_SENTENCE = (
    "The {year} biomarker study took its 600 participants from the FNIH OA Biomarkers Consortium "
    "sample of the Osteoarthritis Initiative [1]."
)


def test_a_year_dating_the_study_must_be_the_sources(verdict) -> None:
    wrong = verdict(with_references(YU_SENTENCE.format(year=2019), REF_YU))
    assert wrong.verdict == "unverified" and wrong.source_doi == YU, _why(wrong)
    assert [u["text"] for u in wrong.unchecked] == ["2019"]
    assert "2024" in wrong.unchecked[0]["why"]
    right = verdict(with_references(YU_SENTENCE.format(year=2024), REF_YU))
    assert right.verdict == "supported" and right.source_doi == YU, _why(right)


def test_a_year_dating_an_uncited_study_must_be_its_year(verdict) -> None:
    start = "analysis of the Osteoarthritis Initiative measured BML volume in 404 people."
    assert verdict(f"A 2013 {start}").verdict == "supported"
    wrong = verdict(f"A 2016 {start}")
    assert wrong.verdict == "unverified" and wrong.source_doi == DRIBAN_2013, _why(wrong)


# -- 14. benchmarks.accuracy --corpus DIR ----------------------------------------------------------

DRAFT = with_references(
    "A systematic review of subchondroplasty pooled 756 patients [1]. Its patients averaged 61 "
    "years of age [1].",
    REF_NAIRN,
)


def _corpus_entry(folder: Path, name: str, statements: list[dict], references: list[dict]) -> None:
    (folder / name).write_text(DRAFT, encoding="utf-8")
    expected = {"article": f"shared/factcheck-corpus/{name}", "statements": statements,
                "references": references}  # fmt: skip
    stem = name.rsplit(".", 1)[0]
    (folder / f"{stem}-expected.json").write_text(json.dumps(expected), encoding="utf-8")


@pytest.mark.skipif(not SHARED.exists(), reason="the shared fact-check corpus is not checked out")
def test_the_accuracy_benchmark_scores_a_corpus_directory(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the benchmark's own kb.db goes here
    _corpus_entry(
        tmp_path, "right.md",
        [{"contains": "pooled 756 patients", "accept": ["supported"], "why": "Nairn 2021: 756"},
         {"contains": "61 years", "accept": ["contradicted"], "why": "Nairn 2021: mean age 54"}],
        [{"contains": NAIRN, "accept": ["ok"], "why": "as the source gives it"}],
    )  # fmt: skip
    # an expectation that misjudges the first sentence: the check's "supported" is then false
    _corpus_entry(
        tmp_path, "wrong.md",
        [{"contains": "pooled 756 patients", "accept": ["contradicted"],
          "why": "deliberately wrong"}],
        [],
    )  # fmt: skip
    assert main(["--corpus", str(tmp_path), "--misses"]) == 0
    out = capsys.readouterr().out
    ours = out.split(f"## Corpus {tmp_path}", 1)[1].split("## Misses", 1)[0]
    assert re.search(r"^right\.md\s+3/3\s+0\s*$", ours, re.M), ours
    assert re.search(r"^wrong\.md\s+0/1\s+1\s*$", ours, re.M), ours
    assert re.search(r"^all drafts\s+3/4\s+1\s+\(0\.75\)\s*$", ours, re.M), ours
    assert re.search(r"^contradicted\s+1\.00\s+0\.50\s+2\s*$", ours, re.M), ours
    assert "FALSE SUPPORTED wrong.md: 'pooled 756 patients'" in out


def test_the_accuracy_benchmark_refuses_a_missing_corpus(tmp_path: Path, capsys) -> None:
    assert main(["--corpus", str(tmp_path / "nowhere")]) == 2
    assert "no corpus at" in capsys.readouterr().err


def test_a_tie_in_wording_goes_to_the_claim_the_sentence_names_more_of(verdict) -> None:
    """Two claims of one trial worded alike but for what was measured: the sentence about BML
    volume rests on the BML-volume claim, never on the synovial one (its explanation would quote
    the wrong finding to the writer)."""
    s = verdict(
        "In the vitamin D substudy, BML volume did not change significantly with supplementation "
        "compared with placebo over two years."
    )
    assert s.verdict == "supported" and s.claim_id == "perry2019-bml-volume-difference", _why(s)


def test_a_contradiction_names_no_figure_of_the_claim_itself_as_another_analysis(verdict) -> None:
    s = verdict(
        "Lateral patellofemoral lesions went with more weight-bearing pain (B = 0.31, p = 0.01) "
        f"[1].\n\nReferences\n\n1. Aso K, et al. A paper. doi:{ASO}\n"
    )
    assert s.verdict == "contradicted", _why(s)
    assert "belongs to another analysis" not in s.explanation, s.explanation


# -- 15. A study named by its cohort ---------------------------------------------------------------


def test_a_cohort_named_with_another_studys_figure_is_misattributed(verdict) -> None:
    """ "The Framingham researchers" name one study (its cohort appears in no other source's
    claims): a figure from another study under that name is no support."""
    s = verdict(
        "The Framingham researchers reported that lesions larger than 1 cm were five times as "
        "common in painful arthritic knees as in other knees."
    )
    assert s.verdict == "misattributed", _why(s)


def test_a_cohort_named_with_its_own_figure_is_supported(verdict) -> None:
    s = verdict(
        "The Framingham researchers found a BML on MRI in 371 (52%) of 710 adults over 50 without "
        "any radiographic knee OA."
    )
    assert s.verdict == "supported" and s.claim_id.startswith("guermazi2012"), _why(s)


def test_a_nationality_names_no_single_study(index) -> None:
    assert index.named_studies("An Australian study of 271 adults found") == set()
    assert index.named_studies("The Framingham researchers found") != set()


@pytest.mark.parametrize(
    "sentence",
    [
        "Perry et al. (2019) found that vitamin D improved how well people slept.",
        "Perry et al. (2019) found that vitamin D reduced knee pain.",
    ],
)
def test_a_finding_the_named_study_never_reported_is_no_reversal(verdict, sentence) -> None:
    """Naming a study lends its claims a bonus, but a finding on something none of them is about
    (sleep, pain in a trial whose claims are on lesion and synovial volume) reverses none of them."""
    s = verdict(sentence)
    assert s.verdict != "contradicted", _why(s)
    assert s.verdict != "supported", _why(s)


# -- 16. Found by an independent review: each was a false "supported" ------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Among knees with no BML at the start, a new BML appeared in 32.4% of knees that went on "
        "to frequent pain and in 10.8% of control knees.",
        "Six months after one zoledronic acid infusion, in people with uncontrolled pain, total BML "
        "area had shrunk by 175.7 mm² more than with placebo.",
        "This 2013 Osteoarthritis Initiative study found that larger BMLs at the start went with "
        "more knee pain at the start.",
    ],
)
def test_review_correct_sentences_stay_supported(verdict, sentence) -> None:
    s = verdict(sentence)
    assert s.verdict == "supported", _why(s)


def test_the_arms_as_the_claim_gives_them_are_supported(verdict) -> None:
    s = verdict("The substudy included 50 people, 24 given cholecalciferol and 26 given placebo.")
    assert s.verdict == "supported", _why(s)


@pytest.mark.parametrize(
    "sentence, claim",
    [
        ("Participants whose serum CTX-I fell over 12 months had higher odds of BML worsening by "
         "24 months.", "yu2024-ctx1-serum-worsening"),
        ("Knees whose BML score fell by at least 2 units had about three times the odds of "
         "developing frequent knee pain.", "felson2007-enlarging-bml-new-pain-or"),
        ("A narrative review holds that degeneration of the subchondral bone, BMLs included, can "
         "begin after the cartilage degenerates.", "shi2023-bml-before-cartilage"),
    ],
)  # fmt: skip
def test_a_change_the_other_way_is_contradicted(verdict, sentence, claim) -> None:
    """A rise read as a fall (of the exposure, with the same outcome) or "after" for "before"."""
    s = verdict(sentence)
    assert s.verdict == "contradicted" and s.claim_id == claim, _why(s)


def test_a_change_and_its_outcome_both_turned_round_is_the_same_finding(verdict) -> None:
    s = verdict(
        "Participants whose serum CTX-I rose over 12 months had higher odds of BML worsening by "
        "24 months."
    )
    assert s.verdict == "supported", _why(s)


def test_groups_compared_with_the_first_group_the_claims_second_are_contradicted(verdict) -> None:
    s = verdict(
        "BME lesions were four times as likely in women with knee pain but no OA as in women with "
        "painless radiographic OA."
    )
    assert s.verdict == "contradicted", _why(s)


def test_which_opposite_goes_with_which_compartment_is_checked(verdict) -> None:
    """Felson 2003: medial BMLs mostly in varus limbs, lateral ones in valgus limbs."""
    wrong = verdict("Medial lesions were found mostly in valgus knees.")
    assert wrong.verdict == "contradicted", _why(wrong)
    right = verdict("Medial lesions were found mostly in varus knees.")
    assert right.verdict != "contradicted", _why(right)


def test_a_curators_note_is_cut_for_a_writer() -> None:
    """An unverified claim's explanation quotes its note's first sentence, without web addresses or
    bracketed asides (where it was read is on the claim's page)."""
    from kb.findings import first_sentence

    note = (
        "Second-hand: read in a review at https://pmc.ncbi.nlm.nih.gov/articles/PMC6919352, whose "
        "title, authors and DOI were not seen. More detail follows."
    )
    assert first_sentence(note) == (
        "Second-hand: read in a review online, whose title, authors and DOI were not seen."
    )
    assert first_sentence(
        "Read in a catalogue record (lib.example.org, record 3852; abstract)."
    ) == ("Read in a catalogue record.")


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("Dore et al. 2010 (395 older adults): changes in BML size tracked changes in pain only in "
         "people with radiographic OA.", "contradicted"),
        ("In that 2010 study of 395 older adults, the link between changing lesion size and changing "
         "pain held only in people who already had OA on X-ray.", "contradicted"),
        ("In older adults without OA on X-ray, a change in BML size went with a change in knee pain "
         "(Dore et al., 2010).", "supported"),
    ],
)  # fmt: skip
def test_the_group_a_finding_held_in_is_checked(verdict, sentence, expected) -> None:
    """Dore 2010: BML change went with pain change in those without OA on X-ray, not in those with
    it (a false "supported" in two blind drafts)."""
    s = verdict(sentence)
    assert s.verdict == expected, _why(s)


def test_ages_and_vague_quantities_are_read_as_what_they_are() -> None:
    """ "aged 35 to 55" is an age range (never 35–55 lesions), "70-year-old" an age, and "dozens of
    studies" no figure at all."""
    figs = {
        f.text: f for f in extract_figures("120 women aged 35 to 55 found lesions in 56% of knees")
    }
    assert figs["35 to 55"].kind == "age" and (figs["35 to 55"].low, figs["35 to 55"].high) == (
        35,
        55,
    )
    assert [f.kind for f in extract_figures("a 70-year-old woman")] == ["age"]
    assert extract_figures("dozens of studies") == []
    from kb.numbers import number_like

    assert number_like("dozens of studies and hundreds of people") == []


@pytest.mark.parametrize(
    "sentence",
    [
        "Tanamas et al. found that higher baseline BML scores went with greater odds of knee "
        "replacement over four years (OR 1.57).",
        "One year after a single polyacrylamide hydrogel injection, WOMAC pain showed an average "
        "fall of almost 18 points.",
        "One year after a single polyacrylamide hydrogel injection, WOMAC pain was still down by "
        "17.7 points.",
    ],
)
def test_right_figures_in_other_words_are_not_contradicted(verdict, sentence) -> None:
    """A decrease written 'down by' or 'a fall of' is the negative difference claims record; a
    time point of a sibling claim whose own figure the sentence does not give contradicts nothing."""
    s = verdict(sentence)
    assert s.verdict != "contradicted", _why(s)


def test_a_sentence_reporting_changes_both_ways_turns_nothing_round(verdict) -> None:
    s = verdict(
        "Over eight years, roughly one in five lesions shrank or disappeared while about a quarter "
        "grew (Foong et al., 2014)."
    )
    assert s.verdict != "contradicted", _why(s)


def test_a_finding_tied_to_another_cohort_is_not_supported(verdict) -> None:
    """Scher 2008 was no Osteoarthritis Initiative study; the OAI is named in other studies' claims."""
    s = verdict(
        "Using Osteoarthritis Initiative data, Scher and colleagues found that people with bone "
        "marrow edema were 8.95 times as likely to need a knee replacement within three years."
    )
    assert s.verdict != "supported", _why(s)
    right = verdict(
        "Using Osteoarthritis Initiative data, Aso and colleagues analysed 1,412 varus knees "
        "cross-sectionally."
    )
    assert right.verdict == "supported", _why(right)


# Wrong sentences found by two independent reviews, each once a false "supported": groups or arms
# swapped, a share with its own n, a qualifier the opposite of the claim's, a reversal in fresh
# words, another design, two findings one each way.
REVIEWED_WRONG = [
        # two groups' figures swapped
        "Among knees with no BML at the start, a new BML appeared in 10.8% of knees that went on "
        "to frequent pain and in 32.4% of control knees.",
        "A BML score rise of at least 2 units was seen in 8.6% and 27.5% of painful and control "
        "knees respectively.",
        # a share whose own analysis has another n, beside the study's n
        "Of the 198 people in the 2014 eight-year study, 52% were children of people who had a "
        "knee replaced.",
        "The 2010 TASOAC study followed 395 randomly selected people, 25% of whom developed a new "
        "BML.",
        # "almost" is a little below, never 9% below
        "Almost 120 people took part in the 2010 cohort study of BMLs in symptomatic knee OA.",

        # a share said of what another finding of the same study is about
        "The 2013 study of BML volume included 404 people, 71% of them women.",
        "The 2014 eight-year study of BMLs followed 198 people, and 24% of them developed a new BML.",
        # the arms swapped, in bare numbers the claim itself prints
        "The substudy included 50 people, 26 given cholecalciferol and 24 given placebo.",
        # two findings, the second unchecked and the other way
        "The 2019 substudy of 50 people found that vitamin D did no better than placebo for BML "
        "volume, but it did cut pain.",

        # a qualifier that is the opposite of the claim's (lexicon opposites)
        "Of 148 middle-aged men without knee pain, 14.9% had a BML.",
        "Type 1 central BMLs went with tears of the posterior cruciate ligament (odds ratio 5.9).",
        "Per standard deviation of serum CTX-II, the odds of having BMLs in 5 or more subregions "
        "were 1.92 times as high.",
        "The active arm took 800 IU of cholecalciferol weekly.",
        # a direction reversed where the figure or the p value ties the sentence to the claim
        "Among women who had a BML at the start, fewer of those starting an oral bisphosphonate "
        "saw the lesion shrink (p = 0.03).",
        "In women with early knee OA, bone attrition protected against BMLs (p = 0.029).",

        "In 109 people without knee symptoms, 66% had BMLs on MRI.",
        "At six months, 39% of people given placebo had a clinically significant reduction in BML "
        "size.",
        "In children of people who had a knee replaced, a change in BML size did not go with a "
        "change in knee pain.",
        "In women with early knee OA, a steeper medial posterior slope of the tibia prevented BMLs.",

        "A cohort study found that six months after one zoledronic acid infusion, total BML area "
        "had shrunk by 175.7 mm² more than with placebo.",
        "Knees whose BML score rose by at least 2 units had about three times the odds of "
        "developing frequent knee pain (adjusted odds ratio 3.2), according to a cross-sectional "
        "study.",

]  # fmt: skip


@pytest.mark.parametrize("sentence", REVIEWED_WRONG)
def test_wrong_sentences_found_by_reviews_are_never_supported(verdict, sentence) -> None:
    s = verdict(sentence)
    assert s.verdict != "supported", _why(s)


def test_a_negation_of_the_claims_own_finding_is_contradicted(verdict) -> None:
    """ "71% had no knee OA visible" where the study's 71% had it; the complement of a count ("401
    patients, of whom 50 had no knee pain" beside 351 with pain) is no negation of it."""
    wrong = verdict("Among 404 OAI participants, 71% had no knee OA visible on X-ray.")
    assert wrong.verdict == "contradicted", _why(wrong)
    right = verdict("The 2001 study enrolled 401 patients, of whom 50 had no knee pain.")
    assert right.verdict != "contradicted", _why(right)


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("The oedema-like zone on MRI held less necrosis than normal-looking marrow (P = 0.021).",
         "contradicted"),
        ("Two human readers agreed with each other less closely (R² = 0.85) than the software "
         "agreed with the trained reader.", "supported"),
    ],
)  # fmt: skip
def test_how_much_of_something_turned_round_is_a_reversal(verdict, sentence, expected) -> None:
    """ "less necrosis" where the study found more; "less closely" names no quantity."""
    s = verdict(sentence)
    assert s.verdict == expected, _why(s)


@pytest.mark.parametrize(
    "sentence",
    [
        "People in the Framingham MRI study were 62.3 years old on average, and 55% were men.",
        "In community controls, a change in BML size went with a change in knee pain "
        "(regression coefficient 2.50).",
    ],
)
def test_an_opposite_word_beside_a_siblings_figure_is_caught(verdict, sentence) -> None:
    """The 55% is the women claim's, vouching beside the age: "men" is its opposite."""
    s = verdict(sentence)
    assert s.verdict != "supported", _why(s)
