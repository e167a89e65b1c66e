"""Backlog: who is stuck where, for how long, and whose coverage deadline is at risk or already missed?"""

import pandas as pd
import streamlit as st

from dashboard import charts, serving, ui
from dashboard import definitions as d
from dashboard import metrics as m

st.html(ui.TILE_LABELS_WRAP)
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

total = m.backlog_total(backlog)
now = {"backlog": total, "oldest_days": m.oldest_wait(backlog), **risk}
for column, key in zip(st.columns(4), ("backlog", "oldest_days", "at_risk", "past_due"), strict=True):
    ui.kpi(column, key, now[key])
if total == 0:
    ui.empty("Nobody is waiting in this view.")
    st.stop()

left, right = st.columns(2)
with left:
    st.subheader("Age by stage")
    st.plotly_chart(charts.backlog_aging_chart(backlog), key="aging")
with right:
    st.subheader("Backlog by day")
    releases, verdicts = ui.release_markers(view)
    st.plotly_chart(charts.backlog_trend_chart(trend, releases, verdicts=verdicts), key="trend")

by_stage = m.backlog_by_stage(backlog)
oldest = pd.DataFrame(
    [
        {"Stage": d.BACKLOG_LABELS[s], "Waiting": v["count"], "Oldest (days)": v["oldest_days"]}
        for s, v in by_stage.items()
    ]
)
st.dataframe(
    oldest,
    hide_index=True,
    column_config={
        "Waiting": st.column_config.NumberColumn(format="localized"),
        "Oldest (days)": st.column_config.NumberColumn(format="%.1f"),
    },
)

st.subheader("Work lists")
SHOWN, DOWNLOAD = 300, 1_000_000
columns = ["enrollment_id", "name", "state", "stage", "waiting_since", "age_days", "payment_due_date", "deadline"]
config = {
    "enrollment_id": "Enrollment",
    "name": "Issuer",
    "state": "State",
    "stage": "Stage",
    "waiting_since": st.column_config.DatetimeColumn("Waiting since (UTC)", format="YYYY-MM-DD HH:mm"),
    "deadline": "Deadline",
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
        table = pd.DataFrame(ui.named(view, rows))[columns]
        # the stage and deadline in the chart's words, not their codes
        table["stage"] = table["stage"].map(lambda s: d.BACKLOG_LABELS.get(s, s))
        table["deadline"] = table["deadline"].map(lambda s: d.DEADLINE_LABELS.get(s, s) if s else None)
        st.dataframe(table, hide_index=True, column_config=config)
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


# the chosen list is in the address (?list=At+risk), so a shared link opens the same list
tabs = st.tabs(["Past due", "At risk", "Oldest", "By stage"], key="list", bind="query-params")
# bound to the URL, choosing a tab reruns the page: only the open tab's list is queried and drawn
if tabs[0].open:
    with tabs[0]:
        work_list("past_due", risk["past_due"], "binder payment due date passed", deadline="past_due")
if tabs[1].open:
    with tabs[1]:
        work_list("at_risk", risk["at_risk"], "binder payment due within 7 days", deadline="at_risk")
if tabs[2].open:
    with tabs[2]:
        work_list("oldest", total, "every backlog enrollment, longest wait first")
if tabs[3].open:
    with tabs[3]:
        stage = st.selectbox(
            "Stage", list(d.BACKLOG_LABELS), format_func=d.BACKLOG_LABELS.get, key="backlog_stage", bind="query-params"
        )
        work_list("stage", by_stage[stage]["count"], "waiting at this stage", stages=(stage,))
