"""Helpers the test modules share (test modules never import each other): the repository's root, the
`report` command, metric requests at a literal time, and Streamlit's AppTest runner for a page."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

from exportkit import ts
from streamlit.testing.v1 import AppTest

from dashboard import metrics as m
from dashboard.engine import Engine
from dashboard.pages import PAGES

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "dashboard" / "app.py")
SCRIPTS = {p.name: p.script for p in PAGES}

# A value for every parameter a named query may declare, to run each query once.
SAMPLE_PARAMS = {
    "as_of": datetime(2013, 12, 1),
    "as_of_times": [datetime(2013, 11, 24), datetime(2013, 12, 1)],
    "first_day": date(2013, 10, 1),
    "date_from": None,
    "date_to": None,
    "states": ["NC"],
    "issuers": None,
    "window_days": 7,
    "its_days": 14,
    "metric": "error_834",
    "until": datetime(2013, 11, 29),
    "release_issuers": None,
    "now": datetime(2014, 1, 1),
    "stages": None,
    "deadline": None,
    "stage": "paid",
    "limit": 100,
    "category": "matched",
    "stage_from": "plan_selected",
    "stage_to": "paid",
}


def query(engine: Engine, as_of: str, **filters) -> m.Request:
    """A metric request over `engine` as of a literal time ('2013-12-01 09:00'), with filters."""
    return m.Request(engine, ts(as_of), m.Filters(**filters))


def run_report(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dashboard", "report", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def report_json(*args: str) -> dict:
    done = run_report(*args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def run_page(page: str = "overview", *, user: dict | None = None, **params: str) -> AppTest:
    """One run of the dashboard on `page` under AppTest, with URL parameters; fails on any exception.

    `user` is what st.user holds ({} or None: nobody signed in, the open demo mode). The export and
    roles file come from the environment (DASHBOARD_DATA_DIR, DASHBOARD_ROLES_FILE)."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.user = user or {}
    for key, value in params.items():
        at.query_params[key] = value
    if page != "overview":
        at.switch_page(SCRIPTS[page])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def rendered_text(at: AppTest) -> str:
    """Everything the run sends to the browser, element by element (charts' JSON, tables' bytes, labels)."""
    parts = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


def metrics_of(at: AppTest) -> dict[str, str]:
    """label -> shown value of every st.metric on the page."""
    return {metric.label: metric.value for metric in at.metric}


def markdown_as_read(text: str) -> str:
    """What a reader sees of a markdown message (st.error, st.markdown): rendered by a CommonMark renderer
    (markdown-it-py), tags dropped, entities read; a page escapes an export's values, so a test reads them
    as shown rather than as sent."""
    import html
    import re

    from markdown_it import MarkdownIt

    return html.unescape(re.sub(r"<[^>]+>", "", MarkdownIt("commonmark").render(text)))
