"""Protected health information (subscriber ids, birth dates) never leaves the database."""

from __future__ import annotations

import re

import pytest
from conftest import REPO
from streamlit.testing.v1 import AppTest
from test_access_app import rendered_text
from test_catalog import SAMPLE

from dashboard import demo
from dashboard.engine import Engine
from dashboard.engine.catalog import load_catalog

PROTECTED_COLUMNS = {"subscriber_id", "subscriber_birth_date"}
PAGES = ["overview", "funnel", "errors", "backlog", "issuer", "standup", "health"]


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    root = tmp_path_factory.mktemp("phi") / "export"
    demo.generate(root, 2000, progress=False)
    return root


def test_no_named_query_returns_a_protected_column(export):
    engine = Engine(export)
    _, queries = load_catalog()
    for name, query in queries.items():
        cursor = engine._execute(name, {p: SAMPLE[p] for p in query.params})
        columns = {d[0] for d in cursor.description}
        cursor.close()
        assert not columns & PROTECTED_COLUMNS, name


@pytest.mark.parametrize("page", PAGES)
def test_no_page_sends_a_subscriber_id_or_birth_date(export, monkeypatch, page):
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(export))
    at = AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=120)
    at.user = {}
    if page != "overview":
        at.switch_page(f"app_pages/{page}.py")
    at.run()
    text = rendered_text(at)
    assert "SUB0" not in text  # the demo's subscriber ids
    assert not PROTECTED_COLUMNS & set(re.findall(r"[a-z_]+", text))
    assert not re.search(r"\b19[4-9][0-9]-[01][0-9]-[0-3][0-9]\b", text)  # birth dates are 1949-1996 here
