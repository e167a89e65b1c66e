"""Funnel: where do enrollments stop, for which issuer and state, and who exactly dropped out?"""

import pandas as pd
import streamlit as st

from dashboard import charts, serving, ui
from dashboard import definitions as d
from dashboard import metrics as m
from dashboard import theme as t

view: serving.View = st.session_state["view"]
if not ui.guard(st.session_state["export"], ("enrollments", "transactions_834", "payments"), title="Funnel"):
    st.stop()
ui.header(
    view,
    "Funnel",
    "Where do enrollments stop between application and effectuation, for which issuers "
    "and states, and which enrollments dropped out at a stage?",
)

with st.spinner("Computing the funnel…"):
    funnel = serving.get(view, "funnel")
if funnel.total[0]["count"] == 0:
    ui.empty()
    st.stop()

left, right = st.columns(2)  # the stage table's five columns fit beside the funnel at 1366 px
with left:
    st.plotly_chart(charts.funnel_chart(funnel.total), key="funnel_chart")
with right:
    st.dataframe(ui.stage_table(funnel.total), hide_index=True, column_config=ui.STAGE_TABLE_CONFIG)
    ui.kpi(st, "cancelled", funnel.cancelled)

# The two failures between the funnel's stages, day by day: they are read here, beside the funnel,
# because each is the failure of one step of it (a plan selected with no 834 within 24 h is the step
# to '834 sent' failing; a failed payment redirect is the step from the payment page to 'paid'); the
# backlog page counts who is waiting now, not how often a step fails.
releases, verdicts = ui.release_markers(view)  # only the verdicts (release_its), not the 7-day comparison
st.subheader("Is a step failing more than usual?")
st.markdown("**Late 834s**: plans selected with no 834 to their issuer within 24 hours")
ui.control_chart_panel(view, "late_834", key="control_late_834", height=360, how_to_read=False)
st.markdown("**Payment redirect failures**: redirects to the issuer's payment page that failed")
ui.control_chart_panel(view, "redirect_failure", key="control_redirect_failure", height=360)

st.subheader("Stage conversion by issuer and by state")
st.caption(
    "Step conversion into each stage (count ÷ count at the stage before). Click a column header to sort; "
    "select a row to see its funnel."
)
names = serving.issuer_names(view)


def heat_table(groups: dict, label: str, names_of=None) -> pd.DataFrame:
    rows = []
    for key, stages in groups.items():
        row = {label: names_of.get(key, key) if names_of else key, "key": key, "Applied": stages[0]["count"]}
        for s in stages[1:]:
            row[d.STAGE_LABELS[s["stage"]]] = ui.percent_points(s["step_conversion"])
        row["Overall"] = ui.percent_points(stages[-1]["overall_conversion"])
        rows.append(row)
    return pd.DataFrame(rows).sort_values("Applied", ascending=False, ignore_index=True)


def state_map(funnel: m.FunnelResult) -> None:
    """The view's states as a tile grid map coloured by the chosen rate; a click on a state sets the
    sidebar's States filter to it (docs/pages.md 'The state map')."""
    measure = st.selectbox(
        "Colour the states by",
        m.STATE_MAP_MEASURES,
        key="map_measure",
        bind="query-params",
        format_func=lambda x: d.STATE_MAP_MEASURE_LABELS[x],
        width=420,
    )
    rates = m.state_rates(funnel, measure)
    unit = d.STATE_MAP_DENOMINATOR_UNITS[measure]
    st.caption(
        "Each square is a state, roughly where it lies; its number is the chosen rate, and darker is higher. "
        f"Hatched: fewer than {m.STATE_MAP_MIN_DENOMINATOR} {unit}, too few to judge. Grey: no enrollments in "
        "this view. **Click a state to filter the page to it** (the sidebar's States filter; clear it there)."
    )

    def pick(chart_key: str) -> None:
        # a callback runs before the sidebar's widgets are drawn, so it may set the States filter
        points = st.session_state[chart_key].selection.points
        if not points:
            return
        code = points[0]["customdata"][0]
        if code not in rates:
            st.toast(f"{code} has no enrollments in this view (or the filters leave it out), so nothing changed.")
            return
        st.session_state["state"] = [code]
        # chosen issuers of other states would leave the Issuers filter's options and be dropped by it
        # unseen: narrow the filter to this state's issuers here, and say which were taken out
        chosen = list(view.filters.issuers or ())
        if chosen:
            home = {r["issuer_id"]: r["state"] for r in serving.scoped_directory(view.export, view.scope)}
            kept = [i for i in chosen if home.get(i) in (code, None)]
            dropped = [i for i in chosen if i not in kept]
            st.session_state["issuer"] = kept
            if dropped:
                names = serving.issuer_names(view)
                st.toast(
                    f"Filtered to {code}; taken out of the Issuers filter, not in {code}: "
                    + ", ".join(names.get(i, i) for i in dropped)
                )
        # a fresh chart after each click, so a click on the same state again selects it again
        st.session_state["state_map_round"] = st.session_state.get("state_map_round", 0) + 1

    chart_key = f"state_map_{st.session_state.get('state_map_round', 0)}"
    figure = charts.state_tile_map(
        rates,
        measure_label=d.STATE_MAP_MEASURE_LABELS[measure],
        denominator_unit=unit,
        min_denominator=m.STATE_MAP_MIN_DENOMINATOR,
        states_filter=view.filters.states,
    )
    st.plotly_chart(
        figure,
        key=chart_key,
        on_select=lambda: pick(chart_key),
        selection_mode="points",
        width=880,  # the tiles' size is set by the height; wider would only push the colour bar away
        config={"displayModeBar": False},
    )
    off_grid = charts.state_map_off_grid(rates)
    if off_grid:
        st.caption(f"Not on the map (the grid has no place for them), in the table below: {', '.join(off_grid)}.")


config = {
    # narrow columns: the whole row fits a 1366 px screen (the label wraps into the header's tooltip)
    d.STAGE_LABELS[s]: st.column_config.ProgressColumn(
        d.STAGE_LABELS[s], format=ui.PERCENT_FORMAT, min_value=0, max_value=100, width="small"
    )
    for s in d.STAGES[1:]
}
config["Overall"] = st.column_config.ProgressColumn(
    "Applied → effectuated", format=ui.PERCENT_FORMAT, min_value=0, max_value=100, width="small"
)
config["Applied"] = st.column_config.NumberColumn("Applied", format="localized")  # 40,466, as the tiles
config["key"] = None
# bound to the URL, so a link (and the rerun after a click on the state map) opens the same tab
tab_issuer, tab_state = st.tabs(["By issuer", "By state"], key="breakdown", bind="query-params")
for tab, groups, label, key, names_of in (
    (tab_issuer, funnel.by_issuer, "Issuer", "heat_issuer", names),
    (tab_state, funnel.by_state, "State", "heat_state", None),
):
    with tab:
        if key == "heat_state":
            state_map(funnel)
        table = heat_table(groups, label, names_of)
        picked = st.dataframe(
            table,
            hide_index=True,
            column_config=config,
            on_select="rerun",
            selection_mode="single-row",
            key=key,
            height=360,
        )
        selected_rows = picked.selection.rows if picked else []
        if selected_rows:
            chosen = table.iloc[selected_rows[0]]
            st.markdown(f"**{chosen[label]}**")
            st.plotly_chart(charts.funnel_chart(groups[chosen["key"]], height=320), key=f"{key}_drill")

st.subheader("Who dropped out at a stage")
stage = st.selectbox(
    "Stage not reached",
    d.STAGES[1:],
    index=len(d.STAGES) - 3,
    key="drop_stage",
    format_func=lambda s: d.STAGE_LABELS[s],
    bind="query-params",
)
SHOWN, DOWNLOAD = 500, 1_000_000
rows = serving.get(view, "dropouts", stage=stage, limit=SHOWN)
drop = next(s["drop_off"] for s in funnel.total if s["stage"] == stage)
st.caption(
    f"{drop:,} enrollments reached the stage before '{d.STAGE_LABELS[stage]}' but not it (oldest first"
    f"{f'; the first {SHOWN:,} are shown, the download holds up to {DOWNLOAD:,}' if drop > SHOWN else ''})."
)
frame = pd.DataFrame(ui.named(view, rows))
if frame.empty:
    ui.empty("Nobody dropped out at this stage in this view.")
else:
    # the stage in the chart's words, not its code (the download does the same)
    frame["stage_entered"] = frame["stage_entered"].map(lambda s: d.STAGE_LABELS.get(s, s))
    st.dataframe(
        frame[["enrollment_id", "name", "state", "stage_entered", "entered_at", "age_days", "cancelled"]],
        hide_index=True,
        column_config={
            "enrollment_id": "Enrollment",
            "name": "Issuer",
            "state": "State",
            "stage_entered": "Last stage reached",
            "entered_at": st.column_config.DatetimeColumn("Reached it (UTC)", format="YYYY-MM-DD HH:mm"),
            "age_days": st.column_config.NumberColumn("Days at that stage", format="%.1f"),
            "cancelled": "Cancelled",
        },
    )
ui.csv_download(
    view,
    serving.fetcher(view, "dropouts", stage=stage, limit=DOWNLOAD),
    "Download the list (CSV)",
    f"dropped_before_{stage}.csv",
    "drop_download",
    available=drop > 0,
)

st.subheader("Time to convert")
ttc = serving.get(view, "time_to_convert")
left, right = st.columns([2, 3])
with left:
    # the medians first: the step's name, then its median; the step's size last (fits 2/5 of 1366 px)
    table = pd.DataFrame(
        [
            {
                "Step": f"{d.STAGE_LABELS[r['from']]} → {d.STAGE_LABELS[r['to']]}",
                "Median (h)": r["median"],
                "90th pct (h)": r["p90"],
                "Enrollments": r["n"],
            }
            for r in ttc
        ]
    )
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "Step": st.column_config.TextColumn(width="medium"),
            "Median (h)": st.column_config.NumberColumn(
                format="localized", step=0.1, width="small", help="Half the enrollments took less, in hours"
            ),
            "90th pct (h)": st.column_config.NumberColumn(
                format="localized", step=0.1, width="small", help="90th percentile: 9 in 10 took less, in hours"
            ),
            "Enrollments": st.column_config.NumberColumn(format="localized", width="small"),
        },
    )
with right:
    pair = st.selectbox(
        "Distribution of",
        [f"{r['from']}→{r['to']}" for r in ttc],
        key="ttc_pair",
        format_func=lambda p: " → ".join(d.STAGE_LABELS[x] for x in p.split("→")),
    )
    a, b = pair.split("→")
    bins = serving.get(view, "time_to_convert_histogram", stage_from=a, stage_to=b)
    if sum(x["enrollments"] for x in bins):
        st.plotly_chart(charts.histogram_chart(bins, color=t.STAGE_COLORS[b]), key="ttc_hist")
    else:
        ui.empty("No enrollment has reached that stage in this view.")

st.subheader("Conversion by application week, with releases")
weeks = serving.get(view, "conversion_by_week")
st.plotly_chart(charts.conversion_by_week_chart(weeks, releases, verdicts=verdicts), key="weekly")
