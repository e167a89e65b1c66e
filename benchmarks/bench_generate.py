"""Measures the demo generator: wall time and peak memory (RSS) at 1 and 10 million enrollments.

    python -m benchmarks.bench_generate [--sizes 1000000 10000000] [--runs 3]

Each run is its own process, so its peak RSS is its own. Prints a table and writes
benchmarks/results/generate.md. Not part of the test suite: timings on a shared machine are noisy,
so it reports medians.
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

RESULTS = Path(__file__).resolve().parent / "results" / "generate.md"


def child(size: int, out: str) -> None:
    from dashboard import demo

    start = time.perf_counter()
    counts = demo.generate(Path(out), size, progress=False)
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_mb, **counts}))


def machine() -> str:
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {mem_gb:.0f} GB RAM, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("SIZE", "OUT"))
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), args.child[1])
        return
    rows = []
    for size in args.sizes:
        runs = []
        for _ in range(args.runs if size <= 1_000_000 else 1):
            out = tempfile.mkdtemp(prefix="bench-generate-")
            try:
                done = subprocess.run(
                    [sys.executable, "-m", "benchmarks.bench_generate", "--child", str(size), out],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                disk_mb = sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file()) / 2**20
                runs.append({**json.loads(done.stdout.strip().splitlines()[-1]), "disk_mb": disk_mb})
            finally:
                shutil.rmtree(out, ignore_errors=True)
        rows.append((size, runs))
        print(
            f"{size:>12,} enrollments: median {statistics.median(r['seconds'] for r in runs):.1f} s, "
            f"peak {max(r['peak_mb'] for r in runs):,.0f} MB",
            flush=True,
        )
    lines = [
        "# Demo generator: speed and memory",
        "",
        f"Machine: {machine()}. Command: `python -m benchmarks.bench_generate --sizes "
        f"{' '.join(str(s) for s, _ in rows)} --runs {args.runs}` (one process per run; 10M runs once).",
        "",
        "| enrollments | runs | median wall time | peak RSS | 834 rows | payment rows | on disk |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, runs in rows:
        lines.append(
            f"| {size:,} | {len(runs)} | {statistics.median(r['seconds'] for r in runs):.1f} s | "
            f"{max(r['peak_mb'] for r in runs):,.0f} MB | {runs[0]['transactions_834']:,} | "
            f"{runs[0]['payments']:,} | {runs[0]['disk_mb']:,.0f} MB |"
        )
    lines += ["", "Targets (issue 3): 1 million under a minute; 10 million with peak memory under 2 GB."]
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
