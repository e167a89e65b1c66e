"""The canary (test record) view of the data-health page, on literal fixtures."""

from datetime import date, datetime
from decimal import Decimal

from exportkit import accepted, effectuation, enrollment, ts
from helpers import query

from dashboard import metrics as m


def test_canaries_furthest_stage_and_stuck(export):
    engine = export(
        enrollments=[
            enrollment("T2", is_test=True),  # plan selected 11-01 10:00, nothing since
            enrollment(
                "T1",
                is_test=True,
                cancelled_at=ts("2013-11-02 00:00"),
                application_submitted_at=ts("2013-10-30 08:00"),
                plan_selected_at=ts("2013-10-30 09:00"),
            ),
            enrollment("T3", is_test=True, total_premium=Decimal("100"), aptc_amount=Decimal("100")),
            enrollment("T4", is_test=True, state="TX", issuer_id="20002"),
            enrollment("T5", is_test=True, application_submitted_at=ts("2013-12-01 00:00")),
            enrollment("E1"),
        ],
        transactions=[
            accepted("X1", "T1", "2013-10-31 11:00", "2013-10-31 12:00"),
            accepted("X3", "T3", "2013-11-01 11:00", "2013-11-01 12:00"),
            effectuation("F3", "T3", "2013-11-02 12:00"),
        ],
    )
    rows = m.canaries(query(engine, "2013-11-03 10:00"))
    assert [r["enrollment_id"] for r in rows] == ["T1", "T2", "T3", "T4"]  # T5 not submitted yet; E1 not a test
    by_id = {r["enrollment_id"]: r for r in rows}
    # T1 reached the payment page? no: accepted only; cancelled or not, stuck after 48 h in its stage
    assert by_id["T1"]["stage"] == "accepted_834" and by_id["T1"]["entered_at"] == datetime(2013, 10, 31, 12)
    assert by_id["T1"]["stuck"] is True
    # T2: plan_selected at 11-01 10:00, exactly 48 h before as-of: not yet stuck (> 48 h)
    assert by_id["T2"]["stage"] == "plan_selected" and by_id["T2"]["stuck"] is False
    assert by_id["T3"]["stage"] == "effectuated" and by_id["T3"]["stuck"] is False
    assert m.canaries(query(engine, "2013-11-03 10:00:00.000001"))[1]["stuck"] is True
    assert [r["enrollment_id"] for r in m.canaries(query(engine, "2013-11-03 10:00", states=("TX",)))] == ["T4"]
    # the date window does not apply to canaries
    assert len(m.canaries(query(engine, "2013-11-03 10:00", date_from=date(2013, 12, 1)))) == 4
