"""Backlog stages, age buckets, payment deadlines and the one-pass backlog trend."""

from datetime import date, datetime, timedelta

from exportkit import accepted, effectuation, enrollment, outbound, payment

from dashboard import metrics as m
from dashboard.definitions import AGE_BUCKETS

T = datetime(2013, 12, 10, 12, 0)


def at(days_before: float) -> datetime:
    return T - timedelta(days=days_before)


def s(value: datetime) -> str:
    return value.isoformat(sep=" ")


def fixture(export):
    e = [
        enrollment("E1", plan_selected_at=at(0.5), coverage_start_date=date(2013, 12, 11)),
        enrollment("E2", plan_selected_at=at(1), coverage_start_date=date(2013, 12, 18)),
        enrollment("E3", plan_selected_at=at(4), coverage_start_date=date(2013, 12, 19)),
        enrollment("E4", plan_selected_at=at(8), coverage_start_date=date(2013, 12, 10)),
        enrollment("E5", plan_selected_at=at(20), coverage_start_date=None),
        enrollment("E6", plan_selected_at=at(40), coverage_start_date=date(2013, 12, 1)),
        enrollment("E7", plan_selected_at=at(8), cancelled_at=at(2)),
        enrollment("E8", plan_selected_at=at(40)),
        enrollment("T1", plan_selected_at=at(8), is_test=True),
    ]
    for row in e:
        row["application_submitted_at"] = row["plan_selected_at"] - timedelta(hours=1)
    tx = [
        outbound("X3", "E3", s(at(3))),
        accepted("X4", "E4", s(at(7.5)), s(at(7))),
        accepted("X5", "E5", s(at(19)), s(at(18))),
        accepted("X6", "E6", s(at(39)), s(at(38))),
        accepted("X8", "E8", s(at(39)), s(at(38))),
        effectuation("F8", "E8", s(at(29))),
    ]
    pay = [
        payment("P5", "E5", redirected_at=s(at(14)), redirect_status="ok"),
        payment("P6", "E6", redirected_at=s(at(35)), redirect_status="ok", paid_at=s(at(30)), payment_status="paid"),
        payment("P8", "E8", redirected_at=s(at(35)), redirect_status="ok", paid_at=s(at(30)), payment_status="paid"),
    ]
    return export(enrollments=e, transactions=tx, payments=pay)


def test_backlog_stage_and_age_buckets(export):
    engine = fixture(export)
    rows = m.backlog(m.Request(engine, T))
    assert len(rows) == 30
    assert [r["stage"] for r in rows[::6]] == list(m.BACKLOG_STAGES)
    assert [r["bucket"] for r in rows[:6]] == list(AGE_BUCKETS)
    nonzero = {(r["stage"], r["bucket"]): r["count"] for r in rows if r["count"]}
    assert nonzero == {
        ("awaiting_834", "0-1"): 1,  # E1, 0.5 days
        ("awaiting_834", "1-3"): 1,  # E2, exactly 1 day: lower bound included
        ("awaiting_ack", "3-7"): 1,  # E3, 834 sent 3 days ago
        ("awaiting_payment_page", "7-14"): 1,  # E4, accepted 7 days ago
        ("awaiting_payment", "14-30"): 1,  # E5, reached the payment page 14 days ago
        ("awaiting_effectuation", "30+"): 1,  # E6, paid 30 days ago
    }
    oldest = {r["stage"]: r["oldest_days"] for r in rows if r["count"]}
    assert oldest["awaiting_834"] == 1.0 and oldest["awaiting_effectuation"] == 30.0


def test_at_risk_and_past_due(export):
    engine = fixture(export)
    risk = m.payment_deadline_risk(m.Request(engine, T))
    # at risk: E1 (due 12-10, T's day) and E2 (due 12-17, 7 days on); past due: E4 (due 12-09)
    assert risk == {"at_risk": 2, "past_due": 1}


def test_backlog_at_several_times_in_one_query(export):
    """The overview's sparklines ask for the backlog at several as-of times at once: each time's cells
    are that time's backlog, in the order asked."""
    engine = fixture(export)
    ten_days_ago, now = m.backlog_cells_back(m.Request(engine, T), (10, 0))
    # as of T − 10 days only E5, E6 and E8 have selected a plan; E8 is effectuated (at 29) by then
    assert {(r["stage"], r["bucket"]): r["count"] for r in ten_days_ago if r["count"]} == {
        ("awaiting_payment", "3-7"): 1,  # E5, on the payment page since T − 14: 4 days
        ("awaiting_effectuation", "14-30"): 1,  # E6, paid at T − 30: 20 days
    }
    assert {r["stage"]: r["oldest_days"] for r in ten_days_ago if r["count"]} == {
        "awaiting_payment": 4.0,
        "awaiting_effectuation": 20.0,
    }
    # E5 has no coverage start (no due date); E6 waits for effectuation, which the deadline counts leave out
    assert m.risk_from_cells(ten_days_ago) == {"at_risk": 0, "past_due": 0}
    # as of T, the backlog of test_backlog_stage_and_age_buckets and test_at_risk_and_past_due
    assert len(now) == 30 and sum(r["count"] for r in now) == 6
    assert m.risk_from_cells(now) == {"at_risk": 2, "past_due": 1}


def test_backlog_waits_from_the_acceptances_known_as_of_t(export):
    """E1's 834 went twice, both accepted: X1 sent at T − 10, acknowledged at T − 9; X2 sent at T − 3 with
    its acknowledgement stamped T − 12 (before it was sent), so known only from T − 3. As of T − 5 only
    X1's acceptance is known: E1 waits for its payment page since T − 9, 4 days. As of T the earliest
    acknowledgement is X2's, but no acceptance comes before the first 834 was sent: since T − 10, 10 days."""
    engine = export(
        enrollments=[
            enrollment("E1", application_submitted_at=at(20.5), plan_selected_at=at(20), coverage_start_date=None)
        ],
        transactions=[accepted("X1", "E1", s(at(10)), s(at(9))), accepted("X2", "E1", s(at(3)), s(at(12)))],
    )
    five_days_ago, now = m.backlog_cells_back(m.Request(engine, T), (5, 0))
    waiting = [(r["stage"], r["bucket"], r["oldest_days"]) for r in five_days_ago if r["count"]]
    assert waiting == [("awaiting_payment_page", "3-7", 4.0)]
    assert [(r["stage"], r["bucket"], r["oldest_days"]) for r in now if r["count"]] == [
        ("awaiting_payment_page", "7-14", 10.0)
    ]
    # the work list says the same, one as-of time at a time
    for days_back, since in ((5, at(9)), (0, at(10))):
        rows = m.backlog_work_list(m.Request(engine, at(days_back)), stages=None, limit=10)
        assert [(r["enrollment_id"], r["waiting_since"]) for r in rows] == [("E1", since)]


def test_backlog_respects_filters_and_window(export):
    engine = fixture(export)
    assert sum(r["count"] for r in m.backlog(m.Request(engine, T, m.Filters(states=("TX",))))) == 0
    assert sum(r["count"] for r in m.backlog(m.Request(engine, T, m.Filters(date_from=date(2013, 12, 7))))) == 2


def test_backlog_trend_equals_the_backlog_as_of_each_day_end(export):
    engine = fixture(export)
    trend = m.backlog_trend(m.Request(engine, T))
    days = sorted({r["date"] for r in trend})
    assert days[0] == at(40).date() and days[-1] == T.date()
    assert len(trend) == 5 * len(days)
    for day in days:
        end = min(datetime(day.year, day.month, day.day) + timedelta(days=1, microseconds=-1), T)
        direct = {}
        for r in m.backlog(m.Request(engine, end)):
            direct[r["stage"]] = direct.get(r["stage"], 0) + r["count"]
        assert {r["stage"]: r["count"] for r in trend if r["date"] == day} == direct, day


def early_ack_and_cancel(export):
    """E1 cancelled on 11-03 09:00 while it waits for its 834; E2's acknowledgement stamped (11-01 10:00) before
    its 834 was sent (11-02 09:00)."""
    return export(
        enrollments=[
            enrollment(
                "E1",
                application_submitted_at=datetime(2013, 11, 1, 8),
                plan_selected_at=datetime(2013, 11, 1, 9),
                cancelled_at=datetime(2013, 11, 3, 9),
            ),
            enrollment(
                "E2", application_submitted_at=datetime(2013, 11, 1, 8), plan_selected_at=datetime(2013, 11, 1, 9)
            ),
        ],
        transactions=[accepted("X2", "E2", "2013-11-02 09:00", "2013-11-01 10:00")],
    )


def test_backlog_trend_counts_a_cancellation_and_acknowledgement_stamped_early(export):
    engine = early_ack_and_cancel(export)
    trend = m.backlog_trend(m.Request(engine, datetime(2013, 11, 4)))
    table = {(str(r["date"]), r["stage"]): r["count"] for r in trend if r["count"]}
    assert table == {
        ("2013-11-01", "awaiting_834"): 2,
        ("2013-11-02", "awaiting_834"): 1,
        ("2013-11-02", "awaiting_payment_page"): 1,
        ("2013-11-03", "awaiting_payment_page"): 1,
        ("2013-11-04", "awaiting_payment_page"): 1,
    }


def test_backlog_trend_counts_t_own_day_as_of_t(export):
    # the days before T's come from the prepared day_changes, T's own day as of T: E1's cancellation at
    # 09:00 on T's day comes after T, so as of T it still waits for its 834
    trend = m.backlog_trend(m.Request(early_ack_and_cancel(export), datetime(2013, 11, 3, 8)))
    assert {(str(r["date"]), r["stage"]): r["count"] for r in trend if r["count"]} == {
        ("2013-11-01", "awaiting_834"): 2,
        ("2013-11-02", "awaiting_834"): 1,
        ("2013-11-02", "awaiting_payment_page"): 1,
        ("2013-11-03", "awaiting_834"): 1,
        ("2013-11-03", "awaiting_payment_page"): 1,
    }


def test_backlog_trend_empty_without_plan_selections(export):
    engine = export(enrollments=[enrollment("E1", plan_selected_at=None)])
    assert m.backlog_trend(m.Request(engine, T)) == []
