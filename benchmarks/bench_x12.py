"""Measures `ingest-x12` on the demo's X12 files: before issue 13 (maps parsed for every file, one
process) and now (maps parsed once per process; files read in worker processes).

    python -m benchmarks.bench_x12 [--enrollments 20000] [--runs 3] [--old-runs 2] [--old-rev REV]

Writes the demo export with `--x12` once, then ingests its X12 files into a fresh export in each
run, each run in its own process, timing the `ingest()` call only (not Python's start-up or
imports). Three ways:

- `old`: the ingester of `--old-rev` (default: the last commit before issue 13's changes), taken out
  with `git archive` into a temporary folder;
- `new, 1 process`: this checkout with `jobs=1` (what the map cache alone gives);
- `new, parallel`: this checkout with its default, one worker process per CPU.

The sequential ways also time each file's read_x12 call, for per-file medians and p95s. Prints a
table and writes benchmarks/results/x12.md. Not part of the test suite: timings on a shared machine
are noisy, hence medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "x12.md"
OLD_REV = "2e2a78b"  # the last commit before issue 13 changed dashboard/x12/read.py and ingest.py
WAYS = {"old": "old (before issue 13)", "new1": "new, 1 process", "new": "new, parallel"}


def child(way: str, tree: str, x12: str, out: str) -> None:
    """One run in this process: ingest `x12` into `out` with the code in `tree`."""
    sys.path.insert(0, tree)
    from dashboard.x12 import ingest, read

    assert Path(read.__file__).resolve().is_relative_to(Path(tree).resolve()), read.__file__
    per_file: list[float] = []
    if way != "new":  # sequential: the ingester calls read.read_x12 in this process, file by file
        read_x12 = read.read_x12

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return read_x12(*args, **kwargs)
            finally:
                per_file.append(time.perf_counter() - start)

        read.read_x12 = timed
    kwargs = {"jobs": 1} if way == "new1" else {}
    if way != "old":
        kwargs["notify"] = None
    cpu_before = cpu_seconds()
    start = time.perf_counter()
    summary = ingest.ingest([Path(x12)], Path(out), **kwargs)
    seconds = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_before
    print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": summary.table_rows, "per_file": per_file}))


def cpu_seconds() -> float:
    """User + system time of this process and of its finished children (the worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def machine() -> str:
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    import pyx12

    return f"{cpus} CPUs, {mem_gb:.0f} GB RAM, Python {platform.python_version()}, pyx12 {pyx12.__version__}"


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile (with few values: the largest)."""
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def run(way: str, tree: Path, x12: Path, scratch: Path) -> dict:
    out = Path(tempfile.mkdtemp(prefix=f"ingest-{way}-", dir=scratch))
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_x12", "--child", way, str(tree), str(x12), str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    shutil.rmtree(out, ignore_errors=True)
    if done.returncode != 0:
        raise SystemExit(f"{way} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--enrollments", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of each new way")
    parser.add_argument("--old-runs", type=int, default=2, help="runs of the old way (minutes each)")
    parser.add_argument("--old-rev", default=OLD_REV)
    parser.add_argument("--log", type=Path, help="append each run's figures to this JSON-lines file")
    parser.add_argument("--results", type=Path, default=RESULTS, help=f"where to write the table (default {RESULTS})")
    parser.add_argument("--child", nargs=4, metavar=("WAY", "TREE", "X12", "OUT"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    from dashboard import demo

    scratch = Path(tempfile.mkdtemp(prefix="bench-x12-"))
    try:
        x12 = scratch / "x12"
        demo.generate(scratch / "parquet", args.enrollments, progress=False, x12_dir=x12)
        files = sorted(p for p in x12.iterdir() if p.is_file())
        size = sum(p.stat().st_size for p in files)
        segments = sum(p.read_bytes().count(b"~") for p in files)
        old_tree = scratch / "old"
        old_tree.mkdir()
        archive = subprocess.run(
            ["git", "archive", args.old_rev, "dashboard"], cwd=REPO, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(old_tree)], input=archive, check=True)
        print(f"{len(files)} files, {size / 2**20:.1f} MB, {segments:,} segments", flush=True)

        # the ways take turns, so that whatever else loads the machine weighs on each of them alike
        results: dict[str, list[dict]] = {way: [] for way in WAYS}
        wanted = {"old": args.old_runs, "new1": args.runs, "new": args.runs}
        loads: list[float] = []
        for round_ in range(max(wanted.values())):
            for way in WAYS:
                if round_ < wanted[way]:
                    results[way].append(run(way, old_tree if way == "old" else REPO, x12, scratch))
                    loads.append(os.getloadavg()[0])
                    if args.log:  # every run as it ends, so that a long benchmark cut short leaves its runs
                        with open(args.log, "a", encoding="utf-8") as log:
                            log.write(json.dumps({"way": way, "load": loads[-1], **results[way][-1]}) + "\n")
                    print(f"{WAYS[way]}: {results[way][-1]['seconds']:.1f} s (load {loads[-1]:.1f})", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    old_median = statistics.median(r["seconds"] for r in results["old"])
    lines = [
        "# `ingest-x12`: speed",
        "",
        f"Machine: {machine()}. Command: `python -m benchmarks.bench_x12 --enrollments {args.enrollments} "
        f"--runs {args.runs} --old-runs {args.old_runs}` (old = `{args.old_rev}`).",
        "",
        f"Input: the demo's X12 for {args.enrollments:,} enrollments (`generate --x12`, in the FFM "
        f"layout): {len(files)} files (834s and 999s, one interchange per direction and issuer), "
        f"{size / 2**20:.1f} MB, {segments:,} segments, {results['new'][0]['rows']:,} rows. Each run "
        "ingests them into an empty export, in its own process; the time is the `ingest()` call's "
        "(reading, validating, storing the state, writing the parquet table), not Python's start-up. "
        "The ways took turns; the machine was shared, with a 1-minute load average of "
        f"{min(loads):.1f} to {max(loads):.1f} at the ends of the runs.",
        "",
        "| way | runs | wall: median | wall: p95 | speed-up (old median / median) | CPU time: median "
        "| per file: median | per file: p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for way in ("old", "new1", "new"):
        seconds = [r["seconds"] for r in results[way]]
        per_file = [s for r in results[way] for s in r["per_file"]]
        median = statistics.median(seconds)
        lines.append(
            f"| {WAYS[way]} | {len(seconds)} | {median:.1f} s | {p95(seconds):.1f} s | "
            f"{old_median / median:.1f}× | {statistics.median(r['cpu'] for r in results[way]):.1f} s | "
            + (
                f"{statistics.median(per_file) * 1000:.0f} ms | {p95(per_file) * 1000:.0f} ms |"
                if per_file
                else "– | – |"
            )
        )
    lines += [
        "",
        "p95 over so few runs is the nearest rank, i.e. the slowest run; the per-file columns are over every "
        "file of every sequential run. CPU time is the run's user and system time, its worker processes "
        "included: on a shared machine it moves less than wall time, and it shows the work saved; the "
        "parallel way spends about the same CPU time as one process, over several CPUs. Where the time goes: pyx12 parsed its 834 map (about 0.1 s) for every "
        "file before; now once per process (`dashboard/x12/read.py`, `_load_map_once`), which is most of a "
        "small file's time. The rest is pyx12's validation, segment by segment, which the worker processes "
        "(`dashboard/x12/ingest.py`, `read_files`) spread over the CPUs; the demo's files are few and large, "
        "so the parallel speed-up is bounded by the number of CPUs and by the largest file.",
    ]
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
