"""A deliberately plain, row-by-row Python reading of metrics.md, used only to check the SQL engine.

It shares no code with `dashboard/` beyond the stats formulas (tested on their own against
published values): it reads the parquet and CSV files itself and recomputes every report section.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pyarrow.parquet as pq

from dashboard.stats import judge_change

STAGES = ["applied", "plan_selected", "sent_834", "accepted_834", "reached_payment", "paid", "effectuated"]
BACKLOG = ["awaiting_834", "awaiting_ack", "awaiting_payment_page", "awaiting_payment", "awaiting_effectuation"]
BUCKETS = [("0-1", 0, 1), ("1-3", 1, 3), ("3-7", 3, 7), ("7-14", 7, 14), ("14-30", 14, 30), ("30+", 30, None)]
CATS = ["rejected", "unacknowledged", "duplicate", "mismatch", "unmatched"]
PAIRS = [("plan_selected", "accepted_834"), ("plan_selected", "paid"), ("plan_selected", "effectuated")]
H48 = timedelta(hours=48)


def cents(v):
    if v is None:
        return None
    if isinstance(v, Decimal):
        return int((v * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    return round(v * 100)


def read_table(root: Path, name: str) -> list[dict]:
    rows = []
    for path in sorted((root / name).rglob("*.parquet")):
        if any(part.startswith((".", "_")) for part in path.relative_to(root / name).parts):
            continue
        rows.extend(pq.read_table(path).to_pylist())
    for r in rows:
        for k in ("total_premium", "aptc_amount", "amount"):
            if k in r:
                r[k] = cents(r[k])
    return rows


class Reference:
    def __init__(self, root: Path):
        self.enr = {e["enrollment_id"]: e for e in read_table(root, "enrollments")}
        self.tx = read_table(root, "transactions_834")
        self.pay = read_table(root, "payments")
        with open(root / "issuers.csv", newline="") as f:
            self.issuer_state = {r["issuer_id"]: r["state"] for r in csv.DictReader(f)}
        with open(root / "releases.csv", newline="") as f:
            self.releases = []
            for r in csv.DictReader(f):
                d = datetime.fromisoformat(r["deployed_at"].replace("Z", "+00:00")).replace(tzinfo=None)
                self.releases.append({**r, "deployed_at": d, "issuer_id": r.get("issuer_id") or None})
        self.test_ids = {k for k, e in self.enr.items() if e["is_test"]}
        self.tx_by_e: dict = {}
        for t in self.tx:
            self.tx_by_e.setdefault(t["enrollment_id"], []).append(t)
        self.pay_by_e: dict = {}
        for p in self.pay:
            self.pay_by_e.setdefault(p["enrollment_id"], []).append(p)

    # ------------------------------------------------------------ per enrollment
    def entries(self, e, T):
        """Entry time of each stage as of T (None = not reached)."""
        out = dict.fromkeys(STAGES)
        if e["application_submitted_at"] > T:
            return out
        out["applied"] = e["application_submitted_at"]
        if e["plan_selected_at"] is None or e["plan_selected_at"] > T:
            return out
        out["plan_selected"] = max(e["plan_selected_at"], out["applied"])
        mine = [t for t in self.tx_by_e.get(e["enrollment_id"], []) if t["issuer_id"] == e["issuer_id"]]
        initial = [
            t for t in mine if t["direction"] == "outbound" and t["maintenance_type"] == "021" and t["sent_at"] <= T
        ]
        if not initial:
            return out
        out["sent_834"] = max(min(t["sent_at"] for t in initial), out["plan_selected"])
        acks = [
            t["ack_at"] for t in initial if t["ack_code"] in ("A", "E") and t["ack_at"] is not None and t["ack_at"] <= T
        ]
        if not acks:
            return out
        out["accepted_834"] = max(min(acks), out["sent_834"])
        premium = e["total_premium"]
        responsible = None if premium is None else max(0, premium - (e["aptc_amount"] or 0))
        pays = self.pay_by_e.get(e["enrollment_id"], [])
        if responsible == 0:
            out["reached_payment"] = out["paid"] = out["accepted_834"]
        else:
            page = [
                p["redirected_at"]
                for p in pays
                if p["redirect_status"] == "ok" and p["redirected_at"] and p["redirected_at"] <= T
            ]
            page += [p["paid_at"] for p in pays if p["payment_status"] == "paid" and p["paid_at"] and p["paid_at"] <= T]
            if not page:
                return out
            out["reached_payment"] = max(min(page), out["accepted_834"])
            paid = [p["paid_at"] for p in pays if p["payment_status"] == "paid" and p["paid_at"] and p["paid_at"] <= T]
            if not paid:
                return out
            out["paid"] = max(min(paid), out["reached_payment"])
        eff = [
            t["sent_at"]
            for t in mine
            if t["direction"] == "inbound"
            and t["maintenance_type"] == "021"
            and t["maintenance_reason"] == "28"
            and t["sent_at"] <= T
        ]
        if eff:
            out["effectuated"] = max(min(eff), out["paid"])
        return out

    def cohort(self, T, f):
        for e in self.enr.values():
            if e["is_test"] or e["application_submitted_at"] > T:
                continue
            if f.get("date_from") and e["application_submitted_at"] < f["date_from"]:
                continue
            if f.get("date_to") and e["application_submitted_at"] >= f["date_to"]:
                continue
            if f.get("states") is not None and e["state"] not in f["states"]:
                continue
            if f.get("issuers") is not None and e["issuer_id"] not in f["issuers"]:
                continue
            yield e

    @staticmethod
    def cancelled(e, T):
        return e["cancelled_at"] is not None and e["cancelled_at"] <= T

    # ------------------------------------------------------------------ funnel
    @staticmethod
    def stage_list(counts):
        out, prev = [], None
        for s in STAGES:
            n = counts[s]
            if prev is None:
                out.append(
                    {
                        "stage": s,
                        "count": n,
                        "step_conversion": 1.0 if n else None,
                        "overall_conversion": 1.0 if n else None,
                        "drop_off": 0,
                    }
                )
            else:
                out.append(
                    {
                        "stage": s,
                        "count": n,
                        "step_conversion": n / prev if prev else None,
                        "overall_conversion": n / counts["applied"] if counts["applied"] else None,
                        "drop_off": prev - n,
                    }
                )
            prev = n
        return out

    def funnel(self, T, f):
        total = dict.fromkeys(STAGES, 0)
        by_issuer, by_state, cancelled = {}, {}, 0
        for e in self.cohort(T, f):
            ent = self.entries(e, T)
            cancelled += self.cancelled(e, T)
            for group in (
                total,
                by_issuer.setdefault(e["issuer_id"], dict.fromkeys(STAGES, 0)),
                by_state.setdefault(e["state"], dict.fromkeys(STAGES, 0)),
            ):
                for s in STAGES:
                    group[s] += ent[s] is not None
        return (
            self.stage_list(total),
            {k: self.stage_list(v) for k, v in by_issuer.items()},
            {k: self.stage_list(v) for k, v in by_state.items()},
            cancelled,
        )

    def time_to_convert(self, T, f):
        out = []
        for a, b in PAIRS:
            hours = sorted(
                (ent[b] - ent[a]).total_seconds() / 3600
                for ent in (self.entries(e, T) for e in self.cohort(T, f))
                if ent[b] is not None
            )
            out.append(
                {"from": a, "to": b, "n": len(hours), "median": quantile(hours, 0.5), "p90": quantile(hours, 0.9)}
            )
        return out

    # ------------------------------------------------------------------ errors
    def acked(self, t, T):
        return t["ack_code"] is not None and t["ack_at"] is not None and t["ack_at"] <= T

    def problems(self, t, T):
        rejected = self.acked(t, T) and t["ack_code"] == "R"
        unack = not self.acked(t, T) and t["sent_at"] <= T - H48
        dup = False
        if t["maintenance_type"] == "021" and t["enrollment_id"] is not None:
            key = (t["sent_at"], t["transaction_id"])
            dup = any(
                o["direction"] == "outbound"
                and o["maintenance_type"] == "021"
                and (o["sent_at"], o["transaction_id"]) < key
                and o["sent_at"] <= T
                and not (self.acked(o, T) and o["ack_code"] == "R")
                for o in self.tx_by_e.get(t["enrollment_id"], [])
            )
        e = self.enr.get(t["enrollment_id"]) if t["enrollment_id"] is not None else None
        mismatch = bool(
            t["maintenance_type"] in ("021", "001")
            and e is not None
            and any(
                t[k] != e[k]
                for k in (
                    "issuer_id",
                    "plan_id",
                    "coverage_start_date",
                    "total_premium",
                    "aptc_amount",
                    "member_count",
                    "subscriber_birth_date",
                )
            )
        )
        unmatched = e is None
        return {
            "rejected": rejected,
            "unacknowledged": unack,
            "duplicate": dup,
            "mismatch": mismatch,
            "unmatched": unmatched,
        }

    def tx_in_filters(self, t, f):
        if t["enrollment_id"] in self.test_ids:
            return False
        if f.get("states") is not None and self.issuer_state.get(t["issuer_id"]) not in f["states"]:
            return False
        return f.get("issuers") is None or t["issuer_id"] in f["issuers"]

    def counted_outbound(self, T, f, window=True):
        for t in self.tx:
            if t["direction"] != "outbound" or t["sent_at"] > T or not self.tx_in_filters(t, f):
                continue
            if window and f.get("date_from") and t["sent_at"] < f["date_from"]:
                continue
            if window and f.get("date_to") and t["sent_at"] >= f["date_to"]:
                continue
            yield t

    @staticmethod
    def tally(problem_sets):
        out = {"sent": 0, "errored": 0, **dict.fromkeys(CATS, 0)}
        for p in problem_sets:
            out["sent"] += 1
            out["errored"] += any(p.values())
            for c in CATS:
                out[c] += p[c]
        out["rate"] = out["errored"] / out["sent"] if out["sent"] else None
        return out

    def errors(self, T, f):
        return self.tally(self.problems(t, T) for t in self.counted_outbound(T, f))

    def errors_daily(self, T, f):
        by_day = {}
        for t in self.counted_outbound(T, f):
            by_day.setdefault(t["sent_at"].date(), []).append(self.problems(t, T))
        if not by_day:
            return []
        day, last, out = min(by_day), max(by_day), []
        while day <= last:
            out.append({"date": day, **self.tally(by_day.get(day, []))})
            day += timedelta(days=1)
        return out

    def never_sent(self, T, f):
        eligible = never = 0
        for e in self.cohort(T, f):
            if self.cancelled(e, T) or e["plan_selected_at"] is None or e["plan_selected_at"] > T - timedelta(hours=24):
                continue
            eligible += 1
            never += not any(
                t["direction"] == "outbound"
                and t["maintenance_type"] == "021"
                and t["issuer_id"] == e["issuer_id"]
                and t["sent_at"] <= T
                for t in self.tx_by_e.get(e["enrollment_id"], [])
            )
        return {"count": never, "share": never / eligible if eligible else None}

    def fix_impact(self, T, f, W=7):
        out = []
        w = timedelta(days=W)
        for r in sorted(self.releases, key=lambda r: (r["deployed_at"], r["release_id"])):
            R = r["deployed_at"]
            if R > T:
                continue
            before, after = [], []
            for t in self.counted_outbound(T, f, window=False):
                if r["issuer_id"] and t["issuer_id"] != r["issuer_id"]:
                    continue
                if R - w <= t["sent_at"] < R:
                    before.append(self.problems(t, T))
                elif R <= t["sent_at"] <= min(R + w, T):
                    after.append(self.problems(t, T))
            b, a = self.tally(before), self.tally(after)
            judged = judge_change(b["errored"], b["sent"], a["errored"], a["sent"])
            overlaps = [
                o["release_id"]
                for o in sorted(self.releases, key=lambda o: (o["deployed_at"], o["release_id"]))
                if o["release_id"] != r["release_id"] and R - w <= o["deployed_at"] <= R + w
            ]
            out.append(
                {
                    "release_id": r["release_id"],
                    "before": {k: b[k] for k in ("sent", "errored", "rate")},
                    "after": {k: a[k] for k in ("sent", "errored", "rate")},
                    "change": judged.change,
                    "ci_low": judged.ci_low,
                    "ci_high": judged.ci_high,
                    "p_value": judged.p_value,
                    "verdict": judged.verdict,
                    "overlapping_releases": overlaps,
                }
            )
        return out

    # ----------------------------------------------------------------- backlog
    def backlog_items(self, T, f):
        for e in self.cohort(T, f):
            if self.cancelled(e, T):
                continue
            ent = self.entries(e, T)
            for i, stage in enumerate(BACKLOG):
                prev, nxt = STAGES[i + 1], STAGES[i + 2]
                if ent[prev] is not None and ent[nxt] is None:
                    age = (T - ent[prev]).total_seconds() / 3600 / 24
                    yield e, stage, age

    def backlog(self, T, f):
        counts = {(s, b[0]): 0 for s in BACKLOG for b in BUCKETS}
        for _, stage, age in self.backlog_items(T, f):
            bucket = next(b for b, lo, hi in BUCKETS if age >= lo and (hi is None or age < hi))
            counts[(stage, bucket)] += 1
        return [{"stage": s, "bucket": b, "count": n} for (s, b), n in counts.items()]

    def risk(self, T, f):
        at_risk = past_due = 0
        for e, stage, _ in self.backlog_items(T, f):
            if stage == "awaiting_effectuation" or e["coverage_start_date"] is None:
                continue
            due = e["coverage_start_date"] - timedelta(days=1)
            at_risk += T.date() <= due <= T.date() + timedelta(days=7)
            past_due += due < T.date()
        return at_risk, past_due

    def backlog_trend(self, T, f):
        selected = [
            e["plan_selected_at"]
            for e in self.cohort(T, f)
            if e["plan_selected_at"] is not None and e["plan_selected_at"] <= T
        ]
        if not selected:
            return []
        out, day = [], min(selected).date()
        while day <= T.date():
            end = min(datetime(day.year, day.month, day.day) + timedelta(days=1, microseconds=-1), T)
            counts = dict.fromkeys(BACKLOG, 0)
            for _, stage, _ in self.backlog_items(end, f):
                counts[stage] += 1
            out.extend({"date": day, "stage": s, "count": counts[s]} for s in BACKLOG)
            day += timedelta(days=1)
        return out

    # ------------------------------------------------------- canaries, recon
    def canaries(self, T, f):
        out = []
        for e in sorted(self.enr.values(), key=lambda e: e["enrollment_id"]):
            if not e["is_test"] or e["application_submitted_at"] > T:
                continue
            if f.get("states") is not None and e["state"] not in f["states"]:
                continue
            if f.get("issuers") is not None and e["issuer_id"] not in f["issuers"]:
                continue
            ent = self.entries(e, T)
            stage = [s for s in STAGES if ent[s] is not None][-1]
            out.append(
                {
                    "enrollment_id": e["enrollment_id"],
                    "issuer_id": e["issuer_id"],
                    "stage": stage,
                    "entered_at": ent[stage],
                    "stuck": ent["effectuated"] is None and T - ent[stage] > H48,
                }
            )
        return out

    def reconciliation(self, T, f):
        rows = {}
        for e in self.cohort(T, f):
            if e["plan_selected_at"] is None or e["plan_selected_at"] > T or self.cancelled(e, T):
                continue
            effs = sorted(
                (
                    t
                    for t in self.tx_by_e.get(e["enrollment_id"], [])
                    if t["direction"] == "inbound"
                    and t["maintenance_type"] == "021"
                    and t["maintenance_reason"] == "28"
                    and t["issuer_id"] == e["issuer_id"]
                    and t["sent_at"] <= T
                ),
                key=lambda t: (t["sent_at"], t["transaction_id"]),
            )
            row = rows.setdefault(e["issuer_id"], dict(matched=0, field_mismatch=0, exchange_only=0, issuer_only=0))
            if not effs:
                row["exchange_only"] += 1
            elif all(effs[0][k] == e[k] for k in ("plan_id", "coverage_start_date", "aptc_amount")):
                row["matched"] += 1
            else:
                row["field_mismatch"] += 1
        for t in self.tx:
            if t["direction"] != "inbound" or t["sent_at"] > T or not self.tx_in_filters(t, f):
                continue
            e = self.enr.get(t["enrollment_id"]) if t["enrollment_id"] is not None else None
            if e is None or (
                e["issuer_id"] == t["issuer_id"] and e["cancelled_at"] is not None and e["cancelled_at"] < t["sent_at"]
            ):
                rows.setdefault(t["issuer_id"], dict(matched=0, field_mismatch=0, exchange_only=0, issuer_only=0))[
                    "issuer_only"
                ] += 1
        return [{"issuer_id": k, **v} for k, v in sorted(rows.items())]

    def report(self, T, f):
        total, by_issuer, by_state, cancelled = self.funnel(T, f)
        at_risk, past_due = self.risk(T, f)
        return {
            "funnel": total,
            "funnel_by_issuer": by_issuer,
            "funnel_by_state": by_state,
            "cancelled": cancelled,
            "time_to_convert_hours": self.time_to_convert(T, f),
            "errors": self.errors(T, f),
            "errors_daily": self.errors_daily(T, f),
            "never_sent": self.never_sent(T, f),
            "fix_impact": self.fix_impact(T, f),
            "backlog": self.backlog(T, f),
            "backlog_trend": self.backlog_trend(T, f),
            "at_risk": at_risk,
            "past_due": past_due,
            "canaries": self.canaries(T, f),
            "reconciliation": self.reconciliation(T, f),
        }


def quantile(sorted_values, q):
    if not sorted_values:
        return None
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)
