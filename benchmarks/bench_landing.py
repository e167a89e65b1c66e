"""A new export landing, replayed: for comparing two commits on the same machine and export.

`bench_scale` measures one landing per size in its full run; a change to the landing is judged by
replaying the same landing several times on the commit before and on the commit itself, alternately:

    python -m benchmarks.bench_landing --export GENERATED --work DIR [--runs 3]
    (cd /tmp/before && python -m benchmarks.bench_landing --export GENERATED --work OTHER_DIR)

GENERATED is an export from `python -m dashboard generate` (never changed here). The first call with a
work directory makes the starting point once: a hard-linked copy of the export without its last chunk
of 250,000 enrollments (and their 834s and payments), prepared from scratch by this checkout's code,
and a copy of that prepared database. Each run then puts the copy back, lets the held-back files land
(copied, so they are new files) and opens the overview in a fresh dashboard process
(`bench_scale --step landing`): the time until it is drawn, the incremental preparation within it,
and the preparation's steps. Give each commit its own work directory: the prepared database is its
code's.

It prints one JSON line: every run's figures and their medians. Not a test: figures from a shared
2-core machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

from benchmarks import bench_scale as b

STEPS = ("copy previous", "affected enrollments", "apply changes", "validate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--export", type=Path, required=True, help="a generated export (read only)")
    parser.add_argument("--work", type=Path, required=True, help="this commit's own work directory")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    pristine, work = args.export.resolve(), args.work.resolve()
    export, prepared, base = work / "export", work / "prepared", work / "base"
    if not (base / "done").exists():
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        b.fresh_export(pristine, export)
        print("preparing the starting point from scratch …", file=sys.stderr)
        b.run_child(["--step", "prepare", str(export)], b.child_env(export, prepared))
        shutil.copytree(prepared, base)
        (base / "done").write_text("")
    runs = [land(pristine, export, prepared, base) for _ in range(args.runs)]
    medians = {k: round(statistics.median(r[k] for r in runs), 2) for k in runs[0] if k != "preparation"}
    print(json.dumps({"runs": runs, "median": medians}))


def land(pristine: Path, export: Path, prepared: Path, base: Path) -> dict:
    held = b.fresh_export(pristine, export)
    shutil.rmtree(prepared, ignore_errors=True)
    shutil.copytree(base, prepared, ignore=shutil.ignore_patterns("done", "*.lock"))
    for path in held:  # the next day's files land
        shutil.copyfile(path, export / path.parent.name / path.name)
    result = b.run_child(["--step", "landing"], b.child_env(export, prepared))
    timings = result["timings"]
    return {
        "until_drawn": round(result["seconds"], 2),
        "preparation": result["preparation"],
        "prepare": round(result["prepare_seconds"], 2),
        **{step: round(timings.get(step, 0.0), 2) for step in STEPS},
        "peak_mb": round(result["peak_mb"]),
    }


if __name__ == "__main__":
    main()
