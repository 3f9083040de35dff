"""`kb check` at scale: a synthetic KB of 100,000 claims and a 2,000-word article with planted sentences.

Times the real check (FTS prefilter + rapidfuzz rerank) against all-pairs rapidfuzz (every sentence scored
against every claim with the same scorer, then the same verdict logic), asserts both give the same verdicts
on the planted sentences, and prints both times and the ratio. Goals: < 1 s (at 100k claims) and
>= 20x faster.

    .venv/bin/python -m benchmarks.bench_factcheck [--claims 100000] [--words 2000]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from pathlib import Path

import sqlite_utils
from rapidfuzz import fuzz, process

from kb.factcheck import (
    CLAIM_COLUMNS,
    MAX_CANDIDATES,
    ClaimIndex,
    check_text,
    decide,
    rank,
    tokens,
)
from kb.figures import extract_figures
from kb.schema import ensure_db_shape, ensure_fts
from kb.sentences import split_clauses, split_sentences

SEED = 20240601
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qui", "dor", "bel", "fen",
             "gar", "hul", "jin", "kes", "lum", "mor", "nix", "pol", "ros", "sul", "tam", "ver"]  # fmt: skip
UNITS = [("patients", "sample_size"), ("knees", "sample_size"), ("studies", "count"),
         ("%", "proportion"), ("women", "sample_size")]  # fmt: skip

# Planted claims: (id, statement, value, unit, measure, timepoint) and sentences that speak of them.
PLANTED = [
    ("plant-zarvex-knees", "The zarvex cohort analysis of marrow oedema drew on 731 knees over the follow-up.",
     731, "knees", "sample_size", 24),
    ("plant-quillon-rate", "Quillon grafting left 38% of treated joints with residual trabecular oedema.",
     38, "%", "proportion", None),
    ("plant-morvath-studies", "The morvath meta-analysis of subchondral calcium injection pooled 23 studies.",
     23, "studies", "count", None),
    ("plant-tesselin-women", "The tesselin imaging survey enrolled 412 postmenopausal women with knee pain.",
     412, "women", "sample_size", 0),
]  # fmt: skip
PLANTED_SENTENCES = [
    (
        "In the zarvex cohort, the marrow oedema analysis used 731 knees during follow-up.",
        "supported",
    ),
    (
        "After quillon grafting, 52% of treated joints still showed residual trabecular oedema.",
        "contradicted",
    ),
    ("A morvath meta-analysis on subchondral calcium injection pooled 23 studies.", "supported"),
    ("The tesselin imaging survey enrolled 412 postmenopausal women with knee pain.", "supported"),
    ("Roughly 17% of glimmerstone patients recover within nine weeks of bracing.", "unsupported"),
]


def vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def synthetic_sentence(rng: random.Random, vocab: list[str], n: int) -> str:
    # Zipf-like: a few words are everywhere, most are rare
    picks = [vocab[min(len(vocab) - 1, int(rng.paretovariate(1.1)) - 1)] for _ in range(n)]
    return " ".join(picks).capitalize()


def make_kb(path: Path, n_claims: int, rng: random.Random, vocab: list[str]) -> None:
    db = sqlite_utils.Database(sqlite3.connect(path))
    ensure_db_shape(db)
    rows = []
    for i in range(n_claims - len(PLANTED)):
        unit, measure = rng.choice(UNITS)
        value = rng.randint(5, 95) if unit == "%" else rng.randint(10, 3000)
        rows.append({
            "id": f"synthetic-{i:06d}", "statement": synthetic_sentence(rng, vocab, rng.randint(8, 16)) + ".",
            "topic": "synthetic", "measure": measure, "value": value, "unit": unit,
            "figure": f"{value}{unit if unit == '%' else ' ' + unit}", "status": "verified",
            "timepoint_months": rng.choice([None, 0, 12, 24]),
        })  # fmt: skip
    for cid, statement, value, unit, measure, tp in PLANTED:
        rows.append({
            "id": cid, "statement": statement, "topic": "planted", "measure": measure, "value": value,
            "unit": unit, "figure": f"{value}{unit if unit == '%' else ' ' + unit}", "status": "verified",
            "timepoint_months": tp,
        })  # fmt: skip
    with db.conn:
        db["claims"].insert_all(rows, batch_size=2000)
    ensure_fts(db)
    db.conn.close()


def make_article(rng: random.Random, vocab: list[str], words: int) -> str:
    sentences = [s for s, _ in PLANTED_SENTENCES]
    count = sum(len(s.split()) for s in sentences)
    filler = []
    while count < words:
        s = synthetic_sentence(rng, vocab, rng.randint(10, 22)) + "."
        filler.append(s)
        count += len(s.split())
    step = max(1, len(filler) // (len(sentences) + 1))
    for k, s in enumerate(sentences):
        filler.insert((k + 1) * step + k, s)
    paragraphs = [" ".join(filler[i : i + 5]) for i in range(0, len(filler), 5)]
    return "\n\n".join(paragraphs) + "\n"


def all_pairs(db: sqlite_utils.Database, text: str) -> dict[str, str]:
    """Every clause scored against every claim with the same scorer (token_set_ratio over the same
    tokens), the best MAX_CANDIDATES per clause then through the same rerank and verdict logic."""
    index = ClaimIndex(db)
    claims = [dict(r) for r in db.query(f"select {CLAIM_COLUMNS} from claims")]
    choices = [" ".join(t for t in tokens(c["statement"]) if t not in index.common) for c in claims]
    spans = [c for s in split_sentences(text) if not s.heading for c in split_clauses(text, s)]
    queries = [" ".join(t for t in tokens(s.text) if t not in index.common) for s in spans]
    verdicts = {}
    for query, span in zip(queries, spans, strict=True):
        best = process.extract(query, choices, scorer=fuzz.token_set_ratio, limit=MAX_CANDIDATES)
        top = [i for _, _, i in best]
        figures = extract_figures(span.text)
        cands = rank(span.text, figures, [claims[i] for i in top], index.common, index.weights)
        verdicts[span.text] = decide(span.text, figures, cands, None)[0]
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--words", type=int, default=2_000)
    args = parser.parse_args()
    rng = random.Random(SEED)
    vocab = vocabulary(rng, 6000)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        t0 = time.perf_counter()
        make_kb(path, args.claims, rng, vocab)
        article = make_article(rng, vocab, args.words)
        print(f"synthetic KB: {args.claims:,} claims, article: {len(article.split()):,} words "
              f"(built in {time.perf_counter() - t0:.1f} s)")  # fmt: skip
        db = sqlite_utils.Database(sqlite3.connect(f"file:{path}?mode=ro", uri=True))
        check_text(db, "warm-up: open the FTS index once.")

        t0 = time.perf_counter()
        report = check_text(db, article)
        t_check = time.perf_counter() - t0
        fast = {s.text: s.verdict for s in report.statements}

        t0 = time.perf_counter()
        slow = all_pairs(db, article)
        t_pairs = time.perf_counter() - t0

    ok = True
    for sentence, expected in PLANTED_SENTENCES:
        a, b = fast.get(sentence, "none"), slow.get(sentence, "none")
        mark = "ok" if a == b == expected else "DIFFERENT"
        ok &= mark == "ok"
        print(f"  {mark:9} expected {expected:12} kb check {a:12} all-pairs {b:12} {sentence[:50]}")
    ratio = t_pairs / t_check
    print(f"kb check: {t_check:.3f} s   all-pairs rapidfuzz: {t_pairs:.2f} s   ratio: {ratio:.0f}x")
    assert ok, "kb check and all-pairs disagree on a planted sentence"
    if args.claims <= 100_000:  # the goal is set at 100k; larger sizes show the growth
        assert t_check < 1.0, f"kb check took {t_check:.2f} s (goal < 1 s)"
    assert ratio >= 20, f"only {ratio:.1f}x faster than all-pairs (goal >= 20x)"


if __name__ == "__main__":
    main()
