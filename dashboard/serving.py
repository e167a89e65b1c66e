"""The dashboard's access to the numbers: one prepared export per fingerprint, results cached per view.

Pages call `get(view, "funnel")` and the like; the name is a function of `dashboard.metrics`, so the
dashboard shows exactly what `report` prints. The export's fingerprint, the as-of time, the filters
and the caller's scope are all part of every cache key.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import streamlit as st

from . import config, demo
from . import metrics as m
from .engine import Engine
from .engine.staging import export_fingerprint
from .problems import ERROR, ExportError, Problem

# the metric functions pages may call through `get` (an allow-list: names never come from users)
ALLOWED = {
    "funnel",
    "time_to_convert",
    "errors",
    "errors_daily",
    "never_sent",
    "fix_impact",
    "backlog",
    "payment_deadline_risk",
    "backlog_cells",
    "backlog_cells_back",
    "backlog_trend",
    "canaries",
    "reconciliation",
    "age_bands",
    "dropouts",
    "backlog_work_list",
    "errors_by_issuer",
    "never_sent_trend",
    "stage_counts_by_day",
    "conversion_by_week",
    "time_to_convert_histogram",
    "reconciliation_work_list",
    "releases",
    # signals (docs/signals.md)
    "errors_recent",
    "release_its",
    "control_chart",
    "control_charts",
    "issuer_comparison",
    "coverage_deadlines",
}


@dataclass(frozen=True)
class LoadedExport:
    export_dir: str
    fingerprint: str
    engine: Engine | None
    problems: tuple[Problem, ...]
    loaded_at: datetime
    # set while a newer export that landed in the directory is being prepared (this one serves meanwhile)
    newer_since: datetime | None = None
    # set when the directory was read since this export and kept changing while it was (this one serves)
    changing_since: datetime | None = None

    @property
    def consistent(self) -> bool:
        """False when the export kept changing while it was read (its problems say so)."""
        return self.engine is None or self.engine.consistent

    def table_errors(self, tables: tuple[str, ...]) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR and (p.table in tables or p.table == "export")]


def _prepare(
    export_dir: str, fingerprint: str, progress: Callable[[str, int, int], None] | None = None
) -> LoadedExport:
    try:
        engine = Engine.configured(export_dir, progress=progress)
    except ExportError as exc:
        return LoadedExport(export_dir, fingerprint, None, tuple(exc.problems), m.utc_now())
    except config.SettingError as exc:
        problem = Problem(ERROR, "export", f"the export cannot be opened: {exc}", file=export_dir)
        return LoadedExport(export_dir, fingerprint, None, (problem,), m.utc_now())
    return LoadedExport(export_dir, engine.fingerprint, engine, tuple(engine.problems), m.utc_now())


class _Exports:
    """The export each directory is served from, and the newer one being prepared behind it.

    One per process, shared by every session: an export is prepared once, and while a new one is
    prepared (in a background thread) every session keeps getting the previous one, told so.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._current: dict[str, LoadedExport] = {}
        self._served_for: dict[str, str] = {}  # the fingerprint each current export was prepared for
        self._preparing: dict[str, tuple[str, datetime, threading.Thread]] = {}
        # per directory: when the last read found the export changing under it
        self._changing: dict[str, datetime] = {}
        # per directory: the step its preparation is at (step in words, i, n), for the page's progress bar
        self._steps: dict[str, tuple[str, int, int]] = {}
        self._ready = threading.Condition(self._lock)

    def _wait(
        self, export_dir: str, timeout: float, on_wait: Callable[[tuple[str, int, int] | None], None] | None
    ) -> None:
        """Wait for a preparation to finish (or `timeout`), telling `on_wait` the step the preparation of
        `export_dir` is at. Called with the lock held; `on_wait` runs without it (it draws on the page)."""
        self._ready.wait(timeout=timeout)
        if on_wait is not None and export_dir in self._preparing:
            step = self._steps.get(export_dir)
            self._lock.release()
            try:
                on_wait(step)
            finally:
                self._lock.acquire()

    def get(
        self,
        export_dir: str,
        fingerprint: str,
        on_wait: Callable[[tuple[str, int, int] | None], None] | None = None,
    ) -> LoadedExport:
        with self._lock:
            current = self._current.get(export_dir)
            if current is not None and self._served_for[export_dir] == fingerprint and current.consistent:
                return current
            changing = self._changing.get(export_dir)
            if (
                current is not None
                and changing is not None
                and m.utc_now() - changing < timedelta(seconds=_CHANGING_RETRY_SECONDS)
            ):
                # just read, and it was changing (the exporter is at work): not again at every rerun
                return replace(current, changing_since=changing) if current.consistent else current
            pending = self._preparing.get(export_dir)
            if pending is None or pending[0] != fingerprint:
                thread = threading.Thread(
                    target=self._run, args=(export_dir, fingerprint), name="prepare-export", daemon=True
                )
                pending = (fingerprint, m.utc_now(), thread)
                self._preparing[export_dir] = pending
                _track(thread)  # joined at exit: it runs DuckDB queries (the preparation, the overview)
                thread.start()
            if current is not None:
                # a small export is ready in a moment: show it rather than say the numbers are old
                deadline = time.monotonic() + config.new_export_wait_seconds()
                while export_dir in self._preparing and time.monotonic() < deadline:
                    self._wait(export_dir, min(_STEP_POLL_SECONDS, max(0.0, deadline - time.monotonic())), on_wait)
                current = self._current[export_dir]
                if self._served_for[export_dir] == fingerprint:
                    return current
                if export_dir not in self._preparing:
                    changing = self._changing.get(export_dir)
                    return replace(current, changing_since=changing) if changing and current.consistent else current
                return replace(current, newer_since=self._preparing[export_dir][1])
            # nothing to serve yet: wait for this preparation (or a newer one) to finish
            while export_dir not in self._current:
                self._wait(export_dir, _STEP_POLL_SECONDS, on_wait)
            return self._current[export_dir]

    def _run(self, export_dir: str, fingerprint: str) -> None:
        def heard(step: str, i: int, n: int) -> None:
            with self._lock:
                self._steps[export_dir] = (step, i, n)

        try:
            loaded = _prepare(export_dir, fingerprint, heard)
            warm = config.warm_views() and loaded.engine is not None and loaded.consistent
            with self._lock:
                replacing = export_dir in self._current
            if warm and replacing:
                # the export being served goes on being served, under its banner, while the new one's
                # overview is computed: no visitor meets the new export's cold queries
                with self._lock:
                    _, _, steps = self._steps.get(export_dir, ("", 1, 1))
                    self._steps[export_dir] = ("computing the overview's numbers", steps, steps)
                _warm_first_page(loaded)
        except Exception as exc:  # an engine failure must not leave sessions waiting for ever
            loaded = LoadedExport(
                export_dir,
                fingerprint,
                None,
                (
                    Problem(
                        ERROR,
                        "export",
                        f"the export could not be prepared ({type(exc).__name__}: {exc})",
                        file=export_dir,
                    ),
                ),
                m.utc_now(),
            )
        with self._lock:
            self._steps.pop(export_dir, None)
            pending = self._preparing.get(export_dir)
            if pending is not None and pending[0] == fingerprint:
                del self._preparing[export_dir]
            elif export_dir in self._current:
                # a newer one is on its way and an older one serves meanwhile: this one was never
                # published (only this thread has used its engine), so its connection is closed now
                if loaded.engine is not None:
                    loaded.engine.close()
                return
            current = self._current.get(export_dir)
            if loaded.consistent:
                self._changing.pop(export_dir, None)
            else:
                self._changing[export_dir] = loaded.loaded_at
                if current is not None and current.engine is not None and current.consistent:
                    # the exporter is still writing: keep serving the export read before, and say so
                    self._ready.notify_all()
                    if loaded.engine is not None:
                        loaded.engine.close()
                    return
            self._current[export_dir] = loaded
            self._served_for[export_dir] = fingerprint
            self._ready.notify_all()
        if loaded.engine is not None and loaded.consistent and config.warm_views():
            thread = threading.Thread(target=_warm, args=(loaded,), name="warm-default-views", daemon=True)
            _track(thread)
            thread.start()


_EXPORTS = _Exports()
# After a read that found the export changing, the next read of the directory waits this long (pages rerun
# often, and an exporter at work changes the fingerprint at every look)
_CHANGING_RETRY_SECONDS = 10
# how often a waiting page redraws the preparation's progress bar
_STEP_POLL_SECONDS = 0.25


# The backlog as of several times in one query (metrics.backlog_cells_back), by days back: the overview's
# 4-week sparklines (its last two points are the headline's now and a week earlier), and the stand-up's
# now and yesterday
OVERVIEW_BACKLOG_DAYS = (28, 21, 14, 7, 0)
STANDUP_BACKLOG_DAYS = (1, 0)


# What the pages compute for the unfiltered view at the latest time: computed once in the background
# when an export loads, so that the first visitor of each page does not wait for it.
_WARM = [
    ("funnel", {}),
    ("errors", {}),
    ("never_sent", {}),
    ("backlog_cells", {}),  # the backlog and its payment deadlines
    ("backlog_cells_back", {"days": STANDUP_BACKLOG_DAYS}),  # the overview's: _warm_first_page
    ("stage_counts_by_day", {}),
    ("errors_daily", {}),
    ("never_sent_trend", {}),
    ("backlog_trend", {}),
    ("fix_impact", {}),
    ("releases", {}),
    ("errors_recent", {}),
    ("release_its", {}),
    ("control_chart", {"metric": "error_834"}),
    ("issuer_comparison", {}),
    ("coverage_deadlines", {}),
    ("errors_by_issuer", {}),
    ("time_to_convert", {}),
    ("conversion_by_week", {}),
    ("canaries", {}),
    ("reconciliation", {}),
    ("fix_impact", {"window_days": 7}),
    ("dropouts", {"stage": "paid", "limit": 500}),
    ("backlog_work_list", {"stages": None, "limit": 300}),
    ("backlog_work_list", {"stages": None, "limit": 300, "deadline": "past_due"}),
    ("backlog_work_list", {"stages": None, "limit": 300, "deadline": "at_risk"}),
    ("time_to_convert_histogram", {"stage_from": "plan_selected", "stage_to": "accepted_834"}),
]


_STOP_WARMING = threading.Event()
_WARMERS: list[threading.Thread] = []
_WARMERS_LOCK = threading.Lock()


def _track(thread: threading.Thread) -> None:
    """Keep a background thread that runs DuckDB queries, to be joined at exit (finished ones forgotten)."""
    with _WARMERS_LOCK:
        _WARMERS[:] = [t for t in _WARMERS if t.is_alive() or t.ident is None]  # running, or not started yet
        _WARMERS.append(thread)


def _warm_first_page(loaded: LoadedExport) -> None:
    """Everything the overview (the page most visitors open first) computes for its unfiltered view at
    the latest time: the headline now and a week earlier, the 30-day and 4-week sparklines, the funnel,
    the deadlines, the error chart with its releases and the funnel plots. `tests/test_prepared.py`
    opens the overview after this and checks that it runs no query."""
    try:
        latest = default_as_of(loaded.fingerprint, loaded.engine)
        issuer_directory(loaded.fingerprint, loaded.engine)
        known_states(loaded.fingerprint, loaded.engine, m.Scope())
        base = View(loaded, latest, latest)
        # the backlog first: the backlog trend's own day is read from it, as on the page
        now_cells = backlog_cells_back(base, OVERVIEW_BACKLOG_DAYS)[0]
        wanted = [(base, name, {"cells": now_cells} if name == "backlog_trend" else {}) for name in OVERVIEW_NOW]
        wanted += [(base.at(latest - timedelta(days=7)), name, {}) for name in OVERVIEW_WEEK_AGO]
        for view, name, kwargs in wanted:
            if _STOP_WARMING.is_set():
                return
            get(view, name, **kwargs)
    except Exception:  # an optimisation: a failure here shows up, with its message, on the page
        pass


# what the overview asks for (dashboard/app_pages/overview.py): at the as-of time, a week earlier (the
# headline's comparison), and the backlog at OVERVIEW_BACKLOG_DAYS
OVERVIEW_NOW = (
    "funnel",
    "coverage_deadlines",
    "errors",
    "never_sent",
    "errors_recent",
    "stage_counts_by_day",
    "errors_daily",
    "never_sent_trend",
    "backlog_trend",
    "releases",
    "release_its",
    "issuer_comparison",
)
OVERVIEW_WEEK_AGO = ("funnel", "errors", "never_sent", "errors_recent")


def _warm(loaded: LoadedExport) -> None:
    try:
        latest = default_as_of(loaded.fingerprint, loaded.engine)
        issuer_directory(loaded.fingerprint, loaded.engine)
        base = View(loaded, latest, latest)
        for view in (base, base.at(latest - timedelta(days=7)), base.at(latest - timedelta(days=1))):
            for name, kwargs in _WARM:
                if _STOP_WARMING.is_set():
                    return
                get(view, name, **kwargs)
    except Exception:  # warming is an optimisation: a failure here shows up, with its message, on the page
        pass


@atexit.register
def _stop_warming() -> None:
    # a thread killed inside DuckDB at interpreter exit aborts the process: let it finish its query (a
    # preparation finishes; the warm-ups stop at their next query)
    _STOP_WARMING.set()
    with _WARMERS_LOCK:
        threads = list(_WARMERS)
    for thread in threads:
        if thread.is_alive():
            thread.join(timeout=60)


def export_dir() -> Path:
    return config.data_dir()


def load_export() -> LoadedExport:
    directory = export_dir()
    if (
        "DASHBOARD_DATA_DIR" not in os.environ
        and directory == config.DEFAULT_DATA_DIR
        and demo.export_is_empty(directory)
    ):
        with st.spinner("No export yet: generating the demo export (autumn 2013) in data/ …"):
            demo.ensure_default_export(directory, lambda text: None)
        st.toast("Generated the demo export in data/: the numbers shown are demo data.")
    fingerprint = export_fingerprint(directory) if directory.is_dir() else "missing"
    slot = st.empty()
    drawn: list[tuple[str, int, int] | None] = [None]

    def show(step: tuple[str, int, int] | None) -> None:
        """The preparation's step on the page: what it is doing and how far (step i of n)."""
        if step is None or step == drawn[0]:
            return
        drawn[0] = step
        words, i, n = step
        slot.progress((i - 1) / n if n else 0.0, text=f"Preparing the export (once per export): {words} ({i}/{n})")

    try:
        with st.spinner("Preparing the export (once per export) …"):
            return _EXPORTS.get(str(directory), fingerprint, on_wait=show)
    finally:
        slot.empty()


@dataclass(frozen=True)
class View:
    """What one page shows: an export, an as-of time, the filters and the caller's scope."""

    export: LoadedExport
    as_of: datetime
    latest: datetime
    filters: m.Filters = field(default_factory=m.Filters)
    scope: m.Scope = field(default_factory=m.Scope)

    @property
    def engine(self) -> Engine:
        return self.export.engine

    @property
    def request(self) -> m.Request:
        """The metric request this view stands for."""
        return m.Request(self.engine, self.as_of, self.filters, self.scope)

    def at(self, as_of: datetime) -> View:
        return View(self.export, as_of, self.latest, self.filters, self.scope)

    def narrowed(self, **changes: Any) -> View:
        f = self.filters
        values = {"date_from": f.date_from, "date_to": f.date_to, "states": f.states, "issuers": f.issuers}
        values.update(changes)
        return View(self.export, self.as_of, self.latest, m.Filters(**values), self.scope)


@st.cache_data(max_entries=2000, ttl=config.cache_ttl_seconds(), show_spinner=False)
def _cached(
    name: str, fingerprint: str, as_of: datetime, filters: m.Filters, scope: m.Scope, kwargs: tuple, _engine: Engine
) -> Any:
    return getattr(m, name)(m.Request(_engine, as_of, filters, scope), **dict(kwargs))


@st.cache_data(max_entries=500, ttl=config.cache_ttl_seconds(), show_spinner=False)
def _cached_from(
    name: str,
    fingerprint: str,
    as_of: datetime,
    filters: m.Filters,
    scope: m.Scope,
    kwargs: tuple,
    _engine: Engine,
    _given: dict[str, Any],
) -> Any:
    """A metric that reuses another cached result (`_given`, itself a function of the same key)."""
    return getattr(m, name)(m.Request(_engine, as_of, filters, scope), **dict(kwargs), **_given)


# metrics read from another one's cached result, without a query of their own: the backlog and its
# payment deadlines come from one evaluation of the backlog (every headline needs both)
_DERIVED = {"backlog": m.backlog_from_cells, "payment_deadline_risk": m.risk_from_cells}


# the day-end trends whose T's own day is another metric's result (metrics.stage_counts_by_day and the like)
_TREND_GIVEN = ("stage_counts_by_day", "backlog_trend", "never_sent_trend")


def get(view: View, name: str, cells: list[dict[str, Any]] | None = None, **kwargs: Any) -> Any:
    """`metrics.<name>` for the view, cached. `cells`: the view's `backlog_cells` when the caller has
    them from `backlog_cells_back` (for `backlog_trend`; the same numbers either way)."""
    if name not in ALLOWED:
        raise KeyError(f"{name} is not a dashboard metric")
    if name in _DERIVED and not kwargs:
        return _DERIVED[name](get(view, "backlog_cells"))
    given = None
    if name == "fix_impact":
        # one cache entry per window whatever the caller spells; the trend-adjusted verdicts computed once
        kwargs = {"window_days": m.DEFAULT_WINDOW_DAYS, **kwargs}
        if kwargs.get("its_days") is None:
            kwargs.pop("its_days", None)
            given = {"its": get(view, "release_its")}
    elif name == "issuer_comparison":
        given = {"funnel_result": get(view, "funnel")}  # the page has (or will have) the funnel anyway
    elif name in _TREND_GIVEN and not kwargs:
        # a day-end trend's own day (T's) is a metric the page has anyway: its days before T's come from
        # the prepared per-day changes, T's from the funnel, backlog or never-sent result
        given = {"funnel_result": get(view, "funnel")}
        if name == "backlog_trend":
            given["cells"] = cells if cells is not None else get(view, "backlog_cells")
        elif name == "never_sent_trend":
            given["never_sent_result"] = get(view, "never_sent")
    if given is not None:
        return _cached_from(
            name,
            view.export.fingerprint,
            view.as_of,
            view.filters,
            view.scope,
            tuple(sorted(kwargs.items())),
            view.engine,
            given,
        )
    return _cached(
        name, view.export.fingerprint, view.as_of, view.filters, view.scope, tuple(sorted(kwargs.items())), view.engine
    )


def headline(view: View, cells: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The headline numbers of `metrics.headline` for a view, from the cached results that hold them;
    the backlog's from `cells` when the caller has them (from `backlog_cells_back`)."""
    if cells is None:
        cells = get(view, "backlog_cells")
    return m.headline(
        get(view, "funnel"),
        get(view, "errors"),
        get(view, "never_sent"),
        m.backlog_from_cells(cells),
        m.risk_from_cells(cells),
        get(view, "errors_recent"),
    )


def backlog_cells_back(view: View, days: tuple[int, ...]) -> dict[int, list[dict[str, Any]]]:
    """The view's `backlog_cells` as of its as-of time less each of `days` days, from one query
    (`metrics.backlog_cells_back`), by days back."""
    return dict(zip(days, get(view, "backlog_cells_back", days=days), strict=True))


def fetcher(view: View, name: str, **kwargs: Any):
    """A metric for a download: computed when called (on the click), not cached, scope applied."""
    if name not in ALLOWED:
        raise KeyError(f"{name} is not a dashboard metric")
    return lambda: getattr(m, name)(view.request, **kwargs)


@st.cache_data(max_entries=20, ttl=config.cache_ttl_seconds(), show_spinner=False)
def default_as_of(fingerprint: str, _engine: Engine) -> datetime:
    return m.default_as_of(_engine)


@st.cache_data(max_entries=20, ttl=config.cache_ttl_seconds(), show_spinner=False)
def issuer_directory(fingerprint: str, _engine: Engine) -> list[dict[str, Any]]:
    return m.issuer_directory(_engine)


@st.cache_data(max_entries=20, ttl=config.cache_ttl_seconds(), show_spinner=False)
def known_states(fingerprint: str, _engine: Engine, scope: m.Scope) -> list[str]:
    return m.known_states(_engine, scope)


@st.cache_data(max_entries=20, ttl=config.cache_ttl_seconds(), show_spinner=False)
def latest_event(fingerprint: str, _engine: Engine) -> datetime | None:
    return m.latest_event(_engine)


@st.cache_data(max_entries=20, ttl=60, show_spinner=False)
def table_freshness(fingerprint: str, _engine: Engine) -> list[dict[str, Any]]:
    return m.table_freshness(_engine)


@st.cache_data(max_entries=20, ttl=60, show_spinner=False)
def future_timestamps(fingerprint: str, _engine: Engine) -> list[dict[str, Any]]:
    return m.future_timestamps(_engine)


def scoped_directory(export: LoadedExport, scope: m.Scope) -> list[dict[str, Any]]:
    """The issuer directory as the caller may see it: only issuers in scope."""
    rows = issuer_directory(export.fingerprint, export.engine)
    return rows if scope.issuers is None else [r for r in rows if r["issuer_id"] in scope.issuers]


def issuer_names(view: View) -> dict[str, str]:
    """issuer id -> display name ('Name (id)'; the id alone when issuers.csv does not list it), in scope."""
    return {
        r["issuer_id"]: (f"{r['issuer_name']} ({r['issuer_id']})" if r["issuer_name"] else r["issuer_id"])
        for r in scoped_directory(view.export, view.scope)
    }
