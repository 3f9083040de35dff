"""`kb check` on drafts written without sight of it (../shared/factcheck-corpus) and on the tuned corpus:
never a false "supported", whatever else it gets wrong."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from benchmarks.accuracy import SHARED, run

# The goal (issue 10): at least 0.9 of the expected verdicts on every shared draft (today 132 of 134,
# every draft 0.93 or more). Raise the floor as classes of sentence are fixed, never lower it.
SHARED_FLOOR = 0.9


@pytest.fixture(scope="module")
def scored(kb_db: Path):
    db = sqlite_utils.Database(sqlite3.connect(f"file:{kb_db}?mode=ro", uri=True))
    return run(db)


@pytest.mark.skipif(not SHARED.exists(), reason="the shared fact-check corpus is not checked out")
def test_no_false_supported_on_the_shared_corpus(scored) -> None:
    shared, _ = scored
    wrong = [(i.draft, i.what, i.accept) for i in shared if i.false_supported]
    assert wrong == []
    for draft in {i.draft for i in shared}:
        mine = [i for i in shared if i.draft == draft]
        missed = [(i.what, i.accept, i.got) for i in mine if not i.good]
        assert sum(i.good for i in mine) / len(mine) >= SHARED_FLOOR, (draft, missed)


def test_no_false_supported_on_the_tuned_corpus(scored) -> None:
    _, tuned = scored
    assert [(i.draft, i.what) for i in tuned if i.false_supported] == []
    assert sum(i.good for i in tuned) / len(tuned) >= 0.95
