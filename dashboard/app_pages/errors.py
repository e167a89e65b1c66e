"""834 errors and fixes: how often does the 834 arrive wrong, and did each release change that?"""

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard import charts, serving, ui, wording
from dashboard import definitions as d
from dashboard import metrics as m
from dashboard.stats import MIN_PER_SIDE

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
    recent = serving.get(view, "errors_recent")
    recent_before = serving.get(view.at(view.as_of - timedelta(days=7)), "errors_recent")
    daily = serving.get(view, "errors_daily")

if errors["sent"] == 0:
    ui.empty("No data: no outbound 834 was sent in this view.")
    st.stop()

# the last 7 days lead: a since-launch rate hides a fix (docs/signals.md 'Current rates')
rates = st.columns([1, 1, 2])
ui.kpi(rates[0], "error_rate_recent", recent["rate"], recent_before["rate"])
ui.kpi(rates[1], "error_rate", errors["rate"])
rates[2].caption(
    f"Last 7 days: {recent['sent']:,} outbound 834s sent, {recent['errored']:,} with at least one problem "
    "(the change is against the same 7-day rate a week earlier; 834s this recent can still become "
    f"unacknowledged). Since launch: {errors['sent']:,} sent, {errors['errored']:,} with a problem. "
    "The category counts below are since launch; one 834 can have several."
)
categories = st.container(horizontal=True, gap="small")  # tiles wrap rather than cut their labels
for key in d.ERROR_CATEGORIES:
    categories.metric(
        d.CATEGORY_LABELS[key],
        d.format_value("count", errors[key]),
        help=f"Since launch: {d.format_value('rate', errors[key + '_rate'])} of 834s sent",
        border=True,
        width="stretch",
    )

with st.spinner("Judging the releases…"):
    fixes = serving.get(view, "fix_impact")  # the verdicts (`its`) do not depend on the 7-day window
releases, verdicts = ui.release_markers(view, fixes)

st.subheader("Daily 834 error rate: which changes are real?")
ui.control_chart_panel(view, "error_834", key="control_error_834", fixes=fixes, height=420)

st.subheader("Daily error rate by category")
st.plotly_chart(charts.error_rate_chart(daily, releases, categories=True, verdicts=verdicts, height=400), key="daily")
st.caption(
    "Each category's share of the day's 834s (one 834 can be in several). Release markers carry their "
    "verdict: ▼ improved, ▲ worse, ● no clear change, ○ too little data."
)

st.subheader("Did each release lower the error rate?")
st.caption(
    "Each release is judged on the failure it was meant to fix, over 14 days on each side, by a segmented "
    "regression that allows for the trend already under way (the December surge changed the mix of 834s every "
    "day). Rates before and after are the modelled rates at the release; an odds ratio below 1 means the rate "
    "dropped at the release, and the verdict is 'improved' only when its whole 95% interval is below 1. A "
    "release for one issuer is judged on that issuer's units, with the other issuers' odds ratio beside it: "
    "a change that happened everywhere was probably not this release's doing."
)
names = serving.issuer_names(view)
ui.release_verdicts_section(fixes, names, key="its_chart")

with st.expander("Detail: the 834 error rate in the days before and after each release (no trend adjustment)"):
    window = st.number_input(
        "Fix-impact window (days each side)", min_value=1, max_value=60, value=7, key="window_days", bind="query-params"
    )
    fixes = serving.get(view, "fix_impact", window_days=int(window))
    st.caption(
        f"Outbound 834s in the {int(window)} days before each release against the {int(window)} days after "
        "(ending at the as-of time), for every release, whatever it targets: this credits a release with any "
        "trend already under way. The interval is Newcombe's hybrid score 95% interval; a release for one "
        "issuer is judged on that issuer's 834s. Filters apply, the date window does not."
    )
    # key columns first (release, verdict, overlapping releases, the rates): they fit 1366 px with the
    # sidebar open; a rate or change that does not exist is '—', the reason in the column's help
    rate, change = (lambda v: d.format_value("rate", v)), (lambda v: d.format_delta("rate", v) or d.MISSING)
    table = pd.DataFrame(
        [
            {
                "Release": f["release_id"],
                "Verdict": f["verdict"],
                "Overlapping releases": ", ".join(f["overlapping_releases"]) or "none",
                "Before": rate(f["before"]["rate"]),
                "After": rate(f["after"]["rate"]),
                "Change": change(f["change"]),
                "95% CI": d.MISSING if f["ci_low"] is None else f"{change(f['ci_low'])} to {change(f['ci_high'])}",
                "p-value": wording.p_value_text(f["p_value"]),
                "834s before / after": f"{f['before']['sent']:,} / {f['after']['sent']:,}",
                "For issuer": names.get(f["issuer_id"], f["issuer_id"]) if f["issuer_id"] else "all",
                "Component": f["component"],
                "Deployed (UTC)": f["deployed_at"],
            }
            for f in fixes
        ]
    )
    if table.empty:
        ui.empty("No release was deployed by the as-of time.")
    else:
        few = f"— when a side has fewer than {MIN_PER_SIDE} 834s"
        st.dataframe(
            table,
            hide_index=True,
            column_config={
                "Release": st.column_config.TextColumn(pinned=True),
                "Verdict": st.column_config.TextColumn(
                    pinned=True, help=f"too little data: a side has fewer than {MIN_PER_SIDE} 834s"
                ),
                "Overlapping releases": st.column_config.TextColumn(
                    width="medium",
                    help=f"Other releases deployed within {m.DEFAULT_WINDOW_DAYS} days: their effects cannot be "
                    "told apart from this one's",
                ),
                "Before": st.column_config.TextColumn(help="834 error rate in the days before; — when none was sent"),
                "After": st.column_config.TextColumn(help="834 error rate in the days after; — when none was sent"),
                "Change": st.column_config.TextColumn(help=f"After − before, in percentage points; {few}"),
                "95% CI": st.column_config.TextColumn(help=f"Newcombe's hybrid score interval of the change; {few}"),
                "p-value": st.column_config.TextColumn(help=f"Two-proportion z-test; {few}"),
                "Deployed (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            },
        )
        if any(f["change"] is not None for f in fixes):
            st.plotly_chart(charts.fix_impact_chart(fixes), key="fix_chart")

st.subheader("Error rate by issuer, last 28 days")
st.caption(
    "Ranking issuers by their raw rate puts an issuer with two 834s, both bad, at the top. The funnel plot "
    "compares each issuer with the rate of all issuers in view, within limits that narrow as volume grows."
)
ui.funnel_plot_panel(view, "error_834", key="funnel_error_834")
with st.expander("Every issuer's 834s since launch, by category"):
    rows = ui.named(view, serving.get(view, "errors_by_issuer"))
    frame = pd.DataFrame([{**r, "rate": ui.percent_points(r["rate"])} for r in rows])
    if frame.empty:
        ui.empty("No data: no issuer has an outbound 834 in this view.")
    else:
        st.dataframe(
            frame.sort_values("sent", ascending=False)[
                ["name", "sent", "errored", "rate", "rejected", "unacknowledged", "duplicate", "mismatch", "unmatched"]
            ],
            hide_index=True,
            height=400,
            column_config={
                "name": "Issuer",
                "rate": st.column_config.NumberColumn("Error rate", format=ui.PERCENT_FORMAT),
                **{
                    k: st.column_config.NumberColumn(k.capitalize(), format="localized")
                    for k in ("sent", "errored", "rejected", "unacknowledged", "duplicate", "mismatch", "unmatched")
                },
            },
        )

st.subheader("Never sent")
never = serving.get(view, "never_sent")
left, right = st.columns([1, 2])
share = d.format_value("rate", never["share"])
left.metric(
    "Enrollments with no 834 to their issuer",
    d.shown("never_sent", never["count"]),
    help="Not cancelled, plan selected 24 hours or more before the as-of time, and no initial 834 sent "
    f"to their issuer: {share} of {never['eligible']:,} such enrollments.",
    border=True,
)
trend = serving.get(view, "never_sent_trend")
with right:
    if trend:
        st.plotly_chart(charts.never_sent_chart(trend, releases, verdicts=verdicts), key="never_sent")
    else:
        ui.empty("No data: no enrollment in this view has had a plan selected 24 hours or more.")
