"""One page's views never seen before, on this checkout: for comparing two commits on the same machine.

The figures of `bench_scale` move with the machine (the same code ran 2–3 times slower on one day than
on the day before), so a change to a page's speed is judged by running this script on the commit before
it and on the commit itself, alternately, on the same export and prepared directory:

    git worktree add /tmp/before HEAD~1
    python -m benchmarks.bench_page_views --export DIR --prepared DIR [--page overview] [--views 30]
    (cd /tmp/before && python -m benchmarks.bench_page_views --export DIR --prepared DIR)

Each view is drawn by `bench_scale.random_views` (a state, issuer, date window or as-of time, alone or
two together; the seed of `bench_scale`'s views step for that page), run once under Streamlit's
AppTest with a cold cache and the background warm-up off. It prints one JSON line: the data-layer
median and p95 and the whole script's p95 (nearest rank), and every view's data time.

`--by-query` also says where the data time goes: for each metric of `dashboard.metrics` the pages
ask for, the calls over all the views and their total time, not counting the time of the other
metrics it calls (the slowest first). It is how the measured causes in docs/scale.md are found.

Not a test: figures from a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--export", type=Path, required=True)
    parser.add_argument("--prepared", type=Path, required=True, help="the prepared directory (DASHBOARD_PREPARED_DIR)")
    parser.add_argument("--page", default="overview")
    parser.add_argument("--views", type=int, default=30)
    parser.add_argument("--by-query", action="store_true", help="also the time of each metric over the views")
    args = parser.parse_args()
    os.environ.update(
        {
            "DASHBOARD_DATA_DIR": str(args.export),
            "DASHBOARD_PREPARED_DIR": str(args.prepared),
            "DASHBOARD_WARM_VIEWS": "0",
            "DASHBOARD_DEMO_MODE": "1",
        }
    )
    from benchmarks import bench_scale as b

    os.environ.setdefault("DASHBOARD_DUCKDB_MEMORY_LIMIT", b.MEMORY_LIMIT)
    if args.page not in b.PAGES:
        sys.exit(f"--page must be one of {', '.join(b.PAGES)}")
    from dashboard.engine import Engine

    engine = Engine.configured(args.export)
    clock = b.DataClock()
    by_query = time_each_metric() if args.by_query else None
    b.run_page("health", {}, clock)  # Streamlit's own first-run costs, outside the figures
    views = b.random_views(engine, args.views, seed=1000 + b.PAGES.index(args.page))
    runs = [b.run_page(args.page, v, clock) for v in views]
    engine.close()
    data = [r["data"] for r in runs]
    out = {
        "page": args.page,
        "views": len(views),
        "data_median": round(statistics.median(data), 3),
        "data_p95": round(b.percentile(data, 95), 3),
        "script_p95": round(b.percentile([r["script"] for r in runs], 95), 3),
        "data": [round(x, 3) for x in data],
        "params": views,  # each view's address parameters, in the order of `data`
    }
    if by_query is not None:
        total = sum(data)
        out["by_query"] = [
            {"metric": name, "calls": calls, "seconds": round(seconds, 3), "share": round(seconds / total, 3)}
            for name, (calls, seconds) in sorted(by_query.items(), key=lambda kv: -kv[1][1])
        ]
    print(json.dumps(out))


def time_each_metric() -> dict[str, list]:
    """Wrap every metric the pages may ask for so that its calls and self time (its time minus that of
    the metrics it calls) are added up by name; returns the running totals."""
    import threading
    import time

    from dashboard import metrics as m
    from dashboard import serving

    totals: dict[str, list] = {}
    stack = threading.local()

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            frames = stack.__dict__.setdefault("frames", [])
            frames.append(0.0)  # time of the metrics called from this one
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent = time.perf_counter() - start
                inner = frames.pop()
                if frames:
                    frames[-1] += spent
                entry = totals.setdefault(name, [0, 0.0])
                entry[0] += 1
                entry[1] += spent - inner

        return wrapper

    for name in serving.ALLOWED:
        fn = getattr(m, name, None)
        if callable(fn):
            setattr(m, name, timed(name, fn))
    return totals


if __name__ == "__main__":
    main()
