"""Backlog: who is stuck where, for how long, and whose coverage deadline is at risk or already missed?"""

import pandas as pd
import streamlit as st

from dashboard import charts, serving, ui
from dashboard import theme as t

view: serving.View = st.session_state["view"]
if not ui.guard(st.session_state["export"], ("enrollments", "transactions_834", "payments"), title="Backlog"):
    st.stop()
ui.header(
    view,
    "Backlog",
    "Who is waiting at which back-end stage, for how long, and whose binder-payment "
    "deadline is close or already missed?",
)

with st.spinner("Computing the backlog…"):
    backlog = serving.get(view, "backlog")
    risk = serving.get(view, "payment_deadline_risk")
    trend = serving.get(view, "backlog_trend")

total = sum(r["count"] for r in backlog)
cols = st.columns(4)
cols[0].metric("In the backlog", f"{total:,}", border=True)
ages = [r["oldest_days"] for r in backlog if r["oldest_days"] is not None]
cols[1].metric("Oldest wait", f"{max(ages):,.1f} days" if ages else "–", border=True)
cols[2].metric(
    "At risk",
    f"{risk['at_risk']:,}",
    help="Binder payment due within 7 days, not yet paid and effectuated.",
    border=True,
)
cols[3].metric(
    "Past due",
    f"{risk['past_due']:,}",
    help="Binder payment due date passed: they believe they are covered and are not.",
    border=True,
)
if total == 0:
    ui.empty("Nobody is waiting in this view.")
    st.stop()

left, right = st.columns(2)
with left:
    st.subheader("Age by stage")
    st.plotly_chart(charts.backlog_aging_chart(backlog), key="aging")
with right:
    st.subheader("Backlog by day")
    st.plotly_chart(
        charts.backlog_trend_chart(trend, charts.release_rows(serving.get(view, "fix_impact"))), key="trend"
    )

oldest = pd.DataFrame(
    [
        {
            "Stage": t.BACKLOG_LABELS[s],
            "Waiting": sum(r["count"] for r in backlog if r["stage"] == s),
            "Oldest (days)": max(
                [r["oldest_days"] for r in backlog if r["stage"] == s and r["oldest_days"] is not None], default=None
            ),
        }
        for s in t.BACKLOG_LABELS
    ]
)
st.dataframe(oldest, hide_index=True, column_config={"Oldest (days)": st.column_config.NumberColumn(format="%.1f")})

st.subheader("Work lists")
SHOWN, DOWNLOAD = 300, 1_000_000
columns = ["enrollment_id", "name", "state", "stage", "waiting_since", "age_days", "payment_due_date", "deadline"]
config = {
    "name": "Issuer",
    "age_days": st.column_config.NumberColumn("Days waiting", format="%.1f"),
    "payment_due_date": "Payment due",
}


def work_list(
    key: str, count: int, note: str, stages: tuple[str, ...] | None = None, deadline: str | None = None
) -> None:
    """The first SHOWN of a work list, longest wait first, and the whole list as a download."""
    st.caption(f"{count:,} enrollments: {note}" + (f"; the first {SHOWN} are shown" if count > SHOWN else ""))
    if count:
        rows = serving.get(view, "backlog_work_list", stages=stages, limit=SHOWN, deadline=deadline)
        st.dataframe(pd.DataFrame(ui.named(view, rows))[columns], hide_index=True, column_config=config)
    else:
        ui.empty("Nobody in this list.")
    ui.csv_download(
        view,
        serving.fetcher(view, "backlog_work_list", stages=stages, limit=DOWNLOAD, deadline=deadline),
        "Download this work list (CSV)",
        f"backlog_{key}.csv",
        f"dl_{key}",
        available=count > 0,
    )
    if count > DOWNLOAD:
        st.warning(f"The download holds the {DOWNLOAD:,} longest waits; narrow the filters for the rest.")


waiting = {s: sum(r["count"] for r in backlog if r["stage"] == s) for s in t.BACKLOG_LABELS}
tabs = st.tabs(["Past due", "At risk", "Oldest", "By stage"])
with tabs[0]:
    work_list("past_due", risk["past_due"], "binder payment due date passed", deadline="past_due")
with tabs[1]:
    work_list("at_risk", risk["at_risk"], "binder payment due within 7 days", deadline="at_risk")
with tabs[2]:
    work_list("oldest", sum(waiting.values()), "every backlog enrollment, longest wait first")
with tabs[3]:
    stage = st.selectbox("Stage", list(t.BACKLOG_LABELS), format_func=t.BACKLOG_LABELS.get, key="backlog_stage")
    work_list("stage", waiting[stage], "waiting at this stage", stages=(stage,))
