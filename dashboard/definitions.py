"""Each number the dashboard shows, defined once: label, format, and what it means (metrics.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Definition:
    label: str
    fmt: str  # "count", "rate", "days"
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
        "834 error rate",
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
        "Past due",
        "count",
        "In the backlog before effectuation, binder payment due date passed: they believe "
        "they are covered and are not.",
        higher_is_better=False,
    ),
}


def format_value(fmt: str, value) -> str:
    if value is None:
        return "–"
    if fmt == "rate":
        return f"{value:.1%}"
    if fmt == "days":
        return f"{value:,.1f} d"
    return f"{int(value):,}"


def format_delta(fmt: str, value) -> str | None:
    if value is None:
        return None
    if fmt == "rate":
        return f"{value * 100:+.1f} pts"
    if fmt == "days":
        return f"{value:+,.1f} d"
    return f"{int(value):+,}"
