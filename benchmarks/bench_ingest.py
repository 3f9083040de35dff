"""`kb ingest` pacing: 200 DOIs against a loopback stand-in advertising 10 requests/s, 3 in flight.

Each DOI costs two requests to Crossref's host: the work and the list of notices that update it, or,
for the one DOI in ten that Crossref does not know (404), the work and doi.org's redirect to
Crossref's transform endpoint. The bound is what the advertised rate allows for those: 400 requests
at 10/s take at least 40 s. Reports the wall time against that bound (goal: at most 1.2x), the most
requests Crossref's host saw in any 1 s window and in flight at once, all routes together (never
above the advertised 10 and 3), the same for OpenAlex (served at the same advertised limits), and
the requests a warm re-run sends (0).

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
from ingest.doi_org import CSL_JSON
from ingest.standin import CROSSREF, OPENALEX, Canned, StandIn

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "tests/fixtures/crossref/works_10.1002_jor.1100150407.json"
CSL = REPO / "tests/fixtures/doi_org/csl_10.1126_science.169.3946.635.json"
RATE, INTERVAL, IN_FLIGHT = 10, 1.0, 3
ELSEWHERE = 10  # one DOI in ten is not Crossref's: doi.org content negotiation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dois", type=int, default=200)
    args = parser.parse_args()

    template = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    csl = json.loads(CSL.read_text(encoding="utf-8"))
    dois = [f"10.5555/bench.{i:04d}" for i in range(args.dois)]
    limits = (RATE, INTERVAL, IN_FLIGHT)
    with (
        StandIn(limits={"crossref": limits, "openalex": limits}) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        os.environ.update(server.env())
        for i, doi in enumerate(dois):
            if i % ELSEWHERE == ELSEWHERE - 1:
                body = json.dumps({**csl, "DOI": doi}).encode()
                server.add("doi.org", doi, Canned(body=body, content_type=CSL_JSON))
                continue
            work = copy.deepcopy(template)
            work["message"]["DOI"] = doi
            server.add("crossref", doi, Canned(body=json.dumps(work).encode()))
        started = time.monotonic()
        cold = ingest(dois, Path(tmp) / "data", mailto="bench@example.org")
        wall = time.monotonic() - started
        sent_cold = server.count()
        warm = ingest(dois, Path(tmp) / "data")
        sent_warm = server.count() - sent_cold

    bound = server.count(CROSSREF) / RATE * INTERVAL
    routes = ", ".join(
        f"{server.count(r)} {r}" for r in ("crossref", "updates", "transform") if server.count(r)
    )
    rows = [
        ("DOIs fetched", f"{cold.count('fetched')} / {args.dois}", ""),
        ("wall time", f"{wall:.1f} s",
         f"bound {bound:.0f} s ({server.count(CROSSREF)} Crossref requests at {RATE}/{INTERVAL:g}s)"),
        ("wall / bound", f"{wall / bound:.2f}x", "goal <= 1.20x"),
    ]  # fmt: skip
    for host, note in ((CROSSREF, routes), (OPENALEX, "")):
        rows += [
            (f"{host}: requests", str(server.count(host)), note),
            (f"{host}: max in any {INTERVAL:g} s", str(server.max_in_window(host, INTERVAL)),
             f"advertised {RATE}"),
            (f"{host}: max in flight", str(server.max_in_flight(host)), f"advertised {IN_FLIGHT}"),
        ]  # fmt: skip
    rows.append(("warm re-run: requests", str(sent_warm), f"{warm.count('cached')} cached; goal 0"))
    width = max(len(r[0]) for r in rows)
    print(f"bench_ingest: {args.dois} DOIs against a loopback stand-in")
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>10}  {note}")
    ok = (
        cold.count("fetched") == args.dois
        and wall / bound <= 1.2
        and sent_warm == 0
        and all(server.max_in_window(h, INTERVAL) <= RATE for h in (CROSSREF, OPENALEX))
        and all(server.max_in_flight(h) <= IN_FLIGHT for h in (CROSSREF, OPENALEX))
    )
    print("  result:", "ok" if ok else "GOAL MISSED")


if __name__ == "__main__":
    main()
