"""Overview for leadership: will the people who chose a plan be covered on time, is the back end getting
better, did the weekend fixes work, and how many people think they are covered and are not?"""

import math
from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard import briefing, charts, serving, ui
from dashboard import definitions as d
from dashboard import metrics as m
from dashboard.report import iso_utc
from dashboard.wording import deadline_sentence, past_due_sentence

# the deadline's lead sentence in large type; tile labels and "vs a week earlier" wrap instead of ending in
# "…" (four tiles to a 1366 px row cut "Think they are covered, are not")
st.html(
    "<style>.deadline-lead p {font-size: 1.35rem; line-height: 1.45;}"
    '[data-testid="stMetricLabel"] *, [data-testid="stMetricDeltaDescription"] '
    "{white-space: normal !important; text-overflow: clip !important;}</style>"
)

view: serving.View = st.session_state["view"]
if not ui.guard(st.session_state["export"], title="Overview"):
    st.stop()
ui.header(
    view,
    "Overview",
    "Will the people who chose a plan be covered on the day it starts, is the back end getting better, "
    "did the weekend fixes work, and how many people think they are covered and are not?",
)


def briefing_button() -> None:
    """The morning briefing of this view as a PDF (dashboard/briefing.py), built only when clicked: the same
    document `python -m dashboard briefing` writes, within the reader's scope."""
    access = st.session_state.get("access")
    reader = access.identity if access is not None else None
    try:
        briefing.chromium_path()
        missing = None
    except briefing.BriefingError as exc:
        missing = str(exc)
    st.download_button(
        "Download briefing (PDF)",
        lambda: briefing.render(briefing.gather(view.request, reader=reader), "pdf"),
        file_name=f"{ui.download_stem(view, 'briefing')}.pdf",
        mime="application/pdf",
        key="briefing_pdf",
        on_click="ignore",
        icon=":material/picture_as_pdf:",
        disabled=missing is not None,
        help=missing
        or "The coverage deadline, current numbers, what changed, unusual issuers, the backlog, canaries and data "
        "freshness for this view, as a 2–4 page document for the review meeting (takes about 10 seconds).",
    )


briefing_button()

with st.spinner("Computing…"):
    week_ago = view.at(view.as_of - timedelta(days=7))
    funnel = serving.get(view, "funnel")
    deadlines = serving.get(view, "coverage_deadlines")
    # the backlog at each point of the 4-week sparklines, now and a week ago included, in one query
    backlog_back = serving.backlog_cells_back(view, serving.OVERVIEW_BACKLOG_DAYS)
    now, before = serving.headline(view, backlog_back[0]), serving.headline(week_ago, backlog_back[7])
    by_day = serving.get(view, "stage_counts_by_day")
    daily = serving.get(view, "errors_daily")
    never_trend = serving.get(view, "never_sent_trend")
    backlog_trend = serving.get(view, "backlog_trend", cells=backlog_back[0])


# ------------------------------------------------------------------------- the coverage deadline


def deadline_table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Coverage start": r["coverage_start"],
                "Due date": r["due_date"],
                "Days left": r["days_left"],
                "Selected": r["selected"],
                "Paid": r["paid"],
                "Effectuated": r["effectuated"],
                "Unpaid": r["unpaid"],
                # rounded here, as the lead sentence rounds them: the column's step truncates (124.57 showed 124.5)
                "Pace / day": round(r["pace"], 1),
                "Projected unpaid": math.floor(r["projected_unpaid"] + 0.5),
            }
            for r in rows
        ]
    )


DEADLINE_TABLE_CONFIG = {
    "Coverage start": st.column_config.DateColumn(format="YYYY-MM-DD"),
    "Due date": st.column_config.DateColumn(format="YYYY-MM-DD", help="The day before coverage starts."),
    "Days left": st.column_config.NumberColumn(
        format="%d", help="Due date − the as-of day; negative once the due date has passed."
    ),
    "Selected": st.column_config.NumberColumn(format="localized", help="Plan selected, not cancelled."),
    "Paid": st.column_config.NumberColumn(format="localized"),
    "Effectuated": st.column_config.NumberColumn(format="localized"),
    "Unpaid": st.column_config.NumberColumn(format="localized", help="Selected − paid."),
    "Pace / day": st.column_config.NumberColumn(
        format="localized", step=0.1, help="Of these, how many paid in the last 7 days, per day."
    ),
    "Projected unpaid": st.column_config.NumberColumn(
        format="localized",
        step=1,
        help="Unpaid − pace × (days left + 1) while days are left (never below 0); the unpaid once the due "
        "date has passed.",
    ),
}

with st.container(border=True, key="deadline_panel"):
    st.subheader("Coverage deadline")
    nearest = m.nearest_coverage_deadline(deadlines)
    if nearest is None:
        ui.empty(
            f"No data: nobody in this view has a plan selected for a coverage start date as of {iso_utc(view.as_of)}."
        )
    else:
        st.markdown(f'<div class="deadline-lead">\n\n{deadline_sentence(nearest)}\n\n</div>', unsafe_allow_html=True)
        if nearest["days_left"] >= 0:
            passed = m.nearest_coverage_deadline([r for r in deadlines if r["days_left"] < 0])
            if passed is not None and passed["unpaid"]:
                st.markdown(past_due_sentence(passed))
        st.dataframe(
            deadline_table(deadlines),
            column_config=DEADLINE_TABLE_CONFIG,
            hide_index=True,
            key="deadline_table",
        )
        st.caption(
            "Every coverage start date among the enrollments with a plan selected and not cancelled; the binder "
            "payment is due the day before coverage starts. Past due: people who chose a plan and believe they "
            "are covered, and are not."
        )


# ----------------------------------------------------------------------------- issuer comparison


def comparison_section() -> None:
    """The funnel plots (ui.funnel_plot_panel: the issuers outside the limits named on the plot and
    listed, how to read it, or why there is none), effectuation first: it is the Overview's question."""
    st.subheader("Issuers compared fairly")
    for measure in ("effectuation", "error_834"):
        st.markdown(f"**{d.FUNNEL_MEASURES[measure]['title']}**")
        drawn = ui.funnel_plot_panel(view, measure, key=f"overview_funnel_{measure}")
        if drawn is None and view.scope.issuers is not None:
            mine = serving.issuer_names(view)
            st.caption(
                f"Your access covers {', '.join(mine.get(i, i) for i in view.scope.issuers)}: a comparison "
                "would show you an average that includes other issuers' numbers."
            )


if funnel.total[0]["count"] == 0:
    ui.empty()
    comparison_section()
    st.stop()


# ---------------------------------------------------------------------------------------- tiles

series = {
    **{
        key: ui.day_end_series(by_day, key)
        for key in ("applied", "plan_selected", "accepted_834", "paid", "effectuated")
    },
    "effectuation_rate": ui.day_end_series(m.effectuation_rate_by_day(by_day), "effectuation_rate"),
    "error_rate_recent": ui.day_end_series(daily, "rate"),
    "never_sent": ui.day_end_series(never_trend, "never_sent"),
    "backlog": ui.day_end_series(m.backlog_total_by_day(backlog_trend), "backlog"),
}
# the oldest wait and the deadline counts have no daily series: one point a week over the last 4 weeks,
# each as of that day (the same numbers the tiles show then)
weekly = [
    {"oldest_days": m.oldest_wait(m.backlog_from_cells(cells)) or 0, **m.risk_from_cells(cells)}
    for cells in backlog_back.values()
]
series.update({key: [w[key] for w in weekly] for key in ("oldest_days", "at_risk", "past_due")})
# four to a row: at national scale a count has seven to nine digits, and six to a row cut them off
tiles = st.columns(4) + st.columns(4) + st.columns(4)
for column, key in zip(tiles, m.HEADLINE, strict=True):
    ui.kpi(column, key, now[key], before[key], series=series.get(key))
st.caption(
    "The 834 error rate tile is the last 7 days' (outbound 834s sent in the 7 days to the as-of time), against "
    "the 7 days before; the since-launch rate is on the 834 errors page. Every other change is against the "
    "same number as of seven days earlier. Sparklines show the last 30 days (each day as of its end; the 834 "
    "error rate as each day's own rate); those of the oldest wait, at risk and past due one point a week over "
    "the last 4 weeks."
)

left, right = st.columns([2, 3])
with left:
    st.subheader("Funnel")
    st.plotly_chart(charts.funnel_chart(funnel.total), key="overview_funnel")
with right:
    st.subheader("Daily 834 error rate, with every release")
    if daily:
        releases, verdicts = ui.release_markers(view)  # each release with its verdict (fix_impact's `its`)
        st.plotly_chart(charts.error_rate_chart(daily, releases, verdicts=verdicts), key="overview_errors")
        st.caption(
            "Each release line carries its trend-adjusted verdict on the failure it was meant to fix "
            f"({', '.join(d.VERDICT_SYMBOLS.values())}); hover its label for the numbers."
        )
    else:
        ui.empty("No outbound 834 was sent in this view.")

comparison_section()
