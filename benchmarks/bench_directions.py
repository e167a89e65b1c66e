"""Issue 15's direction, measured before it is built: the funnel's counts for views never seen before,
from today's per-enrollment query and from a table aggregated by the day each stage is reached.

Every count of the funnel is "cohort enrollments whose stage was reached by T". The prepared table
`enrollment_milestones` already holds, per enrollment and stage, the earliest as-of time at which it
counts as reached (reached_<stage>_by), so the count for any T is

    the enrollments reached on a day before T's day   (a per-day table: a few groups per day)
  + those reached on T's own day, by T                 (the rows of one day, read in time order)

and a state, issuer or date-window filter only narrows the groups. This script builds both tables
from the prepared export, answers the same random views (`bench_scale.random_views`) both ways,
checks that every row of every view is equal, and writes the timings.

    python -m benchmarks.bench_directions --export DIR [--prepared DIR] [--views 30] [--out FILE.md]

Not a test: figures from a shared 2-core machine; medians and p95 over the views.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

STAGES = ("applied", "plan_selected", "sent_834", "accepted_834", "reached_payment", "paid", "effectuated")

# one row per (enrollment, stage reached); the cancellation counts as a stage reached when it is known
# and the enrollment is in the cohort (its application submitted), as enrollment_stages(T) has it
BUILD_REACH = (
    "CREATE TEMP TABLE reach AS "
    + " UNION ALL ".join(
        f"SELECT issuer_id, state, application_submitted_at AS submitted_at, {i} AS stage, reached_{s}_by AS t "
        f"FROM enrollment_milestones WHERE NOT is_test AND reached_{s}_by IS NOT NULL"
        for i, s in enumerate(STAGES)
    )
    + f" UNION ALL SELECT issuer_id, state, application_submitted_at, {len(STAGES)}, "
    "greatest(cancelled_at, application_submitted_at) FROM enrollment_milestones "
    "WHERE NOT is_test AND cancelled_at IS NOT NULL"
)
BUILD_DAILY = """
CREATE TEMP TABLE reach_daily AS
SELECT issuer_id, state, CAST(submitted_at AS DATE) AS submitted_day, stage, CAST(t AS DATE) AS day, count(*) AS n
FROM reach GROUP BY ALL ORDER BY day
"""
BUILD_BY_TIME = "CREATE TEMP TABLE reach_by_time AS SELECT * FROM reach ORDER BY t"

FILTERS = """
  AND ($states::VARCHAR[] IS NULL OR list_contains($states::VARCHAR[], state))
  AND ($issuers::VARCHAR[] IS NULL OR list_contains($issuers::VARCHAR[], issuer_id))
"""
COUNTS = f"""
WITH reached AS (
    SELECT issuer_id, state, stage, sum(n) AS n
    FROM reach_daily
    WHERE day < CAST($as_of::TIMESTAMP AS DATE)
      AND ($date_from::TIMESTAMP IS NULL OR submitted_day >= CAST($date_from::TIMESTAMP AS DATE))
      AND ($date_to::TIMESTAMP IS NULL OR submitted_day < CAST($date_to::TIMESTAMP AS DATE)) {FILTERS}
    GROUP BY ALL
    UNION ALL
    SELECT issuer_id, state, stage, count(*)
    FROM reach_by_time
    WHERE t >= CAST(CAST($as_of::TIMESTAMP AS DATE) AS TIMESTAMP) AND t <= $as_of::TIMESTAMP
      AND ($date_from::TIMESTAMP IS NULL OR submitted_at >= $date_from::TIMESTAMP)
      AND ($date_to::TIMESTAMP IS NULL OR submitted_at < $date_to::TIMESTAMP) {FILTERS}
    GROUP BY ALL
)
SELECT
    CASE WHEN grouping(issuer_id) = 0 THEN 'issuer' WHEN grouping(state) = 0 THEN 'state' ELSE 'total' END
        AS dimension,
    CASE WHEN grouping(issuer_id) = 0 THEN issuer_id WHEN grouping(state) = 0 THEN state END AS group_key,
    {", ".join(f"coalesce(sum(n) FILTER (WHERE stage = {i}), 0) AS {s}" for i, s in enumerate(STAGES))},
    coalesce(sum(n) FILTER (WHERE stage = {len(STAGES)}), 0) AS cancelled
FROM reached
GROUP BY GROUPING SETS ((), (issuer_id), (state))
"""


def to_params(view: dict[str, str], latest: datetime) -> dict:
    """An address's parameters as the named queries bind them (the date window's end exclusive)."""
    day = date.fromisoformat
    return {
        "as_of": datetime.fromisoformat(view["as_of"]) if "as_of" in view else latest,
        "date_from": datetime.combine(day(view["from"]), datetime.min.time()) if "from" in view else None,
        "date_to": datetime.combine(day(view["to"]) + timedelta(days=1), datetime.min.time()) if "to" in view else None,
        "states": [view["state"]] if "state" in view else None,
        "issuers": [view["issuer"]] if "issuer" in view else None,
    }


def normalised(rows: list[dict]) -> list[tuple]:
    """Rows comparable across the two ways: groups with no application left out (as funnel_counts does)."""
    keep = [r for r in rows if r["dimension"] == "total" or r["applied"] > 0]
    return sorted(
        (r["dimension"], r["group_key"] or "", *(int(r[s]) for s in STAGES), int(r["cancelled"])) for r in keep
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))]


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", required=True, type=Path)
    parser.add_argument("--prepared", type=Path, help="the prepared store (DASHBOARD_PREPARED_DIR)")
    parser.add_argument("--views", type=int, default=30)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.prepared:
        os.environ["DASHBOARD_PREPARED_DIR"] = str(args.prepared)

    from benchmarks.bench_scale import random_views
    from dashboard import metrics as m
    from dashboard.engine import Engine

    engine, prepare_s = timed(lambda: Engine(args.export))
    latest = m.default_as_of(engine)
    views = random_views(engine, args.views, args.seed)
    cursor = engine._con.cursor()
    enrollments = cursor.execute("SELECT count(*) FROM enrollment_milestones WHERE NOT is_test").fetchone()[0]

    builds = {}
    for name, sql in (("reach", BUILD_REACH), ("reach_daily", BUILD_DAILY), ("reach_by_time", BUILD_BY_TIME)):
        _, builds[name] = timed(lambda sql=sql: cursor.execute(sql))
    sizes = {
        t: cursor.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("reach", "reach_daily", "reach_by_time")
    }

    def ours(params):
        return engine.rows("funnel_counts", **params)

    def summary(params):
        result = cursor.execute(COUNTS, params)
        columns = [d[0] for d in result.description]
        return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]

    both = [to_params(v, latest) for v in views]
    ours(both[0]), summary(both[0])  # the first query of a connection pays for its set-up
    rows = []
    for view, params in zip(views, both, strict=True):
        a, a_s = timed(lambda params=params: ours(params))
        b, b_s = timed(lambda params=params: summary(params))
        rows.append((view, a_s, b_s, normalised(a) == normalised(b)))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    a_times, b_times = [r[1] for r in rows], [r[2] for r in rows]
    agree = sum(r[3] for r in rows)

    ms = lambda s: f"{s * 1000:,.0f} ms"  # noqa: E731
    lines = [
        f"# Funnel counts for unseen views: per-enrollment query vs per-day table ({enrollments:,} enrollments)",
        "",
        f"Command: `python -m benchmarks.bench_directions {' '.join(sys.argv[1:])}`. "
        f"Generated {datetime.now():%Y-%m-%d %H:%M} UTC. Machine: {os.cpu_count()} cores. "
        f"Opening (and preparing if needed) the export: {prepare_s:.1f} s; peak RSS {peak_mb:,.0f} MB.",
        "",
        "| way | median | p95 | max |",
        "|---|---:|---:|---:|",
        f"| today: `funnel_counts` over the enrollments | {ms(statistics.median(a_times))} | "
        f"{ms(percentile(a_times, 0.95))} | {ms(max(a_times))} |",
        f"| per-day table + T's own day | {ms(statistics.median(b_times))} | "
        f"{ms(percentile(b_times, 0.95))} | {ms(max(b_times))} |",
        "",
        f"Same rows in {agree} of {len(rows)} views. Median ratio today ÷ per-day: "
        f"{statistics.median(a / b for _, a, b, _ in rows):.1f}×.",
        "",
        "Building the tables (once per export; an incremental export would add only its own days):",
        "",
        "| table | rows | build |",
        "|---|---:|---:|",
        *(f"| {t} | {sizes[t]:,} | {builds[t]:.2f} s |" for t in sizes),
        "",
        "| view | today | per-day | same |",
        "|---|---:|---:|---|",
        *(
            f"| {' '.join(f'{k}={v}' for k, v in view.items())} | {ms(a)} | {ms(b)} | {'yes' if same else '**no**'} |"
            for view, a, b, same in rows
        ),
        "",
    ]
    text = "\n".join(lines)
    if args.out:
        args.out.write_text(text)
    print(text)
    sys.exit(0 if agree == len(rows) else 1)


if __name__ == "__main__":
    main()
