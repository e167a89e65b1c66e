"""The signals on the errors, funnel, backlog and issuer pages under AppTest (docs/signals.md): each
number, verdict and signal the pages show equals what `report` prints for the same view."""

from __future__ import annotations

import base64
import json
import re
from datetime import date, datetime

import numpy as np
import pytest
from helpers import markdown_as_read, report_json

from dashboard import demo
from dashboard import metrics as m
from dashboard.definitions import (
    FUNNEL_FLAG_LABELS,
    RELEASE_METRIC_LABELS,
    VERDICT_SYMBOLS,
    format_delta,
    format_value,
)
from dashboard.engine import Engine

AS_OF = "2013-12-20T00:00:00Z"
WEEK_EARLIER = "2013-12-13T00:00:00Z"


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    # 6,000 enrollments: by 20 December the 834 fix shows as a run below the centre line, a release
    # has too little data, and some issuers are outside the funnel plot's limits
    root = tmp_path_factory.mktemp("signal-pages") / "export"
    demo.generate(root, 6000, progress=False)
    return root


@pytest.fixture
def app(export_dir, app_page):
    return lambda page, **params: app_page(page, data_dir=export_dir, **params)


@pytest.fixture(scope="module")
def report(export_dir):
    return report_json("--data", str(export_dir), "--as-of", AS_OF)


@pytest.fixture(scope="module")
def directory(export_dir):
    return {r["issuer_id"]: r for r in m.issuer_directory(Engine(export_dir))}


# ------------------------------------------------------------------------------ reading a page


def figures(at) -> list[dict]:
    """Every Plotly figure the run drew, as its JSON (typed arrays decoded)."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def values(array) -> list:
    """A trace's x or y: Plotly writes numeric arrays as base64 typed arrays."""
    if isinstance(array, dict) and "bdata" in array:
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array or [])


def control_charts_of(at, metric: str) -> list[dict]:
    """The control charts of a metric on the page (the trace named after the metric, beside a centre line)."""
    return [
        fig
        for fig in figures(at)
        if {"centre line (the phase's rate)", RELEASE_METRIC_LABELS[metric]} <= {t.get("name") for t in fig["data"]}
    ]


def numbers(items) -> list[float]:
    """None (a day without units, a day without limits) as NaN, as a drawn array holds it."""
    return [float("nan") if v is None else v for v in items]


def trace(fig: dict, name: str) -> dict:
    return next(t for t in fig["data"] if t.get("name") == name)


def signal_lines(at) -> list[str]:
    """The signals listed in words under the page's control charts, in page order."""
    lines = []
    for md in at.markdown:
        for line in md.value.splitlines():
            found = re.match(r"^- :(red|green)\[[▲▼]\] (?!\*\*)(.+)$", line)
            if found:
                lines.append(found.group(2))
    return lines


def verdict_lines(at) -> dict[str, str]:
    """release id -> its verdict line in words."""
    out = {}
    for md in at.markdown:
        for line in md.value.splitlines():
            found = re.match(r"^- :\w+\[.\] \*\*(R-[^*]+)\*\* (.+)$", line)
            if found:
                out[found.group(1)] = found.group(2)
    return out


def table_with(at, column: str):
    return next(df.value for df in at.dataframe if column in df.value.columns)


# ----------------------------------------------------------------------- what report says, in words


def chart_days(report_chart: list[dict]) -> list[dict]:
    return [{**day, "date": date.fromisoformat(day["date"])} for day in report_chart]


def span(first: date, last: date) -> str:
    if first == last:
        return f"{first:%b} {first.day}"
    if first.month == last.month and first.year == last.year:
        return f"{first:%b} {first.day}–{last.day}"
    if first.year == last.year:
        return f"{first:%b} {first.day} – {last:%b} {last.day}"
    return f"{first:%b} {first.day}, {first.year} – {last:%b} {last.day}, {last.year}"


def expected_signal_lines(report_chart: list[dict]) -> list[str]:
    """report's control chart, its signals as the brief words them: 'Dec 2–9: 8 days below the centre
    line', 'Dec 17: above the upper limit', 'Oct 2–6: 5 days above the upper limit'."""
    out = []
    for run in m.signal_runs(chart_days(report_chart)):
        days = f"{run['days']} day" if run["days"] == 1 else f"{run['days']} days"
        where = {
            "shift_up": "above the centre line",
            "shift_down": "below the centre line",
            "above": "above the upper limit",
            "below": "below the lower limit",
        }[run["kind"]]
        if run["kind"] in ("shift_up", "shift_down") or run["days"] > 1:
            out.append(f"{span(run['first'], run['last'])}: {days} {where}")
        else:
            out.append(f"{span(run['first'], run['last'])}: {where}")
    return out


def ratio(value: float) -> str:
    return f"{value:.2f}" if value >= 0.1 else f"{value:.2g}"


def odds(judged: dict) -> str:
    return f"{ratio(judged['odds_ratio'])} ({ratio(judged['ci_low'])}–{ratio(judged['ci_high'])})"


def fix_of(report: dict, release_id: str) -> dict:
    return next(f for f in report["fix_impact"] if f["release_id"] == release_id)


def assert_chart_is_reports(fig: dict, report_chart: list[dict], metric: str) -> None:
    """The chart draws report's mature days' rates and centre lines, and its immature days faded."""
    mature = [day for day in report_chart if day["mature"]]
    drawn = trace(fig, RELEASE_METRIC_LABELS[metric])
    assert [str(x)[:10] for x in values(drawn["x"])] == [day["date"] for day in mature]
    assert numbers(values(drawn["y"])) == pytest.approx(numbers(day["rate"] for day in mature), nan_ok=True)
    centre = trace(fig, "centre line (the phase's rate)")
    assert numbers(values(centre["y"])) == pytest.approx(numbers(day["centre"] for day in mature), nan_ok=True)
    immature = [day for day in report_chart if not day["mature"]]
    if immature:
        faded = trace(fig, "too recent to judge")
        assert [str(x)[:10] for x in values(faded["x"])] == [day["date"] for day in immature]


def release_annotations(fig: dict) -> list[str]:
    return [a["text"] for a in fig["layout"].get("annotations", []) if a.get("text", "").startswith("R-")]


def assert_markers_carry_verdicts(at, report_fixes: list[dict]) -> None:
    """Every release marker on every chart of the page names the release's trend-adjusted verdict."""
    verdicts = {f["release_id"]: VERDICT_SYMBOLS[f["its"]["verdict"]] for f in report_fixes}
    marked = [text for fig in figures(at) for text in release_annotations(fig)]
    assert marked, "no release marker drawn"
    for text in marked:
        release_id = text.split(" ", 1)[0]
        assert text == f"{release_id} {verdicts[release_id]}", text


# ------------------------------------------------------------------------------------ errors page


@pytest.mark.parametrize("flags,params", [([], {}), (["--state", "NC"], {"state": ["NC"]})])
def test_errors_page_leads_with_the_last_7_days_and_its_weekly_change(app, export_dir, flags, params):
    now = report_json("--data", str(export_dir), "--as-of", AS_OF, *flags)
    before = report_json("--data", str(export_dir), "--as-of", WEEK_EARLIER, *flags)
    at = app("errors", as_of=AS_OF, **params)
    tiles = {metric.label: metric for metric in at.metric}
    assert at.metric[0].label == "834 error rate, last 7 days"  # it leads the row
    recent = tiles["834 error rate, last 7 days"]
    assert recent.value == format_value("rate", now["errors_recent"]["rate"])
    change = now["errors_recent"]["rate"] - before["errors_recent"]["rate"]
    assert recent.delta == format_delta("rate", change)
    assert tiles["834 error rate since launch"].value == format_value("rate", now["errors"]["rate"])
    assert tiles["Duplicate"].value == f"{now['errors']['duplicate']:,}"  # the categories stay since launch


def test_errors_page_daily_chart_is_reports_control_chart_with_its_signals_in_words(app, report):
    at = app("errors", as_of=AS_OF)
    (fig,) = control_charts_of(at, "error_834")
    assert_chart_is_reports(fig, report["control_charts"]["error_834"], "error_834")
    expected = expected_signal_lines(report["control_charts"]["error_834"])
    assert expected, "the demo's 834 fix should show as a signal"
    assert signal_lines(at) == expected
    assert any(line.endswith("days below the centre line") for line in expected)
    assert any("How to read this" in caption.value for caption in at.caption)
    # the category lines stay, as a second chart
    assert any({"Rejected", "Duplicate"} <= {t.get("name") for t in f["data"]} for f in figures(at))


def test_release_verdicts_are_reports_trend_adjusted_judgements(app, report, directory):
    at = app("errors", as_of=AS_OF)
    lines = verdict_lines(at)
    assert list(lines) == [f["release_id"] for f in report["fix_impact"]]

    fix = fix_of(report, "R-2013-12-01-834")["its"]
    assert fix["verdict"] == "improved" and fix["method"] == "its"
    line = lines["R-2013-12-01-834"]
    assert "on the 834 error rate: **improved**" in line
    assert f"odds ratio {odds(fix)}" in line
    assert f"{format_value('rate', fix['rate_before'])} → {format_value('rate', fix['rate_after'])}" in line
    assert "p < 0.001" in line if fix["p_value"] < 0.001 else f"p = {fix['p_value']:.3f}" in line
    # a release deployed within the window of another is named beside its verdict (metrics.md)
    overlapping = fix_of(report, "R-2013-12-01-834")["overlapping_releases"]
    assert overlapping == ["R-2013-11-30-front-end"]
    assert f"also deployed within 7 days: {', '.join(overlapping)}" in line

    table = table_with(at, "Odds ratio (95% CI)").set_index("Release")
    row = table.loc["R-2013-12-01-834"]
    assert row["Verdict"] == VERDICT_SYMBOLS["improved"]
    assert row["Judged on"] == RELEASE_METRIC_LABELS["error_834"]
    assert row["Odds ratio (95% CI)"] == odds(fix)
    assert row["Method"] == "trend-adjusted"

    # every release: its verdict, and 'too little data' said plainly with what it rests on
    for f in report["fix_impact"]:
        judged, shown = f["its"], lines[f["release_id"]]
        assert table.loc[f["release_id"], "Verdict"] == VERDICT_SYMBOLS[judged["verdict"]]
        assert f"**{judged['verdict']}**" in shown
        if judged["verdict"] == "too little data":
            assert f"{judged['periods_before']} day" in shown and "a verdict needs 4 days and 30" in shown
            assert table.loc[f["release_id"], "Odds ratio (95% CI)"] == "—"

    # the issuer's own release: judged on its own metric, the other issuers' odds ratio beside it
    nc = fix_of(report, "R-2013-12-10-nc-payment-link")
    assert nc["its"]["metric"] == "redirect_failure"
    assert "on the payment redirect failure rate" in lines[nc["release_id"]]
    assert f"{directory[nc['issuer_id']]['issuer_name']} ({nc['issuer_id']})" in lines[nc["release_id"]]
    comparison = nc["its"]["comparison"]
    assert comparison["odds_ratio"] is not None, "the demo's other issuers have enough redirects"
    assert f"other issuers: {odds(comparison)}" in lines[nc["release_id"]]
    assert table.loc[nc["release_id"], "Other issuers, same model"] == f"other issuers: {odds(comparison)}"

    # the 7-day before/after comparison stays, as detail
    detail = table_with(at, "Overlapping releases").set_index("Release")
    assert detail.loc["R-2013-12-01-834", "Verdict"] == fix_of(report, "R-2013-12-01-834")["verdict"]
    assert at.number_input(key="window_days").value == 7


def test_errors_page_funnel_plot_names_the_issuers_report_flags(app, report, directory):
    at = app("errors", as_of=AS_OF)
    part = report["issuer_comparison"]["error_834"]
    flagged = [i for i in part["issuers"] if i["flag"] != "within"]
    assert flagged, "the demo should have issuers outside the limits"
    (fig,) = [f for f in figures(at) if "95% limits" in {t.get("name") for t in f["data"]}]
    named = {}
    for t in fig["data"]:
        if t.get("mode") == "markers+text":
            for text in t["text"]:
                named[text] = t["name"]
    name_of = {i: (directory[i]["issuer_name"] if i in directory else i) for i in (x["issuer_id"] for x in flagged)}
    assert named == {name_of[i["issuer_id"]]: FUNNEL_FLAG_LABELS[i["flag"]] for i in flagged}

    table = table_with(at, "Where")
    worst_first = sorted(flagged, key=lambda i: -i["z"])
    assert table["Issuer"].tolist() == [f"{name_of[i['issuer_id']]} ({i['issuer_id']})" for i in worst_first]
    assert table["834s sent, last 28 days"].tolist() == [i["n"] for i in worst_first]
    assert table["With an error"].tolist() == [i["x"] for i in worst_first]
    # tables hold rates as percentage points, shown with one decimal like the tiles
    assert table["Error rate"].tolist() == pytest.approx([100 * i["rate"] for i in worst_first])
    assert table["Where"].tolist() == [FUNNEL_FLAG_LABELS[i["flag"]] for i in worst_first]


def test_errors_page_markers_carry_the_verdicts(app, report):
    assert_markers_carry_verdicts(app("errors", as_of=AS_OF), report["fix_impact"])


def test_no_funnel_plot_for_fewer_than_3_issuers(app, report, directory):
    two = [i["issuer_id"] for i in report["issuer_comparison"]["error_834"]["issuers"][:2]]
    # a multiselect carries its shown labels in the URL: "Name (id)"
    at = app("errors", as_of=AS_OF, issuer=[f"{directory[i]['issuer_name']} ({i})" for i in two])
    shown = markdown_as_read(" ".join(md.value for md in at.markdown))  # the header escapes names for markdown
    assert f"issuers: {directory[two[0]]['issuer_name']}" in shown
    assert not [f for f in figures(at) if "95% limits" in {t.get("name") for t in f["data"]}]
    assert any("Comparing issuers needs at least 3 issuers with 834s in this view" in i.value for i in at.info)


def test_an_account_manager_never_sees_a_funnel_plot(export_dir, app_page, directory, tmp_path):
    issuer = sorted(directory)[0]
    roles = tmp_path / "roles.toml"
    roles.write_text(f'[[users]]\nemail = "am@issuer.example"\nrole = "account_manager"\nissuers = ["{issuer}"]\n')
    at = app_page("errors", data_dir=export_dir, roles=roles, user={"email": "am@issuer.example", "is_logged_in": True})
    assert not [f for f in figures(at) if "95% limits" in {t.get("name") for t in f["data"]}]
    assert any("Comparing issuers needs at least 3 issuers" in i.value for i in at.info)


# ------------------------------------------------------------------------------- funnel, backlog


def test_funnel_page_shows_the_late_834_and_redirect_charts_with_their_signals(app, report):
    at = app("funnel", as_of=AS_OF)
    expected = []
    for metric in ("late_834", "redirect_failure"):  # in page order
        (fig,) = control_charts_of(at, metric)
        assert_chart_is_reports(fig, report["control_charts"][metric], metric)
        expected += expected_signal_lines(report["control_charts"][metric])
    assert signal_lines(at) == expected
    assert_markers_carry_verdicts(at, report["fix_impact"])


def test_backlog_page_markers_carry_the_verdicts(app, report):
    assert_markers_carry_verdicts(app("backlog", as_of=AS_OF), report["fix_impact"])


# ----------------------------------------------------------------------------------- issuer view


def test_issuer_view_charts_and_tile_are_the_issuers(app, export_dir, report, directory):
    issuer = sorted(report["funnel_by_issuer"], key=lambda i: -report["funnel_by_issuer"][i][0]["count"])[0]
    one = report_json("--data", str(export_dir), "--as-of", AS_OF, "--issuer", issuer)
    week_before = report_json("--data", str(export_dir), "--as-of", WEEK_EARLIER, "--issuer", issuer)
    at = app("issuer", as_of=AS_OF, focus=f"{directory[issuer]['issuer_name']} ({issuer})")
    tiles = {metric.label: metric for metric in at.metric}
    assert "834 error rate since launch" not in tiles
    recent = tiles["834 error rate, last 7 days"]
    assert recent.value == format_value("rate", one["errors_recent"]["rate"])
    change = m.change(one["errors_recent"]["rate"], week_before["errors_recent"]["rate"])
    assert recent.delta == format_delta("rate", change)

    expected = []
    for metric in ("error_834", "late_834", "redirect_failure"):  # in page order
        (fig,) = control_charts_of(at, metric)
        assert_chart_is_reports(fig, one["control_charts"][metric], metric)
        expected += expected_signal_lines(one["control_charts"][metric])
    assert one["control_charts"]["error_834"] != report["control_charts"]["error_834"]  # not everyone's
    assert signal_lines(at) == expected
    assert_markers_carry_verdicts(at, one["fix_impact"])
    lines = verdict_lines(at)
    for f in one["fix_impact"]:
        assert f"**{f['its']['verdict']}**" in lines[f["release_id"]]


# ------------------------------------------------------------------------------ empty views say so


@pytest.mark.parametrize("page", ["errors", "funnel", "backlog", "issuer"])
def test_a_view_before_the_first_data_says_no_data(app, page):
    at = app(page, as_of="2013-09-01T00:00:00")
    assert not at.error
    assert not control_charts_of(at, "error_834")
    info = " ".join(i.value for i in at.info)
    assert "No data" in info or "No enrollments match these filters" in info or "Nobody is waiting" in info
    if page == "issuer":
        assert info.count("No data: no") >= 4  # the funnel and the three control charts


def test_an_export_with_no_rows_says_no_data(tmp_path, app_page):
    from exportkit import write_export

    root = write_export(tmp_path / "empty", issuers=[["10001", "Test Mutual", "NC"], ["10002", "Other Mutual", "NC"]])
    for page in ("errors", "funnel", "backlog", "issuer"):
        at = app_page(page, data_dir=root)
        assert not at.error, [e.value for e in at.error]
        info = " ".join(i.value for i in at.info)
        assert info, page
        if page == "issuer":
            assert "No data: no 834s in this view" in info and "No data: no redirects in this view" in info


def test_a_state_whose_issuers_have_no_data_says_so(tmp_path, app_page):
    root = tmp_path / "small"
    demo.generate(root, 300, progress=False)
    engine = Engine(root)
    funnel = m.funnel(m.Request(engine, datetime(2014, 3, 1)))
    by_state: dict[str, int] = {}
    for r in m.issuer_directory(engine):
        by_state[r["state"]] = by_state.get(r["state"], 0) + (
            funnel.by_issuer[r["issuer_id"]][0]["count"] if r["issuer_id"] in funnel.by_issuer else 0
        )
    quiet = sorted(s for s, n in by_state.items() if n == 0)
    if not quiet:
        pytest.skip("every state of this export has enrollments")
    for page in ("errors", "issuer"):
        at = app_page(page, data_dir=root, state=[quiet[0]])
        assert not at.error, [e.value for e in at.error]
        info = " ".join(i.value for i in at.info)
        if page == "issuer":
            assert "No data: no plans selected in this view" in info
        elif not any(metric.label == "834 error rate since launch" for metric in at.metric):
            assert "No data: no outbound 834 was sent in this view" in info
