"""Which claims' evidence has gone unchecked: their source was never checked for retractions and
corrections (no fetched record), its notices were last checked long ago, or the claim itself has not
been re-verified (curated or changed) for a number of days.

`staleness(conn, days, today)` reads the built database only; `kb stale` prints it and the home page
counts it for curators.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any

from .schema import has_table, rows_as_dicts

DEFAULT_DAYS = 365  # a claim's evidence is stale when nobody has looked at it for a year


@dataclass
class Staleness:
    days: int
    today: str
    never_checked: list[dict[str, Any]] = field(default_factory=list)  # source without a record
    notices_old: list[dict[str, Any]] = field(default_factory=list)  # record older than `days`
    not_reverified: list[dict[str, Any]] = field(default_factory=list)  # claim older than `days`

    @property
    def total(self) -> int:
        return len({c["id"] for c in self.never_checked + self.notices_old + self.not_reverified})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"total": self.total}


def _sourced_claims(conn: sqlite3.Connection) -> str:
    """The one definition of the rule's inputs, as SQL: each sourced claim with its source's
    `retrieved_at` and `reverified_on`, the later of its `curated_on` and its last recorded change
    ('' when neither is known)."""
    last = (
        "select record_id, max(substr(date, 1, 10)) as d from history where kind = 'claim' "
        "group by record_id"
        if has_table(conn, "history")
        else "select null as record_id, null as d where 0"
    )
    return (
        f"with last as ({last}) "
        "select c.id, c.statement, c.status, c.source_doi, s.retrieved_at, "
        "max(coalesce(c.curated_on, ''), coalesce(l.d, '')) as reverified_on "
        "from claims c join sources s on s.doi = c.source_doi "
        "left join last l on l.record_id = c.id"
    )


def _cutoff(days: int, today: dt.date) -> str:
    return (today - dt.timedelta(days=days)).isoformat()


def staleness(conn: sqlite3.Connection, days: int = DEFAULT_DAYS, today: dt.date | None = None
              ) -> Staleness:  # fmt: skip
    """Claims with a source (unsourced claims have nothing to check), oldest first in each list.

    A claim was last re-verified on the later of its `curated_on` and its last recorded change."""
    today = today or dt.date.today()
    cutoff = _cutoff(days, today)
    report = Staleness(days, today.isoformat())
    for c in rows_as_dicts(conn, _sourced_claims(conn) + " order by c.id"):
        c["reverified_on"] = c["reverified_on"] or None
        if not c["retrieved_at"]:
            report.never_checked.append(c)
        elif c["retrieved_at"][:10] < cutoff:
            report.notices_old.append(c)
        if not c["reverified_on"] or c["reverified_on"] < cutoff:
            report.not_reverified.append(c)
    for items, key in (
        (report.notices_old, "retrieved_at"),
        (report.not_reverified, "reverified_on"),
    ):
        items.sort(key=lambda c, k=key: c[k] or "")
    return report


def staleness_counts(
    conn: sqlite3.Connection, days: int = DEFAULT_DAYS, today: dt.date | None = None
) -> dict[str, int]:
    """The three counts of `staleness` and their total, in one aggregate query (the home page)."""
    today = today or dt.date.today()
    old_notices = "(retrieved_at is not null and substr(retrieved_at, 1, 10) < :cutoff)"
    row = conn.execute(
        "select count(*), coalesce(sum(retrieved_at is null), 0), "
        f"coalesce(sum({old_notices}), 0), coalesce(sum(reverified_on < :cutoff), 0), "
        f"coalesce(sum(retrieved_at is null or {old_notices} or reverified_on < :cutoff), 0) "
        f"from ({_sourced_claims(conn)})",
        {"cutoff": _cutoff(days, today)},
    ).fetchone()
    return {"days": days, "today": today.isoformat(), "claims": row[0], "never_checked": row[1],
            "notices_old": row[2], "not_reverified": row[3], "total": row[4]}  # fmt: skip


def render_text(report: Staleness, limit: int = 20) -> str:
    """Counts, then the oldest claims in each list (ids for curators)."""
    lines = [f"Staleness on {report.today} (stale after {report.days} days):"]
    groups = (
        ("source never checked for retractions or corrections", report.never_checked, "source_doi"),
        (f"source's notices last checked more than {report.days} days ago", report.notices_old,
         "retrieved_at"),
        (f"claim not re-verified for {report.days} days", report.not_reverified, "reverified_on"),
    )  # fmt: skip
    for label, items, key in groups:
        lines.append(f"  {len(items)} claim(s): {label}")
        for c in items[:limit]:
            lines.append(f"    {c['id']} ({c[key] or 'never'})")
        if len(items) > limit:
            lines.append(f"    … {len(items) - limit} more")
    if report.never_checked:
        lines.append("Run `kb ingest --all` to check every source for notices.")
    return "\n".join(lines)
