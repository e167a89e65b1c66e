"""Issuer view: everything for one issuer, and the records its account manager needs to chase."""

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard import charts, serving, ui, wording
from dashboard import definitions as d
from dashboard import filtercheck as fc
from dashboard import metrics as m
from dashboard.stats import MIN_PER_SIDE

st.html(ui.TILE_LABELS_WRAP)
view: serving.View = st.session_state["view"]
if not ui.guard(st.session_state["export"], title="Issuer view"):
    st.stop()
names = serving.issuer_names(view)
directory = serving.scoped_directory(view.export, view.scope)
options = [
    r["issuer_id"]
    for r in directory
    if (not view.filters.states or r["state"] in view.filters.states)
    and (not view.filters.issuers or r["issuer_id"] in view.filters.issuers)
]
st.title("Issuer view")
st.caption("What is wrong for one issuer, and which records does its account manager need to chase?")
if not options:
    ui.empty("No issuer matches these filters.")
    st.stop()
# ?focus= as a person writes it (an id or the shown label); one that names no issuer here is said, never
# replaced by another issuer in silence (Streamlit keeps only an exact label from the address)
unmatched_focus = None
if "focus" not in st.session_state and st.query_params.get("focus", "").strip():
    given = st.query_params["focus"].strip()
    found = fc.match_issuer(given, {i: names.get(i, i) for i in options})
    if found is None:
        unmatched_focus = given
    else:
        st.session_state["focus"] = found
        if given != names.get(found, found):  # a bare id: the address as the widget holds it, for a copied link
            st.query_params["focus"] = names.get(found, found)
            st.rerun()
issuer = st.selectbox(
    "Issuer",
    options,
    index=None if unmatched_focus else 0,
    format_func=lambda i: names.get(i, i),
    key="focus",
    bind="query-params",
    placeholder="Choose an issuer",
)
if issuer is None:
    if unmatched_focus:
        where = (
            "in the export that you may see" if fc.match_issuer(unmatched_focus, names) is None else "in these filters"
        )
        asked = (
            f"issuer {unmatched_focus}" if view.scope.issuers is None else "an issuer"
        )  # a scoped caller: not echoed
        st.warning(
            f"The address asks for {asked} (focus) which matches no issuer {where}. Choose one above.",
            icon=":material/person_search:",
        )
    st.stop()
focus = view.narrowed(issuers=(issuer,))
# the sidebar's Issuers filter only narrows the list above; say which issuer the page shows
st.sidebar.info(f"This page shows one issuer: **{names.get(issuer, issuer)}**.", icon=":material/apartment:")
st.markdown(ui.describe_filters(focus))

with st.spinner("Computing…"):
    funnel = serving.get(focus, "funnel")
    recent = serving.get(focus, "errors_recent")
    recent_before = serving.get(focus.at(focus.as_of - timedelta(days=7)), "errors_recent")
    risk = serving.get(focus, "payment_deadline_risk")
    backlog = serving.get(focus, "backlog")
    recon = serving.get(focus, "reconciliation")
    fixes = serving.get(focus, "fix_impact")

counts = funnel.counts
now = {
    "plan_selected": counts["plan_selected"],
    "effectuation_rate": m.effectuation_rate(counts),
    "error_rate_recent": recent["rate"],
    "backlog": m.backlog_total(backlog),
    "past_due": risk["past_due"],
}
previous = {"error_rate_recent": recent_before["rate"]}  # the last 7 days' rate, against a week earlier
tiles = st.container(horizontal=True, gap="small")  # tiles wrap rather than cut their labels
for key in now:
    ui.kpi(tiles, key, now[key], previous.get(key))

# this issuer's own charts: the view narrowed to it, its releases carrying their verdicts
releases, verdicts = ui.release_markers(focus, fixes)
left, right = st.columns([2, 3])
with left:
    st.subheader("Funnel")
    if counts["applied"]:
        st.plotly_chart(charts.funnel_chart(funnel.total), key="issuer_funnel")
    else:
        ui.empty("No data: no enrollment of this issuer in this view.")
with right:
    st.subheader("Daily 834 error rate")
    ui.control_chart_panel(
        focus, "error_834", key="issuer_control_error_834", fixes=fixes, height=460, how_to_read=False, list_columns=1
    )
    daily = serving.get(focus, "errors_daily")
    if daily:
        with st.expander("By error category"):
            st.plotly_chart(
                charts.error_rate_chart(daily, releases, categories=True, verdicts=verdicts), key="issuer_err"
            )

left, right = st.columns(2)
with left:
    st.subheader("Late 834s")
    ui.control_chart_panel(
        focus, "late_834", key="issuer_control_late_834", fixes=fixes, height=440, how_to_read=False, list_columns=1
    )
with right:
    st.subheader("Payment redirect failures")
    ui.control_chart_panel(
        focus,
        "redirect_failure",
        key="issuer_control_redirect",
        fixes=fixes,
        height=440,
        how_to_read=False,
        list_columns=1,
    )
st.caption(
    ui.CONTROL_CHART_HOW_TO_READ + " For an issuer with few units a day, most days have none or one: a single "
    "failure can cross the upper limit and a string of days without one reads as a run below the centre line, "
    "so check the day's counts in the tooltip before acting on a signal."
)

st.subheader("Releases and this issuer")
st.caption(
    "Each release judged on the failure it was meant to fix, on this issuer's units only, trend-adjusted "
    "(14 days each side). A release for another issuer has none of this issuer's units: too little data."
)
ui.release_verdicts_section(fixes, names, key="issuer_its_chart", this_issuer=issuer)
if fixes:
    detail = st.expander(
        "Detail: this issuer's 834 error rate 7 days before and after each release (no trend adjustment)"
    )
    rate = lambda v: d.format_value("rate", v)  # noqa: E731 ('—' when the side has no 834 of this issuer)
    detail.dataframe(
        pd.DataFrame(
            [
                {
                    "Release": f["release_id"],
                    "Verdict": f["verdict"],
                    "Before": rate(f["before"]["rate"]),
                    "After": rate(f["after"]["rate"]),
                    "Change": d.format_delta("rate", f["change"]) or d.MISSING,
                    "For issuer": wording.issuer_text(f["issuer_id"], names, issuer) if f["issuer_id"] else "all",
                }
                for f in fixes
            ]
        ),
        hide_index=True,
        column_config={
            "Before": st.column_config.TextColumn(help="This issuer's 834 error rate before; — when it sent none"),
            "After": st.column_config.TextColumn(help="This issuer's 834 error rate after; — when it sent none"),
            "Change": st.column_config.TextColumn(
                help=f"After − before, in percentage points; — when a side has fewer than {MIN_PER_SIDE} 834s"
            ),
        },
    )

st.subheader("Backlog")
if now["backlog"]:
    st.plotly_chart(charts.backlog_aging_chart(backlog, height=300), key="issuer_backlog")
else:
    ui.empty("Nothing of this issuer is waiting.")

st.subheader("Reconciliation")
st.caption(
    "Enrollments the exchange holds (plan selected, not cancelled) against the issuer's effectuation 834s; "
    "issuer-only: the issuer's inbound 834s the exchange cannot place."
)
row = next((r for r in recon if r["issuer_id"] == issuer), dict.fromkeys(d.RECONCILIATION_CATEGORIES, 0))
labels = d.RECONCILIATION_LABELS
for column, key in zip(st.columns(4), d.RECONCILIATION_CATEGORIES, strict=True):
    column.metric(labels[key], d.format_value("count", row[key]), border=True)
# the chosen list is in the address (?recon_category=exchange_only), so a shared link opens the same list
category = st.segmented_control(
    "Work list",
    list(labels),
    format_func=labels.get,
    default="field_mismatch",
    key="recon_category",
    bind="query-params",
)
if category:
    SHOWN, DOWNLOAD = 300, 1_000_000
    rows = serving.get(focus, "reconciliation_work_list", category=category, limit=SHOWN)
    st.caption(ui.RECONCILIATION_NOTES[category])
    if rows:
        if row[category] > SHOWN:
            st.caption(f"{row[category]:,} records; the first {SHOWN} are shown, the download holds them all.")
        st.dataframe(
            ui.reconciliation_table(rows, category), hide_index=True, column_config=ui.RECONCILIATION_TABLE_CONFIG
        )
    else:
        ui.empty("No record in this category.")
    ui.csv_download(
        focus,
        ui.reconciliation_download(
            serving.fetcher(focus, "reconciliation_work_list", category=category, limit=DOWNLOAD), category
        ),
        "Download this work list (CSV)",
        f"reconciliation_{issuer}_{category}.csv",
        "recon_download",
        available=row[category] > 0,
    )
