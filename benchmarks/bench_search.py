"""Search at 1M claims through the running public server, against the same FTS queries in SQLite.

Starts Datasette exactly as `kb serve --public` does (`kb.serve.datasette_args`: immutable database,
inspect file, 250 ms SQL time limit, 100 ms facet limit) on a free loopback port, over a synthetic
1M-claim database named kb.db. For a rare, a medium and a very common word it times:

- the ranked search: the canned query from metadata.yml when it defines one, else `kb.search`'s
  ranked SQL run directly as the baseline only (the table search below is then the served search);
- `/kb/claims.json?_search=WORD&_facet=status`, the table search, which computes every facet metadata.yml
  configures for claims (status and topic: the claims page offers the others on demand);
- the same table search asking for the other facets too (measure, study design, certainty,
  compartments), as every search did when all six were configured: no goal, it shows what facets
  on demand save;

each as p50/p95 over repeated requests, beside the same SQL run directly in SQLite (the baseline).
Then prefix floods (`_searchmode=raw`, `a*` and `k*`) from several clients at once, while a cheap
request (one claim by id) is timed to show whether floods starve it. Last, the server's RSS.

Every timed request carries a parameter no cache has seen (`_bench=N`), so it is served by SQLite,
not by the public instance's response cache.

Goals: p95 <= 50 ms for rare and medium words; a common word bounded by the time limit (p95 <= 250 ms
+ 100 ms of overhead); a flood request bounded by the wait for the heavy-request slot plus the time
limits of a table page's statements (FLOOD_GOAL_MS); the cheap request's p95 under flood <= 500 ms.

    .venv/bin/python -m benchmarks.bench_search [--claims 1000000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from kb.web import MORE_FACETS
from kb.web.gate import HEAVY_WAIT_S

from .common import REPO, Result, percentile
from .generate import CACHE, SEED, Vocabulary, cached_db

TIME_LIMIT_MS = 250
SEARCH_GOAL_MS = 50
FACET_LIMIT_MS = 100
COMMON_GOAL_MS = TIME_LIMIT_MS + 100
# A flood request waits up to HEAVY_WAIT_S for the one slot public instances give slow requests
# (kb/web/middleware.py), then runs a table page's statements, each under its own limit: rows and
# count (250 ms each) and the facet (100 ms). Past that it has been refused (503) or stopped (400).
FLOOD_GOAL_MS = int(HEAVY_WAIT_S * 1000) + 2 * TIME_LIMIT_MS + FACET_LIMIT_MS + 100
CHEAP_GOAL_MS = 500


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path) -> tuple[subprocess.Popen, str]:
    from kb.serve import datasette_args

    port = _free_port()
    args = datasette_args(db, REPO / "metadata.yml", "127.0.0.1", port, public=True)
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"{base}/-/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    stop_server(proc)
    raise TimeoutError("server did not start")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MB, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def canned_search() -> tuple[str, str] | None:
    """(query name, parameter) of a search canned query in metadata.yml, if there is one."""
    path = REPO / "metadata.yml"
    if not path.exists():
        return None
    meta = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    queries = ((meta.get("databases") or {}).get("kb") or {}).get("queries") or {}
    for name, query in queries.items():
        sql = query if isinstance(query, str) else query.get("sql", "")
        params = re.findall(r":(\w+)", sql)
        if "match" in sql.lower() and params:
            return name, params[0]
    return None


_BUST = itertools.count()


def bust(url: str) -> str:
    """The URL with a parameter Datasette ignores and no cache has seen: every request does the work."""
    return f"{url}{'&' if '?' in url else '?'}_bench={next(_BUST)}"


def timed(client: httpx.Client, url: str, repeat: int) -> tuple[list[float], list[int]]:
    times, statuses = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = client.get(bust(url))
        times.append((time.perf_counter() - t0) * 1000)
        statuses.append(r.status_code)
    return times, statuses


def direct(conn: sqlite3.Connection, sqls: list[tuple[str, dict]], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for sql, params in sqls:
            conn.execute(sql, params).fetchall()
        times.append((time.perf_counter() - t0) * 1000)
    return times


MATCH = "rowid in (select rowid from claims_fts where claims_fts match :q)"


def _facet_sql(facet: str | dict) -> str:
    if isinstance(facet, dict):  # an array facet: {"array": column}
        col = facet["array"]
        return (f"select j.value, count(*) as n from claims, json_each(claims.[{col}]) j "
                f"where claims.{MATCH} group by j.value order by n desc limit 31")  # fmt: skip
    return (f"select [{facet}], count(*) as n from claims where {MATCH} "
            f"group by [{facet}] order by n desc limit 31")  # fmt: skip


_CLAIMS_META = yaml.safe_load((REPO / "metadata.yml").read_text(encoding="utf-8"))["databases"][
    "kb"
]["tables"]["claims"]
# what the table page runs: first page, count, and every facet metadata.yml configures for claims
TABLE_SQL = [
    f"select * from claims where {MATCH} order by id limit 101",
    f"select count(*) from claims where {MATCH}",
    *(_facet_sql(f) for f in _CLAIMS_META.get("facets", [])),
]
# the facets the claims page offers on demand, asked for all at once
ON_DEMAND = MORE_FACETS
ALL_FACETS_SQL = TABLE_SQL + [
    _facet_sql({"array": name} if param == "_facet_array" else name) for name, param in ON_DEMAND
]


def pick_terms(conn: sqlite3.Connection, n_claims: int) -> dict[str, tuple[str, int]]:
    """A rare (a handful of claims), a medium (about 1%) and a very common word, with their counts."""
    words = Vocabulary(random.Random(f"{SEED}-vocab")).words

    def hits(word: str) -> int:
        sql = "select count(*) from claims_fts where claims_fts match ?"
        return conn.execute(sql, [f'"{word}"']).fetchone()[0]

    found = [(w, h) for w in words[-1:-40_000:-2_000] if (h := hits(w)) >= 1]
    rare = min(found, key=lambda wh: wh[1])
    medium = min(((w, hits(w)) for w in words[100:1600:100]),
                 key=lambda wh: abs(wh[1] - n_claims / 100))  # fmt: skip
    return {"rare": rare, "medium": medium, "common": ("knee", hits("knee"))}


def run(quick: bool = False) -> tuple[list[Result], dict]:
    """Every size: 10k and 100k (quick), and 1M; the growth curve goes into the plot."""
    sizes = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    results: list[Result] = []
    raw: dict[str, Any] = {"sizes": []}
    for n in sizes:
        found, detail = run_size(n)
        results += found
        raw["sizes"].append(detail)
    return results, raw


def run_size(n_claims: int, repeat: int = 20) -> tuple[list[Result], dict]:
    from kb.search import SEARCH_SQL

    source = cached_db(n_claims)
    folder = CACHE / f"serve-{n_claims}"
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "kb.db"  # Datasette names the database after the file: /kb/...
    if not db.exists():
        db.symlink_to(source)
    conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    terms = pick_terms(conn, n_claims)
    canned = canned_search()
    results: list[Result] = []
    raw: dict[str, Any] = {"claims": n_claims, "terms": terms, "canned": canned, "search": []}
    proc, base = start_server(db)
    try:
        client = httpx.Client(base_url=base, timeout=30)
        client.get("/kb/claims.json?_size=1")  # first touch: open the database
        for kind, (word, hits) in terms.items():
            reps = repeat if kind != "common" else max(5, repeat // 2)
            ranked_sql = [(SEARCH_SQL, {"query": f'"{word}"', "limit": 20})]
            table_sql = [(sql, {"q": f'"{word}"'}) for sql in TABLE_SQL]
            goal = SEARCH_GOAL_MS if kind != "common" else COMMON_GOAL_MS
            every = "&".join(f"{param}={name}" for name, param in ON_DEMAND)
            all_sql = [(sql, {"q": f'"{word}"'}) for sql in ALL_FACETS_SQL]
            urls = [("table _search (its configured facets)",
                     f"/kb/claims.json?_search={word}&_facet=status", table_sql),
                    ("table _search with every facet (no goal: what on demand saves)",
                     f"/kb/claims.json?_search={word}&_facet=status&{every}", all_sql)]  # fmt: skip
            if canned:
                name, param = canned
                urls.insert(0, ("ranked search (canned query)", f"/kb/{name}.json?{param}={word}",
                                ranked_sql))  # fmt: skip
            else:
                base_ranked = direct(conn, ranked_sql, reps)
                raw["search"].append({"what": "ranked SQL, direct only", "kind": kind,
                                      "p50": percentile(base_ranked, 50),
                                      "p95": percentile(base_ranked, 95)})  # fmt: skip
            for label, url, sqls in urls:
                served, statuses = timed(client, url, reps)
                baseline = direct(conn, sqls, reps)
                p95, b95 = percentile(served, 95), percentile(baseline, 95)
                bad = sum(s != 200 for s in statuses)
                note = f"{hits:,} hits; p50 {percentile(served, 50):.1f} ms vs {percentile(baseline, 50):.1f} ms direct"
                if bad:
                    note += f"; {bad}/{reps} answered {sorted(set(statuses))}"
                has_goal = "no goal" not in label
                results.append(Result(f"search {n_claims // 1000}k: {label}, {kind} word '{word}'",
                                      p95, "ms p95", b95, p95 / b95 if b95 else None,
                                      f"<= {goal} ms" if has_goal else "",
                                      p95 <= goal if has_goal else None, note))  # fmt: skip
                raw["search"].append({"what": label, "kind": kind, "word": word, "hits": hits,
                                      "served": served, "direct": baseline, "statuses": statuses})  # fmt: skip
        results += flood(client, base, conn, raw)
        rss, peak = rss_mb(proc.pid)
        raw["server_rss_mb"], raw["server_peak_rss_mb"] = rss, peak
        raw["db_mb"] = source.stat().st_size / 2**20
        results.append(Result(f"serve {n_claims // 1000}k: server RSS (peak)", peak, "MB",
                              note=f"now {rss:.0f} MB; database file "
                                   f"{source.stat().st_size / 2**20:,.0f} MB"))  # fmt: skip
    finally:
        stop_server(proc)
        conn.close()
    return results, raw


def flood(client: httpx.Client, base: str, conn: sqlite3.Connection, raw: dict) -> list[Result]:
    """Prefix floods from 4 clients while one client times a cheap request."""
    cheap = (
        "/kb/claims/"
        + conn.execute("select id from claims limit 1 offset 5000").fetchone()[0]
        + ".json"
    )
    quiet, _ = timed(client, cheap, 30)
    results = []
    for prefix in ("a*", "k*"):
        url = f"/kb/claims.json?_search={prefix}&_searchmode=raw&_facet=status"
        stop = threading.Event()
        flood_times: list[float] = []
        statuses: list[int] = []

        def hammer(url=url, stop=stop, flood_times=flood_times, statuses=statuses) -> None:
            with httpx.Client(base_url=base, timeout=30) as c:
                while not stop.is_set():
                    t0 = time.perf_counter()
                    r = c.get(bust(url))
                    flood_times.append((time.perf_counter() - t0) * 1000)
                    statuses.append(r.status_code)

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(1)
        loaded, _ = timed(client, cheap, 30)
        stop.set()
        for t in threads:
            t.join()
        t0 = time.perf_counter()
        conn.execute(TABLE_SQL[1], {"q": prefix}).fetchall()
        direct_ms = (time.perf_counter() - t0) * 1000
        fp95, lp95, qp95 = (
            percentile(flood_times, 95),
            percentile(loaded, 95),
            percentile(quiet, 95),
        )
        codes = {s: statuses.count(s) for s in sorted(set(statuses))}
        k = f"{raw['claims'] // 1000}k"
        results.append(Result(f"search {k}: prefix flood '{prefix}' (raw mode, 4 clients)", fp95,
                              "ms p95", direct_ms, fp95 / direct_ms if direct_ms else None,
                              f"<= {FLOOD_GOAL_MS} ms", fp95 <= FLOOD_GOAL_MS,
                              f"baseline: its count(*) alone in SQLite; answers {codes}"))  # fmt: skip
        results.append(Result(f"search {k}: one claim by id during '{prefix}' flood", lp95, "ms p95",
                              qp95, lp95 / qp95 if qp95 else None, f"<= {CHEAP_GOAL_MS} ms",
                              lp95 <= CHEAP_GOAL_MS, "baseline: the same request with no flood"))  # fmt: skip
        raw.setdefault("flood", []).append({"prefix": prefix, "flood": flood_times,
                                             "cheap_loaded": loaded, "cheap_quiet": quiet,
                                             "statuses": codes, "direct_count_ms": direct_ms})  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    results, _ = run_size(args.claims, repeat=args.repeat)
    for r in results:
        met = "" if r.met is None else "met" if r.met else "MISSED"
        print(f"{r.name:70} {r.figure:8.1f} {r.unit:6} baseline {r.baseline or 0:8.1f} "
              f"goal {r.goal:10} {met:6} {r.note}")  # fmt: skip


if __name__ == "__main__":
    main()
