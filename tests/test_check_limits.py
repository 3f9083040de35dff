"""`kb check` is bounded: linear sentence splitting, a deadline inside a sentence, a capped input."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from kb.factcheck import CheckTookTooLong, ClaimIndex, DraftTooLarge, check_text, rank
from kb.figures import extract_figures
from kb.sentences import split_clauses, split_sentences

REPO = Path(__file__).resolve().parents[1]


def _split_in_child(expr: str) -> subprocess.CompletedProcess:
    """Split a hostile text in a child process that is killed if it hangs (quadratic code took
    minutes on these inputs; linear code takes milliseconds)."""
    code = (
        "from kb.sentences import split_sentences, split_clauses\n"
        f"t = {expr}\n"
        "print(sum(len(split_clauses(t, s)) for s in split_sentences(t)))\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=REPO)  # fmt: skip


@pytest.mark.parametrize(
    "expr",
    [
        "'a' + '.' * 200000 + 'a'",
        "'a' + '!?' * 100000 + ' B'",
        "'al. ' * 50000",
        "('word ' * 6 + '; ') * 30000",
    ],
)
def test_sentence_splitting_does_not_hang_on_runs(expr: str) -> None:
    done = _split_in_child(expr)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 1


def test_splitting_still_cuts_at_sentence_ends() -> None:
    text = "Lesions grow... Then they shrink!? Dr. Shi et al. disagree. New line here."
    assert [s.text for s in split_sentences(text)] == [
        "Lesions grow...", "Then they shrink!?", "Dr. Shi et al. disagree.", "New line here."
    ]  # fmt: skip
    long = "The first clause has six whole words; the second clause has six words too."
    assert len(split_clauses(long, split_sentences(long)[0])) == 2


def test_the_deadline_is_checked_inside_a_sentence(db) -> None:
    """Between the candidates of one sentence, not only between sentences."""
    sentence = "Vitamin D did not change BML volume in 50 people over two years."
    rows = ClaimIndex(db).candidates(sentence)
    assert rows
    with pytest.raises(CheckTookTooLong):
        rank(sentence, extract_figures(sentence), rows, deadline=time.monotonic() - 1)
    with pytest.raises(CheckTookTooLong):
        check_text(db, sentence * 3, deadline=time.monotonic() - 1)


def test_an_overlong_sentence_is_reported_unchecked_not_matched(db) -> None:
    sentence = "BMLs were seen in " + ", ".join(f"{i} knees" for i in range(6000)) + "."
    report = check_text(db, sentence)
    assert [s.verdict for s in report.statements] == ["unverified"]
    assert "too long to check" in report.statements[0].unchecked[0]["why"]


def test_a_huge_draft_is_refused(db) -> None:
    with pytest.raises(DraftTooLarge):
        check_text(db, "a" * 1_000_001)


def test_kb_check_dev_zero_is_a_clear_error(kb_db: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kb.cli", "check", "/dev/zero", "--db", str(kb_db)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 2
    assert "longer than" in done.stderr and "Traceback" not in done.stderr
