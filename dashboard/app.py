"""The dashboard's entry file: loads the export, draws the shared filters (kept in the URL) and the pages."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import streamlit as st

if __package__ in (None, ""):  # `streamlit run dashboard/app.py` runs this file as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard import access as acc  # noqa: E402
from dashboard import metrics as m  # noqa: E402
from dashboard import serving  # noqa: E402
from dashboard.pages import PAGES as REGISTERED_PAGES  # noqa: E402

st.set_page_config(
    page_title="Enrollment back-end operations",
    page_icon=":material/monitoring:",
    layout="wide",
    initial_sidebar_state="expanded",
)

PAGES = [st.Page(p.path, title=p.title, icon=p.icon, url_path=p.name, default=p.default) for p in REGISTERED_PAGES]


def auth_configured() -> bool:
    """OIDC login configured in secrets.toml, or a trusted proxy header mapped into st.user."""
    try:
        if "auth" in st.secrets:
            return True
    except Exception:  # no secrets.toml at all
        pass
    return bool(st.get_option("server.trustedUserHeaders"))


def current_access() -> acc.Access:
    try:
        roles = acc.load_roles()
    except acc.RolesError as exc:
        st.error(f"The roles file cannot be used, so nobody is let in until it is fixed: {exc}")
        st.stop()
    user = st.user.to_dict()
    signed_in = bool(user.get("is_logged_in")) or bool(user.get("email")) or bool(user.get("groups"))
    return acc.resolve(user if signed_in else None, roles, auth_configured=auth_configured())


def filters_sidebar(export: serving.LoadedExport, access: acc.Access) -> serving.View | None:
    """The filters every page shares. Each widget is bound to a URL query parameter."""
    if export.engine is None:
        return None
    engine = export.engine
    latest = serving.default_as_of(export.fingerprint, engine)
    # only issuers in the caller's scope ever reach a list, a filter option or a label
    directory = serving.scoped_directory(export, access.scope)
    names = {
        r["issuer_id"]: (f"{r['issuer_name']} ({r['issuer_id']})" if r["issuer_name"] else r["issuer_id"])
        for r in directory
    }
    with st.sidebar:
        st.subheader("Filters")
        as_of_text = st.text_input(
            "As of (UTC, ISO 8601)",
            key="as_of",
            bind="query-params",
            placeholder="latest in the export",
            help="Replay what the dashboard showed at an earlier time. Empty: the latest event in the export.",
        )
        # explicit bounds: Streamlit's default range ends ten years back, which would refuse 2013
        bounds = dict(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
        date_from = st.date_input("Applications from", value=None, key="from", bind="query-params", **bounds)
        date_to = st.date_input(
            "Applications before",
            value=None,
            key="to",
            bind="query-params",
            help="The window's end is excluded.",
            **bounds,
        )
        # states of issuers.csv and of the enrollments themselves (an unlisted issuer has no state)
        everything = serving.View(export, latest, latest, scope=access.scope)
        states = sorted(
            {r["state"] for r in directory if r["state"]} | {s for s in serving.get(everything, "funnel").by_state if s}
        )
        chosen_states = st.multiselect("States", states, key="state", bind="query-params", placeholder="All states")
        issuer_options = [
            r["issuer_id"] for r in directory if not chosen_states or r["state"] in chosen_states or r["state"] is None
        ]
        chosen_issuers = st.multiselect(
            "Issuers",
            issuer_options,
            key="issuer",
            bind="query-params",
            format_func=lambda i: names.get(i, i),
            placeholder="All issuers",
        )
        st.caption("The filters live in the page's address: copy it to share exactly this view.")
    as_of = latest
    if as_of_text:
        try:
            as_of = m.parse_as_of(as_of_text)
        except ValueError:
            st.sidebar.error(f"'{as_of_text}' is not an ISO 8601 time; showing the latest data instead.")
    try:
        filters = m.Filters(date_from, date_to, tuple(chosen_states) or None, tuple(chosen_issuers) or None)
    except m.FilterError as exc:
        st.sidebar.error(f"{exc}; the date window is ignored.")
        filters = m.Filters(None, None, tuple(chosen_states) or None, tuple(chosen_issuers) or None)
    return serving.View(export, as_of, latest, filters, access.scope)


access = current_access()
if not access.allowed:
    st.title("Enrollment back-end operations")
    if access.reason == "not signed in" and "auth" in (st.secrets if auth_configured() else {}):
        st.info("Sign in to see the dashboard.")
        st.button("Sign in", on_click=st.login, icon=":material/login:")
    else:
        st.error(
            f"You have no access to this dashboard ({access.reason}). Ask the operations team to add "
            "you to the roles file."
        )
    st.stop()
if access.demo_mode:
    st.warning(
        "Demo mode: no sign-in is configured, so everyone sees every issuer. Configure OIDC or a trusted "
        "proxy header and set DASHBOARD_DEMO_MODE=0 for production (docs/security.md).",
        icon=":material/lock_open:",
    )
export = serving.load_export()
if export.newer_since is not None:
    st.info(
        f"A newer export landed at {export.newer_since:%Y-%m-%d %H:%M} UTC and is being prepared. Until it is "
        f"ready, these numbers are from the export prepared at {export.loaded_at:%Y-%m-%d %H:%M} UTC.",
        icon=":material/hourglass_top:",
    )
if export.changing_since is not None:
    st.warning(
        f"The export in {serving.export_dir()} was changing while it was read at "
        f"{export.changing_since:%Y-%m-%d %H:%M} UTC (the exporter is still writing it). These numbers are "
        f"from the export prepared at {export.loaded_at:%Y-%m-%d %H:%M} UTC; it is read again on the next "
        "refresh.",
        icon=":material/sync_problem:",
    )
pages = [p for p in PAGES if access.may_see_page(p.url_path or "overview")]
page = st.navigation(pages, position="sidebar")
view = filters_sidebar(export, access)
st.session_state["view"] = view
st.session_state["export"] = export
st.session_state["access"] = access
page.run()
