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
  .block-container {padding-top: 1.2rem; padding-bottom: 0.5rem; max-width: 100%;}
  .kiosk-asof {font-size: 2.4rem; color: #f2f2f2; margin: 0 0 0.6rem 0; line-height: 1.2;}
  .kiosk-filters {font-size: 1.3rem; color: #b8c0cc;}
  .kiosk-asof b {color: #ffd166;}
  .kiosk-tile {background: #1b1f2a; border-radius: 12px; padding: 14px 22px; margin-bottom: 12px;}
  .kiosk-label {font-size: clamp(1.1rem, 1.1vw, 2.6rem); color: #b8c0cc; line-height: 1.25; min-height: 2.5em;}
  .kiosk-value {font-size: min(3.1vw, 7rem); font-weight: 700; color: #ffffff; line-height: 1.1; white-space: nowrap;}
  .kiosk-delta {font-size: clamp(1.2rem, 1.25vw, 3rem); white-space: nowrap;}
  .kiosk-countdown {font-size: 3.1rem; font-weight: 700; color: #ffffff; line-height: 1.15; margin: 0 0 0.7rem 0;}
  .kiosk-countdown .due {color: #ffd166;} .kiosk-countdown .late {color: #ff6b6b;}
  .kiosk-countdown .muted {color: #b8c0cc; font-weight: 400;}
  [data-testid="stPageLink"] a, [data-testid="stPageLink"] p, [data-testid="stPageLink"] span {color: #b8c0cc !important;}
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
        f'<div class="kiosk-delta {tone}">{d.shown_change(name, delta) or d.MISSING} vs yesterday</div></div>',
        unsafe_allow_html=True,
    )


def short_day(day) -> str:
    return f"{day:%b} {day.day}"


def days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def countdown(rows: list[dict]) -> str:
    """The nearest coverage deadline (metrics.nearest_coverage_deadline) as one line in large type."""
    row = m.nearest_coverage_deadline(rows)
    if row is None:
        return '<div class="kiosk-countdown">Coverage deadline: <span class="muted">no data in this view</span></div>'
    head = f"{short_day(row['coverage_start'])} coverage:"
    unpaid = d.format_value("count", row["unpaid"])
    if row["days_left"] < 0:
        when = f'<span class="late">due date {short_day(row["due_date"])} passed {days(-row["days_left"])} ago</span>'
        tail = f'<span class="late">{unpaid} unpaid are past due</span>'
    elif row["days_left"] == 0:
        when = f'<span class="due">due today ({short_day(row["due_date"])})</span>'
        tail = f"{unpaid} unpaid"
    else:
        when = f'<span class="due">{days(row["days_left"])}</span> to the {short_day(row["due_date"])} due date'
        tail = f"{unpaid} unpaid"
    return f'<div class="kiosk-countdown">{head} {when} · {tail}</div>'


# what is left of 1080 px under the as-of line, the countdown and the tiles (the demo banner included)
CHART_HEIGHT = 470  # the whole screen fits 1080 px with a two-line countdown and the footer
TILES = ("plan_selected", "effectuated", "error_rate_recent", "never_sent", "backlog", "past_due")


@st.fragment(run_every=config.standup_refresh_seconds())
def screen() -> None:
    # a new export is picked up here: the load is keyed by the export's fingerprint
    export = serving.load_export()
    base: serving.View | None = st.session_state.get("view")
    if base is None or not ui.guard(export):
        back_link(st)
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
    st.markdown(countdown(serving.get(view, "coverage_deadlines")), unsafe_allow_html=True)
    backlog_back = serving.backlog_cells_back(view, serving.STANDUP_BACKLOG_DAYS)  # now and yesterday, one query
    now, then = serving.headline(view, backlog_back[0]), serving.headline(yesterday, backlog_back[1])
    backlog = m.backlog_from_cells(backlog_back[0])
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
                    daily, releases, dark=True, height=CHART_HEIGHT, title="Daily 834 error rate, last 45 days"
                ),
                theme=None,
                key="kiosk_errors",
            )
        else:  # said, not left blank: the TV shows an empty half otherwise
            ui.empty(f"Daily 834 error rate: no 834 was sent in this view by {iso_utc(view.as_of)}.")
    with right:
        st.plotly_chart(
            charts.backlog_by_stage_chart(backlog, dark=True, height=CHART_HEIGHT, title="Backlog by stage"),
            theme=None,
            key="kiosk_backlog",
        )
    # the footer: how old the data is, and (beside it, one line) the way back, since the sidebar is hidden
    # the newest record itself: view.latest is the time shown, which is now when the export has none
    newest = serving.latest_event(export.fingerprint, export.engine)
    note, back = st.columns([5, 1], vertical_alignment="center")
    note.caption(
        f"{data_age(newest)} Refreshes every {config.standup_refresh_seconds() // 60} minutes; "
        f"export loaded {iso_utc(export.loaded_at.replace(microsecond=0))}."
    )
    back_link(back)


def back_link(where) -> None:
    """The way back to the other pages (the sidebar is hidden on this screen), for those who may see them."""
    if st.session_state["access"].may_see_page("overview"):
        where.page_link("app_pages/overview.py", label="Back to the other pages", icon=":material/arrow_back:")


def data_age(latest) -> str:
    """How old the data is: the export's newest record, its age, and whether that is stale (the health
    page's rule)."""
    age_days, stale = m.freshness(latest, m.utc_now(), config.stale_after_hours())
    if age_days is None:
        return "The export holds no record."
    hours = age_days * 24
    age = f"{hours:,.0f} h" if hours < 48 else f"{age_days:,.0f} days"
    return f"Newest record {iso_utc(latest)}, {age} old" + (" (stale)." if stale else ".")


screen()
