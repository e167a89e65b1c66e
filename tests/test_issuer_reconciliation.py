"""Per-issuer reconciliation (the issuer view), on literal fixtures."""

from datetime import date
from decimal import Decimal

from exportkit import effectuation, enrollment, outbound, ts
from helpers import query

from dashboard import metrics as m


def test_reconciliation_categories(export):
    engine = export(
        enrollments=[
            enrollment("E1"),  # matched
            enrollment("E2"),  # field mismatch (subsidy)
            enrollment("E3"),  # exchange only
            enrollment(
                "E4", cancelled_at=ts("2013-11-05 00:00")
            ),  # cancelled: not counted; its late 834 is issuer-only
            enrollment("E5", plan_selected_at=None),  # no plan: not counted
            enrollment("E6", issuer_id="20002", state="TX"),  # another issuer's enrollment
            enrollment("T1", is_test=True),
        ],
        transactions=[
            effectuation("F1", "E1", "2013-11-03 09:00"),
            effectuation("F2", "E2", "2013-11-03 09:00", aptc_amount=Decimal("249.99")),
            effectuation("F2b", "E2", "2013-11-04 09:00"),  # later and matching: the earliest is compared
            effectuation("F4", "E4", "2013-11-06 09:00"),  # sent after the cancellation
            effectuation("F9", "E9", "2013-11-03 09:00"),  # unknown to the exchange
            effectuation("FN", None, "2013-11-03 09:00", maintenance_type="024", maintenance_reason="59"),
            effectuation("F6", "E6", "2013-11-03 09:00"),  # from 10001 for 20002's enrollment: not issuer-only
            effectuation("FT", "T1", "2013-11-03 09:00"),  # test record
            outbound("X1", "E3", "2013-11-02 09:00"),  # outbound: not the issuer's side
        ],
        issuers=[["10001", "A", "NC"], ["20002", "B", "TX"]],
    )
    rows = m.reconciliation(query(engine, "2013-12-01 00:00"))
    assert rows == [
        {"issuer_id": "10001", "matched": 1, "field_mismatch": 1, "exchange_only": 1, "issuer_only": 3},
        {"issuer_id": "20002", "matched": 0, "field_mismatch": 0, "exchange_only": 1, "issuer_only": 0},
    ]
    # as of before the effectuations, everything is exchange-only and nothing is issuer-only
    early = m.reconciliation(query(engine, "2013-11-02 00:00"))
    assert early[0] == {"issuer_id": "10001", "matched": 0, "field_mismatch": 0, "exchange_only": 4, "issuer_only": 0}
    # the window narrows the enrollment side, not the issuer-only side
    windowed = m.reconciliation(query(engine, "2013-12-01 00:00", date_from=date(2013, 12, 1)))
    assert windowed == [{"issuer_id": "10001", "matched": 0, "field_mismatch": 0, "exchange_only": 0, "issuer_only": 3}]
    assert m.reconciliation(query(engine, "2013-12-01 00:00", states=("TX",)))[0]["issuer_id"] == "20002"


def test_issuer_only_needs_the_cancellation_strictly_before_the_834(export):
    engine = export(
        enrollments=[
            enrollment("E1", cancelled_at=ts("2013-11-05 09:00")),
            enrollment("E2", cancelled_at=ts("2013-11-05 08:59:59.999999")),
        ],
        transactions=[effectuation("F1", "E1", "2013-11-05 09:00"), effectuation("F2", "E2", "2013-11-05 09:00")],
    )
    [row] = m.reconciliation(query(engine, "2013-12-01 00:00"))
    assert row["issuer_only"] == 1  # only F2: E1 was cancelled at the very moment F1 was sent


def test_another_issuers_cancelled_enrollment_is_not_issuer_only(export):
    engine = export(
        enrollments=[enrollment("E1", cancelled_at=ts("2013-11-05 00:00"))],
        transactions=[
            effectuation("F1", "E1", "2013-11-10 09:00", issuer_id="20002"),
            effectuation("F2", "E1", "2013-11-10 09:00"),
        ],
        issuers=[["10001", "A", "NC"], ["20002", "B", "TX"]],
    )
    rows = m.reconciliation(query(engine, "2013-12-01 00:00"))
    # F2 comes from E1's own issuer after the cancellation: issuer-only; F1 is 20002's, for 10001's enrollment
    assert rows == [{"issuer_id": "10001", "matched": 0, "field_mismatch": 0, "exchange_only": 0, "issuer_only": 1}]
