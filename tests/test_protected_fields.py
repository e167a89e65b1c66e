"""Protected health information (subscriber ids, birth dates) never leaves the database."""

from __future__ import annotations

import re

import pytest
from helpers import SAMPLE_PARAMS, rendered_text

from dashboard import demo
from dashboard.engine import Engine
from dashboard.engine.catalog import load_catalog
from dashboard.pages import PAGE_NAMES

PROTECTED_COLUMNS = {"subscriber_id", "subscriber_birth_date"}


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    root = tmp_path_factory.mktemp("phi") / "export"
    demo.generate(root, 2000, progress=False)
    return root


def test_no_named_query_returns_a_protected_column(export):
    engine = Engine(export)
    _, queries = load_catalog()
    for name, query in queries.items():
        cursor = engine._execute(name, {p: SAMPLE_PARAMS[p] for p in query.params})
        columns = {d[0] for d in cursor.description}
        cursor.close()
        assert not columns & PROTECTED_COLUMNS, name


@pytest.mark.parametrize("page", PAGE_NAMES)
def test_no_page_sends_a_subscriber_id_or_birth_date(export, app_page, page):
    at = app_page(page, data_dir=export)
    text = rendered_text(at)
    assert "SUB0" not in text  # the demo's subscriber ids
    assert not PROTECTED_COLUMNS & set(re.findall(r"[a-z_]+", text))
    assert not re.search(r"\b19[4-9][0-9]-[01][0-9]-[0-3][0-9]\b", text)  # birth dates are 1949-1996 here
