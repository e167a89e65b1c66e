"""Shared page furniture: the filters in force, export problems, empty states and CSV downloads."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from . import charts, metrics, serving, signals
from .definitions import (
    DEFINITIONS,
    FUNNEL_FLAG_LABELS,
    FUNNEL_MEASURES,
    MISSING,
    RELEASE_METRIC_LABELS,
    RELEASE_METRIC_UNITS,
    SIGNAL_LABELS,
    STAGE_LABELS,
    VERDICT_SYMBOLS,
    format_delta,
    format_value,
)
from .report import iso_utc

ALL_TABLES = ("enrollments", "transactions_834", "payments", "issuers", "releases")


def describe_filters(view: serving.View) -> str:
    f = view.filters
    names = serving.issuer_names(view)
    if view.as_of == view.latest:
        when = " (latest in the export)"
    elif view.as_of < view.latest:
        when = " (replaying an earlier day)"
    else:  # the app warns when this is further off than the staleness threshold
        when = f" (after the export's latest event, {iso_utc(view.latest)})"
    parts = [f"as of **{iso_utc(view.as_of)}**" + when]
    if f.date_from or f.date_to:
        parts.append(f"applications {f.date_from or '…'} to {f.date_to or '…'} (end excluded)")
    parts.append("states: " + (", ".join(f.states) if f.states else "all"))
    parts.append("issuers: " + (", ".join(names.get(i, i) for i in f.issuers) if f.issuers else "all"))
    return " · ".join(parts)


def filter_lines(view: serving.View) -> list[str]:
    """The filters in force, for the top of a downloaded file."""
    f = view.filters
    return [
        f"# as_of: {iso_utc(view.as_of)}",
        f"# export: {view.export.export_dir}",
        f"# applications from: {f.date_from or 'any'}",
        f"# applications to (excluded): {f.date_to or 'any'}",
        f"# states: {' '.join(f.states) if f.states else 'all'}",
        f"# issuers: {' '.join(f.issuers) if f.issuers else 'all'}",
    ]


def header(view: serving.View, title: str, question: str) -> None:
    st.title(title)
    st.caption(question)
    st.markdown(describe_filters(view))


def guard(export: serving.LoadedExport, tables: Iterable[str] = ALL_TABLES, *, title: str | None = None) -> bool:
    """Show the export problems a page's numbers depend on; False when the page cannot be drawn."""
    if title and (export.engine is None or export.table_errors(tuple(tables))):
        st.title(title)
    if export.engine is None:
        st.error(
            "The export cannot be read:\n\n" + "\n".join(f"- {p.located(export.export_dir)}" for p in export.problems)
        )
        return False
    problems = export.table_errors(tuple(tables))
    if problems:
        st.error(
            "This page needs data the export does not provide correctly. Fix the export, or see "
            "**Data health** for every problem:\n\n" + "\n".join(f"- {p.located(export.export_dir)}" for p in problems)
        )
        return False
    return True


def empty(message: str = "No enrollments match these filters.") -> None:
    st.info(message, icon=":material/filter_alt_off:")


def csv_download(
    view: serving.View,
    fetch: Callable[[], list[dict[str, Any]]],
    label: str,
    file_name: str,
    key: str,
    *,
    available: bool = True,
) -> None:
    """A CSV of the rows `fetch()` returns, with the filters in force written at its top.

    The rows are fetched and the file built only when the button is clicked: a full work list can
    hold hundreds of thousands of rows, which the page itself never needs."""

    def build() -> str:
        buffer = io.StringIO()
        buffer.write("\n".join(filter_lines(view)) + "\n")
        pd.DataFrame(fetch()).to_csv(buffer, index=False)
        return buffer.getvalue()

    st.download_button(
        label,
        build,
        file_name=file_name,
        mime="text/csv",
        key=key,
        on_click="ignore",
        icon=":material/download:",
        disabled=not available,
    )


# a tile's label and "vs a week earlier" wrap instead of ending in "…" (four tiles to a 1366 px row cut
# "Think they are covered, are not")
TILE_LABELS_WRAP = (
    '<style>[data-testid="stMetricLabel"] *, [data-testid="stMetricDeltaDescription"] '
    "{white-space: normal !important; text-overflow: clip !important;}</style>"
)


def kpi(
    column, name: str, value: Any, previous: Any = None, *, series: list | None = None, period: str = "week"
) -> None:
    d = DEFINITIONS[name]
    delta = metrics.change(value, previous)
    column.metric(
        d.label,
        format_value(d.fmt, value),
        delta=format_delta(d.fmt, delta),
        # no change is neither good nor bad: grey '±0', no arrow
        delta_color="off" if delta == 0 else "normal" if d.higher_is_better else "inverse",
        delta_arrow="off" if delta == 0 else "auto",
        help=d.description,
        border=True,
        chart_data=series if series else None,
        chart_type="line",
        delta_description=f"vs a {period} earlier" if delta is not None else None,
    )


def day_end_series(rows: list[dict[str, Any]], key: str, days: int = 30) -> list:
    """The last `days` values of a daily series, for a sparkline (a day with no rate drawn at 0)."""
    return [r[key] if r[key] is not None else 0 for r in rows[-days:]]


def named(view: serving.View, rows: list[dict[str, Any]], key: str = "issuer_id") -> list[dict[str, Any]]:
    names = serving.issuer_names(view)
    return [{**r, "name": names.get(r[key], r[key])} for r in rows]


def stage_table(stages: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(stages)
    frame["stage"] = frame["stage"].map(STAGE_LABELS)
    return frame.rename(
        columns={
            "stage": "Stage",
            "count": "Enrollments",
            "step_conversion": "Step conversion",
            "overall_conversion": "Overall conversion",
            "drop_off": "Drop-off",
        }
    )


# short headers (the full name in each one's tooltip): the five columns fit half a 1366 px screen
STAGE_TABLE_CONFIG = {
    "Step conversion": st.column_config.NumberColumn(
        "Step", format="percent", help="Step conversion: count ÷ count at the stage before"
    ),
    "Overall conversion": st.column_config.NumberColumn(
        "Overall", format="percent", help="Overall conversion: count ÷ applications"
    ),
    "Enrollments": st.column_config.NumberColumn(format="localized"),
    "Drop-off": st.column_config.NumberColumn(format="localized"),
}


def as_of_text(value: datetime) -> str:
    return iso_utc(value) or ""


# ------------------------------------------------------------------------- signals (docs/signals.md)

CONTROL_CHART_HOW_TO_READ = (
    "How to read this: the line is the daily rate; the solid grey line is the current phase's average and the "
    "shaded band the range a day falls in by chance alone (wider on days with few units). A new phase starts at "
    "each release meant to fix this failure. Only marked days are real changes: outside the band, or 8+ days in a "
    "row on one side of the centre. Faded days at the right are too recent to judge."
)
FUNNEL_PLOT_HOW_TO_READ = (
    "How to read this: each dot is an issuer, its volume across (log scale) and its rate up. The horizontal line "
    "is the rate of all issuers in view; the funnel narrows as volume grows, because a big issuer's rate moves "
    "less by chance. Only an issuer outside the funnel is unusual: outside the dashed lines (95%) is worth a "
    "look, outside the solid lines (99.8%) is almost certainly real. By chance alone about 1 issuer in 20 falls "
    "outside the 95% limits, so among many issuers start with those outside the 99.8% limits."
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


def signal_list(chart: list[dict[str, Any]], *, columns: int = 2) -> None:
    """The signals under a control chart, in words; or that there is none, or nothing to judge yet.
    A long list is laid out in `columns` columns (1 where the chart itself sits in a narrow column)."""
    runs = metrics.signal_runs(chart)
    if runs:
        bullets = [
            f"- {':red[▲]' if run['kind'] in ('above', 'shift_up') else ':green[▼]'} {signal_run_text(run)}"
            for run in runs
        ]
        st.markdown("**Real changes on this chart** (lower is better):")
        if columns > 1 and len(bullets) > 4:
            per_column = -(-len(bullets) // columns)
            for column, start in zip(st.columns(columns), range(0, len(bullets), per_column), strict=False):
                column.markdown("\n".join(bullets[start : start + per_column]))
        else:
            st.markdown("\n".join(bullets))
    elif any(day["mature"] and day["n"] for day in chart):
        st.markdown(
            "**No real change on this chart**: every day judged is inside the limits, and no 8 days in a row "
            "sit on one side of the centre line."
        )
    else:
        st.markdown("**Nothing to judge yet**: every day with units is too recent.")


def release_markers(view: serving.View, fixes: list[dict[str, Any]] | None = None) -> tuple[list, dict]:
    """(releases, verdicts) for the release markers of a trend chart: every release the caller may see,
    each with its trend-adjusted verdict (`fix_impact`'s `its`)."""
    # without the page's fix impact, only the verdicts: the 7-day comparison is not computed for markers
    verdicts = serving.get(view, "release_its") if fixes is None else metrics.release_verdicts(fixes)
    return serving.get(view, "releases"), verdicts


def control_chart_panel(
    view: serving.View,
    metric: str,
    *,
    key: str,
    fixes: list[dict[str, Any]] | None = None,
    height: int = 380,
    how_to_read: bool = True,
    list_columns: int = 2,
) -> list[dict[str, Any]]:
    """A metric's Laney p' chart for the view, its releases with their verdicts, its signals in words
    and a line on how to read it; 'no data' when the view has no unit of that metric."""
    chart = serving.get(view, "control_chart", metric=metric)
    if not chart:
        empty(
            f"No data: no {RELEASE_METRIC_UNITS[metric]} in this view, so there is no "
            f"{RELEASE_METRIC_LABELS[metric].split(' (')[0].lower()} to chart."
        )
        return chart
    releases, verdicts = release_markers(view, fixes)
    st.plotly_chart(charts.control_chart(chart, releases, metric=metric, verdicts=verdicts, height=height), key=key)
    small = small_days_note(chart, metric)
    if small:
        st.caption(small)
    signal_list(chart, columns=list_columns)
    if how_to_read:
        st.caption(CONTROL_CHART_HOW_TO_READ)
    return chart


def small_days_note(chart: list[dict[str, Any]], metric: str) -> str | None:
    """Said under a control chart whose typical day has fewer than charts.MIN_SENT_FOR_SCALE units (a
    small issuer): its days swing between 0% and 100% and are too small to judge one by one."""
    sizes = sorted(day["n"] for day in chart if day["n"])
    if not sizes:
        return None
    median = sizes[len(sizes) // 2]
    if median >= charts.MIN_SENT_FOR_SCALE:
        return None
    units = RELEASE_METRIC_UNITS[metric]
    return (
        f"**Days too small to judge one by one**: a typical day here has {plural(median, units)}, so one failure "
        f"moves the day's rate by {1 / median:.0%} and single days swing between 0% and 100%. Read the centre "
        "line, the phases and the marked signals, not single days."
    )


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


def release_verdict_table(fixes: list[dict[str, Any]], names: dict[str, str], *, this_issuer: str | None = None):
    """Each release's trend-adjusted verdict on its own metric (fix_impact's `its`), one row each."""
    rows = []
    for f in fixes:
        judged = f["its"]
        issuer = f["issuer_id"]
        # key columns first (release, verdict, what it rests on): they fit 1366 px with the sidebar open;
        # the rest scroll into view, the release and verdict pinned beside them
        rows.append(
            {
                "Release": f["release_id"],
                "Verdict": VERDICT_SYMBOLS[judged["verdict"]],
                "Judged on": RELEASE_METRIC_LABELS[judged["metric"]].split(" (")[0],
                "Rate before → after": rates_text(judged),
                "Odds ratio (95% CI)": odds_text(judged),
                "p-value": p_value_text(judged["p_value"]),
                "For issuer": issuer_text(issuer, names, this_issuer) if issuer else "all",
                "Deployed (UTC)": f["deployed_at"],
                "Method": METHOD_LABELS[judged["method"]],
                "Other issuers, same model": comparison_text(judged["comparison"]) or MISSING,
                "Days before / after": f"{judged['periods_before']} / {judged['periods_after']}",
                "Units before / after": f"{judged['units_before']:,} / {judged['units_after']:,}",
            }
        )
    return pd.DataFrame(rows)


RELEASE_VERDICT_CONFIG = {
    "Release": st.column_config.TextColumn(pinned=True),
    "Verdict": st.column_config.TextColumn(
        pinned=True,
        help=f"○ too little data: a verdict needs {signals.MIN_PERIODS_PER_SIDE} days and "
        f"{signals.MIN_UNITS_PER_SIDE} units on each side of the release",
    ),
    "Deployed (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
    "Rate before → after": st.column_config.TextColumn(
        help="The modelled rate at the release without and with the change (trend-adjusted); for a release "
        "judged before/after, the rates of the two sides"
    ),
    "Other issuers, same model": st.column_config.TextColumn(
        help="For a release meant for one issuer: the same model on the other issuers' units; — for a release "
        "for all issuers"
    ),
    "Odds ratio (95% CI)": st.column_config.TextColumn(
        help="Below 1: the rate dropped at the release, beyond the trend already under way; — without a trend "
        "model (too little data, or judged before/after)"
    ),
}


def release_verdicts_section(
    fixes: list[dict[str, Any]], names: dict[str, str], *, key: str, this_issuer: str | None = None
):
    """The trend-adjusted verdicts: one line each in words, the odds ratios drawn with their intervals,
    and the table of their numbers."""
    if not fixes:
        empty("No data: no release was deployed by the as-of time.")
        return None
    st.markdown("\n".join(f"- {verdict_line(f, names, this_issuer=this_issuer)}" for f in fixes))
    if any(f["its"]["odds_ratio"] is not None for f in fixes):
        st.plotly_chart(charts.release_odds_chart(fixes), key=key)
    table = release_verdict_table(fixes, names, this_issuer=this_issuer)
    with st.expander("The verdicts' numbers, as a table"):
        st.dataframe(table, hide_index=True, column_config=RELEASE_VERDICT_CONFIG)
    return table


def flagged_issuers_table(view: serving.View, part: dict[str, Any], measure: str) -> pd.DataFrame:
    """The issuers outside the 95% limits of a funnel plot, the worst first (by z)."""
    names = serving.issuer_names(view)
    volume, count, rate_label = FUNNEL_COLUMNS[measure]
    high_is_bad = FUNNEL_MEASURES[measure]["high_is_bad"]
    outside = sorted(
        (i for i in part["issuers"] if i["flag"] != "within"), key=lambda i: -i["z"] if high_is_bad else i["z"]
    )
    return pd.DataFrame(
        [
            {
                "Issuer": names.get(i["issuer_id"], i["issuer_id"]),
                volume: i["n"],
                count: i["x"],
                rate_label: i["rate"],
                "Where": FUNNEL_FLAG_LABELS[i["flag"]],
            }
            for i in outside
        ],
        columns=["Issuer", volume, count, rate_label, "Where"],
    )


def funnel_plot_panel(view: serving.View, measure: str, *, key: str) -> dict[str, Any] | None:
    """A measure's funnel plot with the issuers outside its limits named and listed; said why not
    when the caller sees fewer than 3 issuers with units (an account manager never sees one)."""
    part = serving.get(view, "issuer_comparison")[measure]
    if part is None:
        units = RELEASE_METRIC_UNITS.get(measure, "plans selected")
        empty(
            f"Comparing issuers needs at least 3 issuers with {units} in this view"
            + (" in the last 28 days" if measure == "error_834" else "")
            + "; this view has fewer."
        )
        return None
    names = serving.issuer_names(view)
    # on the plot an issuer goes by its name alone ('Name (id)' crowds it); the table gives the id
    short = {key: shown.removesuffix(f" ({key})") for key, shown in names.items()}
    st.plotly_chart(charts.funnel_plot(part, short, measure=measure, height=460), key=key)
    table = flagged_issuers_table(view, part, measure)
    volume, count, rate_label = FUNNEL_COLUMNS[measure]
    if table.empty:
        st.markdown(f"**Every one of the {len(part['issuers'])} issuers is inside the 95% limits**: none is unusual.")
    else:
        st.markdown(
            f"**Outside the 95% limits: {len(table)} of {len(part['issuers'])} issuers**, the furthest above first"
            if FUNNEL_MEASURES[measure]["high_is_bad"]
            else f"**Outside the 95% limits: {len(table)} of {len(part['issuers'])} issuers**, the furthest below first"
        )
        st.dataframe(
            table,
            hide_index=True,
            column_config={
                "Issuer": st.column_config.TextColumn(width="large"),
                volume: st.column_config.NumberColumn(format="localized"),
                count: st.column_config.NumberColumn(format="localized"),
                rate_label: st.column_config.NumberColumn(format="percent"),
            },
        )
    st.caption(FUNNEL_PLOT_HOW_TO_READ)
    return part
