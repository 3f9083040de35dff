"""Run every benchmark: `make bench` (or `.venv/bin/python -m benchmarks [--quick] [--only NAME]`).

Each figure is printed beside a baseline measured in the same run, with the ratio and the goal, and the
whole run is written to benchmarks/results/ (JSON, git-ignored). With matplotlib installed
(`pip install -e '.[bench]'`), docs/performance.png is redrawn from the run.

    .venv/bin/python -m benchmarks                  # everything: builds at 10k and 100k, search at 1M
    .venv/bin/python -m benchmarks --quick          # 10k builds, search at 100k, smaller runs of the rest
    .venv/bin/python -m benchmarks --only build     # names: build, search, factcheck, ingest, serve, history
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import platform
import subprocess
import sys
import time
from collections.abc import Callable

from .common import REPO, RESULTS, Result

# Other benchmarks are standalone modules that print their own report; they run as child processes
# with these arguments (full run, quick run), and pass when they exit 0 without "GOAL MISSED".
STANDALONE: dict[str, tuple[list[str], list[str]]] = {
    "factcheck": ([], ["--claims", "20000"]),
    "ingest": ([], ["--dois", "50"]),
    "serve": ([], []),
    "history": ([], ["--claims", "1000", "--commits", "50"]),
}


def _own(name: str) -> Callable[[bool], tuple[list[Result], dict]]:
    module = importlib.import_module(f"benchmarks.bench_{name}")
    return module.run


def run_standalone(name: str, args: list[str]) -> tuple[list[Result], dict]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", f"benchmarks.bench_{name}", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=3600)  # fmt: skip
    seconds = time.perf_counter() - t0
    out = proc.stdout + proc.stderr
    met = proc.returncode == 0 and "GOAL MISSED" not in out
    last = next((line.strip() for line in reversed(out.splitlines()) if line.strip()), "")
    result = Result(f"{name}: bench_{name} {' '.join(args)}".strip(), seconds, "s wall",
                    goal="its own goals", met=met, note=last[:120])  # fmt: skip
    return [result], {"stdout": proc.stdout, "stderr": proc.stderr, "returncode": proc.returncode}


def table(results: list[Result]) -> str:
    lines = [f"{'benchmark':74} {'figure':>12} {'baseline':>10} {'ratio':>7}  {'goal':12} met"]
    for r in results:
        met = "-" if r.met is None else "yes" if r.met else "NO"
        base = f"{r.baseline:,.2f}" if r.baseline is not None else ""
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else ""
        lines.append(f"{r.name[:74]:74} {r.figure:>9,.2f} {r.unit[:2]:2} {base:>10} {ratio:>7}  "
                     f"{r.goal:12} {met}")  # fmt: skip
        if r.note:
            lines.append(f"    {r.note}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (minutes, not an hour)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this benchmark (repeatable)")  # fmt: skip
    args = parser.parse_args()
    names = ["build", "search", *STANDALONE]
    unknown = set(args.only or []) - set(names)
    if unknown:
        parser.error(f"unknown benchmark {sorted(unknown)}; choose from {names}")
    chosen = [n for n in names if not args.only or n in args.only]

    command = "python -m benchmarks" + (" --quick" if args.quick else "")
    command += "".join(f" --only {n}" for n in args.only or [])
    run: dict = {"command": command, "started": dt.datetime.now().isoformat(timespec="seconds"),
                 "machine": {"python": platform.python_version(), "cpus": _cpus(),
                             "platform": platform.platform()},
                 "results": [], "raw": {}}  # fmt: skip
    results: list[Result] = []
    for name in chosen:
        if name in STANDALONE:
            if importlib.util.find_spec(f"benchmarks.bench_{name}") is None:
                print(f"[{name}] benchmarks/bench_{name}.py not there yet: skipped", flush=True)
                continue
            full, quick = STANDALONE[name]
            runner = lambda q, name=name, full=full, quick=quick: run_standalone(  # noqa: E731
                name, quick if q else full
            )
        else:
            runner = _own(name)
        print(f"[{name}] running ...", flush=True)
        t0 = time.perf_counter()
        try:
            found, raw = runner(args.quick)
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            found, raw = [Result(f"{name}: failed", 0.0, "", met=False, note=repr(exc)[:200])], {}
        print(f"[{name}] done in {time.perf_counter() - t0:.0f} s", flush=True)
        results += found
        run["raw"][name] = raw
    run["results"] = [r.row() for r in results]
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for path in (RESULTS / f"run-{stamp}.json", RESULTS / "latest.json"):
        path.write_text(json.dumps(run, indent=1, default=str), encoding="utf-8")
    for name, raw in run["raw"].items():  # the plot takes each benchmark from its latest run
        latest = dict(run, raw={name: raw}, results=[r for r in run["results"]
                                                     if r["name"].startswith(name)])  # fmt: skip
        (RESULTS / f"latest-{name}.json").write_text(json.dumps(latest, default=str))
    print()
    print(f"$ {command}")
    print(table(results))
    print(f"\nresults: {RESULTS / f'run-{stamp}.json'}")
    try:
        from .plot import plot

        print(f"plot: {plot()}")
    except ImportError:
        print("plot skipped: pip install -e '.[bench]' for matplotlib")
    if any(r.met is False for r in results):
        sys.exit(1)


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
