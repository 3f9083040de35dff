"""How often `kb check` reaches the verdict a careful human fact-checker gives.

Runs the check on every draft of the shared corpus (`../shared/factcheck-corpus/`, drafts written
without sight of the checker, scored as its `score.py` scores them) and on the tuned corpus in
`tests/fixtures/articles/`, then prints per draft the score, and over all drafts precision and
recall per verdict and the number of false "supported" verdicts (a wrong figure published with
our stamp on it: the one number that must stay at zero).

    python -m benchmarks.accuracy            # or: make accuracy
    python -m benchmarks.accuracy --misses   # list every expectation missed
    python -m benchmarks.accuracy --corpus DIR   # also score drafts in DIR (the shared format)

The blind corpora in `benchmarks/corpora/` (drafts written without sight of the checker) are always
scored too; they measure, and no test holds the checker to them.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "factcheck-corpus"
TUNED = REPO / "tests" / "fixtures" / "articles"
BLIND = REPO / "benchmarks" / "corpora"  # drafts written blind to the checker (see its README)
ADVERSARIAL = BLIND / "adversarial-wrong.txt"  # wrong sentences that were once false "supported"


@dataclass
class Item:
    """One expectation: what a fact-checker accepts and what the check said."""

    draft: str
    what: str
    accept: list[str]
    got: list[str]  # verdicts of every statement or reference the expectation points at

    @property
    def good(self) -> bool:
        return bool(self.got) and all(v in self.accept for v in self.got)

    @property
    def false_supported(self) -> bool:
        return "supported" in self.got and "supported" not in self.accept

    @property
    def predicted(self) -> str:
        wrong = [v for v in self.got if v not in self.accept]
        return (wrong or self.got or ["none"])[0]

    @property
    def expected(self) -> str:
        return self.predicted if self.predicted in self.accept else self.accept[0]


def _norm(s: str | None) -> str:
    """As score.py compares text: NFKC, lower case, one kind of dash, single spaces."""
    s = unicodedata.normalize("NFKC", s or "").lower()
    s = re.sub(r"[\u2010-\u2015\u2212-]", "-", s)
    return re.sub(r"\s+", " ", s).strip()


def score_shared(report: dict, expected: dict, draft: str) -> list[Item]:
    """The expectations of one shared draft, scored by the rules of the corpus's score.py."""
    items = []
    stmts, refs = report["statements"], report["references"]
    for e in expected.get("statements", []):
        hits = [s for s in stmts if _norm(e["contains"]) in _norm(s.get("text"))]
        got = sorted({s["verdict"] for s in hits})
        items.append(Item(draft, e["contains"], e["accept"], got))
    for e in expected.get("references", []):
        if "label" in e:
            hits = [r for r in refs if str(r.get("label") or "").strip("[]. ") == e["label"]]
        else:
            hits = [
                r for r in refs
                if _norm(e["contains"]) in _norm(json.dumps(r, ensure_ascii=False))
                or (e.get("doi") and _norm(e["doi"]) == _norm(r.get("doi")))
            ]  # fmt: skip
        got = sorted({r["verdict"] for r in hits})
        good = any(v in e["accept"] for v in got)  # score.py: any one reference verdict will do
        if good and e.get("field") and "mismatch" in got:
            fields = {p.get("field") for r in hits for p in r.get("problems") or []}
            good = e["field"] in fields
        label = f"ref {e.get('label', e.get('contains'))}"
        items.append(Item(draft, label, e["accept"], [e["accept"][0]] if good else got or []))
    return items


def score_tuned(db: sqlite_utils.Database, check) -> list[Item]:
    """The tuned corpus in tests/: one expected verdict per planted statement and reference."""
    spec = yaml.safe_load((TUNED / "expected.yml").read_text(encoding="utf-8"))
    items = []
    for name, exp in spec.items():
        text = (TUNED / name).read_text(encoding="utf-8")
        report = check(db, text)
        for e in exp["statements"]:
            at = text.index(e["contains"])
            got = [s.verdict for s in report.statements if s.start <= at < s.end][:1] or ["none"]
            items.append(Item(f"tests/{name}", e["contains"], [e["verdict"]], got))
        for e in exp["references"]:
            got = [
                r.verdict for r in report.references
                if r.label == e["label"] and (e.get("doi") is None or r.doi == e["doi"])
            ][:1]  # fmt: skip
            items.append(Item(f"tests/{name}", f"ref {e['label']}", [e["verdict"]], got))
    return items


def shared_drafts(corpus: Path = SHARED) -> list[tuple[str, Path, dict]]:
    """(name, draft, expectations) for every `<name>-expected.json` in a corpus directory; the
    draft is the file its `article` names, looked for beside the expectations."""
    out = []
    for exp_path in sorted(corpus.glob("*-expected.json")):
        expected = json.loads(exp_path.read_text(encoding="utf-8"))
        draft = exp_path.parent / Path(expected["article"]).name
        out.append((draft.name, draft, expected))
    return out


def score_corpus(db: sqlite_utils.Database, corpus: Path) -> list[Item]:
    from kb.factcheck import check_text

    items = []
    for name, path, expected in shared_drafts(corpus):
        report = check_text(db, path.read_text(encoding="utf-8")).to_dict()
        items += score_shared(report, expected, name)
    return items


def run(db: sqlite_utils.Database) -> tuple[list[Item], list[Item]]:
    """(shared items, tuned items)."""
    from kb.factcheck import check_text

    return score_corpus(db, SHARED), score_tuned(db, check_text)


def still_supported(db: sqlite_utils.Database, path: Path) -> tuple[int, list[str]]:
    """(how many wrong sentences the file holds, those `kb check` still calls supported)."""
    from kb.factcheck import check_text

    lines = [t.strip() for t in path.read_text(encoding="utf-8").splitlines()]
    sentences = [t for t in lines if t and not t.startswith("#")]
    wrong = [
        t for t in sentences if "supported" in {s.verdict for s in check_text(db, t).statements}
    ]
    return len(sentences), wrong


def per_verdict(items: list[Item]) -> dict[str, tuple[float, float, int]]:
    """Precision, recall and the number expected, per verdict."""
    out = {}
    for v in sorted({i.expected for i in items} | {i.predicted for i in items} - {"none"}):
        tp = sum(1 for i in items if i.expected == v and i.predicted == v)
        predicted = sum(1 for i in items if i.predicted == v)
        expected = sum(1 for i in items if i.expected == v)
        out[v] = (
            tp / predicted if predicted else 0.0,
            tp / expected if expected else 0.0,
            expected,
        )
    return out


def table(items: list[Item], title: str) -> str:
    lines = [f"## {title}", "", f"{'draft':36} {'score':>9} {'false supported':>16}"]
    drafts = list(dict.fromkeys(i.draft for i in items))
    for d in drafts:
        mine = [i for i in items if i.draft == d]
        good = sum(i.good for i in mine)
        fs = sum(i.false_supported for i in mine)
        lines.append(f"{d:36} {good:>4}/{len(mine):<4} {fs:>16}")
    good = sum(i.good for i in items)
    fs = sum(i.false_supported for i in items)
    share = good / len(items) if items else 0.0
    lines.append(f"{'all drafts':36} {good:>4}/{len(items):<4} {fs:>16}   ({share:.2f})")
    lines += ["", f"{'verdict':14} {'precision':>9} {'recall':>7} {'expected':>9}"]
    for v, (p, r, n) in per_verdict(items).items():
        lines.append(f"{v:14} {p:>9.2f} {r:>7.2f} {n:>9}")
    return "\n".join(lines)


@contextmanager
def built_db() -> Iterator[sqlite_utils.Database]:
    """kb.db built from data/ in a temporary folder, read-only, removed afterwards."""
    from kb import build

    with tempfile.TemporaryDirectory(prefix="kb-accuracy-") as tmp:
        path = Path(tmp) / "kb.db"
        build(REPO / "data", path)
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            yield sqlite_utils.Database(conn)
        finally:
            conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--misses", action="store_true", help="list every expectation missed")
    parser.add_argument(
        "--corpus", type=Path, action="append", default=[], metavar="DIR",
        help="also score the drafts in DIR (<name>-expected.json beside each draft)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    args.corpus = sorted(p for p in BLIND.iterdir() if p.is_dir()) + args.corpus
    for corpus in [SHARED, *args.corpus]:
        if not corpus.is_dir():
            print(f"no corpus at {corpus}", file=sys.stderr)
            return 2
    with built_db() as db:
        shared, tuned = run(db)
        extra = [(corpus, score_corpus(db, corpus)) for corpus in args.corpus]
        still = still_supported(db, ADVERSARIAL)
    print(table(shared, "Shared corpus (drafts written without sight of the checker)"))
    print()
    print(table(tuned, "Tuned corpus (tests/fixtures/articles)"))
    for corpus, items in extra:
        print()
        name = corpus.relative_to(REPO) if corpus.is_relative_to(REPO) else corpus
        print(table(items, f"Corpus {name}"))
    print(f"\n## Wrong sentences ({ADVERSARIAL.relative_to(REPO)})\n")
    print(f"{len(still[1])} of {still[0]} still called supported (each is wrong: the goal is 0)")
    if args.misses:
        print("\n## Misses")
        for sentence in still[1]:
            print(f"FALSE SUPPORTED wrong sentence: {sentence!r}")
        for i in shared + tuned + [i for _, items in extra for i in items]:
            if not i.good:
                mark = "FALSE SUPPORTED " if i.false_supported else ""
                print(f"{mark}{i.draft}: {i.what!r}: want {i.accept}, got {i.got or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
