"""Stand-up screen: the numbers that changed since yesterday, readable across the room; refreshes itself."""

from datetime import timedelta

import streamlit as st

from dashboard import charts, config, serving, ui
from dashboard import definitions as d
from dashboard import metrics as m
from dashboard.report import iso_utc

st.markdown(
    """
<style>
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"] {display: none;}
  [data-testid="stApp"], [data-testid="stAppViewContainer"], [data-testid="stMain"] {background: #0e1117; color: #f2f2f2;}
  .block-container {padding-top: 1.2rem; max-width: 100%;}
  .kiosk-asof {font-size: 2.4rem; color: #f2f2f2; margin: 0 0 0.6rem 0; line-height: 1.2;}
  .kiosk-filters {font-size: 1.3rem; color: #b8c0cc;}
  .kiosk-asof b {color: #ffd166;}
  .kiosk-tile {background: #1b1f2a; border-radius: 12px; padding: 14px 22px; margin-bottom: 12px;}
  .kiosk-label {font-size: 1.6rem; color: #b8c0cc;}
  .kiosk-value {font-size: 4.2rem; font-weight: 700; color: #ffffff; line-height: 1.1;}
  .kiosk-delta {font-size: 1.7rem;}
  .good {color: #4cd47f;} .bad {color: #ff6b6b;} .flat {color: #b8c0cc;}
</style>""",
    unsafe_allow_html=True,
)


def tile(column, name: str, value, previous) -> None:
    """One large number with its change since yesterday, worded and formatted as everywhere else."""
    definition = d.DEFINITIONS[name]
    delta = m.change(value, previous)
    tone = "flat" if not delta else ("good" if (delta > 0) == definition.higher_is_better else "bad")
    column.markdown(
        f'<div class="kiosk-tile"><div class="kiosk-label">{definition.label}</div>'
        f'<div class="kiosk-value">{d.shown(name, value)}</div>'
        f'<div class="kiosk-delta {tone}">{d.shown_change(name, delta) or "–"} vs yesterday</div></div>',
        unsafe_allow_html=True,
    )


TILES = ("plan_selected", "effectuated", "error_rate_recent", "never_sent", "backlog", "past_due")


@st.fragment(run_every=config.standup_refresh_seconds())
def screen() -> None:
    # a new export is picked up here: the load is keyed by the export's fingerprint
    export = serving.load_export()
    base: serving.View | None = st.session_state.get("view")
    if base is None or not ui.guard(export):
        return
    latest = serving.default_as_of(export.fingerprint, export.engine)
    follow_latest = base.as_of == base.latest
    view = serving.View(export, latest if follow_latest else base.as_of, latest, base.filters, base.scope)
    yesterday = view.at(view.as_of - timedelta(days=1))
    in_force = ui.describe_filters(view).split(" · ", 1)[1].replace("*", "")
    pending = (
        f" · a newer export (landed {export.newer_since:%H:%M} UTC) is being prepared"
        if export.newer_since is not None
        else f" · the export was changing when read at {export.changing_since:%H:%M} UTC; read again soon"
        if export.changing_since is not None
        else ""
    )
    st.markdown(
        f'<div class="kiosk-asof">Enrollment back end · data as of <b>{iso_utc(view.as_of)}</b> '
        f'<span class="kiosk-filters">· {in_force}{pending}</span></div>',
        unsafe_allow_html=True,
    )
    now, then = serving.headline(view), serving.headline(yesterday)
    backlog = serving.get(view, "backlog")
    for column, name in zip(st.columns(len(TILES)), TILES, strict=True):
        tile(column, name, now[name], then[name])
    left, right = st.columns([3, 2])
    daily = serving.get(view, "errors_daily")[-45:]
    with left:
        if daily:
            start = daily[0]["date"]
            releases = [r for r in serving.get(view, "releases") if r["deployed_at"].date() >= start]
            st.plotly_chart(
                charts.error_rate_chart(
                    daily, releases, dark=True, height=600, title="Daily 834 error rate, last 45 days"
                ),
                theme=None,
                key="kiosk_errors",
            )
    with right:
        st.plotly_chart(
            charts.backlog_by_stage_chart(backlog, dark=True, height=600, title="Backlog by stage"),
            theme=None,
            key="kiosk_backlog",
        )
    st.caption(
        f"Refreshes every {config.standup_refresh_seconds() // 60} minutes; "
        f"export loaded {iso_utc(export.loaded_at.replace(microsecond=0))}."
    )


screen()
