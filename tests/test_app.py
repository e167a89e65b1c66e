"""Every page under Streamlit's AppTest: it runs, and its key numbers are the report command's."""

from __future__ import annotations

import shutil

import pytest
from helpers import metrics_of, report_json

from dashboard import demo
from dashboard import metrics as m
from dashboard.definitions import format_value
from dashboard.engine import Engine
from dashboard.pages import PAGE_NAMES


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("app") / "export"
    demo.generate(root, 3000, progress=False)
    return root


@pytest.fixture
def app(export_dir, app_page):
    return lambda page="overview", **params: app_page(page, data_dir=export_dir, **params)


@pytest.mark.parametrize("page", PAGE_NAMES)
def test_every_page_runs_without_error_and_shows_the_demo_banner(app, page):
    at = app(page)
    assert not at.error, [e.value for e in at.error]
    assert any("Demo mode" in w.value for w in at.warning)


VIEWS = [
    ([], {}),
    (["--state", "NC", "--as-of", "2013-12-20T00:00:00"], {"state": ["NC"], "as_of": "2013-12-20T00:00:00"}),
    (["--from", "2013-12-01", "--to", "2014-01-01"], {"from": "2013-12-01", "to": "2014-01-01"}),
]


@pytest.mark.parametrize("flags,params", VIEWS)
def test_overview_numbers_are_the_reports(app, export_dir, flags, params):
    report = report_json("--data", str(export_dir), *flags)
    shown = metrics_of(app("overview", **params))
    counts = {s["stage"]: s["count"] for s in report["funnel"]}
    assert shown["Applications"] == f"{counts['applied']:,}"
    assert shown["Plans selected"] == f"{counts['plan_selected']:,}"
    assert shown["834 accepted"] == f"{counts['accepted_834']:,}"
    assert shown["Paid"] == f"{counts['paid']:,}"
    assert shown["Effectuated"] == f"{counts['effectuated']:,}"
    rate = counts["effectuated"] / counts["plan_selected"] if counts["plan_selected"] else None
    assert shown["Effectuation rate"] == format_value("rate", rate)
    # the tiles lead with the last 7 days' error rate, not since launch (docs/signals.md)
    assert shown["834 error rate, last 7 days"] == format_value("rate", report["errors_recent"]["rate"])
    assert "834 error rate since launch" not in shown
    assert shown["Never sent"] == f"{report['never_sent']['count']:,}"
    assert shown["Backlog"] == f"{sum(b['count'] for b in report['backlog']):,}"
    assert shown["At risk"] == f"{report['at_risk']:,}"
    assert shown["Think they are covered, are not"] == f"{report['past_due']:,}"


@pytest.mark.parametrize("flags,params", VIEWS[:2])
def test_funnel_errors_backlog_and_health_numbers_are_the_reports(app, export_dir, flags, params):
    report = report_json("--data", str(export_dir), *flags)
    funnel_page = app("funnel", **params)
    table = funnel_page.dataframe[0].value
    assert table["Enrollments"].tolist() == [s["count"] for s in report["funnel"]]
    assert metrics_of(funnel_page)["Cancelled (kept at the stages they reached)"] == f"{report['cancelled']:,}"
    errors = metrics_of(app("errors", **params))
    assert errors["834 error rate, last 7 days"] == format_value("rate", report["errors_recent"]["rate"])
    assert errors["834 error rate since launch"] == format_value("rate", report["errors"]["rate"])
    for label, key in (
        ("Rejected", "rejected"),
        ("Duplicate", "duplicate"),
        ("Field mismatch", "mismatch"),
        ("Unmatched", "unmatched"),
        ("Unacknowledged 48 h+", "unacknowledged"),
    ):
        assert errors[label] == f"{report['errors'][key]:,}"
    backlog = metrics_of(app("backlog", **params))
    assert backlog["Backlog"] == f"{sum(b['count'] for b in report['backlog']):,}"
    # the past-due tile has the one label definitions.py gives it on every page
    past_due = backlog["Think they are covered, are not"]
    assert (backlog["At risk"], past_due) == (f"{report['at_risk']:,}", f"{report['past_due']:,}")
    health = metrics_of(app("health", **params))
    assert health["Canaries"] == f"{len(report['canaries']):,}"
    assert health["Stuck"] == f"{sum(c['stuck'] for c in report['canaries']):,}"


def test_issuer_view_numbers_are_the_reports(app, export_dir):
    report = report_json("--data", str(export_dir))
    issuer = sorted(report["funnel_by_issuer"], key=lambda i: -report["funnel_by_issuer"][i][0]["count"])[0]
    one = report_json("--data", str(export_dir), "--issuer", issuer)
    names = {r["issuer_id"]: r for r in m.issuer_directory(Engine(export_dir))}
    # selection widgets carry their shown label in the URL: "Name (id)"
    shown = metrics_of(app("issuer", focus=f"{names[issuer]['issuer_name']} ({issuer})"))
    assert shown["Plans selected"] == f"{one['funnel'][1]['count']:,}"
    assert shown["834 error rate, last 7 days"] == format_value("rate", one["errors_recent"]["rate"])
    recon = next(r for r in one["reconciliation"] if r["issuer_id"] == issuer)
    assert shown["Matched"] == f"{recon['matched']:,}" and shown["Exchange only"] == f"{recon['exchange_only']:,}"


def test_empty_view_says_so_instead_of_drawing(app):
    at = app("overview", as_of="2013-09-01T00:00:00")
    assert any("No enrollments match these filters" in i.value for i in at.info)
    assert not at.error


def test_a_broken_export_is_named_and_the_health_page_still_works(tmp_path, app_page):
    root = tmp_path / "broken"
    demo.generate(root, 500, progress=False)
    shutil.rmtree(root / "payments")
    at = app_page("funnel", data_dir=root)
    assert any("table payments" in e.value for e in at.error)
    at = app_page("health", data_dir=root)
    assert "payments" in at.dataframe[0].value["table"].tolist()


def test_a_missing_export_directory_is_a_message(tmp_path, app_page):
    at = app_page(data_dir=tmp_path / "nowhere")
    assert any("does not exist" in e.value for e in at.error)
