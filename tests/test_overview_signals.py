"""The Overview's signals under AppTest (docs/signals.md): the coverage deadline it leads with and its
table, the funnel plots that replaced the raw-rate rankings, and the stand-up screen's countdown, each
equal to what `report` prints for the same view."""

from __future__ import annotations

import json
import math
import re
from datetime import date

import pytest
from helpers import report_json

from dashboard import demo
from dashboard import metrics as m
from dashboard.definitions import FUNNEL_FLAG_LABELS, FUNNEL_MEASURES
from dashboard.engine import Engine
from dashboard.ui import FUNNEL_COLUMNS

# Dec 2: one coverage start, days ahead. Jan 5: Jan 1 is past due while Feb 1 is ahead. Mar 5: every due
# date has passed, so the panel leads with the latest past one. None: the latest time in the export
# (the last day of January: Feb 1's due date is today).
AS_OF = ["2013-12-02T00:00:00", "2014-01-05T00:00:00", "2014-03-05T00:00:00", None]


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("signals") / "export"
    demo.generate(root, 3000, progress=False)
    return root


@pytest.fixture
def app(export_dir, app_page):
    return lambda page="overview", **params: app_page(page, data_dir=export_dir, **params)


def report_at(export_dir, as_of: str | None, *flags: str) -> dict:
    return report_json("--data", str(export_dir), *(["--as-of", as_of] if as_of else []), *flags)


def deadlines_of(report: dict) -> list[dict]:
    """The report's coverage_deadlines with their dates as dates again (as the metric returns them)."""
    return [
        {
            **r,
            "coverage_start": date.fromisoformat(r["coverage_start"]),
            "due_date": date.fromisoformat(r["due_date"]),
        }
        for r in report["coverage_deadlines"]
    ]


def params_of(as_of: str | None) -> dict:
    return {"as_of": as_of} if as_of else {}


def days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def panel_text(at) -> str:
    leads = [md.value for md in at.markdown if "deadline-lead" in md.value]
    assert len(leads) == 1, leads
    return leads[0]


def expected_lead_parts(row: dict) -> list[str]:
    """What the lead sentence must say about a coverage_deadlines row (docs/signals.md 'Coverage deadlines')."""
    start, due = row["coverage_start"], row["due_date"]
    parts = [
        f"**{start:%B} {start.day} coverage:**",
        f"{row['selected']:,} chose a plan, {row['paid']:,} paid",
    ]
    if row["days_left"] < 0:
        parts += [
            f"the {due:%b} {due.day} due date passed {days(-row['days_left'])} ago",
            f"**{row['unpaid']:,} unpaid are past due**",
            "think they are covered",
        ]
        return parts
    parts.append(f"**{row['unpaid']:,} unpaid**")
    if row["days_left"] == 0:
        parts.append(f"**due today** ({due:%b} {due.day})")
    else:
        parts.append(f"**{days(row['days_left'])} to the {due:%b} {due.day} due date**")
    pace = f"{row['pace']:,.1f} paid a day" if row["pace"] else "nobody paid"
    parts.append(f"at the last 7 days' pace ({pace})")
    if row["projected_unpaid"] == 0:
        parts.append("all of them would have paid by the due date")
    else:
        parts.append(f"about **{math.floor(row['projected_unpaid'] + 0.5):,} will still be unpaid**")
    return parts


@pytest.mark.parametrize("as_of", AS_OF)
def test_the_deadline_panel_is_the_reports_nearest_coverage_start(app, export_dir, as_of):
    rows = deadlines_of(report_at(export_dir, as_of))
    nearest = m.nearest_coverage_deadline(rows)
    assert nearest is not None
    at = app("overview", **params_of(as_of))
    lead = panel_text(at)
    for part in expected_lead_parts(nearest):
        assert part in lead, (part, lead)
    # behind an upcoming deadline, the latest one already past is named with what past due means
    passed = [r for r in rows if r["days_left"] < 0]
    past_lines = [md.value for md in at.markdown if md.value.startswith("Past due:")]
    if nearest["days_left"] >= 0 and passed:
        latest = max(passed, key=lambda r: r["due_date"])
        assert len(past_lines) == 1
        start = latest["coverage_start"]
        assert f"for {start:%B} {start.day} coverage" in past_lines[0]
        assert f"passed {days(-latest['days_left'])} ago" in past_lines[0]
        assert f"**{latest['unpaid']:,} of its {latest['selected']:,} are still unpaid**" in past_lines[0]
        assert "think they are covered and are not" in past_lines[0]
    else:
        assert not past_lines


def test_the_past_due_wording_applies_after_the_due_date(app, export_dir):
    """After Dec 31 the January coverage is past due; after Feb 28 every coverage start is."""
    jan = deadlines_of(report_at(export_dir, "2014-01-05T00:00:00"))
    assert next(r for r in jan if r["coverage_start"] == date(2014, 1, 1))["days_left"] == -5
    lines = [md.value for md in app("overview", as_of="2014-01-05T00:00:00").markdown]
    assert any(v.startswith("Past due: for January 1 coverage") for v in lines)
    lead = panel_text(app("overview", as_of="2014-03-05T00:00:00"))
    assert "**March 1 coverage:**" in lead and "due date passed 5 days ago" in lead and "past due" in lead


@pytest.mark.parametrize("as_of", AS_OF)
def test_the_deadline_table_is_the_reports_list(app, export_dir, as_of):
    rows = report_at(export_dir, as_of)["coverage_deadlines"]
    table = app("overview", **params_of(as_of)).dataframe[0].value
    shown = [
        {
            "coverage_start": str(r["Coverage start"]),
            "due_date": str(r["Due date"]),
            "days_left": int(r["Days left"]),
            "selected": int(r["Selected"]),
            "paid": int(r["Paid"]),
            "effectuated": int(r["Effectuated"]),
            "unpaid": int(r["Unpaid"]),
            "pace": float(r["Pace / day"]),
            "projected_unpaid": float(r["Projected unpaid"]),
        }
        for r in table.to_dict("records")
    ]
    # pace to 0.1 and the projection to a whole person, rounded half up as the lead sentence says them (the
    # table's number column would otherwise truncate: 124.57 showed as 124.5)
    expected = [
        {**r, "pace": round(r["pace"], 1), "projected_unpaid": float(math.floor(r["projected_unpaid"] + 0.5))}
        for r in rows
    ]
    assert shown == expected


def funnel_plot_specs(at) -> dict[str, dict]:
    """measure -> the Plotly figure of its funnel plot, for the funnel plots the page drew."""
    out = {}
    for chart in at.get("plotly_chart"):
        for measure in FUNNEL_MEASURES:
            if chart.proto.id.endswith(f"-overview_funnel_{measure}"):
                out[measure] = json.loads(chart.proto.spec)
    return out


def named_on_plot(spec: dict) -> list[str]:
    """The names written on the plot (the issuers outside the limits)."""
    return sorted(text for trace in spec["data"] if trace.get("mode") == "markers+text" for text in trace["text"])


def flagged_tables(at) -> dict[str, list[dict]]:
    """measure -> the rows of the table of issuers outside its limits under the funnel plot."""
    out = {}
    for frame in at.dataframe:
        table = frame.value
        for measure, (volume, _, _) in FUNNEL_COLUMNS.items():
            if "Where" in table.columns and volume in table.columns:
                out[measure] = table.to_dict("records")
    return out


@pytest.mark.parametrize("as_of", ["2013-12-02T00:00:00", "2014-01-05T00:00:00", "2014-03-05T00:00:00"])
def test_the_funnel_plots_name_the_issuers_the_report_flags(app, export_dir, as_of):
    comparison = report_at(export_dir, as_of)["issuer_comparison"]
    at = app("overview", as_of=as_of)
    specs, tables = funnel_plot_specs(at), flagged_tables(at)
    names = {r["issuer_id"]: r["issuer_name"] for r in m.issuer_directory(Engine(export_dir))}
    drawn = [measure for measure in FUNNEL_MEASURES if comparison[measure] is not None]
    assert sorted(specs) == sorted(drawn)
    for measure in drawn:
        flagged = {i["issuer_id"]: i["flag"] for i in comparison[measure]["issuers"] if i["flag"] != "within"}
        assert named_on_plot(specs[measure]) == sorted(names[i] for i in flagged)
        listed = {re.search(r"\(([^()]+)\)$", r["Issuer"]).group(1): r["Where"] for r in tables.get(measure, [])}
        assert listed == {i: FUNNEL_FLAG_LABELS[flag] for i, flag in flagged.items()}
    assert sum(c.value.startswith("How to read this:") for c in at.caption) == len(drawn)
    for measure in FUNNEL_MEASURES:
        if comparison[measure] is None:
            assert any(i.value.startswith("Comparing issuers needs at least 3 issuers") for i in at.info)
    # the raw-rate rankings are gone
    assert not any("Lowest effectuation rates" in s.value or "Highest 834 error" in s.value for s in at.subheader)


def test_an_account_manager_sees_no_funnel_plot(export_dir, app_page, tmp_path):
    mine = demo.nc_payment_link_issuer(demo.build_issuers(demo.DEFAULT_SEED))
    directory = {r["issuer_id"]: r for r in m.issuer_directory(Engine(export_dir))}
    roles = tmp_path / "roles.toml"
    roles.write_text(
        f'[[users]]\nemail = "am@issuer.example"\nrole = "account_manager"\nissuers = ["{mine.issuer_id}"]\n'
    )
    at = app_page(
        "overview",
        data_dir=export_dir,
        roles=roles,
        user={"email": "am@issuer.example", "is_logged_in": True},
        as_of="2014-01-05T00:00:00",
    )
    assert funnel_plot_specs(at) == {}
    assert sum(i.value.startswith("Comparing issuers needs at least 3 issuers") for i in at.info) == 2
    why = [c.value for c in at.caption if c.value.startswith("Your access covers")]
    assert len(why) == 2
    assert all(f"{directory[mine.issuer_id]['issuer_name']} ({mine.issuer_id})" in w for w in why)
    # the deadline panel is the report's for that issuer alone
    one = deadlines_of(report_at(export_dir, "2014-01-05T00:00:00", "--issuer", mine.issuer_id))
    for part in expected_lead_parts(m.nearest_coverage_deadline(one)):
        assert part in panel_text(at)


def countdown_text(at) -> str:
    found = [md.value for md in at.markdown if "kiosk-countdown" in md.value and "<div" in md.value]
    assert len(found) == 1, found
    return re.sub(r"<[^>]+>", "", found[0])


@pytest.mark.parametrize("as_of", AS_OF)
def test_the_standup_countdown_is_the_reports(app, export_dir, as_of):
    row = m.nearest_coverage_deadline(deadlines_of(report_at(export_dir, as_of)))
    start, due = row["coverage_start"], row["due_date"]
    head = f"{start:%b} {start.day} coverage: "
    if row["days_left"] < 0:
        expected = f"{head}due date {due:%b} {due.day} passed {days(-row['days_left'])} ago · {row['unpaid']:,} unpaid are past due"
    elif row["days_left"] == 0:
        expected = f"{head}due today ({due:%b} {due.day}) · {row['unpaid']:,} unpaid"
    else:
        expected = f"{head}{days(row['days_left'])} to the {due:%b} {due.day} due date · {row['unpaid']:,} unpaid"
    assert countdown_text(app("standup", **params_of(as_of))) == expected


@pytest.mark.parametrize("params", [{"as_of": "2013-09-01T00:00:00"}, {"from": "2015-01-01"}])
def test_the_standup_says_when_its_error_chart_has_nothing_to_draw(app, params):
    said = [i.value for i in app("standup", **params).info if i.value.startswith("Daily 834 error rate")]
    if "as_of" in params:
        assert said == ["Daily 834 error rate: no 834 was sent in this view by 2013-09-01T00:00:00Z."]
    else:  # a date window after every application: its 834s are none
        assert len(said) == 1 and said[0].startswith("Daily 834 error rate: no 834 was sent in this view by 2014-")


def footer(at) -> str:
    found = [c.value for c in at.caption if "Refreshes every" in c.value]
    assert len(found) == 1, found
    return found[0]


def test_the_standup_draws_its_error_chart_when_834s_were_sent(app):
    at = app("standup")
    assert not at.exception
    assert not [i.value for i in at.info if i.value.startswith("Daily 834 error rate")]
    assert footer(at)  # the screen ran to its end, past the chart


def test_the_standup_footer_names_the_exports_newest_record(app):
    assert footer(app("standup")).startswith("Newest record 2014-01-31T23:59:59Z, ")


def test_the_standup_footer_says_when_the_export_holds_no_record(tmp_path, app_page):
    from exportkit import write_export

    empty = write_export(
        tmp_path / "export", enrollments=[], transactions=[], payments=[], issuers=[["10001", "Test Mutual", "NC"]]
    )
    # the screen shows the time now, but no record was made then
    assert footer(app_page("standup", data_dir=empty)).startswith("The export holds no record. Refreshes every")


@pytest.mark.parametrize("params", [{"as_of": "2013-09-01T00:00:00"}, {"from": "2015-01-01"}])
def test_an_empty_view_says_no_data_in_every_new_panel(app, params):
    at = app("overview", **params)
    infos = [i.value for i in at.info]
    assert any(
        v.startswith("No data: nobody in this view has a plan selected for a coverage start date") for v in infos
    )
    assert not any("Coverage start" in frame.value.columns for frame in at.dataframe)  # no deadline table
    assert "No enrollments match these filters." in infos
    needs = "Comparing issuers needs at least 3 issuers with"
    if "as_of" in params:  # before the first 834, neither funnel plot has anything to compare
        assert sum(v.startswith(needs) for v in infos) == 2
    else:  # the application window does not apply to the 834 comparison (docs/signals.md)
        assert any(v.startswith(f"{needs} plans selected") for v in infos)
    assert not at.error
    standup = app("standup", **params)
    assert countdown_text(standup) == "Coverage deadline: no data in this view"
