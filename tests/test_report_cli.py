"""The report command's JSON shape and behaviour (report.md), end to end through the CLI."""

import json

from exportkit import accepted, effectuation, enrollment, outbound, payment, ts, write_export
from helpers import report_json, run_report

KEYS = [
    "as_of",
    "funnel",
    "funnel_by_issuer",
    "funnel_by_state",
    "cancelled",
    "time_to_convert_hours",
    "errors",
    "errors_daily",
    "never_sent",
    "fix_impact",
    "backlog",
    "backlog_trend",
    "at_risk",
    "past_due",
    "canaries",
    "reconciliation",
]


def sample(tmp_path):
    return write_export(
        tmp_path / "x",
        enrollments=[
            enrollment("E1"),
            enrollment("E2", issuer_id="20002", state="TX"),
            enrollment("T1", is_test=True),
            enrollment("E3", application_submitted_at=ts("2013-11-05 10:00:00.123456"), plan_selected_at=None),
        ],
        transactions=[
            accepted("X1", "E1", "2013-11-02 09:00", "2013-11-02 10:00"),
            outbound("X2", "E2", "2013-11-04 09:00", issuer_id="20002"),
            effectuation("F1", "E1", "2013-11-05 09:00"),
        ],
        payments=[
            payment(
                "P1",
                "E1",
                redirected_at="2013-11-03 09:00",
                redirect_status="ok",
                paid_at="2013-11-03 10:00",
                payment_status="paid",
            )
        ],
        releases=[["R1", "2013-11-03T00:00:00Z", "834_generator", "fix", ""]],
        issuers=[["10001", "A", "NC"], ["20002", "B", "TX"]],
    )


def test_report_shape(tmp_path):
    report = report_json("--data", str(sample(tmp_path)))
    assert list(report)[: len(KEYS)] == KEYS
    assert report["as_of"] == "2013-11-05T10:00:00.123456Z"  # full precision
    assert [s["stage"] for s in report["funnel"]] == [
        "applied",
        "plan_selected",
        "sent_834",
        "accepted_834",
        "reached_payment",
        "paid",
        "effectuated",
    ]
    assert [s["count"] for s in report["funnel"]] == [3, 2, 2, 1, 1, 1, 1]
    assert sorted(report["funnel_by_issuer"]) == ["10001", "20002"]
    assert len(report["backlog"]) == 30 and {"stage", "bucket", "count"} <= set(report["backlog"][0])
    assert [(t["from"], t["to"]) for t in report["time_to_convert_hours"][:3]] == [
        ("plan_selected", "accepted_834"),
        ("plan_selected", "paid"),
        ("plan_selected", "effectuated"),
    ]
    assert [d["date"] for d in report["errors_daily"]] == ["2013-11-02", "2013-11-03", "2013-11-04"]
    assert report["errors_daily"][1]["rate"] is None
    assert report["fix_impact"][0]["deployed_at"] == "2013-11-03T00:00:00Z"
    assert report["fix_impact"][0]["verdict"] == "too little data"
    assert report["canaries"] == [
        {
            "enrollment_id": "T1",
            "issuer_id": "10001",
            "stage": "plan_selected",
            "entered_at": "2013-11-01T10:00:00Z",
            "stuck": True,
        }
    ]
    assert [r["issuer_id"] for r in report["reconciliation"]] == ["10001", "20002"]
    assert report["backlog_trend"][0] == {"date": "2013-11-01", "stage": "awaiting_834", "count": 2}


def test_as_of_round_trips_and_offsets_convert_to_utc(tmp_path):
    root = str(sample(tmp_path))
    first = report_json("--data", root)
    again = report_json("--data", root, "--as-of", first["as_of"])
    assert again == first
    shifted = report_json("--data", root, "--as-of", "2013-11-02T05:30:00-05:00")
    assert shifted["as_of"] == "2013-11-02T10:30:00Z" and shifted["funnel"][3]["count"] == 1
    dated = report_json("--data", root, "--as-of", "2013-11-03")
    assert dated["as_of"] == "2013-11-03T00:00:00Z"


def test_filters_narrow_every_section(tmp_path):
    report = report_json("--data", str(sample(tmp_path)), "--state", "TX")
    assert report["funnel"][0]["count"] == 1 and list(report["funnel_by_state"]) == ["TX"]
    assert report["errors"]["sent"] == 1 and report["canaries"] == []
    assert [r["issuer_id"] for r in report["reconciliation"]] == ["20002"]
    assert len(report["fix_impact"]) == 1  # the release list does not change with filters
    several = report_json("--data", str(sample(tmp_path)), "--state", "TX", "NC", "--issuer", "20002")
    assert several["funnel"][0]["count"] == 1
    unknown = report_json("--data", str(sample(tmp_path)), "--issuer", "99999")
    assert unknown["funnel"][0]["count"] == 0 and unknown["funnel"][1]["step_conversion"] is None
    assert unknown["errors"]["rate"] is None and unknown["never_sent"]["share"] is None
    assert unknown["errors_daily"] == [] and unknown["backlog_trend"] == []


def test_window(tmp_path):
    report = report_json("--data", str(sample(tmp_path)), "--from", "2013-11-05", "--to", "2013-11-06")
    assert report["funnel"][0]["count"] == 1 and report["errors"]["sent"] == 0


def test_default_data_dir_from_environment(tmp_path):
    import os

    env = dict(os.environ, DASHBOARD_DATA_DIR=str(sample(tmp_path)))
    done = run_report(env=env)
    assert done.returncode == 0 and json.loads(done.stdout)["funnel"][0]["count"] == 3
