"""What the signals (issue 12) cost each page: the same page scripts before and after, on one export.

    python benchmarks/bench_signals.py [--baseline REV] [--size 1000000] [--runs 5] [--work DIR]

The baseline revision (default: the last commit before the signals) is checked out in a temporary
git worktree; the working tree is the "after". For each, one dashboard process (AppTest, background
warm-up off, the export prepared beforehand) runs every page:

- cold: the page with Streamlit's cache cleared, `--runs` times (median and p95);
- filter: the page with a state filter never seen before, `--runs` states (median and p95);
- warm: the same view again (median).

It prints a table of both and the ratio after ÷ before, and writes it to
benchmarks/results/signals.md. Not part of the test suite: the machine is shared and noisy, so
it reports medians, p95 and ratios of medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "signals.md"
BASELINE = "0b0de25"  # before the signals' data layer (issue 12)
STATES = ["TX", "FL", "GA", "OH", "MI", "PA", "IL", "NC", "VA", "AZ"]
PAGES = ["overview", "funnel", "errors", "backlog", "issuer", "standup", "health"]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


# ----------------------------------------------------------------- child: one revision's pages


def run_page(repo: Path, page: str, params: dict[str, str]) -> float:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(repo / "dashboard" / "app.py"), default_timeout=900)
    at.user = {}
    for key, value in params.items():
        at.query_params[key] = value
    if page != "overview":
        at.switch_page(f"app_pages/{page}.py")
    start = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"{page}: {[e.value for e in at.exception]}")
    return seconds


def step_pages(repo: Path, runs: int) -> dict:
    import streamlit as st

    run_page(repo, "health", {})  # opens the prepared export: not part of any page's time
    out = {}
    for page in PAGES:
        cold = []
        for _ in range(runs):
            st.cache_data.clear()
            cold.append(run_page(repo, page, {}))
        warm = [run_page(repo, page, {}) for _ in range(runs)]
        filtered = [run_page(repo, page, {"state": state}) for state in STATES[:runs]]
        out[page] = {"cold": cold, "warm": warm, "filter": filtered}
    return out


# ------------------------------------------------------------------------------------- parent


def worktree(rev: str, work: Path) -> Path:
    path = work / f"rev-{rev}"
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), rev], cwd=REPO, check=True)
    return path


def measure(repo: Path, export: Path, prepared: Path, runs: int) -> dict:
    env = {
        **os.environ,
        "DASHBOARD_DATA_DIR": str(export),
        "DASHBOARD_PREPARED_DIR": str(prepared),
        "DASHBOARD_WARM_VIEWS": "0",
        "DASHBOARD_DEMO_MODE": "1",
        "PYTHONPATH": str(repo),
    }
    # prepare first, in its own process: the pages' times never include it
    subprocess.run(
        [sys.executable, "-c", f"from dashboard.engine import Engine; Engine.configured({str(export)!r})"],
        cwd=repo,
        env=env,
        check=True,
    )
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--step", "pages", "--repo", str(repo), "--runs", str(runs)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-4000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def ensure_export(work: Path, size: int, repo: Path) -> Path:
    export = work / f"demo-{size}"
    if not export.exists():
        subprocess.run(
            [sys.executable, "-m", "dashboard", "generate", "--out", str(export), "--enrollments", str(size)],
            cwd=repo,
            check=True,
        )
    return export


def fmt(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def render(before: dict, after: dict, args: argparse.Namespace, rev: str) -> str:
    lines = [
        "# What the signals cost each page (issue 12)",
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}. Export: the demo at "
        f"{args.size:,} enrollments. Command: `python benchmarks/bench_signals.py --baseline {rev} "
        f"--size {args.size} --runs {args.runs}`. Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        f"Before = revision `{rev}` (no signals); after = the working tree. Whole page script under "
        "Streamlit's AppTest (queries, cache and building every chart; no browser), one dashboard "
        f"process per revision with the export prepared beforehand and the background warm-up off. "
        f"*cold*: cache cleared, {args.runs} runs; *filter*: a state never seen before, {args.runs} states; "
        "*warm*: the same view again. Medians, p95 in brackets; ratio = after median ÷ before median.",
        "",
        "| page | cold before | cold after | ratio | filter before | filter after | ratio | warm before | warm after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for page in PAGES:
        b, a = before[page], after[page]
        row = [page]
        for key in ("cold", "filter"):
            mb, ma = statistics.median(b[key]), statistics.median(a[key])
            row += [f"{fmt(mb)} ({fmt(p95(b[key]))})", f"{fmt(ma)} ({fmt(p95(a[key]))})", f"{ma / mb:.2f}×"]
        row += [fmt(statistics.median(b["warm"])), fmt(statistics.median(a["warm"]))]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "enrollment-dashboard-bench")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--repo", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "pages":
        print(json.dumps(step_pages(args.repo, args.runs)))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    rev = subprocess.run(
        ["git", "rev-parse", "--short", args.baseline], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    export = ensure_export(args.work, args.size, REPO)
    prepared = args.work / "prepared-signals"
    before = measure(worktree(rev, args.work), export, prepared, args.runs)
    after = measure(REPO, export, prepared, args.runs)
    (args.work / "signals.json").write_text(json.dumps({"before": before, "after": after}))
    text = render(before, after, args, rev)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
