"""Filter values and as-of times as users give them (metrics.md, Filters and As of): accepted spellings, and
every value that matches nothing named, on standard error for `report` and in the page itself, never dropped
in silence; an as-of time in the future refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from exportkit import accepted, enrollment, outbound, ts, write_export
from helpers import REPO, markdown_as_read, run_report

FAR_FUTURE = "2999-01-01"


@pytest.fixture
def small(tmp_path):
    """Two NC enrollments of issuer 10001 and one TX enrollment of issuer 20002; the latest event is
    the 834 sent on 2013-11-04 09:00."""
    return write_export(
        tmp_path / "export",
        enrollments=[
            enrollment("E1"),
            enrollment("E2", issuer_id="20002", state="TX"),
            enrollment("E3", application_submitted_at=ts("2013-11-02 09:00"), plan_selected_at=None),
        ],
        transactions=[
            accepted("X1", "E1", "2013-11-02 09:00", "2013-11-02 10:00"),
            outbound("X2", "E2", "2013-11-04 09:00", issuer_id="20002"),
        ],
        issuers=[["10001", "Test Mutual", "NC"], ["20002", "Lone Star Health", "TX"]],
    )


def applied(done) -> int:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["funnel"][0]["count"]


# ------------------------------------------------------------------------------------------- report


def test_state_codes_match_in_any_case(small):
    lower = run_report("--data", str(small), "--state", "nc")
    assert applied(lower) == 2 and "warning" not in lower.stderr
    assert lower.stdout == run_report("--data", str(small), "--state", "NC").stdout


def test_an_unknown_state_is_named_and_counts_nothing(small):
    done = run_report("--data", str(small), "--state", "ZZ")
    assert applied(done) == 0
    assert "--state ZZ matches no state in the export" in done.stderr and "every number is zero" in done.stderr
    assert "The export's states: NC, TX." in done.stderr
    both = run_report("--data", str(small), "--state", "tx", "zz")
    assert applied(both) == 1  # E2 only
    assert "--state ZZ matches no state" in both.stderr and "only the other states are counted" in both.stderr


def test_issuers_by_id_or_label_and_an_unknown_issuer_is_named(small):
    by_id = run_report("--data", str(small), "--issuer", "10001")
    assert applied(by_id) == 2 and "warning" not in by_id.stderr
    by_label = run_report("--data", str(small), "--issuer", "Test Mutual (10001)")
    assert by_label.stdout == by_id.stdout and "warning" not in by_label.stderr
    unknown = run_report("--data", str(small), "--issuer", "99999")
    assert applied(unknown) == 0
    assert "--issuer 99999 matches no issuer id in the export" in unknown.stderr
    assert "every number is zero" in unknown.stderr


def test_an_as_of_time_in_the_future_is_refused(small):
    done = run_report("--data", str(small), "--as-of", FAR_FUTURE)
    assert done.returncode == 2 and done.stdout == ""
    assert "--as-of 2999-01-01T00:00:00Z is after the current time" in done.stderr
    assert "2013-11-04T09:00:00Z" in done.stderr  # the latest event, the time to use instead
    assert "Traceback" not in done.stderr


def test_an_as_of_time_long_after_the_latest_event_is_warned_about(small):
    # latest event 2013-11-04 09:00; threshold 36 hours: 2013-11-05 20:00 is 35 h after, 2013-11-05 22:00 37 h
    within = run_report("--data", str(small), "--as-of", "2013-11-05T20:00:00")
    assert within.returncode == 0 and "staleness threshold" not in within.stderr
    beyond = run_report("--data", str(small), "--as-of", "2013-11-05T22:00:00")
    assert beyond.returncode == 0
    assert "--as-of 2013-11-05T22:00:00Z is 37 hours after the export's latest event (2013-11-04T09:00:00Z)" in (
        beyond.stderr
    )
    years = run_report("--data", str(small), "--as-of", "2020-01-01")
    assert "is 2,248 days after" in years.stderr  # 2013-11-04 09:00 to 2020-01-01 00:00: 2,248 days 15 h


def test_an_empty_export_gets_one_problem_a_line_with_paths_as_given(tmp_path):
    (tmp_path / "empty").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "report", "--data", "empty"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert lines[0] == "error: the export in empty cannot be reported on (5 problem(s)):"
    assert lines[1:] == [
        "- Error in table enrollments, file empty/enrollments: the table folder does not exist",
        "- Error in table issuers, file empty/issuers.csv: the reference file is missing",
        "- Error in table payments, file empty/payments: the table folder does not exist",
        "- Error in table releases, file empty/releases.csv: the reference file is missing",
        "- Error in table transactions_834, file empty/transactions_834: the table folder does not exist",
    ]


# -------------------------------------------------------------------------------------------- pages


def main_text(at, kind: str) -> str:
    """The messages of one kind (warning, error) in the page body, not the sidebar."""
    return " ".join(e.value for e in getattr(at.main, kind))


@pytest.mark.parametrize("page", ["overview", "standup"])
def test_a_lower_case_state_in_the_address_is_that_state(small, app_page, page):
    at = app_page(page, data_dir=small, state="nc")
    assert at.sidebar.multiselect(key="state").value == ["NC"]
    assert "matches no state" not in main_text(at, "warning")
    assert "states: NC" in " ".join(m.value for m in at.markdown)


@pytest.mark.parametrize("page", ["overview", "standup"])
def test_an_unknown_state_in_the_address_is_named_in_the_page(small, app_page, page):
    at = app_page(page, data_dir=small, state="ZZ")
    assert at.sidebar.multiselect(key="state").value == ["ZZ"]  # kept, shown and removable
    warning = main_text(at, "warning")
    assert "The state filter ZZ matches no state in the export" in warning and "every number is zero" in warning
    mixed = app_page(page, data_dir=small, state=["tx", "ZZ"])
    assert mixed.sidebar.multiselect(key="state").value == ["TX", "ZZ"]
    assert "only the other states are counted" in main_text(mixed, "warning")


def test_an_issuer_id_in_the_address_is_that_issuer(small, app_page):
    at = app_page("overview", data_dir=small, issuer="20002")
    assert at.sidebar.multiselect(key="issuer").value == ["20002"]
    # the header escapes an export's names for markdown: read it as the page shows it
    assert "issuers: Lone Star Health (20002)" in markdown_as_read(" ".join(m.value for m in at.markdown))
    shown = {m.label: m.value for m in at.metric}
    assert shown["Applications"] == "1"


@pytest.mark.parametrize("page", ["overview", "standup"])
def test_an_unknown_issuer_in_the_address_is_named_in_the_page(small, app_page, page):
    at = app_page(page, data_dir=small, issuer="99999")
    assert at.sidebar.multiselect(key="issuer").value == ["99999"]
    assert "The issuer filter 99999 matches no issuer id in the export" in main_text(at, "warning")


def test_an_unknown_focus_is_named_not_replaced(small, app_page):
    at = app_page("issuer", data_dir=small, focus="99999")
    assert at.selectbox(key="focus").value is None
    assert "issuer 99999 (focus) which matches no issuer in the export" in main_text(at, "warning")
    assert not at.metric  # no other issuer's numbers
    by_id = app_page("issuer", data_dir=small, focus="20002")
    assert by_id.selectbox(key="focus").value == "20002"
    outside = app_page("issuer", data_dir=small, focus="20002", state="NC")
    assert "issuer 20002 (focus) which matches no issuer in these filters" in main_text(outside, "warning")


@pytest.mark.parametrize("page", ["overview", "standup", "health"])
def test_an_as_of_time_in_the_future_is_refused_in_the_page(small, app_page, page):
    at = app_page(page, data_dir=small, as_of=FAR_FUTURE)
    assert "As of 2999-01-01T00:00:00Z is after the current time" in main_text(at, "error")
    assert not at.metric


@pytest.mark.parametrize("page", ["overview", "standup"])
def test_an_as_of_time_that_is_not_one_is_an_error_in_the_page(small, app_page, page):
    at = app_page(page, data_dir=small, as_of="yesterday")
    assert "The as-of time 'yesterday' (as_of in the address) is not an ISO 8601 time" in main_text(at, "error")
    assert not at.sidebar.error  # said where the stand-up screen shows it, not in its hidden sidebar
    assert not at.metric


def test_an_as_of_time_long_after_the_latest_event_is_warned_about_in_the_page(small, app_page):
    at = app_page("overview", data_dir=small, as_of="2013-11-05T22:00:00")
    assert "is 37 hours after the export's latest event (2013-11-04T09:00:00Z)" in main_text(at, "warning")
    text = " ".join(m.value for m in at.markdown)
    assert "(after the export's latest event, 2013-11-04T09:00:00Z)" in text and "replaying" not in text


def test_the_health_page_of_an_empty_export(tmp_path, app_page):
    (tmp_path / "empty").mkdir()
    at = app_page("health", data_dir=tmp_path / "empty")
    text = " ".join(str(getattr(e, "value", "")) for e in at.main)
    assert "The export holds no event yet" in text and "latest in the export" not in text
    assert "Every issuer in the export is listed" not in text
    assert "issuers.csv cannot be read" in text
    assert "see **Data health**" not in text  # no link to the page itself
    files = at.dataframe[0].value["file"].tolist()
    assert str(tmp_path / "empty" / "issuers.csv") in files and str(tmp_path / "empty" / "enrollments") in files


def test_a_window_day_that_is_not_a_date_is_named_in_the_page(small, app_page):
    at = app_page("overview", data_dir=small, **{"from": "12/01/2013", "to": "2013-11-02"})
    error = main_text(at, "error")
    assert "'12/01/2013' (from in the address) is not a date (YYYY-MM-DD" in error and "start is left open" in error
    text = " ".join(m.value for m in at.markdown)
    assert "applications … to 2013-11-02 (end excluded)" in text
    assert {m.label: m.value for m in at.metric}["Applications"] == "2"  # E1 and E2; E3 was submitted on Nov 2
