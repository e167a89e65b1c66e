"""Every number of metrics.md, from the named queries: shared by the report and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from . import signals
from .contract import RELEASE_METRICS
from .defaults import DEFAULT_ITS_DAYS, DEFAULT_WINDOW_DAYS
from .defaults import parse_as_of as parse_as_of  # the as-of parser pages and the CLI share
from .definitions import BACKLOG_STAGES, ERROR_CATEGORIES, STAGES
from .engine import Engine
from .stats import judge_change


class FilterError(ValueError):
    """A filter the user gave cannot be applied (e.g. a window that ends before it starts)."""


@dataclass(frozen=True)
class Filters:
    """The user's filters (metrics.md 'Filters'). None means 'no filter' for that kind."""

    date_from: date | None = None
    date_to: date | None = None
    states: tuple[str, ...] | None = None
    issuers: tuple[str, ...] | None = None

    def __post_init__(self):
        if self.date_from and self.date_to and self.date_to <= self.date_from:
            raise FilterError(f"the date window's end {self.date_to} must be after its start {self.date_from}")

    def cohort_params(self) -> dict[str, Any]:
        return {
            "date_from": _midnight(self.date_from),
            "date_to": _midnight(self.date_to),
            "states": list(self.states) if self.states is not None else None,
            "issuers": list(self.issuers) if self.issuers is not None else None,
        }


@dataclass(frozen=True)
class Scope:
    """What the caller may see. None = every issuer (leadership); else only these issuers."""

    issuers: tuple[str, ...] | None = None

    def narrow(self, filters: Filters) -> Filters:
        """The filters with the scope applied first: a filter can narrow a scope, never widen it."""
        if self.issuers is None:
            return filters
        allowed = self.issuers if filters.issuers is None else tuple(i for i in filters.issuers if i in self.issuers)
        return Filters(filters.date_from, filters.date_to, filters.states, allowed)


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day)


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def rate(numerator: int, denominator: int) -> float | None:
    """A rate, share or conversion; null when its denominator is 0 (metrics.md)."""
    return numerator / denominator if denominator else None


@dataclass
class Request:
    """What every metric function takes: the prepared export, the as-of time, the filters and the
    caller's scope. (A page's `serving.View` is a Request plus the export's identity and latest time.)"""

    engine: Engine
    as_of: datetime
    filters: Filters = field(default_factory=Filters)
    scope: Scope = field(default_factory=Scope)

    @property
    def effective_filters(self) -> Filters:
        return self.scope.narrow(self.filters)

    def params(self) -> dict[str, Any]:
        return {"as_of": self.as_of, **self.effective_filters.cohort_params()}

    def at(self, as_of: datetime) -> Request:
        return Request(self.engine, as_of, self.filters, self.scope)


def latest_event(engine: Engine, now: datetime | None = None) -> datetime | None:
    """The latest event timestamp not after now; None for an export with no event at all."""
    return engine.rows("default_as_of", now=now or utc_now())[0]["as_of"]


def default_as_of(engine: Engine, now: datetime | None = None) -> datetime:
    """The latest event timestamp not after now; now itself for an export with no events."""
    now = now or utc_now()
    latest = latest_event(engine, now)
    return latest if latest is not None else now


def future_timestamps(engine: Engine, now: datetime | None = None) -> list[dict[str, Any]]:
    return engine.rows("future_timestamps", now=now or utc_now())


# ----------------------------------------------------------------------- funnel


def funnel_stages(counts: dict[str, int]) -> list[dict[str, Any]]:
    """The seven stages with step and overall conversion and drop-off, from stage counts."""
    applied = counts["applied"]
    out = []
    previous = None
    for stage in STAGES:
        n = int(counts[stage])
        if previous is None:
            step = overall = 1.0 if n else None
            drop_off = 0
        else:
            step = rate(n, previous)
            overall = rate(n, applied)
            drop_off = previous - n
        out.append(
            {"stage": stage, "count": n, "step_conversion": step, "overall_conversion": overall, "drop_off": drop_off}
        )
        previous = n
    return out


@dataclass
class FunnelResult:
    total: list[dict[str, Any]]
    by_issuer: dict[str, list[dict[str, Any]]]
    by_state: dict[str, list[dict[str, Any]]]
    cancelled: int
    # the view's earliest application and plan selection by T (None without any): the first days of
    # the day-end trends
    first_applied_at: datetime | None = None
    first_plan_selected_at: datetime | None = None

    @property
    def counts(self) -> dict[str, int]:
        """stage -> enrollments that reached it, for the whole view."""
        return {s["stage"]: s["count"] for s in self.total}


def funnel(q: Request) -> FunnelResult:
    rows = q.engine.rows("funnel_counts", **q.params())
    total = next(r for r in rows if r["dimension"] == "total")
    return FunnelResult(
        total=funnel_stages(total),
        by_issuer={r["group_key"]: funnel_stages(r) for r in rows if r["dimension"] == "issuer"},
        by_state={r["group_key"]: funnel_stages(r) for r in rows if r["dimension"] == "state"},
        cancelled=int(total["cancelled"]),
        first_applied_at=total["first_applied_at"],
        first_plan_selected_at=total["first_plan_selected_at"],
    )


def time_to_convert(q: Request) -> list[dict[str, Any]]:
    return [
        {
            "from": r["stage_from"],
            "to": r["stage_to"],
            "n": int(r["n"]),
            "median": r["median_hours"],
            "p90": r["p90_hours"],
        }
        for r in q.engine.rows("time_to_convert", **q.params())
    ]


# ----------------------------------------------------------------------- errors


def _with_rates(row: dict[str, Any]) -> dict[str, Any]:
    out = {"sent": int(row["sent"]), "errored": int(row["errored"]), "rate": rate(row["errored"], row["sent"])}
    out.update({cat: int(row[cat]) for cat in ERROR_CATEGORIES})
    out.update({f"{cat}_rate": rate(row[cat], row["sent"]) for cat in ERROR_CATEGORIES})
    return out


def errors(q: Request) -> dict[str, Any]:
    return _with_rates(q.engine.rows("errors_summary", **q.params())[0])


def errors_daily(q: Request) -> list[dict[str, Any]]:
    return [{"date": r["date"], **_with_rates(r)} for r in q.engine.rows("errors_daily", **q.params())]


def never_sent(q: Request) -> dict[str, Any]:
    row = q.engine.rows("never_sent", **q.params())[0]
    return {
        "count": int(row["never_sent"]),
        "share": rate(row["never_sent"], row["eligible"]),
        "eligible": int(row["eligible"]),
    }


def releases(q: Request) -> list[dict[str, Any]]:
    """The releases the caller may see, deployed by the as-of time: what the trend charts mark."""
    return q.engine.rows(
        "releases",
        as_of=q.as_of,
        release_issuers=list(q.scope.issuers) if q.scope.issuers is not None else None,
    )


def fix_impact(
    q: Request,
    window_days: int = DEFAULT_WINDOW_DAYS,
    its_days: int | None = None,
    its: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Each visible release: the 834 error rate in the `window_days` before and after it (metrics.md),
    and its trend-adjusted judgement on its own metric (`its`, signals.md; W = its_days, default 14).
    `its`: release_its(q, its_days) when the caller has it already (the dashboard's cache)."""
    f = q.effective_filters.cohort_params()
    rows = q.engine.rows(
        "fix_impact_counts",
        as_of=q.as_of,
        window_days=int(window_days),
        states=f["states"],
        issuers=f["issuers"],
        release_issuers=list(q.scope.issuers) if q.scope.issuers is not None else None,
    )
    trend_adjusted = its if its is not None else release_its(q, DEFAULT_ITS_DAYS if its_days is None else its_days)
    out = []
    for r in rows:
        sides = {}
        for side in ("before", "after"):
            sent, errored = int(r[f"{side}_sent"]), int(r[f"{side}_errored"])
            sides[side] = {
                "sent": sent,
                "errored": errored,
                "rate": rate(errored, sent),
                **{cat: int(r[f"{side}_{cat}"]) for cat in ERROR_CATEGORIES},
            }
        judged = judge_change(
            sides["before"]["errored"], sides["before"]["sent"], sides["after"]["errored"], sides["after"]["sent"]
        )
        out.append(
            {
                "release_id": r["release_id"],
                "deployed_at": r["deployed_at"],
                "issuer_id": r["issuer_id"],
                "component": r["component"],
                "title": r["title"],
                "before": sides["before"],
                "after": sides["after"],
                "change": judged.change,
                "ci_low": judged.ci_low,
                "ci_high": judged.ci_high,
                "p_value": judged.p_value,
                "verdict": judged.verdict,
                "overlapping_releases": list(r["overlapping_releases"]),
                "its": trend_adjusted[r["release_id"]],
            }
        )
    return out


# ---------------------------------------------------------------------- backlog


def backlog_cells(q: Request) -> list[dict[str, Any]]:
    """The backlog as of T in one evaluation: per (stage, age bucket), the count, the oldest wait and the
    payment-deadline counts. `backlog` and `payment_deadline_risk` are read from it, so that a caller who
    needs both (every headline) evaluates the backlog once."""
    return backlog_cells_back(q, (0,))[0]


def backlog_cells_back(q: Request, days: tuple[int, ...]) -> list[list[dict[str, Any]]]:
    """`backlog_cells` as of T and as of earlier times, T − d days for each d of `days` (in that order),
    counted in one scan of the enrollments: the overview's weekly sparklines and a headline's comparison
    need the backlog at five and two as-of times."""
    times = [q.as_of - timedelta(days=d) for d in days]
    params = {k: v for k, v in q.params().items() if k != "as_of"}
    by_time: dict[datetime, list[dict[str, Any]]] = {t: [] for t in times}
    for r in q.engine.rows("backlog_aging", as_of_times=times, **params):
        by_time[r["as_of"]].append(
            {
                "stage": r["stage"],
                "bucket": r["bucket"],
                "count": int(r["count"]),
                "oldest_days": r["oldest_days"],
                "at_risk": int(r["at_risk"]),
                "past_due": int(r["past_due"]),
            }
        )
    return [by_time[t] for t in times]


def backlog_from_cells(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """30 rows (stage, bucket, count, oldest_days) in the order of metrics.md."""
    return [{k: r[k] for k in ("stage", "bucket", "count", "oldest_days")} for r in cells]


def risk_from_cells(cells: list[dict[str, Any]]) -> dict[str, int]:
    """Backlog enrollments before awaiting_effectuation whose binder payment is due within the next 7 days
    of T's day (at_risk) or was due before it (past_due). Each enrollment waits at one stage only, so the
    cells add up."""
    waiting = [r for r in cells if r["stage"] != "awaiting_effectuation"]
    return {"at_risk": sum(r["at_risk"] for r in waiting), "past_due": sum(r["past_due"] for r in waiting)}


def backlog(q: Request) -> list[dict[str, Any]]:
    return backlog_from_cells(backlog_cells(q))


def payment_deadline_risk(q: Request) -> dict[str, int]:
    return risk_from_cells(backlog_cells(q))


def _trend_days(q: Request, name: str, first: datetime) -> list[dict[str, Any]]:
    """A day-end trend's days before T's (`name`'s rows, from the prepared per-day changes), from the
    day of `first` on (each caller returns no trend when the view has nothing by T)."""
    return q.engine.rows(name, **q.params(), first_day=first.date())


def backlog_trend(
    q: Request, funnel_result: FunnelResult | None = None, cells: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The backlog per stage as of the end of each day from the view's first plan selection (cancelled
    included), and as of T on T's own day: that day is `backlog_cells`' (pass the results the caller has)."""
    funnel_result = funnel_result or funnel(q)
    first = funnel_result.first_plan_selected_at
    if first is None:
        return []
    rows = [
        {"date": r["date"], "stage": r["stage"], "count": int(r["count"])}
        for r in _trend_days(q, "backlog_trend", first)
    ]
    cells = backlog_cells(q) if cells is None else cells
    today = q.as_of.date()
    return rows + [
        {"date": today, "stage": stage, "count": sum(c["count"] for c in cells if c["stage"] == stage)}
        for stage in BACKLOG_STAGES
    ]


def age_bands(q: Request) -> list[dict[str, Any]]:
    """Plan selections by the subscriber's age band on the selection day (docs/decisions.md)."""
    rows = q.engine.rows("age_bands", **q.params())
    total = sum(r["enrollments"] for r in rows)
    return [
        {"band": r["age_band"], "count": int(r["enrollments"]), "share": rate(r["enrollments"], total)} for r in rows
    ]


# ------------------------------------------------------- canaries, reconciliation


def canaries(q: Request) -> list[dict[str, Any]]:
    f = q.effective_filters.cohort_params()
    return q.engine.rows("canaries", as_of=q.as_of, states=f["states"], issuers=f["issuers"])


def reconciliation(q: Request) -> list[dict[str, Any]]:
    return [
        {
            "issuer_id": r["issuer_id"],
            "matched": int(r["matched"]),
            "field_mismatch": int(r["field_mismatch"]),
            "exchange_only": int(r["exchange_only"]),
            "issuer_only": int(r["issuer_only"]),
        }
        for r in q.engine.rows("reconciliation", **q.params())
    ]


# ------------------------------------------------ lists and trends behind the dashboard's numbers


def dropouts(q: Request, stage: str, limit: int) -> list[dict[str, Any]]:
    """Enrollments that reached the stage before `stage` but not `stage` (the drop-off, itemised)."""
    return q.engine.rows("funnel_dropouts", **q.params(), stage=stage, limit=int(limit))


def backlog_work_list(
    q: Request, stages: tuple[str, ...] | None, limit: int, deadline: str | None = None
) -> list[dict[str, Any]]:
    """The backlog itemised, longest wait first; `deadline` 'past_due' or 'at_risk' keeps only those."""
    return q.engine.rows(
        "backlog_work_list", **q.params(), stages=list(stages) if stages else None, deadline=deadline, limit=int(limit)
    )


def errors_by_issuer(q: Request) -> list[dict[str, Any]]:
    return [{**r, "rate": rate(r["errored"], r["sent"])} for r in q.engine.rows("errors_by_issuer", **q.params())]


def never_sent_trend(
    q: Request, funnel_result: FunnelResult | None = None, never_sent_result: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The never-sent count as of the end of each day from the view's first plan selection, and as of T
    on T's own day: that day is `never_sent`'s (pass the results the caller has)."""
    funnel_result = funnel_result or funnel(q)
    first = funnel_result.first_plan_selected_at
    if first is None:
        return []
    never_sent_result = never_sent_result or never_sent(q)
    return [
        *_trend_days(q, "never_sent_trend", first),
        {"date": q.as_of.date(), "never_sent": never_sent_result["count"]},
    ]


def stage_counts_by_day(q: Request, funnel_result: FunnelResult | None = None) -> list[dict[str, Any]]:
    """Funnel counts (and cancellations) as of the end of each day from the view's first application, and
    as of T on T's own day: that day is the funnel's (pass it when the caller has it). Sparklines and
    week-over-week changes."""
    funnel_result = funnel_result or funnel(q)
    first = funnel_result.first_applied_at
    if first is None:
        return []
    counts = funnel_result.counts
    today = {"date": q.as_of.date(), **{s: counts[s] for s in STAGES}, "cancelled": funnel_result.cancelled}
    return [*_trend_days(q, "stage_counts_by_day", first), today]


def conversion_by_week(q: Request) -> list[dict[str, Any]]:
    return q.engine.rows("conversion_by_week", **q.params())


def time_to_convert_histogram(q: Request, stage_from: str, stage_to: str) -> list[dict[str, Any]]:
    return q.engine.rows("time_to_convert_histogram", **q.params(), stage_from=stage_from, stage_to=stage_to)


def reconciliation_work_list(q: Request, category: str, limit: int) -> list[dict[str, Any]]:
    return q.engine.rows("reconciliation_work_list", **q.params(), category=category, limit=int(limit))


def issuer_directory(engine: Engine) -> list[dict[str, Any]]:
    return engine.rows("issuer_directory")


def known_states(engine: Engine, scope: Scope | None = None) -> list[str]:
    """The state codes of enrollments and issuers.csv, of the issuers in scope: what a state filter can match."""
    issuers = scope.issuers if scope is not None else None
    return [r["state"] for r in engine.rows("known_states", issuers=list(issuers) if issuers is not None else None)]


def table_freshness(engine: Engine, now: datetime | None = None) -> list[dict[str, Any]]:
    return engine.rows("table_freshness", now=now or utc_now())


# --------------------------------------------- numbers derived from the results above (no query)


def change(value: float | None, previous: float | None) -> float | None:
    """The change of a number against an earlier as-of time; null when either side is null."""
    return None if value is None or previous is None else value - previous


def effectuation_rate(counts: dict[str, int]) -> float | None:
    """Effectuated ÷ plans selected."""
    return rate(counts["effectuated"], counts["plan_selected"])


def backlog_total(rows: list[dict[str, Any]]) -> int:
    """Everyone in the backlog, from `backlog` (stage × age bucket rows)."""
    return sum(r["count"] for r in rows)


def backlog_by_stage(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """stage -> {count, oldest_days} over the age buckets of `backlog`, every backlog stage present."""
    out: dict[str, dict[str, Any]] = {s: {"count": 0, "oldest_days": None} for s in BACKLOG_STAGES}
    for r in rows:
        stage = out[r["stage"]]
        stage["count"] += r["count"]
        if r["oldest_days"] is not None:
            stage["oldest_days"] = max(r["oldest_days"], stage["oldest_days"] or 0.0)
    return out


def oldest_wait(rows: list[dict[str, Any]]) -> float | None:
    """The longest wait in the backlog, in days; null when nobody waits."""
    ages = [r["oldest_days"] for r in rows if r["oldest_days"] is not None]
    return max(ages) if ages else None


def backlog_total_by_day(trend: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The backlog's size at the end of each day, from `backlog_trend` (date × stage rows)."""
    totals: dict[Any, int] = {}
    for r in trend:
        totals[r["date"]] = totals.get(r["date"], 0) + r["count"]
    return [{"date": day, "backlog": n} for day, n in totals.items()]


def effectuation_rate_by_day(by_day: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The effectuation rate as of the end of each day, from `stage_counts_by_day`."""
    return [{"date": r["date"], "effectuation_rate": effectuation_rate(r)} for r in by_day]


HEADLINE = (
    "applied",
    "plan_selected",
    "accepted_834",
    "paid",
    "effectuated",
    "effectuation_rate",
    "error_rate_recent",
    "never_sent",
    "backlog",
    "oldest_days",
    "at_risk",
    "past_due",
)


def headline(
    funnel_result: FunnelResult,
    errors_result: dict[str, Any],
    never_sent_result: dict[str, Any],
    backlog_rows: list[dict[str, Any]],
    risk: dict[str, int],
    errors_recent_result: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The headline numbers (each named in definitions.DEFINITIONS) from the results that hold them.
    The 834 error rate they lead with is the last 7 days' (`errors_recent`): a since-launch rate hides a fix."""
    counts = funnel_result.counts
    return {
        **{s: counts[s] for s in ("applied", "plan_selected", "accepted_834", "paid", "effectuated")},
        "effectuation_rate": effectuation_rate(counts),
        "error_rate_recent": errors_recent_result["rate"] if errors_recent_result else None,
        "never_sent": never_sent_result["count"],
        "backlog": backlog_total(backlog_rows),
        "oldest_days": oldest_wait(backlog_rows),
        "at_risk": risk["at_risk"],
        "past_due": risk["past_due"],
    }


def issuer_effectuation_rates(funnel_result: FunnelResult) -> list[dict[str, Any]]:
    """Per issuer: plans selected and effectuation rate (null with no plan selected)."""
    out = []
    for issuer, stages in funnel_result.by_issuer.items():
        counts = {s["stage"]: s["count"] for s in stages}
        out.append({"issuer_id": issuer, "selected": counts["plan_selected"], "rate": effectuation_rate(counts)})
    return out


# The funnel page's state map (decisions.md 'The state map'): a rate over fewer enrollments than this
# is drawn and written on its tile but not coloured, because a handful of enrollments cannot be judged.
STATE_MAP_MIN_DENOMINATOR = 30
STATE_MAP_MEASURES = ("effectuation_rate", *STAGES[1:])


def state_rates(
    funnel_result: FunnelResult, measure: str, *, min_denominator: int = STATE_MAP_MIN_DENOMINATOR
) -> dict[str, dict[str, Any]]:
    """Per state of the view, the state map's measure: `effectuation_rate` (effectuated ÷ plans selected)
    or a stage's step conversion (count at the stage ÷ count at the stage before), with its numerator,
    denominator and whether the denominator is large enough to judge (null value when it is 0)."""
    if measure not in STATE_MAP_MEASURES:
        raise ValueError(f"unknown state map measure {measure!r}; expected one of {', '.join(STATE_MAP_MEASURES)}")
    out = {}
    for state, stages in funnel_result.by_state.items():
        counts = {s["stage"]: s["count"] for s in stages}
        if measure == "effectuation_rate":
            numerator, denominator, value = counts["effectuated"], counts["plan_selected"], effectuation_rate(counts)
        else:
            at = STAGES.index(measure)
            numerator, denominator = counts[measure], counts[STAGES[at - 1]]
            value = stages[at]["step_conversion"]
        out[state] = {
            "value": value,
            "numerator": numerator,
            "denominator": denominator,
            "applied": counts["applied"],
            "judged": denominator >= min_denominator,
        }
    return out


def canary_summary(rows: list[dict[str, Any]]) -> dict[str, int]:
    """From `canaries`: how many there are, how many reached effectuation, how many are stuck."""
    return {
        "canaries": len(rows),
        "effectuated": sum(r["stage"] == "effectuated" for r in rows),
        "stuck": sum(bool(r["stuck"]) for r in rows),
    }


def freshness(latest_event_at: datetime | None, now: datetime, stale_after_hours: float) -> tuple[float | None, bool]:
    """(how old a table's newest event is in days, whether that is stale); a table with no event is stale."""
    if latest_event_at is None:
        return None, True
    age_hours = (now - latest_event_at).total_seconds() / 3600
    return age_hours / 24, age_hours > stale_after_hours


# ------------------------------------------------------------------- signals (docs/signals.md)

RECENT_DAYS = 7  # the current rates' window
COMPARISON_DAYS = 28  # the issuer comparison's window for the 834 error rate
# how long after its day a unit's failure may still happen (a day is judged once it is this old)
MATURITY_LAG = {
    "error_834": timedelta(hours=48),
    "redirect_failure": timedelta(0),
    "late_834": timedelta(hours=24),
}


def _filter_lists(q: Request) -> dict[str, list[str] | None]:
    f = q.effective_filters.cohort_params()
    return {"states": f["states"], "issuers": f["issuers"]}


def errors_recent(q: Request) -> dict[str, Any]:
    """The 834 error rate (and each category's) of the outbound 834s sent in the last 7 days."""
    totals = _summed_error_counts(q.engine.rows("recent_errors_by_issuer", **_recent(q, RECENT_DAYS)))
    return {"window_days": RECENT_DAYS, **_with_rates(totals)}


def _recent(q: Request, days: int) -> dict[str, Any]:
    return {"as_of": q.as_of, "window_days": days, **_filter_lists(q)}


def _summed_error_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    keys = ("sent", "errored", *ERROR_CATEGORIES)
    return {k: sum(int(r[k]) for r in rows) for k in keys}


def is_mature(day: date, as_of: datetime, metric: str) -> bool:
    """A day is judged once its end is at least the metric's maturity lag before the as-of time."""
    return datetime(day.year, day.month, day.day) + timedelta(days=1) <= as_of - MATURITY_LAG[metric]


def release_inside_view(release: dict[str, Any], q: Request) -> bool:
    """A release concerns the view: it has no issuer, or its issuer passes the issuer filter, its
    state (issuers.csv) the state filter, and the caller's scope includes it."""
    issuer = release["issuer_id"]
    if issuer is None:
        return True
    f = q.effective_filters  # the scope already narrowed the issuer filter
    if f.issuers is not None and issuer not in f.issuers:
        return False
    return f.states is None or release["issuer_state"] in f.states


def control_chart(q: Request, metric: str, chart_releases: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The Laney p' chart of one release metric: one entry per day from the first to the last day
    with units, each with its phase, and for mature days its centre, limits and signal."""
    counts = {r["date"]: r for r in q.engine.rows("signal_daily", metric=metric, as_of=q.as_of, **_filter_lists(q))}
    if not counts:
        return []
    first, last = min(counts), max(counts)
    days = []
    day = first
    while day <= last:
        row = counts.get(day)
        n, x = (int(row["n"]), int(row["x"])) if row else (0, 0)
        days.append({"date": day, "n": n, "x": x, "mature": is_mature(day, q.as_of, metric)})
        day += timedelta(days=1)
    released = releases(q) if chart_releases is None else chart_releases
    phase_starts = [
        (r["deployed_at"].date(), r["release_id"])
        for r in released
        if r["metric"] == metric and release_inside_view(r, q)
    ]
    return signals.control_chart(days, phase_starts)


def control_charts(q: Request) -> dict[str, list[dict[str, Any]]]:
    released = releases(q)
    return {metric: control_chart(q, metric, released) for metric in RELEASE_METRICS}


def release_its(q: Request, its_days: int = DEFAULT_ITS_DAYS) -> dict[str, dict[str, Any]]:
    """release_id -> the trend-adjusted judgement on the release's own metric, with its comparison
    group's (issuer-specific releases) beside it."""
    periods: dict[tuple[str, str], list[tuple[int, int, int]]] = {}
    metric_of: dict[str, str] = {}
    for metric in RELEASE_METRICS:
        rows = q.engine.rows(
            "signal_periods",
            metric=metric,
            as_of=q.as_of,
            until=q.as_of - MATURITY_LAG[metric],
            its_days=int(its_days),
            release_issuers=list(q.scope.issuers) if q.scope.issuers is not None else None,
            **_filter_lists(q),
        )
        for r in rows:
            periods.setdefault((r["release_id"], r["unit_group"]), []).append((int(r["k"]), int(r["n"]), int(r["x"])))
    out = {}
    for release in releases(q):
        rid, metric = release["release_id"], release["metric"]
        metric_of[rid] = metric
        judged = signals.its_judgement(periods.get((rid, "release"), []), metric)
        judged["comparison"] = (
            signals.its_judgement(periods.get((rid, "comparison"), []), metric, with_verdict=False)
            if release["issuer_id"] is not None
            else None
        )
        out[rid] = judged
    return out


def issuer_comparison(q: Request, funnel_result: FunnelResult | None = None) -> dict[str, Any]:
    """Funnel plots: each issuer's 834 error rate (last 28 days) and effectuation rate against all
    issuers in the view; each part null when the caller sees fewer than 3 issuers with units."""
    errors_rows = q.engine.rows("recent_errors_by_issuer", **_recent(q, COMPARISON_DAYS))
    funnel_result = funnel_result or funnel(q)
    effectuation_rows = []
    for issuer, stages in sorted(funnel_result.by_issuer.items()):
        counts = {s["stage"]: s["count"] for s in stages}
        effectuation_rows.append((issuer, counts["plan_selected"], counts["effectuated"]))
    return {
        "error_834": signals.issuer_comparison(
            [(r["issuer_id"], int(r["sent"]), int(r["errored"])) for r in errors_rows]
        ),
        "effectuation": signals.issuer_comparison(effectuation_rows),
    }


def coverage_deadlines(q: Request) -> list[dict[str, Any]]:
    """Per coverage start date: how many chose a plan for it, paid, are effectuated and are still
    unpaid; the binder payment's due date and days left; the last 7 days' pace and the projection."""
    today = q.as_of.date()
    out = []
    for r in q.engine.rows("coverage_deadlines", **q.params()):
        due = r["coverage_start"] - timedelta(days=1)
        days_left = (due - today).days
        selected, paid = int(r["selected"]), int(r["paid"])
        unpaid = selected - paid
        pace = int(r["paid_recently"]) / RECENT_DAYS
        out.append(
            {
                "coverage_start": r["coverage_start"],
                "due_date": due,
                "days_left": days_left,
                "selected": selected,
                "paid": paid,
                "effectuated": int(r["effectuated"]),
                "unpaid": unpaid,
                "pace": pace,
                "projected_unpaid": signals.projected_unpaid(unpaid, pace, days_left),
            }
        )
    return out


def nearest_coverage_deadline(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The coverage start the Overview leads with: the nearest whose due date is today or later,
    else the latest past one; None without any."""
    upcoming = [r for r in rows if r["days_left"] >= 0]
    if upcoming:
        return min(upcoming, key=lambda r: r["due_date"])
    return max(rows, key=lambda r: r["due_date"]) if rows else None


def release_verdicts(fixes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """release_id -> its trend-adjusted judgement (`fix_impact`'s `its`), for the release markers."""
    return {f["release_id"]: f["its"] for f in fixes}


def signal_runs(chart: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a control chart's signals say, as runs: {kind, first, last, days} per stretch of days.

    A shift is reported from the first day of its run (the 7 days before the first flagged one
    included): "Dec 2–9: 8 days below the centre line". Points beyond a limit on successive chart
    days are one stretch. Immature days and days without units neither break nor join a run."""
    judged = [day for day in chart if day["mature"] and day["n"]]
    runs: list[dict[str, Any]] = []
    # shifts: each maximal run of days on one side of the centre, within a phase, of 8 days or more
    side, phase, start = None, object(), 0
    for i, day in enumerate([*judged, None]):
        here = None if day is None else (day["rate"] > day["centre"]) - (day["rate"] < day["centre"])
        if day is None or here != side or here == 0 or day["phase"] != phase:
            flagged = [d for d in judged[start:i] if d["signal"] in ("shift_up", "shift_down")]
            if side and flagged:
                kind = "shift_up" if side > 0 else "shift_down"
                runs.append(
                    {"kind": kind, "first": judged[start]["date"], "last": judged[i - 1]["date"], "days": i - start}
                )
            if day is not None:
                side, phase, start = here, day["phase"], i
    # points beyond a limit, grouped while they follow each other on the chart
    for kind in ("above", "below"):
        first = None
        for i, day in enumerate([*judged, None]):
            hit = day is not None and day["signal"] == kind
            if hit and first is None:
                first = i
            elif not hit and first is not None:
                runs.append(
                    {"kind": kind, "first": judged[first]["date"], "last": judged[i - 1]["date"], "days": i - first}
                )
                first = None
    return sorted(runs, key=lambda r: (r["first"], r["kind"]))
