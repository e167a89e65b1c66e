"""The units, windows and counts that feed signals.md's statistics: small literal exports, hand-counted.

The statistics themselves (p' limits, the ITS fit, funnel limits) are tested in test_signals.py;
here each rule of who counts as a unit, on which day or in which period, and what a failure is.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from exportkit import ISSUER, accepted, enrollment, outbound, payment, write_csv, write_export, write_table
from helpers import run_report

from dashboard import metrics as m
from dashboard.engine import Engine

OTHER = "20002"  # a second issuer, in VA
RELEASE_HEADER = ["release_id", "deployed_at", "component", "title", "issuer_id", "metric"]
ISSUERS = [[ISSUER, "Test Mutual", "NC"], [OTHER, "Other Health", "VA"]]


def engine_for(tmp_path, *, enrollments=(), transactions=(), payments=(), releases=()):
    root = write_export(
        tmp_path / "export",
        enrollments=enrollments,
        transactions=transactions,
        payments=payments,
        issuers=ISSUERS,
    )
    write_csv(root / "releases.csv", RELEASE_HEADER, list(releases))
    engine = Engine(root)
    assert not engine.errors, [str(p) for p in engine.errors]
    return engine


def daily(engine, metric, as_of, states=None, issuers=None):
    return [
        (r["date"], r["n"], r["x"])
        for r in engine.rows("signal_daily", metric=metric, as_of=as_of, states=states, issuers=issuers)
    ]


# ------------------------------------------------------------------------------ late_834 units


def test_late_834_units_and_failures(tmp_path):
    sel = "2013-11-01 10:00"
    engine = engine_for(
        tmp_path,
        enrollments=[
            enrollment("E1"),  # 021 exactly 24 h after selection: on time
            enrollment("E2"),  # 021 24 h and 1 s after: late
            enrollment("E3"),  # no 834 at all: late
            enrollment("E4", cancelled_at=datetime(2013, 11, 2, 10, 0)),  # cancelled by +24 h: no unit
            enrollment("E5", cancelled_at=datetime(2013, 11, 2, 10, 0, 1)),  # cancelled after: a unit, late
            enrollment("E6", is_test=True),  # test record: no unit
            enrollment("E7"),  # its only 021 went to another issuer: late
            enrollment("E8", plan_selected_at=datetime(2013, 11, 4, 0, 0, 1)),  # selected after T - 24 h: no unit
            enrollment("E9", plan_selected_at=None),  # no plan: no unit
        ],
        transactions=[
            outbound("X1", "E1", "2013-11-02 10:00"),
            outbound("X2", "E2", "2013-11-02 10:00:01"),
            outbound("X7", "E7", "2013-11-01 11:00", issuer_id=OTHER),
            outbound("X6", "E6", "2013-11-01 11:00"),
        ],
    )
    assert sel  # every enrollment above was selected on 2013-11-01 10:00 unless it says otherwise
    # units: E1 (ok), E2, E3, E5, E7 (late) on Nov 1
    assert daily(engine, "late_834", datetime(2013, 11, 5)) == [(date(2013, 11, 1), 5, 4)]
    # as of Nov 2 10:00 exactly, Nov 1 10:00 is T - 24 h: those selections are units already
    assert daily(engine, "late_834", datetime(2013, 11, 2, 10, 0)) == [(date(2013, 11, 1), 5, 4)]
    # a microsecond earlier, none is
    assert daily(engine, "late_834", datetime(2013, 11, 2, 9, 59, 59, 999999)) == []


def test_late_834_is_filtered_by_the_enrollments_own_state_and_issuer(tmp_path):
    engine = engine_for(
        tmp_path,
        enrollments=[enrollment("E1"), enrollment("E2", state="VA", issuer_id=OTHER)],
        transactions=[outbound("X1", "E1", "2013-11-01 11:00")],
    )
    as_of = datetime(2013, 11, 5)
    assert daily(engine, "late_834", as_of, states=["VA"]) == [(date(2013, 11, 1), 1, 1)]
    assert daily(engine, "late_834", as_of, issuers=[ISSUER]) == [(date(2013, 11, 1), 1, 0)]


# --------------------------------------------------------------------------- redirect units


def test_redirect_failure_units_and_failures(tmp_path):
    engine = engine_for(
        tmp_path,
        enrollments=[enrollment("E1"), enrollment("E2"), enrollment("E3"), enrollment("T1", is_test=True)],
        payments=[
            payment("P1", "E1", redirected_at="2013-11-03 09:00", redirect_status="ok"),
            payment("P2", "E2", redirected_at="2013-11-03 10:00", redirect_status="broken_link"),
            payment("P3", "E3", redirected_at="2013-11-04 10:00", redirect_status=None),  # null: a failure
            payment("P4", "NOPE", redirected_at="2013-11-03 10:00", redirect_status="ok"),  # unknown enrollment
            payment("P5", "T1", redirected_at="2013-11-03 10:00", redirect_status="timeout"),  # test record
            payment("P6", "E1", redirected_at="2013-11-06 10:00", redirect_status="timeout"),  # after T
            payment("P7", "E1", redirected_at=None, paid_at="2013-11-03 12:00", payment_status="paid"),  # no redirect
        ],
    )
    as_of = datetime(2013, 11, 5)
    assert daily(engine, "redirect_failure", as_of) == [(date(2013, 11, 3), 2, 1), (date(2013, 11, 4), 1, 1)]


# ------------------------------------------------------------------------------ 834 units


def test_error_834_units_are_the_counted_outbound_834s_by_day_of_sent_at(tmp_path):
    engine = engine_for(
        tmp_path,
        enrollments=[enrollment("E1"), enrollment("E2"), enrollment("T1", is_test=True)],
        transactions=[
            accepted("X1", "E1", "2013-11-02 09:00", "2013-11-02 10:00"),
            outbound("X2", "E2", "2013-11-02 23:59:59", ack_code="R", ack_at=datetime(2013, 11, 3)),
            outbound("X3", "T1", "2013-11-02 09:00"),  # a test record's 834: not counted
        ],
    )
    assert daily(engine, "error_834", datetime(2013, 11, 3, 12)) == [(date(2013, 11, 2), 2, 1)]


# ------------------------------------------------------------------------- ITS periods


R = datetime(2013, 12, 1, 5, 0)


def periods(engine, metric="error_834", *, as_of, until, its_days=2, states=None, issuers=None, scope=None):
    rows = engine.rows(
        "signal_periods",
        metric=metric,
        as_of=as_of,
        until=until,
        its_days=its_days,
        states=states,
        issuers=issuers,
        release_issuers=scope,
    )
    return [(r["release_id"], r["unit_group"], r["k"], r["n"], r["x"]) for r in rows]


def test_periods_are_24_hours_from_the_deployment_to_the_microsecond(tmp_path):
    sent = ["2013-11-29 05:00", "2013-11-29 04:59:59.999999", "2013-12-01 04:59:59.999999", "2013-12-01 05:00"]
    sent += ["2013-12-02 04:59:59.999999", "2013-12-02 05:00", "2013-12-03 04:59:59.999999", "2013-12-03 05:00"]
    engine = engine_for(
        tmp_path,
        enrollments=[enrollment(f"E{i}") for i in range(len(sent))],
        transactions=[accepted(f"X{i}", f"E{i}", s, s) for i, s in enumerate(sent)],
        releases=[["R1", "2013-12-01T05:00:00Z", "834_generator", "fix", "", ""]],
    )
    got = periods(engine, as_of=datetime(2013, 12, 20), until=datetime(2013, 12, 18))
    # R - 2 days exactly is in (k = -2); a microsecond before it is not; R + 2 days is not
    assert got == [
        ("R1", "release", -2, 1, 0),
        ("R1", "release", -1, 1, 0),
        ("R1", "release", 0, 2, 0),
        ("R1", "release", 1, 2, 0),
    ]
    # the window also ends at T - lag (exclusive)
    got = periods(engine, as_of=datetime(2013, 12, 20), until=datetime(2013, 12, 2, 5, 0))
    assert got[-1] == ("R1", "release", 0, 2, 0)


def test_an_issuer_release_has_its_issuers_units_and_a_comparison_group(tmp_path):
    engine = engine_for(
        tmp_path,
        enrollments=[enrollment("E1"), enrollment("E2", state="VA", issuer_id=OTHER)],
        transactions=[
            accepted("X1", "E1", "2013-12-01 06:00", "2013-12-01 07:00"),
            outbound("X2", "E2", "2013-12-01 06:00", issuer_id=OTHER, ack_code="R", ack_at=datetime(2013, 12, 1, 7)),
        ],
        releases=[
            ["RI", "2013-12-01T05:00:00Z", "834_generator", "issuer fix", ISSUER, ""],
            ["RP", "2013-12-01T05:00:00Z", "payment_redirect", "pay fix", "", ""],  # judged on redirects
            ["RL", "2013-12-01T05:00:00Z", "hub", "late fix", "", " late_834 "],  # trimmed
        ],
    )
    as_of = datetime(2013, 12, 20)
    assert periods(engine, as_of=as_of, until=as_of) == [("RI", "comparison", 0, 1, 1), ("RI", "release", 0, 1, 0)]
    # the state filter removes the comparison issuer; a caller scoped to the other issuer never sees RI
    assert periods(engine, as_of=as_of, until=as_of, states=["NC"]) == [("RI", "release", 0, 1, 0)]
    assert periods(engine, as_of=as_of, until=as_of, scope=[OTHER]) == []
    # releases deployed after T are not judged
    assert periods(engine, as_of=datetime(2013, 12, 1, 4, 59), until=as_of) == []
    metrics = {r["release_id"]: r["metric"] for r in engine.rows("releases", as_of=as_of, release_issuers=None)}
    assert metrics == {"RI": "error_834", "RP": "redirect_failure", "RL": "late_834"}


# ------------------------------------------------------------------------ current rates


def test_the_last_7_days_are_open_at_t_minus_7_days_and_closed_at_t(tmp_path):
    as_of = datetime(2013, 12, 9, 12, 0)
    sent = {"X1": "2013-12-02 12:00", "X2": "2013-12-02 12:00:00.000001", "X3": "2013-12-09 12:00"}
    engine = engine_for(
        tmp_path,
        enrollments=[enrollment(f"E{i}") for i in range(1, 4)],
        transactions=[
            outbound("X1", "E1", sent["X1"], ack_code="R", ack_at=datetime(2013, 12, 2, 13)),
            outbound("X2", "E2", sent["X2"], ack_code="R", ack_at=datetime(2013, 12, 2, 13)),
            accepted("X3", "E3", sent["X3"], sent["X3"]),
        ],
    )
    recent = m.errors_recent(m.Request(engine, as_of))
    assert (recent["window_days"], recent["sent"], recent["errored"], recent["rejected"]) == (7, 2, 1, 1)
    assert recent["rate"] == 0.5 and recent["rejected_rate"] == 0.5
    # the date window does not apply
    dated = m.errors_recent(m.Request(engine, as_of, m.Filters(date_from=date(2014, 1, 1))))
    assert dated["sent"] == 2


# ---------------------------------------------------------------------- coverage deadlines


def test_coverage_deadline_rows(tmp_path):
    jan, feb = date(2014, 1, 1), date(2014, 2, 1)
    as_of = datetime(2013, 12, 2, 12, 0)
    engine = engine_for(
        tmp_path,
        enrollments=[
            enrollment("E1", coverage_start_date=jan),  # paid Nov 5: paid, not recently
            enrollment("E2", coverage_start_date=jan),  # paid Nov 30: paid recently
            enrollment("E3", coverage_start_date=jan),  # unpaid
            enrollment("E4", coverage_start_date=jan, aptc_amount=400),  # 100% subsidy, 834 accepted Nov 28
            enrollment("E5", coverage_start_date=jan, cancelled_at=datetime(2013, 11, 20)),  # cancelled: no row
            enrollment("E6", coverage_start_date=None),  # no coverage date: no row
            enrollment("E7", coverage_start_date=feb, plan_selected_at=None),  # no plan: no row
            enrollment("E8", coverage_start_date=feb),  # unpaid, for February
        ],
        transactions=[accepted(f"X{i}", f"E{i}", "2013-11-02 09:00", "2013-11-02 10:00") for i in (1, 2, 3, 8)]
        + [accepted("X4", "E4", "2013-11-28 09:00", "2013-11-28 10:00")],
        payments=[
            payment("P1", "E1", redirected_at="2013-11-05 09:00", paid_at="2013-11-05 10:00", payment_status="paid"),
            payment("P2", "E2", redirected_at="2013-11-30 09:00", paid_at="2013-11-30 10:00", payment_status="paid"),
        ],
    )
    rows = m.coverage_deadlines(m.Request(engine, as_of))
    assert [
        {k: r[k] for k in ("coverage_start", "due_date", "days_left", "selected", "paid", "unpaid")} for r in rows
    ] == [
        {"coverage_start": jan, "due_date": date(2013, 12, 31), "days_left": 29, "selected": 4, "paid": 3, "unpaid": 1},
        {"coverage_start": feb, "due_date": date(2014, 1, 31), "days_left": 60, "selected": 1, "paid": 0, "unpaid": 1},
    ]
    # pace: E2 (Nov 30) and E4 (its accepted 834, Nov 28) entered paid in the last 7 days
    assert rows[0]["pace"] == 2 / 7 and rows[1]["pace"] == 0
    assert m.nearest_coverage_deadline(rows)["coverage_start"] == jan


def test_the_pace_counts_the_time_entered_paid_not_the_time_it_became_known(tmp_path):
    """E9 pays nothing (100% subsidy), so it enters paid with its accepted 834. Its 834 went twice: X9a
    sent Nov 24 09:00, acknowledged Nov 26 09:00; X9b sent Nov 27 09:00 with its acknowledgement stamped
    Nov 25 09:00. As of Dec 2 12:00 the earliest acknowledgement is X9b's, so E9 entered paid on Nov 25
    09:00, before the pace's 7 days (from Nov 25 12:00), although it was known paid only from Nov 26."""
    engine = engine_for(
        tmp_path,
        enrollments=[enrollment("E9", coverage_start_date=date(2014, 1, 1), aptc_amount=400)],
        transactions=[
            accepted("X9a", "E9", "2013-11-24 09:00", "2013-11-26 09:00"),
            accepted("X9b", "E9", "2013-11-27 09:00", "2013-11-25 09:00"),
        ],
    )
    rows = m.coverage_deadlines(m.Request(engine, datetime(2013, 12, 2, 12, 0)))
    assert [(r["selected"], r["paid"], r["pace"]) for r in rows] == [(1, 1, 0)]
    # as of Nov 26 12:00 only X9a's acknowledgement is known: E9 entered paid on Nov 26 09:00, within the
    # 7 days before
    rows = m.coverage_deadlines(m.Request(engine, datetime(2013, 11, 26, 12, 0)))
    assert [(r["selected"], r["paid"], r["pace"]) for r in rows] == [(1, 1, 1 / 7)]


def test_the_nearest_coverage_start_is_the_next_due_date_else_the_latest_past_one():
    def row(start, days_left):
        return {"coverage_start": start, "due_date": start, "days_left": days_left}

    rows = [row(date(2013, 12, 1), -2), row(date(2014, 1, 1), 0), row(date(2014, 2, 1), 31)]
    assert m.nearest_coverage_deadline(rows)["coverage_start"] == date(2014, 1, 1)  # due today counts
    assert m.nearest_coverage_deadline(rows[:1] + [row(date(2013, 11, 1), -32)])["coverage_start"] == date(2013, 12, 1)
    assert m.nearest_coverage_deadline([]) is None


# ---------------------------------------------------------------- maturity, phases, view


@pytest.mark.parametrize(
    ("metric", "as_of", "mature"),
    [
        ("error_834", datetime(2013, 12, 5, 0, 0), True),  # Dec 2 ends Dec 3 00:00 = T - 48 h
        ("error_834", datetime(2013, 12, 4, 23, 59, 59, 999999), False),
        ("late_834", datetime(2013, 12, 4, 0, 0), True),  # Dec 3 00:00 + 24 h
        ("late_834", datetime(2013, 12, 3, 23, 59, 59), False),
        ("redirect_failure", datetime(2013, 12, 3, 0, 0), True),  # no lag: judged once the day is over
        ("redirect_failure", datetime(2013, 12, 2, 23, 59), False),
    ],
)
def test_a_day_is_mature_once_its_end_is_the_lag_before_t(metric, as_of, mature):
    assert m.is_mature(date(2013, 12, 2), as_of, metric) is mature


def test_a_release_is_inside_the_view_by_issuer_filter_state_and_scope(tmp_path):
    engine = engine_for(tmp_path, enrollments=[enrollment("E1")])
    release = {"issuer_id": ISSUER, "issuer_state": "NC"}
    unknown = {"issuer_id": "99999", "issuer_state": None}
    everyone = {"issuer_id": None, "issuer_state": None}

    def inside(r, filters=None, scope=None):
        q = m.Request(engine, datetime(2014, 1, 1), filters or m.Filters(), scope or m.Scope())
        return m.release_inside_view(r, q)

    assert inside(release) and inside(everyone) and inside(unknown)
    assert not inside(release, m.Filters(issuers=(OTHER,)))
    assert not inside(release, m.Filters(states=("VA",))) and inside(release, m.Filters(states=("NC",)))
    assert not inside(unknown, m.Filters(states=("NC",)))  # missing from issuers.csv: outside every state
    assert not inside(release, scope=m.Scope((OTHER,))) and inside(everyone, scope=m.Scope((OTHER,)))


# ----------------------------------------------------------------------- releases.csv metric


def _export_with_release_metric(tmp_path, value):
    root = write_export(tmp_path / "export", enrollments=[enrollment("E1")])
    write_csv(
        root / "releases.csv",
        RELEASE_HEADER,
        [["R-ok", "2013-12-01T05:00:00Z", "834_generator", "fix", "", "error_834"]]
        + [["R-bad", "2013-12-02T05:00:00Z", "834_generator", "fix", "", value]],
    )
    return root


@pytest.mark.parametrize("value", ["834_errors", "Error_834", "redirect failure"])
def test_a_release_metric_outside_the_list_is_an_error_naming_the_release(tmp_path, value):
    root = _export_with_release_metric(tmp_path, value)
    [problem] = Engine(root).errors
    assert problem.table == "releases" and problem.column == "metric" and "'R-bad'" in problem.message
    assert repr(value) in problem.message
    done = run_report("--data", str(root))
    assert done.returncode == 2 and "R-bad" in done.stderr and "Traceback" not in done.stderr


def test_a_release_metric_is_trimmed_and_the_column_may_be_left_out(tmp_path):
    root = _export_with_release_metric(tmp_path, "  late_834 ")
    assert not Engine(root).errors
    write_table(root / "payments" / "part-0.parquet", "payments", [])
    write_csv(
        root / "releases.csv",
        ["release_id", "deployed_at", "component", "title"],
        [["R1", "2013-12-01T05:00:00Z", "payment_redirect", "pay"], ["R2", "2013-12-02T05:00:00Z", "hub", "hub"]],
    )
    engine = Engine(root)
    assert not engine.errors
    got = {
        r["release_id"]: r["metric"] for r in engine.rows("releases", as_of=datetime(2014, 1, 1), release_issuers=None)
    }
    assert got == {"R1": "redirect_failure", "R2": "error_834"}
