"""The one registry of names: stages, backlog stages, error and reconciliation categories, and every
number the dashboard shows, each with its label, format and meaning (docs/metrics.md).

Pages, charts, the stand-up screen and downloads take their words and number formats from here;
colours are in `theme.py`; the numbers themselves come from `metrics.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

# ------------------------------------------------------------------------------------------ names

STAGES = ("applied", "plan_selected", "sent_834", "accepted_834", "reached_payment", "paid", "effectuated")
BACKLOG_STAGES = ("awaiting_834", "awaiting_ack", "awaiting_payment_page", "awaiting_payment", "awaiting_effectuation")
AGE_BUCKETS = ("0-1", "1-3", "3-7", "7-14", "14-30", "30+")
ERROR_CATEGORIES = ("rejected", "unacknowledged", "duplicate", "mismatch", "unmatched")
RECONCILIATION_CATEGORIES = ("matched", "field_mismatch", "exchange_only", "issuer_only")

STAGE_LABELS = {
    "applied": "Applied",
    "plan_selected": "Plan selected",
    "sent_834": "834 sent",
    "accepted_834": "834 accepted",
    "reached_payment": "Reached payment page",
    "paid": "Paid",
    "effectuated": "Effectuated",
}
BACKLOG_LABELS = {
    "awaiting_834": "Awaiting 834",
    "awaiting_ack": "Awaiting acknowledgement",
    "awaiting_payment_page": "Awaiting payment page",
    "awaiting_payment": "Awaiting binder payment",
    "awaiting_effectuation": "Awaiting effectuation",
}
CATEGORY_LABELS = {
    "errored": "Any error",
    "rejected": "Rejected",
    "unacknowledged": "Unacknowledged 48 h+",
    "duplicate": "Duplicate",
    "mismatch": "Field mismatch",
    "unmatched": "Unmatched",
}
RECONCILIATION_LABELS = {
    "matched": "Matched",
    "field_mismatch": "Field mismatch",
    "exchange_only": "Exchange only",
    "issuer_only": "Issuer only",
}
# a backlog work list's binder-payment deadline status (metrics.md)
DEADLINE_LABELS = {"past_due": "Past due", "at_risk": "At risk"}


# ------------------------------------------------------------------------- signals (docs/signals.md)

RELEASE_METRIC_LABELS = {
    "error_834": "834 error rate",
    "redirect_failure": "Payment redirect failure rate",
    "late_834": "Late 834 rate (none within 24 h of plan selection)",
}
RELEASE_METRIC_UNITS = {"error_834": "834s", "redirect_failure": "redirects", "late_834": "plans selected"}
RELEASE_METRIC_AXES = {
    "error_834": "share of 834s sent that day with an error",
    "redirect_failure": "share of payment redirects that failed",
    "late_834": "share of plan selections with no 834 within 24 h",
}
SIGNAL_LABELS = {
    "above": "above the upper limit",
    "below": "below the lower limit",
    "shift_up": "8+ days in a row above the centre line",
    "shift_down": "8+ days in a row below the centre line",
}
VERDICT_SYMBOLS = {
    "improved": "▼ improved",
    "worse": "▲ worse",
    "no clear change": "● no clear change",
    "too little data": "○ too little data",
}
FUNNEL_MEASURES = {
    "error_834": {
        "title": "834 error rate by issuer, last 28 days",
        "axis": "share of the issuer's 834s with an error",
        "volume": "outbound 834s sent in the last 28 days (log scale)",
        "high_is_bad": True,
    },
    "effectuation": {
        "title": "Effectuation rate by issuer",
        "axis": "effectuated ÷ plans selected",
        "volume": "plans selected (log scale)",
        "high_is_bad": False,
    },
}
FUNNEL_FLAG_LABELS = {
    "high_99.8": "above the 99.8% limit",
    "high_95": "above the 95% limit",
    "within": "within the limits",
    "low_95": "below the 95% limit",
    "low_99.8": "below the 99.8% limit",
}


def verdict_text(release: dict, judged: dict) -> str:
    """One line on a release's trend-adjusted judgement (its `its` block), for tooltips and tables."""
    metric = RELEASE_METRIC_LABELS[judged["metric"]].split(" (")[0].lower()
    head = f"{release['release_id']}: {judged['verdict']} on the {metric}"
    if judged["rate_before"] is None:
        return f"{head} ({judged['periods_before']} days before, {judged['periods_after']} after)"
    rates = f"{format_value('rate', judged['rate_before'])} → {format_value('rate', judged['rate_after'])}"
    if judged["method"] == "its":
        return (
            f"{head}: modelled rate {rates} at the release, odds ratio {judged['odds_ratio']:.2f} "
            f"(95% CI {judged['ci_low']:.2f}–{judged['ci_high']:.2f}), trend-adjusted"
        )
    return f"{head}: {rates} before/after (the trend model could not be fitted)"


# ---------------------------------------------------------------------------------------- numbers


@dataclass(frozen=True)
class Definition:
    label: str
    fmt: str  # "count", "rate", "days" or "hours"
    description: str
    higher_is_better: bool = True


DEFINITIONS = {
    "applied": Definition("Applications", "count", "Enrollments whose application was submitted by the as-of time."),
    "plan_selected": Definition("Plans selected", "count", "Enrollments with a plan selected."),
    "accepted_834": Definition(
        "834 accepted", "count", "Enrollments whose initial 834 the issuer accepted (999 code A or E)."
    ),
    "paid": Definition("Paid", "count", "Enrollments with a binder payment made, or nothing to pay (100% subsidy)."),
    "effectuated": Definition("Effectuated", "count", "Enrollments the issuer confirmed with an effectuation 834."),
    "effectuation_rate": Definition("Effectuation rate", "rate", "Effectuated ÷ plans selected."),
    "error_rate": Definition(
        "834 error rate since launch",
        "rate",
        "Outbound 834s with at least one problem (rejected, unacknowledged 48 h+, duplicate, "
        "field mismatch, unmatched) ÷ outbound 834s sent.",
        higher_is_better=False,
    ),
    "never_sent": Definition(
        "Never sent",
        "count",
        "Enrollments not cancelled, plan selected 24 h+ ago, with no initial 834 to their issuer.",
        higher_is_better=False,
    ),
    "backlog": Definition(
        "Backlog", "count", "Enrollments waiting at a back-end stage (not cancelled).", higher_is_better=False
    ),
    "oldest_days": Definition(
        "Oldest in backlog", "days", "The longest wait in the backlog, in days.", higher_is_better=False
    ),
    "at_risk": Definition(
        "At risk",
        "count",
        "In the backlog before effectuation, binder payment due within the next 7 days.",
        higher_is_better=False,
    ),
    "past_due": Definition(
        "Think they are covered, are not",
        "count",
        "Past due: in the backlog before effectuation with the binder payment's due date passed. They "
        "chose a plan and believe they are covered; they are not.",
        higher_is_better=False,
    ),
    "error_rate_recent": Definition(
        "834 error rate, last 7 days",
        "rate",
        "Outbound 834s sent in the last 7 days with at least one problem (rejected, unacknowledged 48 h+, "
        "duplicate, field mismatch, unmatched) ÷ those sent. Recent 834s can still become unacknowledged.",
        higher_is_better=False,
    ),
    "cancelled": Definition("Cancelled (kept at the stages they reached)", "count", "Enrollments cancelled."),
}


# a number that does not exist (a rate with nothing to divide by, a change with too few 834s): the one
# place its mark is chosen; the reason goes in the column's or the tile's help
MISSING = "—"


def format_value(fmt: str, value) -> str:
    """A number as every page shows it; '—' when it does not exist (a rate with nothing to divide by)."""
    if value is None or value != value:  # None or NaN
        return MISSING
    if fmt == "rate":
        return f"{value:.1%}"
    if fmt == "days":
        return f"{value:,.1f} d"
    if fmt == "hours":
        return f"{value:,.1f} h"
    return f"{int(value):,}"


def format_delta(fmt: str, value) -> str | None:
    """A change as every page shows it: percentage points for rates, a signed count otherwise; no change
    is '±0' (neither up nor down)."""
    if value is None:
        return None
    if value == 0:
        return {"rate": "±0.0 pts", "days": "±0.0 d", "hours": "±0.0 h"}.get(fmt, "±0")
    if fmt == "rate":
        return f"{value * 100:+.1f} pts"
    if fmt == "days":
        return f"{value:+,.1f} d"
    if fmt == "hours":
        return f"{value:+,.1f} h"
    return f"{int(value):+,}"


def label(name: str) -> str:
    return DEFINITIONS[name].label


def shown(name: str, value) -> str:
    """The value of the named number, formatted as that number is everywhere."""
    return format_value(DEFINITIONS[name].fmt, value)


def shown_change(name: str, change) -> str | None:
    return format_delta(DEFINITIONS[name].fmt, change)


# The funnel page's state map: what a tile's colour can show (metrics.state_rates), as the picker and the
# colour bar name it.
STATE_MAP_MEASURE_LABELS = {
    "effectuation_rate": "Effectuation rate (plan selected → effectuated)",
    **{s: f"Conversion: {STAGE_LABELS[a]} → {STAGE_LABELS[s]}" for a, s in zip(STAGES, STAGES[1:], strict=False)},
}
STATE_MAP_DENOMINATOR_UNITS = {
    "effectuation_rate": "plans selected",
    **{s: f"enrollments that reached '{STAGE_LABELS[a]}'" for a, s in zip(STAGES, STAGES[1:], strict=False)},
}
