"""Bad input stops `kb build` with file, line and field named, exit code 1, and kb.db untouched."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import KB


def run_kb(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*KB, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def line_of(path: Path, text: str) -> int:
    """1-based line of the first line containing text."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def first_claim_file(data: Path) -> Path:
    return sorted((data / "claims").glob("*.yml"))[0]


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def claim_line(path: Path, key: str) -> str:
    """The first `  key: value` line of a claim file."""
    return next(line for line in path.read_text().splitlines() if line[2:].startswith(f"{key}:"))


@pytest.fixture
def built(data_copy: Path) -> Path:
    """A good kb.db built from the copy, to prove a failed build leaves it untouched."""
    result = run_kb("build", "--data", "data", "--db", "kb.db", cwd=data_copy.parent)
    assert result.returncode == 0, result.stderr
    return data_copy.parent / "kb.db"


def assert_rejected(workdir: Path, db: Path, *expected: str) -> str:
    before = db.read_bytes()
    result = run_kb("build", "--data", "data", "--db", "kb.db", cwd=workdir)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in result.stderr, f"{text!r} not in:\n{result.stderr}"
    assert db.read_bytes() == before, "a failed build changed kb.db"
    assert not list(workdir.glob(".kb.db.*.tmp")), "a failed build left a temp file"
    return result.stderr


def test_yaml_syntax_error_names_file_and_line(data_copy: Path, built: Path) -> None:
    path = first_claim_file(data_copy)
    with path.open("a") as f:
        f.write("- id: broken\n  statement: [unclosed\n")
    n = len(path.read_text().splitlines())
    rel = f"data/claims/{path.name}"
    err = assert_rejected(data_copy.parent, built, "YAML syntax error")
    assert any(f"{rel}:{line}" in err for line in (n - 1, n, n + 1)), err


def test_misspelt_field_is_named_with_a_suggestion(data_copy: Path, built: Path) -> None:
    path = first_claim_file(data_copy)
    old = claim_line(path, "statement")
    line = line_of(path, old)
    replace_once(path, old, old.replace("statement:", "statment:"))
    assert_rejected(
        data_copy.parent,
        built,
        f"data/claims/{path.name}:{line}",
        "statment",
        "did you mean 'statement'",
    )


def test_bad_doi_syntax(data_copy: Path, built: Path) -> None:
    path = data_copy / "sources.yml"
    old = next(line for line in path.read_text().splitlines() if line.startswith("- doi:"))
    line = line_of(path, old)
    replace_once(path, old, "- doi: 11.1234/not-a-doi")
    assert_rejected(data_copy.parent, built, f"data/sources.yml:{line}", ".doi", "not a DOI")


def test_a_verified_claim_must_name_a_public_page(data_copy: Path, built: Path) -> None:
    # provenance ends at a page a reader can open, never at a file of ours
    path = data_copy / "claims" / "zz-notes-file.yml"
    path.write_text(
        "- id: read-in-our-notes\n  statement: s\n  topic: pain\n  measure: count\n"
        "  status: verified\n  source_doi: 10.1186/s13075-021-02422-0\n"
        "  verified_against: shared/sources/DOSSIER.md [3]\n"
        "  curated_on: 2026-11-24\n  curated_by: t\n"
    )
    err = assert_rejected(
        data_copy.parent,
        built,
        "data/claims/zz-notes-file.yml:7: claims[read-in-our-notes].verified_against: "
        "must be the address (http or https) of the public page the figure was seen on",
    )
    assert "1 problem(s) found" in err


def test_manual_metadata_must_name_a_public_page(data_copy: Path, built: Path) -> None:
    path = data_copy / "sources.yml"
    old = next(line for line in path.read_text().splitlines() if "metadata_page: http" in line)
    line = line_of(path, old)
    replace_once(path, old, "  metadata_page: our reading notes, section [1]")
    assert_rejected(
        data_copy.parent,
        built,
        f"data/sources.yml:{line}:",
        ".metadata_page: must be the address (http or https) of the public page the metadata was "
        "read on",
    )


def test_a_topic_outside_the_vocabulary_is_named(data_copy: Path, built: Path) -> None:
    path = first_claim_file(data_copy)
    old = claim_line(path, "topic")
    line = line_of(path, old)
    replace_once(path, old, "  topic: knee-stuff")
    assert_rejected(
        data_copy.parent, built, f"data/claims/{path.name}:{line}:", ".topic:",
        "'knee-stuff' is not one of: prevalence, pain, progression",
    )  # fmt: skip


def test_certainty_above_what_the_design_starts_at_is_refused(data_copy: Path, built: Path) -> None:
    # a cross-sectional design starts at low: a curator may lower certainty, never raise it
    path = data_copy / "claims" / "zz-raised.yml"
    path.write_text(
        "- id: raised-certainty\n  statement: s\n  topic: pain\n  measure: count\n"
        "  study_design: cross-sectional\n  certainty: moderate\n  status: unverified\n"
        "  notes: n\n  curated_on: 2026-11-24\n  curated_by: t\n"
    )
    err = assert_rejected(
        data_copy.parent, built,
        "data/claims/zz-raised.yml:6: claims[raised-certainty].certainty: 'moderate' is higher "
        "than a cross-sectional starts at ('low'); certainty may only be lowered",
    )  # fmt: skip
    assert "1 problem(s) found" in err


def test_value_low_above_value_high(data_copy: Path, built: Path) -> None:
    path = first_claim_file(data_copy)
    old = claim_line(path, "id")
    line = line_of(path, old)
    replace_once(path, old, f"{old}\n  value_low: 9\n  value_high: 3")
    assert_rejected(
        data_copy.parent,
        built,
        f"data/claims/{path.name}:{line + 1}",
        "value_low",
        "greater than value_high",
    )


def test_duplicate_claim_id(data_copy: Path, built: Path) -> None:
    path = first_claim_file(data_copy)
    first_id = claim_line(path, "id").split(":", 1)[1].strip()
    other = data_copy / "claims" / "zz-duplicate.yml"
    other.write_text(
        f"- id: {first_id}\n  statement: copy\n  topic: pain\n  measure: count\n  status: unverified\n"
        "  notes: test\n  curated_on: 2026-11-24\n  curated_by: test\n"
    )
    assert_rejected(data_copy.parent, built, "data/claims/zz-duplicate.yml:1", "duplicate claim id")


def test_claim_citing_a_source_not_in_data(data_copy: Path, built: Path) -> None:
    path = data_copy / "claims" / "zz-orphan.yml"
    path.write_text(
        "- id: orphan-claim\n  statement: s\n  topic: pain\n  measure: count\n  status: disputed\n"
        "  notes: n\n  source_doi: 10.9999/not-in-sources\n  curated_on: 2026-11-24\n  curated_by: t\n"
    )
    assert_rejected(
        data_copy.parent,
        built,
        "data/claims/zz-orphan.yml:7",
        "source_doi",
        "10.9999/not-in-sources is not in sources.yml",
    )


def test_unknown_status(data_copy: Path, built: Path) -> None:
    path = first_claim_file(data_copy)
    old = claim_line(path, "status")
    line = line_of(path, old)
    replace_once(path, old, "  status: probably")
    assert_rejected(
        data_copy.parent,
        built,
        f"data/claims/{path.name}:{line}",
        ".status",
        "'probably' is not one of",
    )


def test_faq_linking_a_missing_claim(data_copy: Path, built: Path) -> None:
    path = data_copy / "faq.yml"
    old = next(line for line in path.read_text().splitlines() if line.strip().startswith("claims:"))
    line = line_of(path, old)
    if old.rstrip().endswith(":"):  # block list: add an item under it
        replace_once(path, old, f"{old}\n    - no-such-claim")
    else:
        replace_once(path, old, old.replace("[", "[no-such-claim, ", 1))
    assert_rejected(
        data_copy.parent, built, f"data/faq.yml:{line}", ".claims", "no claim 'no-such-claim'"
    )


def test_every_problem_is_reported_not_just_the_first(data_copy: Path, built: Path) -> None:
    path = first_claim_file(data_copy)
    replace_once(path, claim_line(path, "status"), "  status: probably")
    (data_copy / "claims" / "zz-more.yml").write_text(
        "- id: Bad_Id\n  statement: s\n  topic: pain\n  measure: guesswork\n  status: verified\n"
        "  curated_on: 2026-13-01\n  curated_by: t\n"
    )
    err = assert_rejected(
        data_copy.parent, built, "'probably'", "Bad_Id", "guesswork", "2026-13-01"
    )
    assert "problem(s) found" in err


def test_validate_reports_without_building(data_copy: Path) -> None:
    ok = run_kb("validate", "--data", "data", cwd=data_copy.parent)
    assert ok.returncode == 0, ok.stderr
    assert "claims" in ok.stdout
    assert not (data_copy.parent / "kb.db").exists()
    path = first_claim_file(data_copy)
    replace_once(path, claim_line(path, "status"), "  status: probably")
    bad = run_kb("validate", "--data", "data", cwd=data_copy.parent)
    assert bad.returncode == 1 and "'probably'" in bad.stderr


def test_a_file_that_is_not_utf8_is_named_with_its_line(data_copy: Path, built: Path) -> None:
    path = first_claim_file(data_copy)
    n = len(path.read_bytes().splitlines())
    with path.open("ab") as f:
        f.write(b"\n# caf\xe9\n")
    rel = f"data/claims/{path.name}"
    err = assert_rejected(data_copy.parent, built, f"{rel}:{n + 2}: not UTF-8 text (byte 0xe9")
    bad = run_kb("validate", "--data", "data", cwd=data_copy.parent)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert f"{rel}:{n + 2}: not UTF-8 text" in bad.stderr, bad.stderr
    assert "problem(s) found" in err


def test_a_file_that_cannot_be_read_is_named(data_copy: Path, built: Path) -> None:
    (data_copy / "claims" / "zz-gone.yml").symlink_to(data_copy / "nowhere.yml")
    assert_rejected(
        data_copy.parent, built, "data/claims/zz-gone.yml: cannot be read: No such file"
    )
    bad = run_kb("validate", "--data", "data", cwd=data_copy.parent)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "data/claims/zz-gone.yml: cannot be read" in bad.stderr


def test_an_unreadable_fetched_record_is_named(data_copy: Path, built: Path) -> None:
    records = data_copy / "fetched" / "records"
    records.mkdir(parents=True, exist_ok=True)
    (records / "zz-gone.json").symlink_to(data_copy / "nowhere.json")
    assert_rejected(data_copy.parent, built, "zz-gone.json", "No such file")


def test_a_file_that_cannot_be_parsed_comes_first_without_its_follow_on_errors(
    data_copy: Path, built: Path
) -> None:
    linked = {cid for entry in yaml.safe_load((data_copy / "faq.yml").read_text())
              for cid in entry.get("claims") or []}  # fmt: skip
    path = next(  # a claim file the FAQ links into
        p for p in sorted((data_copy / "claims").glob("*.yml"))
        if linked & {c["id"] for c in yaml.safe_load(p.read_text())}
    )  # fmt: skip
    with path.open("a") as f:
        f.write("- id: broken\n  statement: [unclosed\n")
    (data_copy / "claims" / "zz-unrelated.yml").write_text(  # a real missing reference stays listed
        "- id: unrelated-claim\n  statement: s\n  topic: pain\n  measure: count\n"
        "  status: unverified\n  notes: n\n  superseded_by: no-such-claim\n"
        "  curated_on: 2026-11-24\n  curated_by: t\n"
    )
    err = assert_rejected(data_copy.parent, built, "YAML syntax error")
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors[0].startswith(f"error: data/claims/{path.name}:"), err
    assert [e for e in errors if "no claim" in e] == [
        "error: data/claims/zz-unrelated.yml:7: claims[unrelated-claim].superseded_by: "
        "no claim 'no-such-claim'"
    ], err
    assert f"references to what data/claims/{path.name} defines, which could not be read" in err
    assert "2 problem(s) found" in err
    assert run_kb("validate", "--data", "data", cwd=data_copy.parent).stderr == err


def test_a_bad_doi_is_one_problem_not_two(data_copy: Path, built: Path) -> None:
    (data_copy / "claims" / "zz-bad-doi.yml").write_text(
        "- id: bad-doi-claim\n  statement: s\n  topic: pain\n  measure: count\n  status: verified\n"
        "  source_doi: 11.1234/not-a-doi\n  verified_against: https://example.org\n"
        "  curated_on: 2026-11-24\n  curated_by: t\n"
    )
    err = assert_rejected(
        data_copy.parent,
        built,
        "data/claims/zz-bad-doi.yml:6: claims[bad-doi-claim].source_doi: not a DOI",
    )
    assert "a verified claim needs it" not in err
    assert "1 problem(s) found" in err


def deprecated_claim(cid: str, superseded_by: str | None = None, reason: str | None = "r") -> str:
    text = (
        f"- id: {cid}\n  statement: s\n  topic: pain\n  measure: count\n  status: deprecated\n"
        "  curated_on: 2026-11-24\n  curated_by: t\n"
    )
    if reason:
        text += f"  deprecated_reason: {reason}\n"
    if superseded_by:
        text += f"  superseded_by: {superseded_by}\n"
    return text


def test_a_claim_superseded_by_itself(data_copy: Path, built: Path) -> None:
    (data_copy / "claims" / "zz-self.yml").write_text(deprecated_claim("self-claim", "self-claim"))
    assert_rejected(
        data_copy.parent,
        built,
        "data/claims/zz-self.yml:9: claims[self-claim].superseded_by: "
        "a claim cannot be superseded by itself",
    )


def test_claims_superseding_each_other_in_a_circle(data_copy: Path, built: Path) -> None:
    (data_copy / "claims" / "zz-a.yml").write_text(deprecated_claim("circle-a", "circle-b"))
    (data_copy / "claims" / "zz-b.yml").write_text(
        deprecated_claim("circle-b", "circle-c") + deprecated_claim("circle-c", "circle-a")
    )
    err = assert_rejected(
        data_copy.parent,
        built,
        "data/claims/zz-a.yml:9: claims[circle-a].superseded_by: claims supersede each other "
        "in a circle: circle-a → circle-b → circle-c → circle-a",
    )
    assert err.count("in a circle") == 1, err


def test_a_superseding_chain_is_fine_and_a_missing_target_is_named(
    data_copy: Path, built: Path
) -> None:
    (data_copy / "claims" / "zz-chain.yml").write_text(
        deprecated_claim("chain-a", "chain-b")
        + deprecated_claim("chain-b", "chain-c")
        + deprecated_claim("chain-c", "chain-gone")
    )
    err = assert_rejected(
        data_copy.parent,
        built,
        "data/claims/zz-chain.yml:27: claims[chain-c].superseded_by: no claim 'chain-gone'",
    )
    assert "1 problem(s) found" in err


def test_a_deprecated_claim_must_say_why(data_copy: Path, built: Path) -> None:
    (data_copy / "claims" / "zz-why.yml").write_text(deprecated_claim("no-reason", reason=None))
    assert_rejected(
        data_copy.parent,
        built,
        "data/claims/zz-why.yml:5: claims[no-reason].deprecated_reason: a deprecated claim must say why",
    )


def test_a_yaml_file_with_another_extension_is_not_skipped_silently(
    data_copy: Path, built: Path
) -> None:
    (data_copy / "claims" / "zz-new.yaml").write_text(deprecated_claim("yaml-claim"))
    (data_copy / "articles" / "zz-new.YML").write_text("id: yaml-article\ntitle: t\n")
    expected = (
        "data/articles/zz-new.YML: not read: use the .yml extension (zz-new.yml)",
        "data/claims/zz-new.yaml: not read: use the .yml extension (zz-new.yml)",
    )
    assert_rejected(data_copy.parent, built, *expected)
    bad = run_kb("validate", "--data", "data", cwd=data_copy.parent)
    assert bad.returncode == 1 and all(text in bad.stderr for text in expected), bad.stderr


def test_a_claim_answering_an_unknown_question_is_named(data_copy: Path, built: Path) -> None:
    path = data_copy / "claims" / "zz-question.yml"
    path.write_text(
        "- id: asks-nothing-known\n  statement: s\n  topic: pain\n  measure: count\n"
        "  status: unverified\n  notes: n\n  question: no-such-question\n"
        "  curated_on: 2026-11-24\n  curated_by: t\n"
    )
    assert_rejected(
        data_copy.parent, built, "data/claims/zz-question.yml:7", "claims[asks-nothing-known].question",
        "no question 'no-such-question' in questions.yml",
    )  # fmt: skip


def test_a_duplicate_question_is_named(data_copy: Path, built: Path) -> None:
    path = data_copy / "questions.yml"
    path.write_text(path.read_text() + "\n- id: bml-pain-odds\n  question: Again?\n  topic: pain\n")
    assert_rejected(data_copy.parent, built, "data/questions.yml:", "duplicate question id")
