"""Reports for people: a terminal report and a Markdown table (the CLI side of `kb check`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .factcheck import Report

COLOURS = {
    "supported": "green", "unverified": "yellow", "contradicted": "red", "misattributed": "magenta",
    "unsupported": "cyan", "ok": "green", "mismatch": "red", "unresolved": "yellow",
    "unused": "cyan", "retracted": "red", "missing": "magenta",
}  # fmt: skip


def render_text(report: Report, colour: bool = False) -> str:
    """A terminal report: one block per statement, then the references, then the summary."""
    import click

    def tag(verdict: str) -> str:
        label = f"[{verdict.upper()}]"
        return click.style(label, fg=COLOURS.get(verdict), bold=True) if colour else label

    lines = []
    for s in report.statements:
        lines.append(f"{tag(s.verdict)} {s.text}")
        lines.append(f"    {s.explanation}")
        for u in s.unchecked:
            lines.append(f"    not checked: {u['text']} ({u['why']})")
        if s.claim and s.claim.get("source_doi"):
            lines.append(f"    source: https://doi.org/{s.claim['source_doi']}")
    lines.append("")
    lines.append("References:")
    for r in report.references:
        lines.append(f"{tag(r.verdict)} {r.label or '(not listed)'} {r.doi or ''}".rstrip())
        for p in r.problems:
            lines.append(f"    {p['field']}: article {p['article']!r}, source {p['source']!r}")
        if r.note and not r.problems:
            lines.append(f"    {r.note}")
    lines.append("")
    lines.append("Summary: " + ", ".join(f"{k} {v}" for k, v in sorted(report.summary.items())))
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    """A report to paste into a review."""
    out = ["## Fact-check", "", "| Verdict | Statement | Claim | Why |", "|---|---|---|---|"]
    for s in report.statements:
        out.append(
            f"| **{s.verdict}** | {_md(s.text)} | {s.claim_id or ''} | {_md(s.explanation)} |"
        )
    out += ["", "## References", "", "| Label | DOI | Verdict | Problems |", "|---|---|---|---|"]
    for r in report.references:
        probs = "; ".join(f"{p['field']}: {p['article']} vs {p['source']}" for p in r.problems)
        out.append(
            f"| {r.label or '(missing)'} | {r.doi or ''} | **{r.verdict}** | {_md(probs or r.note)} |"
        )
    out += ["", "Summary: " + ", ".join(f"{k} {v}" for k, v in sorted(report.summary.items()))]
    return "\n".join(out) + "\n"
