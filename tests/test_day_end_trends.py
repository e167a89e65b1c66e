"""The day-end trends (stage counts, never sent, backlog) on literal exports, hand-computed.

Each trend is a number's value as of the end of each UTC day, and as of T on T's own day (metrics.md,
"Sparklines and trends"). The days before T's are read from the prepared day_changes, T's own day is
counted as of T: these fixtures put a change on T's day after T, a cancellation stamped before its
application, and a date window, so that either half being wrong shows.
"""

from datetime import date

from exportkit import accepted, enrollment, outbound, ts

from dashboard import metrics as m

STAGE_COLUMNS = ("applied", "plan_selected", "sent_834", "accepted_834", "cancelled")


def stage_counts(engine, as_of: str, **filters) -> dict[str, tuple[int, ...]]:
    rows = m.stage_counts_by_day(m.Request(engine, ts(as_of), m.Filters(**filters)))
    assert all(r["reached_payment"] == r["paid"] == r["effectuated"] == 0 for r in rows)
    return {str(r["date"]): tuple(r[c] for c in STAGE_COLUMNS) for r in rows}


def stage_export(export):
    return export(
        enrollments=[
            enrollment("E1", application_submitted_at=ts("2013-11-01 09:00"), plan_selected_at=ts("2013-11-01 10:00")),
            # cancelled before its application is submitted: an odd record, counted as cancelled only from
            # when the application exists (as of the end of 11-02 it is not an application yet)
            enrollment(
                "E2",
                application_submitted_at=ts("2013-11-03 10:00"),
                plan_selected_at=ts("2013-11-03 11:00"),
                cancelled_at=ts("2013-11-02 08:00"),
            ),
            enrollment("E3", application_submitted_at=ts("2013-11-02 09:00"), plan_selected_at=ts("2013-11-02 10:00")),
        ],
        transactions=[accepted("X3", "E3", "2013-11-02 12:00", "2013-11-03 08:00")],
    )


def test_stage_counts_by_day_are_the_funnel_at_each_day_end_and_at_t(export):
    engine = stage_export(export)
    #                           applied, plan selected, sent 834, accepted 834, cancelled
    assert stage_counts(engine, "2013-11-03 09:00") == {
        "2013-11-01": (1, 1, 0, 0, 0),
        "2013-11-02": (2, 2, 1, 0, 0),
        "2013-11-03": (2, 2, 1, 1, 0),  # as of 09:00: E2 is not submitted yet; E3's ack came at 08:00
    }
    assert stage_counts(engine, "2013-11-03 12:00") == {
        "2013-11-01": (1, 1, 0, 0, 0),
        "2013-11-02": (2, 2, 1, 0, 0),  # not E2's cancellation: its application came on 11-03
        "2013-11-03": (3, 3, 1, 1, 1),
    }
    assert stage_counts(engine, "2013-11-05 00:00") == {
        "2013-11-01": (1, 1, 0, 0, 0),
        "2013-11-02": (2, 2, 1, 0, 0),
        "2013-11-03": (3, 3, 1, 1, 1),
        "2013-11-04": (3, 3, 1, 1, 1),
        "2013-11-05": (3, 3, 1, 1, 1),
    }


def test_stage_counts_by_day_in_a_date_window_start_at_its_first_application(export):
    engine = stage_export(export)
    # applications of 11-02 only (the window's end is excluded): E3
    assert stage_counts(engine, "2013-11-05 00:00", date_from=date(2013, 11, 2), date_to=date(2013, 11, 3)) == {
        "2013-11-02": (1, 1, 1, 0, 0),
        "2013-11-03": (1, 1, 1, 1, 0),
        "2013-11-04": (1, 1, 1, 1, 0),
        "2013-11-05": (1, 1, 1, 1, 0),
    }
    assert stage_counts(engine, "2013-11-05 00:00", states=("TX",)) == {}


def never_sent(engine, as_of: str) -> dict[str, int]:
    rows = m.never_sent_trend(m.Request(engine, ts(as_of)))
    return {str(r["date"]): r["never_sent"] for r in rows}


def test_never_sent_trend_at_each_day_end_and_at_t(export):
    engine = export(
        enrollments=[
            # never sent from 11-02 10:00 on
            enrollment("E1", application_submitted_at=ts("2013-11-01 09:00"), plan_selected_at=ts("2013-11-01 10:00")),
            # never sent from 11-02 12:00 until its 834 on 11-03 15:00
            enrollment("E4", application_submitted_at=ts("2013-11-01 11:00"), plan_selected_at=ts("2013-11-01 12:00")),
            # sent within 24 hours: never counted
            enrollment("E3", application_submitted_at=ts("2013-11-02 09:00"), plan_selected_at=ts("2013-11-02 10:00")),
            # cancelled before it could be counted: never counted
            enrollment(
                "E2",
                application_submitted_at=ts("2013-11-01 09:00"),
                plan_selected_at=ts("2013-11-01 11:00"),
                cancelled_at=ts("2013-11-02 08:00"),
            ),
        ],
        transactions=[outbound("X4", "E4", "2013-11-03 15:00"), outbound("X3", "E3", "2013-11-02 12:00")],
    )
    assert never_sent(engine, "2013-11-02 09:00") == {"2013-11-01": 0, "2013-11-02": 0}
    assert never_sent(engine, "2013-11-03 12:00") == {"2013-11-01": 0, "2013-11-02": 2, "2013-11-03": 2}
    assert never_sent(engine, "2013-11-05 00:00") == {
        "2013-11-01": 0,
        "2013-11-02": 2,
        "2013-11-03": 1,
        "2013-11-04": 1,
        "2013-11-05": 1,
    }
    assert (
        never_sent(engine, "2013-11-05 00:00")["2013-11-05"]
        == m.never_sent(m.Request(engine, ts("2013-11-05 00:00")))["count"]
    )


def test_a_record_without_its_application_time_is_in_no_day_of_any_trend(export):
    engine = export(
        enrollments=[
            enrollment("E1", application_submitted_at=ts("2013-11-01 09:00"), plan_selected_at=ts("2013-11-01 10:00")),
            # no application time (named as a problem, kept): in no cohort at any T, so in no trend
            enrollment(
                "N1",
                application_submitted_at=None,
                plan_selected_at=ts("2013-11-02 10:00"),
                cancelled_at=ts("2013-11-04 10:00"),
            ),
        ],
    )
    days = ["2013-11-01", "2013-11-02", "2013-11-03", "2013-11-04", "2013-11-05"]
    assert stage_counts(engine, "2013-11-05 12:00") == dict.fromkeys(days, (1, 1, 0, 0, 0))
    assert never_sent(engine, "2013-11-05 12:00") == {"2013-11-01": 0, **dict.fromkeys(days[1:], 1)}
    trend = m.backlog_trend(m.Request(engine, ts("2013-11-05 12:00")))
    assert {(str(r["date"]), r["stage"]): r["count"] for r in trend if r["count"]} == {
        (day, "awaiting_834"): 1 for day in days
    }


def test_a_cancellation_before_the_first_application_day_counts_from_the_application(export):
    engine = export(
        enrollments=[
            enrollment(
                "C1",
                application_submitted_at=ts("2013-11-02 09:00"),
                plan_selected_at=ts("2013-11-02 10:00"),
                cancelled_at=ts("2013-10-30 10:00"),
            )
        ],
    )
    assert stage_counts(engine, "2013-11-03 12:00") == {"2013-11-02": (1, 1, 0, 0, 1), "2013-11-03": (1, 1, 0, 0, 1)}
    assert m.funnel(m.Request(engine, ts("2013-11-03 12:00"))).cancelled == 1
