"""`kb build` at 10k and 100k claims against the floor, peak memory, and an incremental rebuild.

The floor is the least any build of these files must do: parse every file with the fastest loader
available (`yaml.load` with libyaml's `CSafeLoader`, no line numbers), insert the records with a bare
`executemany` and build the FTS indexes. `kb build` also validates every field, derives figures and
citations, checks the result and replaces the database atomically. Each run happens in a fresh child
process, so its peak RSS is its own.

Goals: full build <= 2x the floor; peak memory <= 1 GB at 100k; after changing one claim file a
rebuild takes <= 1/10 of the full build; checking bad records costs the same per record at 4N as
at N (every problem reported; linear, not quadratic, in the number of problems).

    .venv/bin/python -m benchmarks.bench_build [--sizes 10000 100000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from .common import Result, child_report, ratio_result, run_child
from .generate import cached_data


def floor(data_dir: Path, db_path: Path) -> None:
    """Parse with CSafeLoader, insert with executemany, build FTS: nothing else."""
    import sqlite_utils
    import yaml

    from kb.schema import TABLES, ensure_db_shape, ensure_fts

    def load(path: Path):
        with open(path, "rb") as f:
            return yaml.load(f, Loader=yaml.CSafeLoader)

    def value(v):
        if isinstance(v, list):
            return json.dumps(v)
        if hasattr(v, "isoformat"):
            return v.isoformat()
        return v

    conn = sqlite3.connect(db_path)
    db = sqlite_utils.Database(conn)
    ensure_db_shape(db)
    conn.execute("PRAGMA foreign_keys = OFF")

    def insert(table: str, records: list[dict]) -> None:
        cols = list(TABLES[table]["columns"])
        sql = f"insert into [{table}] ({', '.join(cols)}) values ({', '.join('?' * len(cols))})"
        conn.executemany(sql, ([value(r.get(c)) for c in cols] for r in records))

    with conn:
        insert("sources", load(data_dir / "sources.yml"))
        for path in sorted((data_dir / "claims").glob("*.yml")):
            insert("claims", load(path))
        for path in sorted((data_dir / "articles").glob("*.yml")):
            art = load(path)
            insert("articles", [art])
            insert("article_references", [dict(r, id=f"{art['id']}-ref-{i}")
                                          for i, r in enumerate(art["references"])])  # fmt: skip
            insert("article_statements", art["statements"])
        faq = load(data_dir / "faq.yml")
        insert("faq", faq)
        insert("faq_claims", [{"faq_id": f["id"], "claim_id": c} for f in faq for c in f["claims"]])
    ensure_fts(db)
    conn.close()


def _touch_one_claim(data_dir: Path) -> Path:
    """Change one statement in one claim file (the middle one), as a curator would."""
    files = sorted((data_dir / "claims").glob("*.yml"))
    path = files[len(files) // 2]
    text = path.read_text(encoding="utf-8")
    marker = "  statement: "
    i = text.index(marker) + len(marker)
    path.write_text(text[:i] + '"Edited: ' + text[i + 1 :], encoding="utf-8")
    return path


def child(mode: str, data_dir: Path, db_path: Path) -> None:
    import sqlite_utils  # noqa: F401  imports are not what is measured
    import yaml  # noqa: F401

    from kb.build import build

    t0 = time.perf_counter()
    if mode == "floor":
        floor(data_dir, db_path)
    else:
        build(data_dir, db_path)
    child_report(time.perf_counter() - t0)


def _run(mode: str, data_dir: Path, db_path: Path) -> dict:
    return run_child(["-m", "benchmarks.bench_build", "--child", mode, str(data_dir), str(db_path)])


def bench(n_claims: int) -> tuple[list[Result], dict]:
    source = cached_data(n_claims)
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        data_dir = Path(tmp) / "data"
        shutil.copytree(source, data_dir)
        floor_run = _run("floor", data_dir, Path(tmp) / "floor.db")
        full = _run("build", data_dir, Path(tmp) / "kb.db")  # cold: no cache beside the db yet
        _touch_one_claim(data_dir)
        incremental = _run("build", data_dir, Path(tmp) / "kb.db")
        # the floor again, so a noisy neighbour in one half of the run shows as a drift
        floor_again = _run("floor", data_dir, Path(tmp) / "floor2.db")
    f = min(floor_run["seconds"], floor_again["seconds"])
    k = f"{n_claims // 1000}k"
    results = [
        ratio_result(f"build {k}: kb build vs floor", full["seconds"], f, "s", 2.0,
                     f"floor runs {floor_run['seconds']:.2f} s / {floor_again['seconds']:.2f} s"),
        ratio_result(f"build {k}: one claim file changed vs full build", incremental["seconds"],
                     full["seconds"], "s", 0.1),
        ratio_result(f"build {k}: peak RSS vs floor's", full["peak_mb"], floor_run["peak_mb"], "MB",
                     None),
    ]  # fmt: skip
    if n_claims >= 100_000:
        peak = full["peak_mb"]
        results[-1].goal, results[-1].met = "<= 1024 MB", peak <= 1024
    raw = {"claims": n_claims, "floor": [floor_run, floor_again], "full": full,
           "incremental": incremental}  # fmt: skip
    return results, raw


def _bad_sources(n: int) -> str:
    """n sources, each with two problems: a wrong metadata_origin (required) and a wrong year."""
    return "".join(
        f"- doi: 10.5555/bad.{i}\n  metadata_origin: guessed\n  year: nineteen-{i}\n"
        for i in range(n)
    )


def _check_bad(n: int, folder: Path) -> tuple[float, int]:
    """Seconds to check n bad sources once parsed (the best of 3), and the problems found."""
    from kb.loader import read_records
    from kb.validate import check_sources

    path = folder / f"bad-{n}.yml"
    path.write_text(_bad_sources(n), encoding="utf-8")
    records, _ = read_records(path, "data/sources.yml", "source")
    best, found = float("inf"), 0
    for _ in range(3):
        t0 = time.perf_counter()
        _rows, problems = check_sources(records)
        best, found = min(best, time.perf_counter() - t0), len(problems)
    return best, found


def bench_problems(n: int) -> list[Result]:
    """Checking 4n bad records against n: the time per record must not grow with the count."""
    with tempfile.TemporaryDirectory(prefix="bench-problems-") as tmp:
        small, small_found = _check_bad(n, Path(tmp))
        large, large_found = _check_bad(4 * n, Path(tmp))
    assert (small_found, large_found) == (2 * n, 8 * n), "every problem is reported"
    per = 1000 / n  # ms per record
    return [
        ratio_result(f"validate {4 * n // 1000}k bad sources: ms per record vs at {n // 1000}k",
                     large * per / 4, small * per, "ms", 1.5,
                     f"{2 * n:,} and {8 * n:,} problems; {small:.2f} s and {large:.2f} s"),
    ]  # fmt: skip


def run(quick: bool = False) -> tuple[list[Result], dict]:
    sizes = [10_000] if quick else [10_000, 100_000]
    results, raw = [], {"build": []}
    for n in sizes:
        r, detail = bench(n)
        results += r
        raw["build"].append(detail)
    results += bench_problems(5_000 if quick else 20_000)
    return results, raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, metavar=("MODE", "DATA", "DB"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--bad", type=int, metavar="N", help="only the bad-records case, N and 4N")
    args = parser.parse_args()
    if args.child:
        mode, data_dir, db_path = args.child
        child(mode, Path(data_dir), Path(db_path))
        return
    batches = [bench_problems(args.bad)] if args.bad else (bench(n)[0] for n in args.sizes)
    for results in batches:
        for r in results:
            print(f"{r.name:55} {r.figure:9.2f} {r.unit:2} baseline {r.baseline or 0:9.2f} "
                  f"ratio {r.ratio or 0:6.2f}  goal {r.goal:10} {'' if r.met is None else 'met' if r.met else 'MISSED'}")  # fmt: skip
        sys.stdout.flush()


if __name__ == "__main__":
    main()
