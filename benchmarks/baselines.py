"""The three headline computations as an analyst would write them without this project.

Once in pandas (eager, whole tables in memory) and once in polars (lazy scans), straight from the
export's parquet files, following metrics.md at one as-of time T with no filters:

- funnel by issuer: per issuer, the enrollments that reached each of the seven stages;
- daily 834 error rate by category: per UTC day, outbound 834s sent and each category's count;
- backlog by stage and age bucket.

Each returns plain Python values in one shape (see `normalise_ours`), so that the benchmark can
check that all three ways give the same numbers; they are also its straightforward recount.
Run one computation in its own process: `python -m benchmarks.baselines pandas funnel EXPORT T`.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

STAGES = ("applied", "plan_selected", "sent_834", "accepted_834", "reached_payment", "paid", "effectuated")
BACKLOG = ("awaiting_834", "awaiting_ack", "awaiting_payment_page", "awaiting_payment", "awaiting_effectuation")
BUCKETS = ((0, 1, "0-1"), (1, 3, "1-3"), (3, 7, "3-7"), (7, 14, "7-14"), (14, 30, "14-30"), (30, None, "30+"))
CATEGORIES = ("rejected", "unacknowledged", "duplicate", "mismatch", "unmatched")
COMPARED = (
    "issuer_id",
    "plan_id",
    "coverage_start_date",
    "total_premium",
    "aptc_amount",
    "member_count",
    "subscriber_birth_date",
)


# ---------------------------------------------------------------------------- pandas


def _pd_read(export: Path, table: str, columns: list[str]):
    import pandas as pd

    return pd.read_parquet(export / table, columns=columns)


def _pd_entered(export: Path, T: datetime):
    """One row per non-test enrollment applied by T, with the entry time of each stage (NaT if not reached)."""
    import numpy as np
    import pandas as pd

    e = _pd_read(
        export,
        "enrollments",
        [
            "enrollment_id",
            "issuer_id",
            "application_submitted_at",
            "plan_selected_at",
            "cancelled_at",
            "total_premium",
            "aptc_amount",
            "is_test",
        ],
    )
    tests = set(e.loc[e.is_test, "enrollment_id"])
    e = e[~e.is_test & (e.application_submitted_at <= T)].copy()
    premium = (e.total_premium * 100).round()
    aptc = (e.aptc_amount.fillna(0) * 100).round()
    e["zero_due"] = (premium - aptc).clip(lower=0).eq(0) & premium.notna()

    t = _pd_read(
        export,
        "transactions_834",
        [
            "enrollment_id",
            "issuer_id",
            "direction",
            "maintenance_type",
            "maintenance_reason",
            "sent_at",
            "ack_code",
            "ack_at",
        ],
    )
    t = t[(t.sent_at <= T) & (t.maintenance_type == "021")]
    t = t.merge(e[["enrollment_id", "issuer_id"]], on="enrollment_id", suffixes=("", "_enr"))
    t = t[t.issuer_id == t.issuer_id_enr]
    out = t[t.direction == "outbound"]
    sent = out.groupby("enrollment_id").sent_at.min().rename("ev_sent")
    acked = out[out.ack_code.isin(["A", "E"]) & out.ack_at.notna() & (out.ack_at <= T)]
    accepted = acked.groupby("enrollment_id").ack_at.min().rename("ev_accepted")
    inbound = t[(t.direction == "inbound") & (t.maintenance_reason == "28")]
    effectuated = inbound.groupby("enrollment_id").sent_at.min().rename("ev_effectuated")

    p = _pd_read(export, "payments", ["enrollment_id", "redirected_at", "redirect_status", "paid_at", "payment_status"])
    p = p[~p.enrollment_id.isin(tests)]
    paid_rows = p[(p.payment_status == "paid") & p.paid_at.notna() & (p.paid_at <= T)]
    redirect_rows = p[(p.redirect_status == "ok") & p.redirected_at.notna() & (p.redirected_at <= T)]
    page = pd.concat(
        [
            redirect_rows[["enrollment_id"]].assign(at=redirect_rows.redirected_at),
            paid_rows[["enrollment_id"]].assign(at=paid_rows.paid_at),
        ]
    )
    reached_page = page.groupby("enrollment_id").at.min().rename("ev_page")
    paid = paid_rows.groupby("enrollment_id").paid_at.min().rename("ev_paid")

    e = e.set_index("enrollment_id").join([sent, accepted, reached_page, paid, effectuated])
    # entry times, clamped so the funnel never runs backwards; a stage needs every stage before it
    applied = e.application_submitted_at
    plan = e.plan_selected_at.where(e.plan_selected_at <= T)
    plan = np.maximum(plan, applied).where(plan.notna())
    s834 = np.maximum(e.ev_sent, plan).where(plan.notna() & e.ev_sent.notna())
    a834 = np.maximum(e.ev_accepted, s834).where(s834.notna() & e.ev_accepted.notna())
    rpage = a834.where(e.zero_due, np.maximum(e.ev_page, a834).where(a834.notna() & e.ev_page.notna()))
    rpage = rpage.where(a834.notna())
    rpaid = rpage.where(e.zero_due, np.maximum(e.ev_paid, rpage).where(rpage.notna() & e.ev_paid.notna()))
    rpaid = rpaid.where(rpage.notna())
    eff = np.maximum(e.ev_effectuated, rpaid).where(rpaid.notna() & e.ev_effectuated.notna())
    entered = pd.DataFrame(
        {
            "issuer_id": e.issuer_id,
            "applied": applied,
            "plan_selected": plan,
            "sent_834": s834,
            "accepted_834": a834,
            "reached_payment": rpage,
            "paid": rpaid,
            "effectuated": eff,
            "cancelled": e.cancelled_at.notna() & (e.cancelled_at <= T),
        }
    )
    return entered


def pandas_funnel(export: Path, T: datetime) -> dict:
    entered = _pd_entered(export, T)
    counts = entered.groupby("issuer_id")[list(STAGES)].count()
    return {issuer: [int(v) for v in row] for issuer, row in zip(counts.index, counts.to_numpy(), strict=True)}


def pandas_backlog(export: Path, T: datetime) -> dict:
    import pandas as pd

    entered = _pd_entered(export, T)
    entered = entered[~entered.cancelled]
    out = {}
    for stage, before, after in zip(BACKLOG, STAGES[1:-1], STAGES[2:], strict=True):
        waiting = entered[entered[before].notna() & entered[after].isna()]
        age = (T - waiting[before]).dt.total_seconds() / 86400
        bins = [b[0] for b in BUCKETS] + [float("inf")]
        labels = pd.cut(age, bins=bins, right=False, labels=[b[2] for b in BUCKETS])
        for bucket, n in labels.value_counts().items():
            if n:
                out[f"{stage}|{bucket}"] = int(n)
    return out


def pandas_errors_daily(export: Path, T: datetime) -> dict:
    import numpy as np

    e = _pd_read(export, "enrollments", ["enrollment_id", *COMPARED, "is_test"])
    t = _pd_read(
        export,
        "transactions_834",
        [
            "transaction_id",
            "enrollment_id",
            "direction",
            "maintenance_type",
            "sent_at",
            "ack_code",
            "ack_at",
            *COMPARED,
        ],
    )
    t = t[(t.direction == "outbound") & (t.sent_at <= T)]
    for df in (e, t):
        for col in ("total_premium", "aptc_amount"):
            df[col] = (df[col] * 100).round()
    acked = t.ack_code.notna() & t.ack_at.notna() & (t.ack_at <= T)
    t["rejected"] = acked & (t.ack_code == "R")
    t["unacknowledged"] = ~acked & (t.sent_at <= T - timedelta(hours=48))
    # duplicate: an earlier outbound 021 for the same enrollment (any issuer) that was not rejected
    initial = t[(t.maintenance_type == "021") & t.enrollment_id.notna()].sort_values(
        ["enrollment_id", "sent_at", "transaction_id"]
    )
    kept = (~initial.rejected).astype(int)
    earlier_kept = kept.groupby(initial.enrollment_id).cumsum() - kept
    t["duplicate"] = False
    t.loc[initial.index, "duplicate"] = earlier_kept > 0
    m = t.merge(e, on="enrollment_id", how="left", suffixes=("", "_enr"), indicator=True)
    m.index = t.index
    known = m["_merge"] == "both"
    differs = np.zeros(len(m), dtype=bool)
    for col in COMPARED:
        a, b = m[col], m[f"{col}_enr"]
        differs |= ((a != b) & a.notna() & b.notna()).to_numpy() | (a.isna() != b.isna()).to_numpy()
    t["mismatch"] = t.maintenance_type.isin(["021", "001"]) & known & differs
    t["unmatched"] = ~known
    t = t[~m.is_test.fillna(False).astype(bool)]
    t["errored"] = t[list(CATEGORIES)].any(axis=1)
    daily = t.groupby(t.sent_at.dt.date)[["errored", *CATEGORIES]].sum()
    daily["sent"] = t.groupby(t.sent_at.dt.date).size()
    return {
        day.isoformat(): {k: int(row[k]) for k in ("sent", "errored", *CATEGORIES)} for day, row in daily.iterrows()
    }


# ---------------------------------------------------------------------------- polars


def _pl_scan(export: Path, table: str):
    import polars as pl

    return pl.scan_parquet(str(export / table / "**" / "*.parquet"), hive_partitioning=False)


def _pl_entered(export: Path, T: datetime):
    import polars as pl

    enr = _pl_scan(export, "enrollments")
    tests = enr.filter(pl.col("is_test")).select("enrollment_id")
    e = enr.filter(~pl.col("is_test") & (pl.col("application_submitted_at") <= T)).with_columns(
        ((pl.col("total_premium") * 100).round() - (pl.col("aptc_amount").fill_null(0) * 100).round())
        .clip(lower_bound=0)
        .eq(0)
        .alias("zero_due")
    )
    t = (
        _pl_scan(export, "transactions_834")
        .filter((pl.col("sent_at") <= T) & (pl.col("maintenance_type") == "021"))
        .join(e.select("enrollment_id", pl.col("issuer_id").alias("issuer_enr")), on="enrollment_id")
        .filter(pl.col("issuer_id") == pl.col("issuer_enr"))
    )
    out = t.filter(pl.col("direction") == "outbound")
    sent = out.group_by("enrollment_id").agg(pl.col("sent_at").min().alias("ev_sent"))
    accepted = (
        out.filter(pl.col("ack_code").is_in(["A", "E"]) & (pl.col("ack_at") <= T))
        .group_by("enrollment_id")
        .agg(pl.col("ack_at").min().alias("ev_accepted"))
    )
    eff = (
        t.filter((pl.col("direction") == "inbound") & (pl.col("maintenance_reason") == "28"))
        .group_by("enrollment_id")
        .agg(pl.col("sent_at").min().alias("ev_effectuated"))
    )
    p = _pl_scan(export, "payments").join(tests, on="enrollment_id", how="anti")
    paid_rows = p.filter((pl.col("payment_status") == "paid") & (pl.col("paid_at") <= T))
    page = pl.concat(
        [
            p.filter((pl.col("redirect_status") == "ok") & (pl.col("redirected_at") <= T)).select(
                "enrollment_id", pl.col("redirected_at").alias("at")
            ),
            paid_rows.select("enrollment_id", pl.col("paid_at").alias("at")),
        ]
    )
    reached_page = page.group_by("enrollment_id").agg(pl.col("at").min().alias("ev_page"))
    paid = paid_rows.group_by("enrollment_id").agg(pl.col("paid_at").min().alias("ev_paid"))
    joined = e
    for part in (sent, accepted, reached_page, paid, eff):
        joined = joined.join(part, on="enrollment_id", how="left")

    def clamp(event: str, before: str) -> pl.Expr:
        return pl.when(pl.col(before).is_not_null() & pl.col(event).is_not_null()).then(
            pl.max_horizontal(event, before)
        )

    return (
        joined.with_columns(
            pl.col("application_submitted_at").alias("applied"),
            pl.when(pl.col("plan_selected_at") <= T)
            .then(pl.max_horizontal("plan_selected_at", "application_submitted_at"))
            .alias("plan_selected"),
        )
        .with_columns(clamp("ev_sent", "plan_selected").alias("sent_834"))
        .with_columns(clamp("ev_accepted", "sent_834").alias("accepted_834"))
        .with_columns(
            pl.when(pl.col("accepted_834").is_null())
            .then(None)
            .when(pl.col("zero_due"))
            .then(pl.col("accepted_834"))
            .otherwise(clamp("ev_page", "accepted_834"))
            .alias("reached_payment")
        )
        .with_columns(
            pl.when(pl.col("reached_payment").is_null())
            .then(None)
            .when(pl.col("zero_due"))
            .then(pl.col("reached_payment"))
            .otherwise(clamp("ev_paid", "reached_payment"))
            .alias("paid")
        )
        .with_columns(
            clamp("ev_effectuated", "paid").alias("effectuated"),
            (pl.col("cancelled_at") <= T).fill_null(False).alias("cancelled"),
        )
    )


def polars_funnel(export: Path, T: datetime) -> dict:
    import polars as pl

    counts = _pl_entered(export, T).group_by("issuer_id").agg([pl.col(s).count() for s in STAGES]).collect()
    return {row[0]: [int(v) for v in row[1:]] for row in counts.iter_rows()}


def polars_backlog(export: Path, T: datetime) -> dict:
    import polars as pl

    entered = _pl_entered(export, T).filter(~pl.col("cancelled"))
    parts = []
    for stage, before, after in zip(BACKLOG, STAGES[1:-1], STAGES[2:], strict=True):
        age = (pl.lit(T) - pl.col(before)).dt.total_microseconds() / 86_400e6
        bucket = pl.lit("30+")
        for low, high, label in reversed(BUCKETS[:-1]):
            bucket = pl.when((age >= low) & (age < high)).then(pl.lit(label)).otherwise(bucket)
        parts.append(
            entered.filter(pl.col(before).is_not_null() & pl.col(after).is_null()).select(
                pl.lit(stage).alias("stage"), bucket.alias("bucket")
            )
        )
    counts = pl.concat(parts).group_by("stage", "bucket").len().collect()
    return {f"{s}|{b}": int(n) for s, b, n in counts.iter_rows()}


def polars_errors_daily(export: Path, T: datetime) -> dict:
    import polars as pl

    money = [(pl.col(c) * 100).round().alias(c) for c in ("total_premium", "aptc_amount")]
    e = _pl_scan(export, "enrollments").select("enrollment_id", *COMPARED, "is_test").with_columns(money)
    t = (
        _pl_scan(export, "transactions_834")
        .filter((pl.col("direction") == "outbound") & (pl.col("sent_at") <= T))
        .select("transaction_id", "enrollment_id", "maintenance_type", "sent_at", "ack_code", "ack_at", *COMPARED)
        .with_columns(money)
    )
    acked = pl.col("ack_code").is_not_null() & (pl.col("ack_at") <= T).fill_null(False)
    t = t.with_columns(
        (acked & (pl.col("ack_code") == "R")).alias("rejected"),
        (~acked & (pl.col("sent_at") <= T - timedelta(hours=48))).alias("unacknowledged"),
    )
    initial = (pl.col("maintenance_type") == "021") & pl.col("enrollment_id").is_not_null()
    t = (
        t.with_columns(initial.alias("initial"), (initial & ~pl.col("rejected")).cast(pl.Int64).alias("kept"))
        .sort("enrollment_id", "sent_at", "transaction_id")
        .with_columns(
            ((pl.col("kept").cum_sum().over("enrollment_id", "initial") - pl.col("kept")) > 0).alias("earlier_kept")
        )
        .with_columns((pl.col("initial") & pl.col("earlier_kept")).alias("duplicate"))
    )
    m = t.join(e.with_columns(pl.lit(True).alias("known")), on="enrollment_id", how="left", suffix="_enr")
    differs = pl.lit(False)
    for col in COMPARED:
        a, b = pl.col(col), pl.col(f"{col}_enr")
        differs = differs | (a != b).fill_null(False) | (a.is_null() != b.is_null())
    known = pl.col("known").fill_null(False)
    m = (
        m.filter(~pl.col("is_test").fill_null(False))
        .with_columns(
            (pl.col("maintenance_type").is_in(["021", "001"]) & known & differs).alias("mismatch"),
            (~known).alias("unmatched"),
        )
        .with_columns(pl.any_horizontal(*CATEGORIES).alias("errored"))
    )
    daily = (
        m.group_by(pl.col("sent_at").dt.date().alias("day"))
        .agg(pl.len().alias("sent"), *[pl.col(c).sum() for c in ("errored", *CATEGORIES)])
        .collect()
    )
    return {
        row["day"].isoformat(): {k: int(row[k]) for k in ("sent", "errored", *CATEGORIES)}
        for row in daily.iter_rows(named=True)
    }


# ---------------------------------------------------------------------------- ours


def normalise_ours(name: str, value) -> dict:
    """The dashboard's result in the baselines' shape."""
    if name == "funnel":
        return {issuer: [s["count"] for s in stages] for issuer, stages in value.by_issuer.items()}
    if name == "errors_daily":
        return {
            r["date"].isoformat(): {k: int(r[k]) for k in ("sent", "errored", *CATEGORIES)} for r in value if r["sent"]
        }
    if name == "backlog":
        return {f"{r['stage']}|{r['bucket']}": r["count"] for r in value if r["count"]}
    raise KeyError(name)


COMPUTATIONS = {
    ("pandas", "funnel"): pandas_funnel,
    ("pandas", "errors_daily"): pandas_errors_daily,
    ("pandas", "backlog"): pandas_backlog,
    ("polars", "funnel"): polars_funnel,
    ("polars", "errors_daily"): polars_errors_daily,
    ("polars", "backlog"): polars_backlog,
}


def main(argv: list[str]) -> None:
    library, name, export, as_of = argv
    T = datetime.fromisoformat(as_of)
    start = time.perf_counter()
    result = COMPUTATIONS[(library, name)](Path(export), T)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "result": result}))


if __name__ == "__main__":
    main(sys.argv[1:])
