"""Load on `kb serve --public` over loopback: the FAQ endpoint and a search beside /-/versions.json.

    .venv/bin/python -m benchmarks.bench_serve                 # 20 clients, 10 s per phase
    .venv/bin/python -m benchmarks.bench_serve --clients 50 --seconds 5

Phase 1 drives each endpoint alone with N concurrent clients (httpx.AsyncClient, one connection
each) for a fixed time and reports requests/s, p50/p95/p99 and errors; /-/versions.json, Datasette's
cheapest endpoint, measured in the same run, is the floor. Phase 2 measures the FAQ's latency while
other clients flood the server with slow searches (very common terms, prefix patterns, long
queries). Goal: zero errors and FAQ p99 under 50 ms at 20 clients. Prints "GOAL MISSED" otherwise.
Everything is bounded: loopback only, fixed duration per phase, a timeout on every request.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
FAQ = "/kb/faq.json?_shape=array&_json=claims"
SEARCH = "/kb/search.json?q=weight+bearing+pain&_shape=array"
FLOOR = "/-/versions.json"
GOAL_P99_MS = 50.0
# Searches a malicious or careless client might send: every common word, prefix patterns, long input.
FLOOD = [
    "/kb/search.json?q=the+of+and+in+with+a&_shape=array",
    "/kb/search.json?q=a*+b*+c*+d*+e*+p*+s*&_shape=array",
    "/kb/search.json?q=" + "+".join(["bml"] * 200) + "&_shape=array",
    "/kb/claims.json?_search=knee&_size=max",
    "/kb/sources.json?_search=osteoarthritis*&_size=max",
    "/kb/search.json?q=%22knee+osteoarthritis%22+OR+pain*&_shape=array",
]


@dataclass
class Stats:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def row(self) -> dict:
        return {"name": self.name, "requests": len(self.latencies), "errors": self.errors,
                "rps": len(self.latencies) / self.seconds if self.seconds else 0.0,
                "p50_ms": self.pct(0.50), "p95_ms": self.pct(0.95), "p99_ms": self.pct(0.99)}  # fmt: skip


async def drive(base: str, paths: list[str], clients: int, seconds: float, stats: Stats) -> None:
    """`clients` workers, each with its own connection, request paths in turn until time is up."""
    deadline = time.perf_counter() + seconds
    cycle = itertools.cycle(paths)

    async def worker() -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base, timeout=5.0, limits=limits) as client:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    r = await client.get(next(cycle), headers={"Accept-Encoding": "gzip"})
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    stats.latencies.append(time.perf_counter() - t0)
                else:
                    stats.errors += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    stats.seconds = time.perf_counter() - t0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    data = shutil.copytree(REPO / "data", workdir / "data")
    cmd = [sys.executable, "-m", "kb.cli", "serve", "--public", "--data", str(data),
           "--db", str(workdir / "kb.db"), "--metadata", str(REPO / "metadata.yml"),
           "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"kb serve exited with {proc.returncode}")
        try:
            if httpx.get(base + FLOOR, timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.terminate()
    raise TimeoutError("kb serve did not start within 60 s")


async def run(base: str, clients: int, seconds: float) -> dict:
    results = {}
    for name, paths in (("floor /-/versions.json", [FLOOR]), ("faq", [FAQ]), ("search", [SEARCH])):
        await drive(base, paths, clients, 1.0, Stats("warm-up"))
        stats = Stats(name)
        await drive(base, paths, clients, seconds, stats)
        results[name] = stats.row()
    flood, faq = Stats("flood of slow searches"), Stats("faq during flood")
    await asyncio.gather(
        drive(base, FLOOD, clients, seconds, flood),
        drive(base, [FAQ], max(1, clients // 4), seconds, faq),
    )
    results["flood"] = flood.row()
    results["faq during flood"] = faq.row()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase (default 10)")
    args = parser.parse_args()
    if not 1 <= args.clients <= 200 or not 0.5 <= args.seconds <= 120:
        parser.error("keep it bounded: 1-200 clients, 0.5-120 s per phase")
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        proc, base = start_server(Path(tmp))
        try:
            results = asyncio.run(run(base, args.clients, args.seconds))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(f"kb serve --public on loopback, {args.clients} clients, {args.seconds:g} s per phase")
    print(f"{'endpoint':28} {'requests':>9} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'errors':>7}")  # fmt: skip
    for key, r in results.items():
        label = (
            key
            if key != "faq during flood"
            else f"faq during flood ({max(1, args.clients // 4)} c)"
        )
        print(f"{label:28} {r['requests']:>9,} {r['rps']:>9,.0f} {r['p50_ms']:>8.1f} "
              f"{r['p95_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['errors']:>7}")  # fmt: skip
    floor, faq = results["floor /-/versions.json"], results["faq"]
    print(f"faq vs floor: p50 x{faq['p50_ms'] / floor['p50_ms']:.2f}, "
          f"p99 x{faq['p99_ms'] / floor['p99_ms']:.2f}, req/s x{faq['rps'] / floor['rps']:.2f} "
          "(client and server share this machine's CPUs: when the floor's p99 is over the goal, "
          "the machine, not the endpoint, sets the limit)")  # fmt: skip
    errors = sum(r["errors"] for r in results.values())
    worst = max(results["faq"]["p99_ms"], results["faq during flood"]["p99_ms"])
    met = errors == 0 and worst < GOAL_P99_MS
    print(f"goal: zero errors and FAQ p99 < {GOAL_P99_MS:g} ms: "
          f"{'met' if met else 'GOAL MISSED'} (errors {errors}, worst FAQ p99 {worst:.1f} ms)")  # fmt: skip
    print(json.dumps({"clients": args.clients, "seconds": args.seconds, "results": results,
                      "goal_met": met}))  # fmt: skip


if __name__ == "__main__":
    main()
