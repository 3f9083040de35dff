"""`kb ingest` pacing: 200 DOIs against a loopback stand-in advertising 10 requests/s, 3 in flight.

The bound is what the advertised rate allows: 200 requests at 10/s take at least 20 s. Reports the
wall time against that bound (goal: at most 1.2x), the most requests the server saw in any 1 s
window and in flight at once (never above the advertised 10 and 3), and the requests a warm
re-run sends (0). OpenAlex is served by the same stand-in at the same advertised limits.

    .venv/bin/python -m benchmarks.bench_ingest [--dois 200]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import tempfile
import time
from pathlib import Path

from ingest import ingest
from ingest.standin import Canned, StandIn

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "tests/fixtures/crossref/works_10.1002_jor.1100150407.json"
RATE, INTERVAL, IN_FLIGHT = 10, 1.0, 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dois", type=int, default=200)
    args = parser.parse_args()

    template = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    dois = [f"10.5555/bench.{i:04d}" for i in range(args.dois)]
    limits = (RATE, INTERVAL, IN_FLIGHT)
    with (
        StandIn(limits={"crossref": limits, "openalex": limits}) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        os.environ.update(server.env())
        for doi in dois:
            body = copy.deepcopy(template)
            body["message"]["DOI"] = doi
            server.add("crossref", doi, Canned(body=json.dumps(body).encode()))
        started = time.monotonic()
        cold = ingest(dois, Path(tmp) / "data", mailto="bench@example.org")
        wall = time.monotonic() - started
        sent_cold = server.count()
        warm = ingest(dois, Path(tmp) / "data")
        sent_warm = server.count() - sent_cold

    bound = args.dois / RATE * INTERVAL
    rows = [
        ("DOIs fetched", f"{cold.count('fetched')} / {args.dois}", ""),
        ("wall time", f"{wall:.1f} s", f"bound {bound:.0f} s (rate {RATE}/{INTERVAL:g}s)"),
        ("wall / bound", f"{wall / bound:.2f}x", "goal <= 1.20x"),
    ]
    for service in ("crossref", "openalex"):
        rows += [
            (f"{service}: requests", str(server.count(service)), ""),
            (f"{service}: max in any {INTERVAL:g} s", str(server.max_in_window(service, INTERVAL)),
             f"advertised {RATE}"),
            (f"{service}: max in flight", str(server.max_in_flight(service)), f"advertised {IN_FLIGHT}"),
        ]  # fmt: skip
    rows.append(("warm re-run: requests", str(sent_warm), f"{warm.count('cached')} cached; goal 0"))
    width = max(len(r[0]) for r in rows)
    print(f"bench_ingest: {args.dois} DOIs against a loopback stand-in")
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>10}  {note}")
    ok = (
        wall / bound <= 1.2
        and sent_warm == 0
        and all(server.max_in_window(s, INTERVAL) <= RATE for s in ("crossref", "openalex"))
        and all(server.max_in_flight(s) <= IN_FLIGHT for s in ("crossref", "openalex"))
    )
    print("  result:", "ok" if ok else "GOAL MISSED")


if __name__ == "__main__":
    main()
