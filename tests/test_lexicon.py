"""data/lexicon.yml: domain words a curator extends without touching code, validated with located errors."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from kb import BuildError, build
from kb.factcheck import check_text
from kb.lexicon import parse_lexicon

REPO = Path(__file__).resolve().parents[1]


def test_the_lexicon_reads_synonyms_families_and_compartments() -> None:
    lx, problems = parse_lexicon(
        "compartments:\n  medial: [medial, inner]\n  lateral: [lateral, outer]\n"
        "opposite_compartments:\n  - [medial, lateral]\n"
        "count_families:\n  scans: [scans, datasets]\n"
        "synonyms:\n  - [knee replacement, knee arthroplasty, TKA]\n",
        "data/lexicon.yml",
    )
    assert problems == []
    assert lx.family("knee MRI datasets") == lx.family("scans") == "scans"
    assert lx.normalise("a TKA") == lx.normalise("a knee  arthroplasty") == "a Kneereplacement"
    assert "arthroplasty" in lx.related("after a TKA")


@pytest.mark.parametrize(
    "text, line, field",
    [
        ("compartment:\n  medial: [inner]\n", 1, "compartment"),
        ("synonyms:\n  - [alone]\n", 1, "synonyms"),
        ("synonyms:\n  - [a, b]\n  - [b, c]\n", 1, "synonyms"),
        ("compartments:\n  medial: [inner]\nopposite_compartments:\n  - [medial, upper]\n", 3,
         "opposite_compartments"),
        ("count_families:\n  scans: scans\n", 1, "count_families"),
        ("back_references: that trial\n", 1, "back_references"),
        ("risk_words: [risk]\noutcomes: [pain, 3]\n", 2, "outcomes"),
    ],
)  # fmt: skip
def test_a_bad_lexicon_is_a_located_problem(text: str, line: int, field: str) -> None:
    _, problems = parse_lexicon(text, "data/lexicon.yml")
    assert [(p.path, p.line, p.field) for p in problems] == [("data/lexicon.yml", line, field)]


def test_a_bad_lexicon_stops_the_build(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(REPO / "data", data, ignore=shutil.ignore_patterns("fetched"))
    (data / "lexicon.yml").write_text("synonyms: [[lonely]]\n", encoding="utf-8")
    with pytest.raises(BuildError) as err:
        build(data, tmp_path / "kb.db")
    assert any("lexicon.yml" in str(p) and "synonyms" in str(p) for p in err.value.problems)
    assert not (tmp_path / "kb.db").exists()


def test_the_check_reads_the_curated_count_families(kb_db: Path, tmp_path: Path) -> None:
    """Scans and datasets count the same thing because the lexicon says so; without that line the
    figure cannot be compared (and the sentence is not supported)."""
    sentence = "The deep-learning BML tool was developed and tested on 673 knee MRI scans."
    db = sqlite_utils.Database(sqlite3.connect(f"file:{kb_db}?mode=ro", uri=True))
    assert check_text(db, sentence).statements[0].verdict == "supported"
    data = tmp_path / "data"
    shutil.copytree(REPO / "data", data, ignore=shutil.ignore_patterns("fetched"))
    lexicon = (data / "lexicon.yml").read_text(encoding="utf-8")
    assert "datasets, dataset," in lexicon
    (data / "lexicon.yml").write_text(
        lexicon.replace("datasets, dataset,", "").replace(", knee mri datasets", "")
        .replace(", mri datasets", ""),
        encoding="utf-8",
    )  # fmt: skip
    build(data, tmp_path / "kb.db")
    after = check_text(sqlite_utils.Database(tmp_path / "kb.db"), sentence).statements[0]
    assert after.verdict != "supported"
    assert [u["text"] for u in after.unchecked] == ["673 knee MRI scans"]
