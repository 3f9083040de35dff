"""Seeded, deterministic synthetic KBs: the `data/` format for 10k and 100k claims, a database for 1M.

The records look like the curated ones: about one source per five claims, every status with the fields
it requires, ranges and intervals, qualifiers, compartments, superseding claims, an article with
references and statements, and FAQ entries linking claims. Statements draw words from a Zipf-like
vocabulary, so a few words ("knee", "bone") are in nearly every claim and most are rare: that is what
makes search cost differ between rare, medium and very common terms.

    .venv/bin/python -m benchmarks.generate 10000            # -> benchmarks/.cache/kb-10000/data/
    .venv/bin/python -m benchmarks.generate 1000000 --db     # -> benchmarks/.cache/kb-1000000.db
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kb.fields import DESIGN_CERTAINTY
from kb.fields import TOPICS as VALID_TOPICS

SEED = 20251124
CLAIMS_PER_FILE = 1000
CLAIMS_PER_SOURCE = 5
CACHE = Path(__file__).resolve().parent / ".cache"
GENERATOR_VERSION = "2"  # bump when the output changes, so cached data is regenerated

# Words in nearly every claim, then a medical middle, then a long synthetic tail.
COMMON = ["knee", "bone", "marrow", "lesion", "patients", "mri", "osteoarthritis", "pain"]
MEDIUM = (
    "subchondral tibial femoral cartilage synovitis effusion cohort baseline follow-up volume "
    "progression radiographic symptomatic medial lateral patellofemoral tibiofemoral oedema "
    "trabecular sclerosis meniscal extrusion alignment varus valgus biomarker collagen ctx "
    "vitamin bisphosphonate zoledronic injection subchondroplasty arthroplasty replacement "
    "weight-bearing stairs walking womac koos vas score odds ratio regression severity grade "
    "worsening enlargement resolution incidence prevalence association segmentation dice "
    "postmenopausal obesity bmi age sex inflammation fracture microdamage vascular nerve"
).split()
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qui", "dor", "bel",
             "fen", "gar", "hul", "jin", "kes", "lum", "mor", "nix", "pol", "ros", "sul", "tam"]  # fmt: skip
TOPICS = ["prevalence", "pain", "progression", "biomarkers", "alignment", "treatment", "imaging",
          "mechanism", "study-sample"]  # fmt: skip
assert set(TOPICS) == set(VALID_TOPICS)
MEASURES = {
    "prevalence": "%", "proportion": "%", "count": "studies", "sample_size": "knees",
    "odds_ratio": "ratio", "regression_coefficient": "", "mean": "mm³", "mean_difference": "mm³",
    "r_squared": "", "dice": "", "survivorship": "%", "association": "", "duration": "years",
    "dose": "IU/day", "ratio": "ratio",
}  # fmt: skip
COMPARTMENTS = ["medial tibiofemoral", "lateral tibiofemoral", "medial patellofemoral",
                "lateral patellofemoral", "patellofemoral", "tibiofemoral", "whole knee"]  # fmt: skip
# the certainty each design starts at, from the one rule in kb.validate
DESIGNS = {d: DESIGN_CERTAINTY[d] for d in ("systematic review", "randomised controlled trial",
           "cohort", "cross-sectional", "secondary analysis", "case series", "narrative review",
           "methods validation")}  # fmt: skip
QUALIFIERS = ["up to", "about", "at least", "more than", "less than"]
POPULATIONS = ["People with knee OA", "Postmenopausal women with knee pain",
               "Adults in the Osteoarthritis Initiative", "Patients before knee arthroplasty",
               "Participants with symptomatic radiographic OA"]  # fmt: skip
LOCATORS = ["abstract", "results", "table 1", "table 2", "figure 3", "discussion"]
JOURNALS = ["Arthritis Research & Therapy", "Osteoarthritis and Cartilage", "The Knee",
            "Annals of Internal Medicine", "BMC Musculoskeletal Disorders", "Bone Reports",
            "Knee Surgery, Sports Traumatology, Arthroscopy", "Journal of Orthopaedic Research"]  # fmt: skip
FIRST = ["Koji", "Meera", "David", "Xin", "Gesa", "Jeffrey", "Ana", "Li", "Tuhina", "Ravi", "Eva"]
LAST = ["Aso", "Sury", "Walsh", "Shi", "Neumann", "Duryea", "Perry", "Felson", "Nairn", "Wood"]
STATUSES = [("verified", 70), ("unverified", 15), ("disputed", 10), ("deprecated", 5)]


class Vocabulary:
    """Zipf-like word choice: rank r is drawn with weight 1/r (s = 1.07)."""

    def __init__(self, rng: random.Random, tail: int = 60_000):
        words: list[str] = []
        seen: set[str] = set(COMMON) | set(MEDIUM)
        while len(words) < tail:
            w = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 5)))
            if w not in seen:
                seen.add(w)
                words.append(w)
        self.words = COMMON + MEDIUM + words
        weights = [1.0 / (r + 1) ** 1.07 for r in range(len(self.words))]
        self.cum = []
        total = 0.0
        for w in weights:
            total += w
            self.cum.append(total)

    def sentence(self, rng: random.Random, n: int) -> str:
        picks = rng.choices(self.words, cum_weights=self.cum, k=n)
        return " ".join(picks).capitalize()


def _doi(i: int) -> str:
    return f"10.5555/synth.{i:07d}"


def sources(n_sources: int, seed: int = SEED) -> Iterator[dict[str, Any]]:
    """Source records as `sources.yml` holds them (clean values, keys in file order)."""
    rng = random.Random(f"{seed}-sources")
    for i in range(n_sources):
        design = rng.choice(list(DESIGNS))
        year = rng.randint(1995, 2025)
        rec: dict[str, Any] = {
            "doi": _doi(i),
            "title": f"Bone marrow lesions and {rng.choice(MEDIUM)} {rng.choice(MEDIUM)} in knee osteoarthritis: study {i}",
            "journal": rng.choice(JOURNALS),
            "year": year,
            "published_online": f"{year - rng.randint(0, 1)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "volume": str(rng.randint(1, 40)),
            "issue": str(rng.randint(1, 12)),
            "pages": f"{(p := rng.randint(1, 900))}-{p + rng.randint(5, 15)}",
            "authors": [
                f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(rng.randint(1, 7))
            ],
            "pmid": str(30_000_000 + i),
            "study_design": design,
            "metadata_origin": "crossref" if rng.random() < 0.8 else "manual",
        }
        if rec["metadata_origin"] == "manual":
            rec["metadata_page"] = f"https://doi.org/{rec['doi']}"
        if rng.random() < 0.3:
            rec["open_access"] = True
        yield rec


def _status(rng: random.Random) -> str:
    x = rng.randrange(100)
    for name, share in STATUSES:
        if x < share:
            return name
        x -= share
    return "verified"


def claims(n_claims: int, seed: int = SEED) -> Iterator[dict[str, Any]]:
    """Claim records as `claims/*.yml` holds them, in file order."""
    rng = random.Random(f"{seed}-claims")
    vocab = Vocabulary(random.Random(f"{seed}-vocab"))
    n_sources = max(1, n_claims // CLAIMS_PER_SOURCE)
    for i in range(n_claims):
        measure = rng.choice(list(MEASURES))
        design = rng.choice(list(DESIGNS))
        status = _status(rng)
        rec: dict[str, Any] = {
            "id": f"c{i:07d}-{rng.choice(TOPICS)}",
            "statement": vocab.sentence(rng, rng.randint(8, 20)) + ".",
            "topic": rng.choice(TOPICS),
            "measure": measure,
        }
        shape = rng.random()
        if shape < 0.5:
            rec["value"] = round(rng.uniform(0.1, 95), 1)
        elif shape < 0.8:
            low = round(rng.uniform(0.1, 50), 1)
            rec["value"] = round(low + rng.uniform(0, 10), 1)
            rec["value_low"], rec["value_high"] = low, round(rec["value"] + rng.uniform(0, 10), 1)
            rec["interval"] = "95% CI"
        else:
            low = rng.randint(1, 10)
            rec["value_low"], rec["value_high"], rec["interval"] = (
                low,
                low + rng.randint(1, 5),
                "range",
            )
        if MEASURES[measure]:
            rec["unit"] = MEASURES[measure]
        if rng.random() < 0.15:
            rec["qualifier"] = rng.choice(QUALIFIERS)
        if rng.random() < 0.2:
            rec["p_value"] = round(rng.uniform(0.0001, 0.05), 4)
        rec["n"] = rng.randint(20, 5000)
        rec["population"] = rng.choice(POPULATIONS)
        rec["timepoint_months"] = rng.choice([0, 6, 12, 24, 48])
        if rng.random() < 0.6:
            rec["compartments"] = sorted(rng.sample(COMPARTMENTS, rng.randint(1, 2)))
        rec["study_design"] = design
        rec["certainty"] = DESIGNS[design]
        rec["status"] = status
        if status == "deprecated":
            rec["deprecated_reason"] = "Superseded by a corrected reading of the table."
            if i > 0:
                rec["superseded_by"] = f"c{rng.randrange(i):07d}"  # completed below
        if status != "unverified" or rng.random() < 0.5:
            rec["source_doi"] = _doi(min(n_sources - 1, i // CLAIMS_PER_SOURCE))
            rec["locator"] = rng.choice(LOCATORS)
            rec["excerpt"] = vocab.sentence(rng, rng.randint(6, 18))
        if status == "verified":
            rec["verified_against"] = f"https://doi.org/{rec['source_doi']}"
        rec["curated_on"] = (
            f"20{rng.randint(20, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        )
        rec["curated_by"] = "Synthetic curator"
        if status in ("unverified", "disputed"):
            rec["notes"] = vocab.sentence(rng, rng.randint(6, 14)) + "."
        yield rec


def _fix_superseded(rec: dict[str, Any], ids: list[str]) -> None:
    # superseded_by was drawn as an index prefix; point it at the full id of that earlier claim
    target = rec.get("superseded_by")
    if target:
        rec["superseded_by"] = ids[int(target[1:8])]


def article(n_claims: int, n_sources: int, seed: int = SEED) -> dict[str, Any]:
    rng = random.Random(f"{seed}-article")
    refs = []
    for pos, i in enumerate(sorted(rng.sample(range(n_sources), min(20, n_sources))), start=1):
        refs.append({"label": f"[{pos}]", "doi": _doi(i), "printed_year": 2020,
                     "printed_title": f"Study {i}", "verdict": rng.choice(["ok", "mismatch", "unused"]),
                     "note": "Synthetic reference."})  # fmt: skip
    return {"id": "synthetic-article", "title": "What knee bone marrow lesions signal (synthetic)",
            "url": "https://example.org/synthetic", "publisher": "Synthetic",
            "last_reviewed": "2025", "references": refs,
            "statement_claims": sorted(rng.sample(range(n_claims), min(30, n_claims)))}  # fmt: skip


def faq(n_claims: int, seed: int = SEED) -> Iterator[dict[str, Any]]:
    rng = random.Random(f"{seed}-faq")
    for i in range(max(5, n_claims // 1000)):
        yield {"id": f"faq-{i:05d}", "article_id": "synthetic-article", "position": i + 1,
               "question": f"What does study {i} say about bone marrow lesions?",
               "answer": "An association, not a proven cause: see the linked claims.",
               "claim_indexes": sorted(rng.sample(range(n_claims), min(3, n_claims)))}  # fmt: skip


# ---------------------------------------------------------------- YAML writing


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return json.dumps(v, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _plain(v: str) -> str:
    return v  # ids, dates and slugs are safe plain scalars


PLAIN_KEYS = {"id", "topic", "measure", "status", "source_doi", "superseded_by", "curated_on",
              "study_design", "certainty", "doi", "metadata_origin", "locator", "article_id"}  # fmt: skip


def _record_yaml(rec: dict[str, Any], indent: str = "  ") -> str:
    lines = []
    for k, v in rec.items():
        if isinstance(v, list):
            if v and isinstance(v[0], dict):
                lines.append(f"{k}:")
                for item in v:
                    body = _record_yaml(item, indent + "    ")
                    lines.append(f"{indent}  - " + body.lstrip())
                continue
            lines.append(f"{k}: [" + ", ".join(_scalar(x) for x in v) + "]")
        elif k in PLAIN_KEYS and isinstance(v, str):
            lines.append(f"{k}: {v}")
        else:
            lines.append(f"{k}: {_scalar(v)}")
    return "\n".join(f"{indent}{line}" if i else line for i, line in enumerate(lines))


def _list_yaml(records: list[dict[str, Any]], header: str) -> str:
    parts = [f"# {header}\n"]
    for rec in records:
        parts.append("\n- " + _record_yaml(rec) + "\n")
    return "".join(parts)


def write_data(out: Path, n_claims: int, seed: int = SEED) -> Path:
    """Write a complete `data/` folder under out; returns it."""
    data = Path(out)
    if data.exists():
        shutil.rmtree(data)
    (data / "claims").mkdir(parents=True)
    (data / "articles").mkdir()
    n_sources = max(1, n_claims // CLAIMS_PER_SOURCE)
    (data / "sources.yml").write_text(
        _list_yaml(list(sources(n_sources, seed)), "Synthetic sources"), encoding="utf-8"
    )
    ids: list[str] = []
    chunk: list[dict[str, Any]] = []

    def flush() -> None:
        name = f"part-{(len(ids) - 1) // CLAIMS_PER_FILE:05d}.yml"
        (data / "claims" / name).write_text(_list_yaml(chunk, "Synthetic claims"), encoding="utf-8")
        chunk.clear()

    for rec in claims(n_claims, seed):
        _fix_superseded(rec, ids)
        ids.append(rec["id"])
        chunk.append(rec)
        if len(chunk) == CLAIMS_PER_FILE:
            flush()
    if chunk:
        flush()

    art = article(n_claims, n_sources, seed)
    statements = [{"id": f"synthetic-s{j:02d}", "section": "Body",
                   "paraphrase": "A synthetic statement resting on one claim.",
                   "figures": ["up to 66%"], "claim_id": ids[ci], "verdict": "supported",
                   "reason": "Synthetic."}  # fmt: skip
                  for j, ci in enumerate(art.pop("statement_claims"), start=1)]  # fmt: skip
    art["statements"] = statements
    (data / "articles" / "synthetic-article.yml").write_text(
        "# Synthetic article\n" + _record_yaml(art, indent="") + "\n", encoding="utf-8"
    )
    faqs = []
    for f in faq(n_claims, seed):
        f["claims"] = [ids[i] for i in f.pop("claim_indexes")]
        faqs.append(f)
    (data / "faq.yml").write_text(_list_yaml(faqs, "Synthetic FAQ"), encoding="utf-8")
    return data


# ---------------------------------------------------------------- database


def write_db(db_path: Path, n_claims: int, seed: int = SEED, batch: int = 20_000) -> Path:
    """The database `kb build` would make from `write_data`'s files, written directly (for 1M claims)."""
    import sqlite_utils

    from kb.build import claim_flag, format_figure
    from kb.citation import format_citation, format_short_citation
    from kb.schema import TABLES, ensure_db_shape, ensure_fts

    db_path = Path(db_path)
    tmp = db_path.with_name(db_path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    db = sqlite_utils.Database(conn)
    ensure_db_shape(db)
    conn.execute(
        "PRAGMA foreign_keys = OFF"
    )  # rows arrive sources first, claims may supersede later

    def insert(table: str, rows: list[dict[str, Any]]) -> None:
        cols = list(TABLES[table]["columns"])
        sql = f"insert into [{table}] ({', '.join(cols)}) values ({', '.join('?' * len(cols))})"
        conn.executemany(sql, [[_db_value(r.get(c)) for c in cols] for r in rows])

    n_sources = max(1, n_claims // CLAIMS_PER_SOURCE)
    counts = [0] * n_sources
    rows = []
    for src in sources(n_sources, seed):
        src["url"] = f"https://doi.org/{src['doi']}"
        src["citation"] = format_citation(src)
        src["short_citation"] = format_short_citation(src)
        rows.append(src)
    ids: list[str] = []
    claim_rows: list[dict[str, Any]] = []
    with conn:
        for i, rec in enumerate(claims(n_claims, seed)):
            _fix_superseded(rec, ids)
            ids.append(rec["id"])
            if rec.get("source_doi"):
                counts[int(rec["source_doi"].rsplit(".", 1)[1])] += 1
            rec["data_file"] = f"data/claims/part-{i // CLAIMS_PER_FILE:05d}.yml"
            rec["data_line"] = 0
            rec["figure"] = format_figure(rec) or None
            rec["flag"] = claim_flag(rec, None)
            claim_rows.append(rec)
            if len(claim_rows) == batch:
                insert("claims", claim_rows)
                claim_rows.clear()
        insert("claims", claim_rows)
        for src, count in zip(rows, counts, strict=True):
            src["claim_count"] = count
        insert("sources", rows)
        art = article(n_claims, n_sources, seed)
        insert(
            "articles", [{k: art[k] for k in ("id", "title", "url", "publisher", "last_reviewed")}]
        )
        insert("article_references", [
            dict(r, article_id=art["id"], position=p, id=f"{art['id']}-ref-{p}")
            for p, r in enumerate(art["references"], start=1)])  # fmt: skip
        insert("article_statements", [
            {"id": f"synthetic-s{j:02d}", "article_id": art["id"], "position": j,
             "section": "Body", "paraphrase": "A synthetic statement resting on one claim.",
             "figures": ["up to 66%"], "claim_id": ids[ci], "verdict": "supported",
             "reason": "Synthetic."}
            for j, ci in enumerate(art["statement_claims"], start=1)])  # fmt: skip
        faqs, links = [], []
        for f in faq(n_claims, seed):
            links += [{"faq_id": f["id"], "claim_id": ids[i]} for i in f.pop("claim_indexes")]
            faqs.append(f)
        insert("faq", faqs)
        insert("faq_claims", links)
        insert("build_info", [{"key": "build_id", "value": f"synthetic-{n_claims}-{seed}"}])
    ensure_fts(db)
    conn.close()
    os.replace(tmp, db_path)
    return db_path


def _db_value(v: Any) -> Any:
    if isinstance(v, list):
        return json.dumps(v)
    if isinstance(v, bool):
        return int(v)
    return v


# ---------------------------------------------------------------- cache


def cached_data(n_claims: int, seed: int = SEED) -> Path:
    """`data/` for n_claims under benchmarks/.cache/, generated once per (size, seed, version)."""
    root = CACHE / f"kb-{n_claims}-{seed}-v{GENERATOR_VERSION}"
    done = root / "done"
    if not done.exists():
        write_data(root / "data", n_claims, seed)
        done.write_text("ok\n")
    return root / "data"


def cached_db(n_claims: int, seed: int = SEED) -> Path:
    path = CACHE / f"kb-{n_claims}-{seed}-v{GENERATOR_VERSION}.db"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        write_db(path, n_claims, seed)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("claims", type=int)
    parser.add_argument("--db", action="store_true", help="write a database instead of data/")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    t0 = time.perf_counter()
    path = cached_db(args.claims, args.seed) if args.db else cached_data(args.claims, args.seed)
    print(f"{path} ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
