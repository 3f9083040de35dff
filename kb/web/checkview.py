"""What the check page shows a writer, built from a check's JSON report (`Report.to_dict()`), never
from the checker's internals: each note's verdict in words, the whole sentence, the evidence in
plain language (statement, figure, "Aso et al. 2021") and what to change. Ids and DOIs go to a
details toggle; the checker's own explanation is already in a writer's words (`kb.wording`).

`writer_view(conn, report, text)` runs in Datasette's thread executor (one query per table).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..schema import rows_as_dicts
from ..sentences import split_sentences

# Each statement verdict: (words a writer reads, colour class, one-line legend).
STATEMENT_VERDICTS: dict[str, tuple[str, str, str]] = {
    "supported": ("Supported", "ok", "a verified study gives this figure"),
    "contradicted": ("Contradicted", "bad", "the study gives a different figure"),
    "misattributed": ("Wrong study cited", "bad", "the figure comes from another study"),
    "unsupported": ("No source found", "bad", "no study we hold gives this figure"),
    "unverified": ("Not confirmed", "warn", "no published study confirms this figure yet"),
}
# Each reference verdict, the same way.
REFERENCE_VERDICTS: dict[str, tuple[str, str, str]] = {
    "ok": ("Correct", "ok", "the reference matches the study"),
    "mismatch": ("Details differ", "bad", "year, title or authors differ from the study"),
    "retracted": ("Retracted", "bad", "the study was retracted or withdrawn"),
    "missing": ("Not in the list", "bad", "the text names a study the list leaves out"),
    "unresolved": ("Not found", "warn", "we could not find this work"),
    "unused": ("Not cited", "warn", "the list has a work the text never cites"),
}
LONG_DRAFT = 8  # statements: past this many, the page opens on the problems only


def _what_to_change(verdict: str, claim: dict[str, Any] | None, labels: dict[str, str]) -> str:
    """The advice a writer acts on, from the verdict, the claim it points at and the draft's list."""
    cite = (claim or {}).get("short_citation")
    figure = (claim or {}).get("figure")
    label = labels.get((claim or {}).get("source_doi") or "")
    where = f" ({label} in your list)" if label else " (add it to your reference list)"
    if verdict == "supported":
        return "Nothing to change."
    if verdict == "contradicted" and figure:
        return f"The study gives {figure}: correct the figure in this sentence" + (
            f", citing {cite}{where}." if cite else "."
        )
    if verdict == "misattributed" and cite:
        return f"The figure comes from {cite}: cite it instead{where}."
    if verdict == "unverified":
        return (
            "No published study we hold confirms this yet: remove it, or say plainly that it is not "
            "established, or send the evidence team the source."
        )
    if verdict == "unsupported":
        return (
            "Nothing we hold supports this: remove it or rephrase it without the figure, unless you "
            "can give a published source (send it to the evidence team)."
        )
    return "Check this sentence against the study before publishing."


def _whole_sentence(text: str, start: int, end: int, spans: list) -> tuple[int, int]:
    """The sentence (or sentences) around [start, end): a verdict may point at a clause."""
    first = next((s for s in spans if s.start <= start < s.end), None)
    last = next((s for s in spans if s.start < end <= s.end), None)
    return (first.start if first else start, last.end if last else end)


def _lookup(conn: sqlite3.Connection, sql: str, keys: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for row in rows_as_dicts(conn, sql.format(marks=marks), chunk):
            out[row["key"]] = row
    return out


def writer_view(conn: sqlite3.Connection, report: dict[str, Any], text: str) -> dict[str, Any]:
    """The check page's notes, references and summaries, from a report dict and the draft."""
    statements = sorted(report.get("statements") or [], key=lambda s: s["start"])
    named = {s["claim_id"] for s in statements if s.get("claim_id")}
    claims = _lookup(
        conn,
        "select c.id as key, c.id, c.statement, c.figure, c.status, c.source_doi, "
        "s.short_citation from claims c left join sources s on s.doi = c.source_doi "
        "where c.id in ({marks})",
        sorted(named),
    )
    refs = report.get("references") or []
    dois = {r["doi"] for r in refs if r.get("doi")}
    sources = _lookup(
        conn,
        "select doi as key, doi, short_citation, title from sources where doi in ({marks})",
        sorted(dois),
    )
    labels = {r["doi"]: r["label"] for r in refs if r.get("doi") and r.get("label")}
    spans = split_sentences(text)
    notes = []
    for i, s in enumerate(statements, 1):
        verdict = s["verdict"]
        words, cls, legend = STATEMENT_VERDICTS.get(verdict, (verdict, "warn", ""))
        claim = claims.get(s.get("claim_id") or "")
        a, b = _whole_sentence(text, s["start"], s["end"], spans)
        unchecked = [u.get("text", "") if isinstance(u, dict) else str(u)
                     for u in s.get("unchecked") or []]  # fmt: skip
        notes.append({
            "n": i, "verdict": verdict, "words": words, "cls": cls, "legend": legend,
            "sentence": text[a:b], "claim": claim, "change": _what_to_change(verdict, claim, labels),
            "why": s.get("explanation") or "", "unchecked": unchecked,
            "claim_id": s.get("claim_id"), "source_doi": s.get("source_doi"),
            "problem": verdict != "supported" or bool(unchecked),
        })  # fmt: skip
    references = []
    for r in refs:
        words, cls, legend = REFERENCE_VERDICTS.get(r["verdict"], (r["verdict"], "warn", ""))
        references.append({**r, "words": words, "cls": cls, "legend": legend,
                           "source": sources.get(r.get("doi") or "")})  # fmt: skip
    return {
        "notes": notes,
        "problems": [n for n in notes if n["problem"]],
        "references": references,
        "statement_summary": _summary(notes, STATEMENT_VERDICTS),
        "reference_summary": _summary(references, REFERENCE_VERDICTS),
        "only_problems": len(notes) > LONG_DRAFT,
        "unchecked_count": sum(len(n["unchecked"]) for n in notes),
    }


def _summary(rows: list[dict[str, Any]], verdicts: dict[str, tuple[str, str, str]]) -> list[dict]:
    """Counts per verdict, problems first, each with its words, colour and legend."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    order = [v for v in verdicts if verdicts[v][1] == "bad"] + [
        v for v in verdicts if verdicts[v][1] != "bad"
    ]
    order += [v for v in counts if v not in order]
    return [
        {"verdict": v, "count": counts.get(v, 0), "words": verdicts.get(v, (v,))[0],
         "cls": verdicts.get(v, (v, "warn"))[1], "legend": verdicts.get(v, (v, "", ""))[2]}
        for v in order
        if v in verdicts or counts.get(v)
    ]  # fmt: skip
