"""What `kb ingest` tells the person who ran it: a summary table, updates found, differences."""

from __future__ import annotations

import dataclasses
import json

from .run import IngestResult, Outcome

ROWS = (
    ("fetched", "fetched (new or changed)"),
    ("unchanged", "unchanged (re-fetched, same record)"),
    ("cached", "already fetched (no request; --refresh re-checks)"),
    ("partial", "partly fetched (a service failed; --refresh asks again)"),
    ("not_found", "not found (Crossref, doi.org, OpenAlex)"),
    ("failed", "failed"),
)


def progress_line(outcome: Outcome) -> str:
    """One plain log line per DOI, for runs that are not on a terminal."""
    via = f" via {', '.join(outcome.fetched_from)}" if outcome.fetched_from else ""
    line = f"{outcome.doi}: {outcome.status.replace('_', ' ')}{via}"
    if outcome.update_status:
        line += f" [{outcome.update_status.replace('_', ' ')}]"
    if outcome.errors and outcome.status in ("failed", "partial"):
        line += f" ({'; '.join(outcome.errors)})"
    return line


def _notice_text(n: dict) -> str:
    bits = [b for b in (n.get("doi"), n.get("date"), n.get("source")) if b]
    if n.get("record_id"):
        bits.append(f"record {n['record_id']}")
    return f"{n['type'].replace('_', ' ')}" + (f" ({', '.join(bits)})" if bits else "")


def render_text(result: IngestResult) -> str:
    if result.offline:
        return (
            "no network: could not connect to the metadata services "
            f"({result.offline_reason}).\nNothing was fetched and nothing under data/ was changed."
        )
    lines = [
        f"{len(result.outcomes)} DOI(s), {result.requests} request(s), {result.seconds:.1f}s",
        "",
    ]
    width = max(len(label) for _, label in ROWS)
    for status, label in ROWS:
        lines.append(f"  {label:<{width}}  {result.count(status):>4}")
    updated = [o for o in result.outcomes if o.update_notices]
    if updated:
        lines += ["", "Retractions, corrections and other notices:"]
        for o in updated:
            lines.append(f"  {o.doi}  {o.update_status.replace('_', ' ').upper()}")
            lines += [f"      {_notice_text(n)}" for n in o.update_notices]
    diffs = [d for o in result.outcomes for d in o.differences]
    if diffs:
        lines += [
            "",
            "Curated vs fetched (sources.yml keeps the curated value; kb build lists these):",
        ]
        for d in diffs:
            lines.append(
                f"  {d['doi']}  {d['field']}: curated {d['curated']} | fetched {d['fetched']}"
            )
    problems = [
        o for o in result.outcomes if o.status in ("not_found", "failed", "partial") or o.warnings
    ]
    if problems:
        lines += ["", "Problems:"]
        for o in problems:
            if o.status == "not_found":
                where = ", ".join(e.split(":", 1)[0] for e in o.errors)
                lines.append(f"  {o.doi}  not found at {where} (check the DOI)")
            messages = o.errors if o.status in ("failed", "partial") else []
            lines += [f"  {o.doi}  {msg}" for msg in messages + o.warnings]
    return "\n".join(lines)


def render_json(result: IngestResult) -> str:
    data = dataclasses.asdict(result)
    data["counts"] = {status: result.count(status) for status, _ in ROWS}
    data["exit_code"] = result.exit_code
    return json.dumps(data, indent=2, ensure_ascii=False)
