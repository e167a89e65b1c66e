"""The dashboard's entry file: loads the export, draws the shared filters (kept in the URL) and the pages."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import streamlit as st

if __package__ in (None, ""):  # `streamlit run dashboard/app.py` runs this file as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard import access as acc  # noqa: E402
from dashboard import config, serving  # noqa: E402
from dashboard import filtercheck as fc  # noqa: E402
from dashboard import metrics as m  # noqa: E402
from dashboard.pages import PAGES as REGISTERED_PAGES  # noqa: E402

st.set_page_config(
    page_title="Enrollment back-end operations",
    page_icon=":material/monitoring:",
    layout="wide",
    initial_sidebar_state="expanded",
)

PAGES = [st.Page(p.path, title=p.title, icon=p.icon, url_path=p.name, default=p.default) for p in REGISTERED_PAGES]


def oidc_configured() -> bool:
    """An [auth] section in secrets.toml: Streamlit's own sign-in (OIDC) can be offered."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all: st.secrets raises on any use
        return False


def auth_configured() -> bool:
    """OIDC login configured in secrets.toml, or a trusted proxy header mapped into st.user."""
    return oidc_configured() or bool(st.get_option("server.trustedUserHeaders"))


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
        # text, not st.date_input: its calendar applies a typed date only when it closes, not on Enter, and
        # drops a bad ?from= in silence; a text field applies on Enter and a bad value is named (decisions.md)
        from_text = st.text_input(
            "Applications from (YYYY-MM-DD)",
            key="from",
            bind="query-params",
            placeholder="any day",
            help="The first day of application submission counted. Type a date, e.g. 2013-12-01, and press Enter.",
        )
        to_text = st.text_input(
            "Applications before (YYYY-MM-DD)",
            key="to",
            bind="query-params",
            placeholder="any day",
            help="The window's end, excluded. Type a date and press Enter.",
        )
    date_from = window_day(from_text, "from", "start")
    date_to = window_day(to_text, "to", "end")
    with st.sidebar:
        # states of issuers.csv and of the enrollments themselves (an unlisted issuer has no state)
        states = serving.known_states(export.fingerprint, engine, access.scope)
        chosen_states = address_multiselect(
            "States", states, "state", lambda t: fc.match_state(t, states), str.upper, placeholder="All states"
        )
        issuer_options = [
            r["issuer_id"] for r in directory if not chosen_states or r["state"] in chosen_states or r["state"] is None
        ]
        chosen_issuers = address_multiselect(
            "Issuers",
            issuer_options,
            "issuer",
            lambda t: fc.match_issuer(t, names),
            str if access.scope.issuers is None else (lambda t: fc.NOT_IN_SCOPE),
            format_func=lambda i: names.get(i, i),
            placeholder="All issuers" if access.scope.issuers is None else "All your issuers",
        )
        st.caption("The filters live in the page's address: copy it to share exactly this view.")
    # said in the page itself, not only in the sidebar: the stand-up screen hides the sidebar
    unknown_states = tuple(s for s in chosen_states if s not in states)
    if unknown_states:
        text = fc.unknown_states_text(unknown_states, tuple(chosen_states), states, "The state filter")
        st.warning(text, icon=":material/filter_alt_off:")
    unknown_issuers = tuple(i for i in chosen_issuers if i not in names)
    if unknown_issuers:
        text = fc.unknown_issuers_text(unknown_issuers, tuple(chosen_issuers), "The issuer filter")
        st.warning(text, icon=":material/filter_alt_off:")
    as_of = latest
    if as_of_text:
        try:
            as_of = m.parse_as_of(as_of_text)
        except ValueError:
            st.error(
                f"The as-of time '{as_of_text}' (as_of in the address) is not an ISO 8601 time, e.g. "
                "2013-12-01T09:00:00Z. Correct it, or clear it for the latest data in the export; nothing is "
                "shown until then.",
                icon=":material/event_busy:",
            )
            st.stop()
        verdict = fc.check_as_of(
            as_of, serving.latest_event(export.fingerprint, engine), m.utc_now(), config.stale_after_hours(), "As of"
        )
        if verdict.error:
            st.error(
                verdict.error + " Nothing is shown until it is corrected or cleared.", icon=":material/event_busy:"
            )
            st.stop()
        if verdict.warning:
            st.warning(verdict.warning, icon=":material/history_toggle_off:")
    try:
        filters = m.Filters(date_from, date_to, tuple(chosen_states) or None, tuple(chosen_issuers) or None)
    except m.FilterError as exc:
        st.error(f"{exc}; the date window is ignored.")
        filters = m.Filters(None, None, tuple(chosen_states) or None, tuple(chosen_issuers) or None)
    return serving.View(export, as_of, latest, filters, access.scope)


def window_day(text: str, key: str, end: str) -> date | None:
    """A day of the application window as typed; a value that is not a date is named in the page and
    that end of the window left open."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        st.error(
            f"'{text}' ({key} in the address) is not a date (YYYY-MM-DD, e.g. 2013-12-01): the window's {end} is "
            "left open until it is corrected.",
            icon=":material/event_busy:",
        )
        return None


def address_multiselect(label, options, key, match, spelling, **kwargs) -> list[str]:
    """A multiselect bound to ?key=..., which takes from the address what a person would type there: `match`
    finds the option a value names ('nc' is NC, a bare issuer id is its issuer); a value naming none is kept
    as an option of its own (shown as `spelling` gives it), so that it is seen, stays in the address and can be
    removed, rather than dropped in silence by Streamlit, which keeps only exact option labels."""
    pending = st.session_state.pop(f"_{key}_from_address", None)
    if pending is not None:
        st.session_state[key] = pending  # the address's values, normalised on the run before
    wanted = None
    if key not in st.session_state:  # the first run: the address is all there is
        given = [t for t in st.query_params.get_all(key) if t.strip()]
        wanted = list(dict.fromkeys(match(t) or spelling(t.strip()) for t in given))
        shown = [kwargs.get("format_func", str)(v) for v in wanted]
        if [t.strip() for t in given] != shown:
            # before the widget exists: the address as it will hold it, then a run that seeds from it
            st.query_params[key] = shown
            st.session_state[f"_{key}_from_address"] = wanted
            st.rerun()
    current = wanted if wanted is not None else list(st.session_state.get(key) or [])
    extra = [v for v in current if v not in options]
    chosen = st.multiselect(label, list(options) + extra, key=key, bind="query-params", **kwargs)
    if wanted is not None and chosen != wanted:
        # Streamlit seeded only the exact labels: take the normalised values on a second run
        st.session_state[f"_{key}_from_address"] = wanted
        st.rerun()
    return chosen


access = current_access()
if not access.allowed:
    st.title("Enrollment back-end operations")
    if access.reason == "not signed in" and oidc_configured():
        st.info("Sign in to see the dashboard.")
        st.button("Sign in", on_click=st.login, icon=":material/login:")
    elif access.reason == "not signed in":  # no identity reached the dashboard: not a roles question
        st.error(
            "You have no access to this dashboard (not signed in). Open it through the sign-in address the "
            "operations team gave you; this address does not say who you are."
        )
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
        # the server's directory only for readers of every issuer (ui.export_label)
        "The export"
        + (f" in {serving.export_dir()}" if access.scope.issuers is None else "")
        + f" was changing while it was read at "
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
