"""How quickly the command line answers (issue 15): median and p95 of 10 runs of
`python -m dashboard report --help` and of `report` on a small export that is already prepared, for
this checkout and, with --before DIR, for another checkout (e.g. main before the change).

    python -m benchmarks.bench_cli --before /work/main

Writes benchmarks/results/cli.md. Not part of the test suite: timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUNS = 10
ENROLLMENTS = 2000


def timed_runs(repo: Path, args: list[str], env: dict[str, str], runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "dashboard", *args], cwd=repo, env=env, capture_output=True)
        seconds.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{repo}: {' '.join(args)} failed:\n{done.stderr.decode()}")
    return seconds


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(repo: Path, export: Path, work: Path, runs: int) -> dict[str, list[float]]:
    env = {**os.environ, "DASHBOARD_PREPARED_DIR": str(work / f"prepared-{repo.name}")}
    env.pop("DASHBOARD_PROGRESS", None)
    report = ["report", "--data", str(export)]
    timed_runs(repo, report, env, 1)  # prepare once: the runs measured reuse the prepared file
    return {
        "report --help": timed_runs(repo, ["report", "--help"], env, runs),
        "report": timed_runs(repo, report, env, runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, default=None, help="another checkout to measure the same way")
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        export = work / "export"
        subprocess.run(
            [sys.executable, "-m", "dashboard", "generate", "--out", str(export), "--enrollments", str(ENROLLMENTS)],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        results = {}
        if args.before is not None:
            results[f"before ({args.before})"] = measure(args.before.resolve(), export, work, args.runs)
        results["after (this checkout)"] = measure(REPO, export, work, args.runs)
    lines = [
        "# Command line start-up",
        "",
        f"`python -m benchmarks.bench_cli{' --before ' + str(args.before) if args.before else ''}`: "
        f"{args.runs} runs each, wall-clock seconds of a fresh `{Path(sys.executable).name} -m dashboard` process; "
        f"`report` on a demo export of {ENROLLMENTS:,} enrollments already prepared (the prepared file is reused).",
        "",
        "| checkout | command | median s | p95 s |",
        "|---|---|---:|---:|",
    ]
    for checkout, commands in results.items():
        for command, seconds in commands.items():
            lines.append(f"| {checkout} | `{command}` | {statistics.median(seconds):.2f} | {p95(seconds):.2f} |")
    text = "\n".join(lines) + "\n"
    out = REPO / "benchmarks" / "results" / "cli.md"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
