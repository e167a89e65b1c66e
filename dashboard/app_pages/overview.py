"""Overview for leadership: is the back end getting better, and how many people think they are covered and are not?"""

from datetime import timedelta

import streamlit as st

from dashboard import charts, serving, ui
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
    funnel, funnel_before = serving.get(view, "funnel"), serving.get(week_ago, "funnel")
    errors, errors_before = serving.get(view, "errors"), serving.get(week_ago, "errors")
    never, never_before = serving.get(view, "never_sent"), serving.get(week_ago, "never_sent")
    backlog, backlog_before = serving.get(view, "backlog"), serving.get(week_ago, "backlog")
    risk, risk_before = serving.get(view, "payment_deadline_risk"), serving.get(week_ago, "payment_deadline_risk")
    by_day = serving.get(view, "stage_counts_by_day")
    daily = serving.get(view, "errors_daily")
    never_trend = serving.get(view, "never_sent_trend")
    backlog_trend = serving.get(view, "backlog_trend")
    fixes = serving.get(view, "fix_impact")

if funnel.total[0]["count"] == 0:
    ui.empty()
    st.stop()


def counts(result):
    return {s["stage"]: s["count"] for s in result.total}


def effectuation_rate(c):
    return c["effectuated"] / c["plan_selected"] if c["plan_selected"] else None


def backlog_total(rows):
    return sum(r["count"] for r in rows)


def oldest(rows):
    ages = [r["oldest_days"] for r in rows if r["oldest_days"] is not None]
    return max(ages) if ages else None


now, before = counts(funnel), counts(funnel_before)
# four to a row: at national scale a count has seven to nine digits, and six to a row cut them off
row1, row2, row3 = st.columns(4), st.columns(4), st.columns(4)
tiles = row1 + row2 + row3
for column, key in zip(tiles, ["applied", "plan_selected", "accepted_834", "paid", "effectuated"], strict=False):
    ui.kpi(column, key, now[key], before[key], series=ui.day_end_series(by_day, key))
ui.kpi(
    tiles[5],
    "effectuation_rate",
    effectuation_rate(now),
    effectuation_rate(before),
    series=[r["effectuated"] / r["plan_selected"] if r["plan_selected"] else 0 for r in by_day[-30:]],
)
ui.kpi(tiles[6], "error_rate", errors["rate"], errors_before["rate"], series=[d["rate"] or 0 for d in daily[-30:]])
ui.kpi(
    tiles[7], "never_sent", never["count"], never_before["count"], series=ui.day_end_series(never_trend, "never_sent")
)
trend_totals = {}
for r in backlog_trend:
    trend_totals[r["date"]] = trend_totals.get(r["date"], 0) + r["count"]
ui.kpi(
    tiles[8], "backlog", backlog_total(backlog), backlog_total(backlog_before), series=list(trend_totals.values())[-30:]
)
ui.kpi(tiles[9], "oldest_days", oldest(backlog), oldest(backlog_before))
ui.kpi(tiles[10], "at_risk", risk["at_risk"], risk_before["at_risk"])
ui.kpi(tiles[11], "past_due", risk["past_due"], risk_before["past_due"])
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
        st.plotly_chart(charts.error_rate_chart(daily, charts.release_rows(fixes)), key="overview_errors")
    else:
        ui.empty("No outbound 834 was sent in this view.")

MIN_SELECTED, MIN_SENT = 30, 30
left, right = st.columns(2)
with left:
    st.subheader("Lowest effectuation rates")
    rows = [
        {"issuer_id": k, "rate": v[6]["count"] / v[1]["count"], "selected": v[1]["count"]}
        for k, v in funnel.by_issuer.items()
        if v[1]["count"] >= MIN_SELECTED
    ]
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
