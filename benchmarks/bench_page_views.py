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
    b.run_page("health", {}, clock)  # Streamlit's own first-run costs, outside the figures
    views = b.random_views(engine, args.views, seed=1000 + b.PAGES.index(args.page))
    runs = [b.run_page(args.page, v, clock) for v in views]
    engine.close()
    data = [r["data"] for r in runs]
    print(
        json.dumps(
            {
                "page": args.page,
                "views": len(views),
                "data_median": round(statistics.median(data), 3),
                "data_p95": round(b.percentile(data, 95), 3),
                "script_p95": round(b.percentile([r["script"] for r in runs], 95), 3),
                "data": [round(x, 3) for x in data],
            }
        )
    )


if __name__ == "__main__":
    main()
