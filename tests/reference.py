"""A deliberately plain, row-by-row Python reading of metrics.md and signals.md, used only to check the SQL engine.

It shares no code with `dashboard/` beyond the before/after stats formulas (tested on their own
against published values): it reads the parquet and CSV files itself and recomputes every report
section, including the signals (current rates, control charts, the interrupted-time-series verdict
with its own IRLS, funnel plots and coverage deadlines).
"""

from __future__ import annotations

import csv
import math
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from dashboard.stats import judge_change

STAGES = ["applied", "plan_selected", "sent_834", "accepted_834", "reached_payment", "paid", "effectuated"]
BACKLOG = ["awaiting_834", "awaiting_ack", "awaiting_payment_page", "awaiting_payment", "awaiting_effectuation"]
BUCKETS = [("0-1", 0, 1), ("1-3", 1, 3), ("3-7", 3, 7), ("7-14", 7, 14), ("14-30", 14, 30), ("30+", 30, None)]
CATS = ["rejected", "unacknowledged", "duplicate", "mismatch", "unmatched"]
PAIRS = [("plan_selected", "accepted_834"), ("plan_selected", "paid"), ("plan_selected", "effectuated")]
H48 = timedelta(hours=48)
DAY = timedelta(days=1)
# signals.md "Release metrics": each metric's maturity lag
LAG = {"error_834": timedelta(hours=48), "redirect_failure": timedelta(0), "late_834": timedelta(hours=24)}
Z95, Z998 = 1.959964, 3.090232


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
            for row, r in enumerate(csv.DictReader(f), start=2):
                d = datetime.fromisoformat(r["deployed_at"].replace("Z", "+00:00")).replace(tzinfo=None)
                # signals.md: an optional `metric`, trimmed; empty or absent falls back on the component
                given = (r.get("metric") or "").strip()
                metric = given or ("redirect_failure" if r["component"] == "payment_redirect" else "error_834")
                if metric not in LAG:
                    raise ValueError(f"releases.csv line {row} ({r['release_id']}): unknown metric {given!r}")
                self.releases.append({**r, "deployed_at": d, "issuer_id": r.get("issuer_id") or None, "metric": metric})
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

    # ------------------------------------------------------------- signals.md
    def issuer_in_view(self, issuer, f):
        """signals.md "Inside the view": named by the issuer filter, its issuers.csv state in the state filter."""
        if f.get("issuers") is not None and issuer not in f["issuers"]:
            return False
        return f.get("states") is None or self.issuer_state.get(issuer) in f["states"]

    def enrollment_in_filters(self, e, f):
        if f.get("states") is not None and e["state"] not in f["states"]:
            return False
        return f.get("issuers") is None or e["issuer_id"] in f["issuers"]

    def errors_recent(self, T, f):
        recent = (self.problems(t, T) for t in self.counted_outbound(T, f, window=False) if t["sent_at"] > T - 7 * DAY)
        tally = self.tally(recent)
        out = {"window_days": 7, "sent": tally["sent"], "errored": tally["errored"], "rate": tally["rate"]}
        for c in CATS:
            out[c] = tally[c]
            out[f"{c}_rate"] = tally[c] / tally["sent"] if tally["sent"] else None
        return out

    def units(self, metric, T, f):
        """Every unit of a release metric in the view as of T: (time, issuer, failed). The issuer is the one
        a release for one issuer, and its comparison group, are matched on."""
        out = []
        if metric == "error_834":
            for t in self.counted_outbound(T, f, window=False):
                out.append((t["sent_at"], t["issuer_id"], any(self.problems(t, T).values())))
        elif metric == "redirect_failure":
            for p in self.pay:
                e = self.enr.get(p["enrollment_id"])  # known whatever T
                if p["redirected_at"] is None or p["redirected_at"] > T or e is None or e["is_test"]:
                    continue
                if self.enrollment_in_filters(e, f):
                    out.append((p["redirected_at"], e["issuer_id"], p["redirect_status"] != "ok"))
        else:  # late_834
            for e in self.enr.values():
                if e["is_test"] or e["application_submitted_at"] > T or not self.enrollment_in_filters(e, f):
                    continue
                selected = e["plan_selected_at"]
                if selected is None or selected > T - timedelta(hours=24):
                    continue
                deadline = selected + timedelta(hours=24)
                if e["cancelled_at"] is not None and e["cancelled_at"] <= deadline:
                    continue  # cancelled by the deadline: not a unit
                on_time = any(
                    t["direction"] == "outbound"
                    and t["maintenance_type"] == "021"
                    and t["issuer_id"] == e["issuer_id"]
                    and t["sent_at"] <= deadline
                    for t in self.tx_by_e.get(e["enrollment_id"], [])
                )
                out.append((selected, e["issuer_id"], not on_time))
        return out

    def control_chart(self, metric, T, f):
        days = {}
        for when, _, failed in self.units(metric, T, f):
            n_x = days.setdefault(when.date(), [0, 0])
            n_x[0] += 1
            n_x[1] += failed
        if not days:
            return []
        applicable = sorted(
            (
                r
                for r in self.releases
                if r["deployed_at"] <= T
                and r["metric"] == metric
                and (r["issuer_id"] is None or self.issuer_in_view(r["issuer_id"], f))
            ),
            key=lambda r: (r["deployed_at"], r["release_id"]),
        )
        rows, day = [], min(days)
        while day <= max(days):
            n, x = days.get(day, (0, 0))
            opened = [r["release_id"] for r in applicable if r["deployed_at"].date() <= day]
            mature = datetime(day.year, day.month, day.day) + DAY <= T - LAG[metric]
            rows.append(
                {
                    "date": day,
                    "n": n,
                    "x": x,
                    "rate": x / n if n else None,
                    "mature": mature,
                    "phase": opened[-1] if opened else None,
                    "centre": None,
                    "lcl": None,
                    "ucl": None,
                    "signal": None,
                }
            )
            day += DAY
        for phase in dict.fromkeys(r["phase"] for r in rows):
            in_phase = [r for r in rows if r["phase"] == phase and r["mature"]]
            counted = [r for r in in_phase if r["n"] > 0]  # moving ranges and runs go over these
            if not counted:
                continue  # no p-bar: a phase with only empty mature days keeps null centres
            p_bar = sum(r["x"] for r in counted) / sum(r["n"] for r in counted)
            for r in in_phase:
                r["centre"] = p_bar
            sigma, z = [], []
            for r in counted:
                s = math.sqrt(p_bar * (1 - p_bar) / r["n"])
                sigma.append(s)
                z.append((r["rate"] - p_bar) / s if s else 0.0)
            if len(counted) < 2:
                sigma_z = 1.0
            else:
                sigma_z = sum(abs(z[i] - z[i - 1]) for i in range(1, len(z))) / (len(z) - 1) / 1.128
            run_up = run_down = 0
            for r, s in zip(counted, sigma, strict=True):
                r["ucl"] = min(1.0, p_bar + 3 * s * sigma_z)
                r["lcl"] = max(0.0, p_bar - 3 * s * sigma_z)
                run_up = run_up + 1 if r["rate"] > p_bar else 0
                run_down = run_down + 1 if r["rate"] < p_bar else 0
                if r["rate"] > r["ucl"]:
                    r["signal"] = "above"
                elif r["rate"] < r["lcl"]:
                    r["signal"] = "below"
                elif run_up >= 8:
                    r["signal"] = "shift_up"
                elif run_down >= 8:
                    r["signal"] = "shift_down"
        return rows

    def control_charts(self, T, f):
        return {metric: self.control_chart(metric, T, f) for metric in LAG}

    @staticmethod
    def funnel_plot(groups):
        """groups: issuer -> (n, x). signals.md "Issuer comparison"; None below 3 issuers with n > 0."""
        seen = {i: nx for i, nx in groups.items() if nx[0] > 0}
        if len(seen) < 3:
            return None
        p0 = sum(x for _, x in seen.values()) / sum(n for n, _ in seen.values())
        z = {}
        for i, (n, x) in seen.items():
            z[i] = 0.0 if p0 in (0.0, 1.0) else (x / n - p0) / math.sqrt(p0 * (1 - p0) / n)
        phi = max(1.0, sum(v * v for v in z.values()) / len(z))
        issuers = []
        for i in sorted(seen):
            n, x = seen[i]
            scaled = z[i] / math.sqrt(phi)
            if scaled > Z998:
                flag = "high_99.8"
            elif scaled > Z95:
                flag = "high_95"
            elif scaled < -Z998:
                flag = "low_99.8"
            elif scaled < -Z95:
                flag = "low_95"
            else:
                flag = "within"
            issuers.append({"issuer_id": i, "n": n, "x": x, "rate": x / n, "z": z[i], "flag": flag})
        return {"p0": p0, "phi": phi, "issuers": issuers}

    def issuer_comparison(self, T, f):
        errors = {}
        for t in self.counted_outbound(T, f, window=False):
            if t["sent_at"] > T - 28 * DAY:
                n_x = errors.setdefault(t["issuer_id"], [0, 0])
                n_x[0] += 1
                n_x[1] += any(self.problems(t, T).values())
        effectuation = {}
        for e in self.cohort(T, f):  # cancelled enrollments keep their stages
            ent = self.entries(e, T)
            n_x = effectuation.setdefault(e["issuer_id"], [0, 0])
            n_x[0] += ent["plan_selected"] is not None
            n_x[1] += ent["effectuated"] is not None
        return {"error_834": self.funnel_plot(errors), "effectuation": self.funnel_plot(effectuation)}

    def coverage_deadlines(self, T, f):
        rows = {}
        for e in self.cohort(T, f):
            if e["coverage_start_date"] is None or self.cancelled(e, T):
                continue
            ent = self.entries(e, T)
            if ent["plan_selected"] is None:
                continue
            row = rows.setdefault(e["coverage_start_date"], {"selected": 0, "paid": 0, "effectuated": 0, "recent": 0})
            row["selected"] += 1
            row["paid"] += ent["paid"] is not None
            row["effectuated"] += ent["effectuated"] is not None
            row["recent"] += ent["paid"] is not None and T - 7 * DAY < ent["paid"] <= T
        out = []
        for start in sorted(rows):
            row = rows[start]
            due = start - DAY
            days_left = (due - T.date()).days
            unpaid = row["selected"] - row["paid"]
            pace = row["recent"] / 7
            out.append(
                {
                    "coverage_start": start,
                    "due_date": due,
                    "days_left": days_left,
                    "selected": row["selected"],
                    "paid": row["paid"],
                    "effectuated": row["effectuated"],
                    "unpaid": unpaid,
                    "pace": pace,
                    "projected_unpaid": max(0, unpaid - pace * (days_left + 1)) if days_left >= 0 else unpaid,
                }
            )
        return out

    def its(self, release, T, f, its_days=14):
        """signals.md "Fix impact, trend-adjusted": the release's verdict, and its comparison group's."""
        units = self.units(release["metric"], T, f)
        issuer = release["issuer_id"]
        own = [u for u in units if issuer is None or u[1] == issuer]
        out = judge_its(own, release["deployed_at"], T, release["metric"], its_days)
        if issuer is None:
            out["comparison"] = None
        else:
            others = judge_its(
                [u for u in units if u[1] != issuer], release["deployed_at"], T, release["metric"], its_days
            )
            del others["verdict"]
            out["comparison"] = others
        return out

    def report(self, T, f, its_days=14, signals=True):
        """The report as of T under filters f; signals=False leaves out the keys of signals.md."""
        total, by_issuer, by_state, cancelled = self.funnel(T, f)
        at_risk, past_due = self.risk(T, f)
        out = {
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
        if signals:
            releases = {r["release_id"]: r for r in self.releases}
            for entry in out["fix_impact"]:
                entry["its"] = self.its(releases[entry["release_id"]], T, f, its_days)
            out["errors_recent"] = self.errors_recent(T, f)
            out["control_charts"] = self.control_charts(T, f)
            out["issuer_comparison"] = self.issuer_comparison(T, f)
            out["coverage_deadlines"] = self.coverage_deadlines(T, f)
        return out


def judge_its(units, R, T, metric, W):
    """signals.md: units (time, issuer, failed) of one group around a release deployed at R."""
    end = min(R + timedelta(days=W), T - LAG[metric])
    periods = {}
    for when, _, failed in units:
        if R - timedelta(days=W) <= when < end:
            k = (when - R) // DAY  # floor, exact to the microsecond
            n_x = periods.setdefault(k, [0, 0])
            n_x[0] += 1
            n_x[1] += failed
    before = {k: v for k, v in periods.items() if k < 0}
    after = {k: v for k, v in periods.items() if k >= 0}
    nb, xb = sum(v[0] for v in before.values()), sum(v[1] for v in before.values())
    na, xa = sum(v[0] for v in after.values()), sum(v[1] for v in after.values())
    out = {
        "metric": metric,
        "method": "its",
        "periods_before": len(before),
        "periods_after": len(after),
        "units_before": nb,
        "units_after": na,
        **dict.fromkeys(
            ("odds_ratio", "ci_low", "ci_high", "p_value", "rate_before", "rate_after", "slope_change", "dispersion")
        ),
        "verdict": "too little data",
    }
    if len(before) < 4 or len(after) < 4 or nb < 30 or na < 30:
        return out
    fit = None
    if 0 < xb < nb and 0 < xa < na:
        ks = sorted(periods)
        fit = fit_its(ks, [periods[k][0] for k in ks], [periods[k][1] for k in ks])
    if fit is None:
        judged = judge_change(xb, nb, xa, na)
        out.update(
            method="before_after",
            ci_low=judged.ci_low,
            ci_high=judged.ci_high,
            p_value=judged.p_value,
            rate_before=xb / nb,
            rate_after=xa / na,
            verdict=judged.verdict,
        )
        return out
    beta, se, phi = fit
    low, high = math.exp(beta[2] - Z95 * se[2]), math.exp(beta[2] + Z95 * se[2])
    out.update(
        odds_ratio=math.exp(beta[2]),
        ci_low=low,
        ci_high=high,
        p_value=math.erfc(abs(beta[2] / se[2]) / math.sqrt(2)),  # two-sided normal
        rate_before=expit(beta[0]),
        rate_after=expit(beta[0] + beta[2]),
        slope_change=beta[3],
        dispersion=phi,
        verdict="improved" if high < 1 else "worse" if low > 1 else "no clear change",
    )
    return out


def expit(v):
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


def fit_its(ks, ns, xs):
    """Binomial GLM, logit link, columns 1, k, post, k*post, by IRLS from beta = 0.

    Returns (beta, standard errors times sqrt(phi), phi) as floats, or None when the fit does not converge
    (more than 100 rounds, a singular X'WX, a non-finite coefficient)."""
    X = np.array([[1.0, k, 1.0 if k >= 0 else 0.0, k if k >= 0 else 0.0] for k in ks])
    n, x = np.array(ns, dtype=float), np.array(xs, dtype=float)
    y = x / n

    def weighted(beta):
        eta = X @ beta
        mu = 1 / (1 + np.exp(-eta))
        return eta, mu, n * mu * (1 - mu)

    beta = np.zeros(4)
    with np.errstate(all="ignore"):
        for _ in range(100):
            eta, mu, w = weighted(beta)
            working = eta + (y - mu) / (mu * (1 - mu))  # the working response
            try:
                new = np.linalg.solve(X.T @ (X * w[:, None]), X.T @ (w * working))
            except np.linalg.LinAlgError:
                return None
            if not np.all(np.isfinite(new)):
                return None
            moved = np.max(np.abs(new - beta))
            beta = new
            if moved <= 1e-10:
                break
        else:
            return None
        _, mu, w = weighted(beta)
        try:
            cov = np.linalg.inv(X.T @ (X * w[:, None]))
        except np.linalg.LinAlgError:
            return None
        pearson = (x - n * mu) / np.sqrt(n * mu * (1 - mu))
    m = len(ks)
    phi = max(1.0, float(np.sum(pearson**2)) / (m - 4)) if m > 4 else 1.0
    se = np.sqrt(np.diag(cov)) * math.sqrt(phi)
    if not (np.all(np.isfinite(se)) and np.isfinite(phi)):
        return None
    return [float(b) for b in beta], [float(s) for s in se], phi


def quantile(sorted_values, q):
    if not sorted_values:
        return None
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)
