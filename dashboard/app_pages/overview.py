"""Overview for leadership: is the back end getting better, and how many people think they are covered and are not?"""

from datetime import timedelta

import streamlit as st

from dashboard import charts, serving, ui
from dashboard import metrics as m
from dashboard import theme as t

view: serving.View = st.session_state["view"]
if not ui.guard(st.session_state["export"], title="Overview"):
    st.stop()
ui.header(
    view,
    "Overview",
    "Is the back end getting better, did the weekend fixes work, and how many people "
    "think they are covered and are not?",
)

with st.spinner("Computing…"):
    week_ago = view.at(view.as_of - timedelta(days=7))
    funnel = serving.get(view, "funnel")
    now, before = serving.headline(view), serving.headline(week_ago)
    by_day = serving.get(view, "stage_counts_by_day")
    daily = serving.get(view, "errors_daily")
    never_trend = serving.get(view, "never_sent_trend")
    backlog_trend = serving.get(view, "backlog_trend")

if funnel.total[0]["count"] == 0:
    ui.empty()
    st.stop()

series = {
    **{
        key: ui.day_end_series(by_day, key)
        for key in ("applied", "plan_selected", "accepted_834", "paid", "effectuated")
    },
    "effectuation_rate": ui.day_end_series(m.effectuation_rate_by_day(by_day), "effectuation_rate"),
    "error_rate": ui.day_end_series(daily, "rate"),
    "never_sent": ui.day_end_series(never_trend, "never_sent"),
    "backlog": ui.day_end_series(m.backlog_total_by_day(backlog_trend), "backlog"),
}
# four to a row: at national scale a count has seven to nine digits, and six to a row cut them off
tiles = st.columns(4) + st.columns(4) + st.columns(4)
for column, key in zip(tiles, m.HEADLINE, strict=True):
    ui.kpi(column, key, now[key], before[key], series=series.get(key))
st.caption(
    "Changes are against the same numbers as of seven days earlier; sparklines show the last 30 days "
    "(each day as of its end; the 834 error rate as the daily rate)."
)

left, right = st.columns([2, 3])
with left:
    st.subheader("Funnel")
    st.plotly_chart(charts.funnel_chart(funnel.total), key="overview_funnel")
with right:
    st.subheader("Daily 834 error rate, with every release")
    if daily:
        st.plotly_chart(charts.error_rate_chart(daily, serving.get(view, "releases")), key="overview_errors")
    else:
        ui.empty("No outbound 834 was sent in this view.")

MIN_SELECTED, MIN_SENT = 30, 30
left, right = st.columns(2)
with left:
    st.subheader("Lowest effectuation rates")
    rows = [r for r in m.issuer_effectuation_rates(funnel) if r["selected"] >= MIN_SELECTED]
    worst = sorted(ui.named(view, rows), key=lambda r: (r["rate"], r["issuer_id"]))[:5]
    if worst:
        st.plotly_chart(
            charts.issuer_bar_chart(worst, "rate", "effectuated ÷ plans selected", color=t.STAGE_COLORS["effectuated"]),
            key="overview_worst_eff",
        )
    st.caption(f"Issuers with at least {MIN_SELECTED} plans selected in this view.")
with right:
    st.subheader("Highest 834 error rates")
    rows = [r for r in serving.get(view, "errors_by_issuer") if r["sent"] >= MIN_SENT]
    worst = sorted(ui.named(view, rows), key=lambda r: (-r["rate"], r["issuer_id"]))[:5]
    if worst:
        st.plotly_chart(
            charts.issuer_bar_chart(worst, "rate", "errored ÷ sent", color=t.CATEGORY_COLORS["errored"]),
            key="overview_worst_err",
        )
    st.caption(f"Issuers with at least {MIN_SENT} outbound 834s in this view.")
