"""What the pages and the briefing say in words: signals, release verdicts, the coverage deadline.

Pure functions over the metric layer's rows (no Streamlit), so that a page and the printed briefing
(dashboard/briefing.py) say the same thing in the same words. Emphasis is markdown (`**bold**`,
`:red[...]`), which Streamlit renders and the briefing turns into HTML.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from . import definitions as d
from . import metrics, signals
from .definitions import (
    MISSING,
    RELEASE_METRIC_LABELS,
    RELEASE_METRIC_UNITS,
    SIGNAL_LABELS,
    VERDICT_SYMBOLS,
    format_delta,
    format_value,
)

# the comparison's columns, per funnel-plot measure: volume, failures (or successes), rate
FUNNEL_COLUMNS = {
    "error_834": ("834s sent, last 28 days", "With an error", "Error rate"),
    "effectuation": ("Plans selected", "Effectuated", "Effectuation rate"),
}


def day_span(first, last) -> str:
    """'Dec 17', 'Dec 2–9', 'Nov 28 – Dec 3', 'Dec 30, 2013 – Jan 9, 2014'."""
    if first == last:
        return f"{first:%b} {first.day}"
    if first.year != last.year:
        return f"{first:%b} {first.day}, {first.year} – {last:%b} {last.day}, {last.year}"
    if first.month == last.month:
        return f"{first:%b} {first.day}–{last.day}"
    return f"{first:%b} {first.day} – {last:%b} {last.day}"


def signal_run_text(run: dict[str, Any]) -> str:
    """One run of `metrics.signal_runs` in words: 'Dec 2–9: 8 days below the centre line',
    'Dec 17: above the upper limit', 'Oct 2–6: 5 days above the upper limit'."""
    label = SIGNAL_LABELS[run["kind"]]
    span = day_span(run["first"], run["last"])
    if run["kind"] in ("shift_up", "shift_down"):
        side = label.split(" in a row ")[-1]  # '8+ days in a row below the centre line' -> 'below the ...'
        return f"{span}: {plural(run['days'], 'days')} {side}"
    return f"{span}: {label}" if run["days"] == 1 else f"{span}: {plural(run['days'], 'days')} {label}"


def signal_lines(chart: list[dict[str, Any]]) -> list[str]:
    """What a control chart's signals say, one line per run, in date order (what the page lists)."""
    return [signal_run_text(run) for run in metrics.signal_runs(chart)]


def ratio_text(value: float | None) -> str:
    """An odds ratio: two decimals, two significant digits below 0.1 (0.0074, not 0.01)."""
    if value is None:
        return MISSING
    return f"{value:.2f}" if value >= 0.1 else f"{value:.2g}"


def interval_text(low: float | None, high: float | None) -> str:
    return MISSING if low is None or high is None else f"{ratio_text(low)}–{ratio_text(high)}"


def p_value_text(value: float | None) -> str:
    if value is None:
        return MISSING
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def p_phrase(value: float | None) -> str:
    """'p < 0.001', 'p = 0.116'."""
    text = p_value_text(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def odds_text(judged: dict[str, Any]) -> str:
    """'0.38 (0.30–0.47)': the odds ratio with its 95% interval; '—' without a trend model."""
    if judged["odds_ratio"] is None:
        return MISSING
    return f"{ratio_text(judged['odds_ratio'])} ({interval_text(judged['ci_low'], judged['ci_high'])})"


def rates_text(judged: dict[str, Any]) -> str:
    """'26.6% → 12.0%': the rate before and after the release (modelled, or the sides' for before/after)."""
    if judged["rate_before"] is None:
        return MISSING
    return f"{format_value('rate', judged['rate_before'])} → {format_value('rate', judged['rate_after'])}"


def comparison_text(judged: dict[str, Any] | None) -> str:
    """The comparison group's odds ratio beside an issuer-specific release: 'other issuers: 1.19 (0.87–1.63)'."""
    if judged is None:
        return ""
    if judged["rate_before"] is None:
        return "other issuers: too little data"
    if judged["odds_ratio"] is None:  # judged before/after: no odds ratio
        return f"other issuers: {rates_text(judged)} before/after"
    return f"other issuers: {odds_text(judged)}"


METHOD_LABELS = {"its": "trend-adjusted", "before_after": "before/after"}
VERDICT_COLOURS = {"improved": "green", "worse": "red", "no clear change": "gray", "too little data": "gray"}


def issuer_text(issuer: str, names: dict[str, str], this_issuer: str | None = None) -> str:
    """A release's issuer as a page names it: 'this issuer' on that issuer's own view, else its name."""
    return "this issuer" if issuer == this_issuer else names.get(issuer, issuer)


UNIT_SINGULAR = {"834s": "834", "redirects": "redirect", "plans selected": "plan selected", "days": "day"}


def plural(count: int, word: str) -> str:
    """'1 day', '14 days', '1 834', '330 834s': a count with its word (given in the plural)."""
    return f"{count:,} {UNIT_SINGULAR.get(word, word) if count == 1 else word}"


def verdict_line(fix: dict[str, Any], names: dict[str, str], *, this_issuer: str | None = None) -> str:
    """One release's trend-adjusted verdict in words (markdown), with what it rests on:
    '▼ **R-2013-12-01-834** (… all issuers) on the 834 error rate: **improved**: 26.6% → 12.0% at the
    release, odds ratio 0.38 (0.30–0.47), p < 0.001, trend-adjusted'."""
    judged = fix["its"]
    symbol, word = VERDICT_SYMBOLS[judged["verdict"]].split(" ", 1)
    issuer = fix["issuer_id"]
    who = issuer_text(issuer, names, this_issuer) if issuer else "all issuers"
    metric = RELEASE_METRIC_LABELS[judged["metric"]].split(" (")[0]
    metric = metric[0].lower() + metric[1:]
    head = (
        f":{VERDICT_COLOURS[judged['verdict']]}[{symbol}] **{fix['release_id']}** "
        f"(deployed {fix['deployed_at']:%Y-%m-%d %H:%M} UTC, {who}) on the {metric}: **{word}**"
    )
    units = RELEASE_METRIC_UNITS[judged["metric"]]
    if judged["verdict"] == "too little data":
        body = (
            f"{plural(judged['periods_before'], 'days')} and {plural(judged['units_before'], units)} before it, "
            f"{plural(judged['periods_after'], 'days')} and {plural(judged['units_after'], units)} after; a verdict needs "
            f"{signals.MIN_PERIODS_PER_SIDE} days and {signals.MIN_UNITS_PER_SIDE} {units} on each side"
        )
    elif judged["method"] == "its":
        body = (
            f"{rates_text(judged)} at the release, odds ratio {odds_text(judged)}, "
            f"{p_phrase(judged['p_value'])}, "
            "trend-adjusted"
        )
    else:
        body = (
            f"{rates_text(judged)} before/after, change interval {format_delta('rate', judged['ci_low'])} to "
            f"{format_delta('rate', judged['ci_high'])}, {p_phrase(judged['p_value'])} (no trend model: a side "
            "had no failure, or only failures, or the model could not be fitted)"
        )
    comparison = comparison_text(judged["comparison"])
    overlapping = fix["overlapping_releases"]
    return (
        f"{head} — {body}"
        + (f"; {comparison}" if comparison else "")
        + (
            f" (also deployed within {metrics.DEFAULT_WINDOW_DAYS} days: {', '.join(overlapping)}; "
            "their effects cannot be told apart)"
            if overlapping
            else ""
        )
    )


# ------------------------------------------------------------------------- the coverage deadline


def count(value) -> str:
    return d.format_value("count", value)


def about(value: float) -> str:
    """A projection, to the nearest whole person (formatting only: the number is the metric's)."""
    return count(math.floor(value + 0.5))


def long_day(day: date) -> str:
    return f"{day:%B} {day.day}"


def short_day(day: date) -> str:
    return f"{day:%b} {day.day}"


def days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def pace_text(row: dict) -> str:
    return f"{row['pace']:,.1f} paid a day" if row["pace"] else "nobody paid"


def deadline_sentence(row: dict) -> str:
    """The coverage start as one sentence: who chose it, who paid, the due date, the projection."""
    head = f"**{long_day(row['coverage_start'])} coverage:**"
    chosen = f"{count(row['selected'])} chose a plan, {count(row['paid'])} paid"
    if row["days_left"] < 0:
        return (
            f"{head} {chosen}; the {short_day(row['due_date'])} due date passed {days(-row['days_left'])} ago: "
            f"**{count(row['unpaid'])} unpaid are past due**: they chose a plan and think they are covered; "
            "they are not."
        )
    when = (
        f"**due today** ({short_day(row['due_date'])})"
        if row["days_left"] == 0
        else f"**{days(row['days_left'])} to the {short_day(row['due_date'])} due date**"
    )
    if row["projected_unpaid"] == 0:
        projection = "all of them would have paid by the due date"
    else:
        projection = f"about **{about(row['projected_unpaid'])} will still be unpaid** at the due date"
    return (
        f"{head} {chosen}, **{count(row['unpaid'])} unpaid**, {when}; at the last 7 days' pace "
        f"({pace_text(row)}) {projection}."
    )


def past_due_sentence(row: dict) -> str:
    """A coverage start whose due date passed, behind the nearest one the panel leads with."""
    return (
        f"Past due: for {long_day(row['coverage_start'])} coverage the {short_day(row['due_date'])} due date "
        f"passed {days(-row['days_left'])} ago and **{count(row['unpaid'])} of its {count(row['selected'])} "
        "are still unpaid**: they think they are covered and are not."
    )
