"""`kb check` on drafts written without sight of it (../shared/factcheck-corpus) and on the tuned corpus:
never a false "supported", whatever else it gets wrong."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from benchmarks.accuracy import SHARED, run

# Where the shared corpus stands today (0.81 of 134 expectations); the goal is 0.9. Raise this floor
# as classes of sentence are fixed, never lower it.
SHARED_FLOOR = 0.8


@pytest.fixture(scope="module")
def scored(kb_db: Path):
    db = sqlite_utils.Database(sqlite3.connect(f"file:{kb_db}?mode=ro", uri=True))
    return run(db)


@pytest.mark.skipif(not SHARED.exists(), reason="the shared fact-check corpus is not checked out")
def test_no_false_supported_on_the_shared_corpus(scored) -> None:
    shared, _ = scored
    wrong = [(i.draft, i.what, i.accept) for i in shared if i.false_supported]
    assert wrong == []
    assert sum(i.good for i in shared) / len(shared) >= SHARED_FLOOR


def test_no_false_supported_on_the_tuned_corpus(scored) -> None:
    _, tuned = scored
    assert [(i.draft, i.what) for i in tuned if i.false_supported] == []
    assert sum(i.good for i in tuned) / len(tuned) >= 0.95
