"""What the claims' git history costs `kb build`: a synthetic KB in a real git repository with many
commits, built with its history (cold: nothing cached; warm: the history cached for that commit)
against the same files built without git (the baseline, measured in the same run).

Goals: a warm build within 1.2x of the baseline (history costs one `git rev-parse` then), a cold
build within 3x at the default size (one `git log` pass and one `git cat-file` batch).

    .venv/bin/python -m benchmarks.bench_history [--claims 2000] [--commits 200]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from kb import build

from .generate import write_data

ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.org",
       "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.org",
       "GIT_CONFIG_NOSYSTEM": "1"}  # fmt: skip
VALUE_RE = re.compile(r"^(  value: )(\d+(?:\.\d+)?)$", re.M)


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, env=ENV, check=True, capture_output=True, timeout=600)


def make_repo(root: Path, claims: int, commits: int) -> Path:
    data = write_data(root / "data", claims)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "synthetic data")
    files = sorted((data / "claims").glob("*.yml"))
    for i in range(commits):
        path = files[i % len(files)]
        text = path.read_text(encoding="utf-8")
        matches = list(VALUE_RE.finditer(text))
        m = matches[(i // len(files)) % len(matches)]
        new = f"{m.group(1)}{float(m.group(2)) + 1:g}"
        path.write_text(text[: m.start()] + new + text[m.end() :], encoding="utf-8")
        git(root, "commit", "-q", "-am", f"change {i}")
    return data


def timed(data: Path, db: Path, clear_cache: bool, runs: int = 3) -> float:
    seconds = []
    for _ in range(runs):
        db.unlink(missing_ok=True)
        if clear_cache:
            shutil.rmtree(db.parent / ".kb-cache", ignore_errors=True)
        else:
            for p in (db.parent / ".kb-cache").glob("*.pickle"):
                p.unlink()  # every file parsed again: only the history may come from the cache
        t0 = time.perf_counter()
        build(data, db)
        seconds.append(time.perf_counter() - t0)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=2000)
    parser.add_argument("--commits", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = make_repo(root / "repo", args.claims, args.commits)
        plain = shutil.copytree(data, root / "tarball" / "data")
        base = timed(plain, root / "b" / "kb.db", clear_cache=True)
        cold = timed(data, root / "c" / "kb.db", clear_cache=True)
        timed(data, root / "w" / "kb.db", clear_cache=True, runs=1)
        warm = timed(data, root / "w" / "kb.db", clear_cache=False)
    print(f"{args.claims} claims, {args.commits + 1} commits")
    print(f"build without git (baseline): {base * 1000:8.0f} ms")
    for name, value, goal in (("cold history", cold, 3.0), ("warm history", warm, 1.2)):
        ratio = value / base
        verdict = "ok" if ratio <= goal else "GOAL MISSED"
        print(
            f"build with {name}:      {value * 1000:8.0f} ms  {ratio:5.2f}x  (goal {goal}x) {verdict}"
        )


if __name__ == "__main__":
    main()
