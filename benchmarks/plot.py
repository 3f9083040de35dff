"""docs/performance.png: cost against KB size for each stage, from a benchmark run's JSON.

.venv/bin/python -m benchmarks.plot [benchmarks/results/latest.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .common import REPO, RESULTS, percentile  # noqa: E402

OUT = REPO / "docs" / "performance.png"


def _latest() -> dict:
    """Each benchmark's latest run (benchmarks/results/latest-NAME.json), merged."""
    runs = [
        json.loads(p.read_text(encoding="utf-8")) for p in sorted(RESULTS.glob("latest-*.json"))
    ]
    merged = dict(runs[-1], raw={}, commands=[])
    for run in runs:
        merged["raw"].update(run["raw"])
        label = f"{run['command']} ({run['started']})"
        if label not in merged["commands"]:
            merged["commands"].append(label)
    return merged


def plot(run_file: Path | None = None, out: Path = OUT) -> Path:
    run = json.loads(Path(run_file).read_text(encoding="utf-8")) if run_file else _latest()
    raw = run["raw"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))

    ax = axes[0]
    builds = raw.get("build", {}).get("build", [])
    if builds:
        n = [b["claims"] for b in builds]
        ax.plot(
            n,
            [min(f["seconds"] for f in b["floor"]) for b in builds],
            "o--",
            label="floor: CSafeLoader + executemany + FTS",
        )
        ax.plot(n, [b["full"]["seconds"] for b in builds], "o-", label="kb build (cold cache)")
        ax.plot(
            n,
            [b["incremental"]["seconds"] for b in builds],
            "s-",
            label="kb build, one claim file changed",
        )
    ax.set(title="Build from data/ files", xlabel="claims", ylabel="seconds")

    ax = axes[1]
    sizes = raw.get("search", {}).get("sizes", [])
    if sizes:
        n = [s["claims"] for s in sizes]
        for kind, style in (("rare", "o"), ("medium", "s"), ("common", "^")):
            served, direct = [], []
            for s in sizes:
                row = next(
                    r for r in s["search"] if r["kind"] == kind and "served" in r
                )  # the ranked query
                served.append(percentile(row["served"], 95))
                direct.append(percentile(row["direct"], 95))
            ax.plot(n, served, style + "-", label=f"{kind} word, server p95")
            ax.plot(
                n,
                direct,
                style + ":",
                color=ax.lines[-1].get_color(),
                label=f"{kind} word, SQLite direct p95",
            )
        ax.axhline(50, color="grey", lw=0.8)
        ax.axhline(250, color="red", lw=0.8)
        ax.text(n[0], 52, "goal 50 ms", fontsize=8, color="grey")
        ax.text(n[0], 260, "SQL time limit 250 ms", fontsize=8, color="red")
    ax.set(title="Ranked search (canned query)", xlabel="claims", ylabel="ms (p95)")

    ax = axes[2]
    if builds:
        ax.plot(
            [b["claims"] for b in builds],
            [b["full"]["peak_mb"] for b in builds],
            "o-",
            label="kb build peak RSS",
        )
        ax.plot(
            [b["claims"] for b in builds],
            [b["floor"][0]["peak_mb"] for b in builds],
            "o--",
            label="floor peak RSS",
        )
    if sizes:
        n = [s["claims"] for s in sizes]
        ax.plot(n, [s["server_peak_rss_mb"] for s in sizes], "s-", label="server peak RSS")
        ax.plot(n, [s["db_mb"] for s in sizes], "^:", label="database file")
    ax.axhline(1024, color="red", lw=0.8)
    ax.set(title="Memory and disk", xlabel="claims", ylabel="MB")

    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(True, which="both", lw=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    commands = "; ".join(run.get("commands") or [f"{run['command']} ({run['started']})"])
    fig.suptitle(f"BML KB cost against size: {commands}; {run['machine']['cpus']} CPUs, shared",
                 fontsize=9)  # fmt: skip
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


if __name__ == "__main__":
    print(plot(Path(sys.argv[1])) if len(sys.argv) > 1 else plot())
