"""834 errors and fixes: how often does the 834 arrive wrong, and did each release change that?"""

import pandas as pd
import streamlit as st

from dashboard import charts, serving, ui
from dashboard import definitions as d

view: serving.View = st.session_state["view"]
if not ui.guard(
    st.session_state["export"], ("enrollments", "transactions_834", "issuers", "releases"), title="834 errors and fixes"
):
    st.stop()
ui.header(
    view,
    "834 errors and fixes",
    "How often does the 834 reach the issuer wrong, duplicated or not at all, and did each release change that?",
)

with st.spinner("Computing error rates…"):
    errors = serving.get(view, "errors")
    daily = serving.get(view, "errors_daily")

if errors["sent"] == 0:
    ui.empty("No outbound 834 was sent in this view.")
    st.stop()

cols = st.columns(6)
ui.kpi(cols[0], "error_rate", errors["rate"])
for column, key in zip(cols[1:], d.ERROR_CATEGORIES, strict=True):
    column.metric(
        d.CATEGORY_LABELS[key],
        d.format_value("count", errors[key]),
        help=f"{d.format_value('rate', errors[key + '_rate'])} of 834s sent",
        border=True,
    )
st.caption(
    f"{errors['sent']:,} outbound 834s sent, {errors['errored']:,} with at least one problem "
    "(one 834 can have several)."
)

st.subheader("Daily error rate")
controls = st.columns([1, 1, 3])
by_category = controls[0].toggle("By category", value=True, key="by_category")
window = controls[1].number_input(
    "Fix-impact window (days each side)", min_value=1, max_value=60, value=7, key="window_days", bind="query-params"
)
fixes = serving.get(view, "fix_impact", window_days=int(window))
st.plotly_chart(charts.error_rate_chart(daily, serving.get(view, "releases"), categories=by_category), key="daily")

st.subheader("Did each release lower the error rate?")
st.caption(
    f"Outbound 834s in the {int(window)} days before each release against the {int(window)} days after "
    "(ending at the as-of time). The interval is Newcombe's hybrid score 95% interval; a release for one "
    "issuer is judged on that issuer's 834s. Filters apply, the date window does not."
)
names = serving.issuer_names(view)
table = pd.DataFrame(
    [
        {
            "Release": f["release_id"],
            "Deployed (UTC)": f["deployed_at"],
            "Component": f["component"],
            "For issuer": names.get(f["issuer_id"], f["issuer_id"]) if f["issuer_id"] else "all",
            "834s before": f["before"]["sent"],
            "Rate before": f["before"]["rate"],
            "834s after": f["after"]["sent"],
            "Rate after": f["after"]["rate"],
            "Change": f["change"],
            "95% CI low": f["ci_low"],
            "95% CI high": f["ci_high"],
            "p-value": f["p_value"],
            "Verdict": f["verdict"],
            "Overlapping releases": ", ".join(f["overlapping_releases"]),
        }
        for f in fixes
    ]
)
if table.empty:
    ui.empty("No release was deployed by the as-of time.")
else:
    pct = st.column_config.NumberColumn(format="percent")
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "Rate before": pct,
            "Rate after": pct,
            "Change": pct,
            "95% CI low": pct,
            "95% CI high": pct,
            "p-value": st.column_config.NumberColumn(format="%.2g"),
        },
    )
    if any(f["change"] is not None for f in fixes):
        st.plotly_chart(charts.fix_impact_chart(fixes), key="fix_chart")

left, right = st.columns(2)
with left:
    st.subheader("Error rate by issuer")
    rows = ui.named(view, serving.get(view, "errors_by_issuer"))
    frame = pd.DataFrame(rows).sort_values("rate", ascending=False)
    st.dataframe(
        frame[["name", "sent", "errored", "rate", "rejected", "unacknowledged", "duplicate", "mismatch", "unmatched"]],
        hide_index=True,
        height=400,
        column_config={
            "name": "Issuer",
            "rate": st.column_config.ProgressColumn("Error rate", format="percent", min_value=0, max_value=1),
        },
    )
with right:
    st.subheader("Never sent")
    never = serving.get(view, "never_sent")
    share = d.format_value("rate", never["share"])
    st.metric(
        "Enrollments with no 834 to their issuer",
        d.shown("never_sent", never["count"]),
        help="Not cancelled, plan selected 24 hours or more before the as-of time, and no initial 834 sent "
        f"to their issuer: {share} of {never['eligible']:,} such enrollments.",
        border=True,
    )
    trend = serving.get(view, "never_sent_trend")
    if trend:
        st.plotly_chart(charts.never_sent_chart(trend, serving.get(view, "releases")), key="never_sent")
