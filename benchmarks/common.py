"""What every benchmark reports: one `Result` per figure, beside a baseline measured in the same run."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Result:
    """`figure` and `baseline` are in `unit`; `ratio` = figure / baseline; `goal` says what passes."""

    name: str
    figure: float
    unit: str
    baseline: float | None = None
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None
    note: str = ""

    def row(self) -> dict[str, Any]:
        return asdict(self)


def ratio_result(
    name: str, figure: float, baseline: float, unit: str, limit: float | None, note: str = ""
) -> Result:
    """figure / baseline against a goal of at most `limit` times the baseline."""
    ratio = figure / baseline if baseline else None
    goal = f"<= {limit:g}x" if limit is not None else ""
    met = None if limit is None or ratio is None else ratio <= limit
    return Result(name, figure, unit, baseline, ratio, goal, met, note)


def run_child(args: list[str], timeout: float = 3600) -> dict[str, Any]:
    """Run `python -m benchmarks.<...>` in a fresh process; it prints one JSON line last."""
    proc = subprocess.run(
        [sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def child_report(seconds: float, **extra: Any) -> None:
    """Print the child's JSON line: wall seconds and its own peak RSS in MB."""
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"seconds": seconds, "peak_mb": peak_kb / 1024, **extra}))


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]
