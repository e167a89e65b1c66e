"""834 error categories, daily rates and never-sent (metrics.md), on literal fixtures."""

from datetime import date
from decimal import Decimal

import pyarrow as pa
from exportkit import SCHEMAS, accepted, enrollment, outbound, ts, write_export
from helpers import query

from dashboard import metrics as m
from dashboard.engine import Engine

LATE = "2013-12-31 00:00"


def errs(engine, as_of=LATE, **filters):
    return m.errors(query(engine, as_of, **filters))


def test_clean_834_is_not_errored(export):
    engine = export(
        enrollments=[enrollment("E1")], transactions=[accepted("X1", "E1", "2013-11-02 09:00", "2013-11-02 10:00")]
    )
    e = errs(engine)
    assert (e["sent"], e["errored"], e["rate"]) == (1, 0, 0.0)


def test_rejected_counts_only_once_acknowledged_as_of(export):
    engine = export(
        enrollments=[enrollment("E1")],
        transactions=[
            outbound("X1", "E1", "2013-11-02 09:00", ack_code="R", ack_at=ts("2013-11-02 10:00"), error_code="E123")
        ],
    )
    assert errs(engine)["rejected"] == 1 and errs(engine)["errored"] == 1
    before_ack = errs(engine, "2013-11-02 09:30")
    assert before_ack["rejected"] == 0 and before_ack["errored"] == 0  # not yet 48 h


def test_unacknowledged_at_exactly_48_hours(export):
    engine = export(enrollments=[enrollment("E1")], transactions=[outbound("X1", "E1", "2013-11-02 09:00")])
    assert errs(engine, "2013-11-04 08:59:59.999999")["unacknowledged"] == 0
    assert errs(engine, "2013-11-04 09:00")["unacknowledged"] == 1


def test_acknowledgement_after_as_of_leaves_it_unacknowledged(export):
    engine = export(
        enrollments=[enrollment("E1")], transactions=[accepted("X1", "E1", "2013-11-02 09:00", "2013-11-10 09:00")]
    )
    assert errs(engine, "2013-11-05 00:00")["unacknowledged"] == 1
    assert errs(engine, "2013-11-10 09:00")["unacknowledged"] == 0


def test_code_without_time_is_no_acknowledgement(export):
    engine = export(
        enrollments=[enrollment("E1")],
        transactions=[outbound("X1", "E1", "2013-11-02 09:00", ack_code="R", ack_at=None)],
    )
    e = errs(engine)
    assert e["rejected"] == 0 and e["unacknowledged"] == 1


def test_duplicate_second_834_for_the_same_enrollment_to_any_issuer(export):
    engine = export(
        enrollments=[enrollment("E1")],
        transactions=[
            accepted("X1", "E1", "2013-11-02 09:00", "2013-11-02 10:00"),
            accepted("X2", "E1", "2013-11-03 09:00", "2013-11-03 10:00", issuer_id="20002"),
        ],
    )
    e = errs(engine)
    assert e["duplicate"] == 1 and e["mismatch"] == 1  # X2 also names the wrong issuer


def test_two_834s_with_the_same_sent_at_the_larger_transaction_id_is_the_duplicate(export):
    engine = export(
        enrollments=[enrollment("E1")],
        transactions=[
            accepted("X2", "E1", "2013-11-02 09:00", "2013-11-02 10:00"),
            accepted("X1", "E1", "2013-11-02 09:00", "2013-11-02 10:00"),
        ],
    )
    errored = engine.rows("errored_834s", **query(engine, LATE).params())
    assert [(r["transaction_id"], r["is_duplicate"]) for r in errored] == [("X2", True)]
    assert errs(engine)["duplicate"] == 1


def test_resend_after_a_reject_is_not_a_duplicate(export):
    engine = export(
        enrollments=[enrollment("E1")],
        transactions=[
            outbound("X1", "E1", "2013-11-02 09:00", ack_code="R", ack_at=ts("2013-11-02 10:00")),
            accepted("X2", "E1", "2013-11-03 09:00", "2013-11-03 10:00"),
        ],
    )
    e = errs(engine)
    assert (e["rejected"], e["duplicate"], e["errored"]) == (1, 0, 1)
    # as of a time before the reject arrived, the re-send is a duplicate of a not-yet-rejected 834
    assert errs(engine, "2013-11-02 09:30")["duplicate"] == 0  # the re-send is not sent yet
    engine2 = export(
        enrollments=[enrollment("E1")],
        transactions=[
            outbound("X1", "E1", "2013-11-02 09:00", ack_code="R", ack_at=ts("2013-11-05 10:00")),
            accepted("X2", "E1", "2013-11-03 09:00", "2013-11-03 10:00"),
        ],
    )
    assert errs(engine2, "2013-11-04 00:00")["duplicate"] == 1
    assert errs(engine2, "2013-11-06 00:00")["duplicate"] == 0


def test_a_duplicate_stops_being_one_at_the_exact_time_the_earlier_834_is_rejected(export):
    # X1 rejected at 11-05 10:00; X2 and X3 re-sent before that. As of 10:00 exactly X1 counts as
    # rejected, so X2 is no longer a duplicate; X3 still is (X2 is earlier and not rejected).
    engine = export(
        enrollments=[enrollment("E1")],
        transactions=[
            outbound("X1", "E1", "2013-11-02 09:00", ack_code="R", ack_at=ts("2013-11-05 10:00")),
            accepted("X2", "E1", "2013-11-03 09:00", "2013-11-03 10:00"),
            outbound("X3", "E1", "2013-11-04 09:00", ack_code="R"),
        ],
    )  # a code without a time

    def duplicates(as_of):
        rows = engine.rows("errored_834s", **query(engine, as_of).params())
        return sorted(r["transaction_id"] for r in rows if r["is_duplicate"])

    assert duplicates("2013-11-05 09:59:59.999999") == ["X2", "X3"]
    assert duplicates("2013-11-05 10:00") == ["X3"]


def test_changes_and_cancellations_are_not_duplicates(export):
    engine = export(
        enrollments=[enrollment("E1")],
        transactions=[
            accepted("X1", "E1", "2013-11-02 09:00", "2013-11-02 10:00"),
            accepted("X2", "E1", "2013-11-03 09:00", "2013-11-03 10:00", maintenance_type="001"),
            accepted("X3", "E1", "2013-11-04 09:00", "2013-11-04 10:00", maintenance_type="024", plan_id=None),
        ],
    )
    e = errs(engine)
    assert e["duplicate"] == 0 and e["mismatch"] == 0 and e["sent"] == 3  # 024 is not checked for mismatch


def test_mismatch_each_field_and_null_rules(export):
    fields = {
        "plan_id": "10001NC0010001" + "02",
        "coverage_start_date": date(2014, 2, 1),
        "total_premium": Decimal("400.01"),
        "aptc_amount": None,
        "member_count": 2,
        "subscriber_birth_date": date(1980, 5, 18),
        "issuer_id": "20002",
    }
    for field, value in fields.items():
        engine = export(
            enrollments=[enrollment("E1")],
            transactions=[accepted("X1", "E1", "2013-11-02 09:00", "2013-11-02 10:00", **{field: value})],
        )
        assert errs(engine)["mismatch"] == 1, field
    # two nulls are equal
    engine = export(
        enrollments=[enrollment("E1", plan_id=None, aptc_amount=None)],
        transactions=[accepted("X1", "E1", "2013-11-02 09:00", "2013-11-02 10:00", plan_id=None, aptc_amount=None)],
    )
    assert errs(engine)["mismatch"] == 0


def test_money_as_double_equals_decimal_at_whole_cents(tmp_path):
    schema = SCHEMAS["transactions_834"]
    double_schema = pa.schema(
        [pa.field(f.name, pa.float64()) if f.name in ("total_premium", "aptc_amount") else f for f in schema]
    )
    root = write_export(tmp_path / "x", enrollments=[enrollment("E1")], transactions=[])
    from exportkit import write_table

    write_table(
        root / "transactions_834" / "part-0.parquet",
        "transactions_834",
        [
            accepted("X1", "E1", "2013-11-02 09:00", "2013-11-02 10:00", total_premium=400.0, aptc_amount=250.004),
            accepted("X2", "E2", "2013-11-02 09:00", "2013-11-02 10:00", total_premium=400.0, aptc_amount=250.0),
        ],
        schema=double_schema,
    )
    engine = Engine(root)
    assert not engine.errors
    e = errs(engine)
    assert e["mismatch"] == 0 and e["unmatched"] == 1  # 250.004 is 25000 cents; E2 is unknown


def test_unmatched_null_or_unknown_enrollment(export):
    engine = export(
        enrollments=[enrollment("00123")],
        transactions=[
            accepted("X1", None, "2013-11-02 09:00", "2013-11-02 10:00"),
            accepted("X2", "123", "2013-11-02 09:00", "2013-11-02 10:00"),
            accepted("X3", "00123", "2013-11-02 09:00", "2013-11-02 10:00"),
        ],
    )
    e = errs(engine)
    assert e["unmatched"] == 2 and e["sent"] == 3  # leading zeros are significant


def test_inbound_834s_are_not_in_the_error_rate(export):
    from exportkit import effectuation

    engine = export(enrollments=[enrollment("E1")], transactions=[effectuation("F1", "E1", "2013-11-02 09:00")])
    assert errs(engine)["sent"] == 0 and errs(engine)["rate"] is None


def test_test_record_834s_are_excluded(export):
    engine = export(
        enrollments=[enrollment("T1", is_test=True)], transactions=[outbound("X1", "T1", "2013-11-02 09:00")]
    )
    assert errs(engine)["sent"] == 0


def test_filters_use_the_834s_issuer_and_its_state_in_issuers_csv(export):
    engine = export(
        enrollments=[enrollment("E1")],
        transactions=[
            accepted("X1", "E1", "2013-11-02 09:00", "2013-11-02 10:00"),
            accepted("X2", "E2", "2013-11-02 09:00", "2013-11-02 10:00", issuer_id="77777"),
        ],
        issuers=[["10001", "Test Mutual", "NC"]],
    )
    assert errs(engine, states=("NC",))["sent"] == 1  # 77777 is not in issuers.csv: no state
    assert errs(engine, issuers=("77777",))["sent"] == 1
    assert errs(engine)["sent"] == 2
    assert errs(engine, date_from=date(2013, 11, 3))["sent"] == 0
    assert errs(engine, date_to=date(2013, 11, 3))["sent"] == 2


def test_properties_before_filters_duplicate_across_filtered_out_issuer(export):
    engine = export(
        enrollments=[enrollment("E1")],
        transactions=[
            accepted("X1", "E1", "2013-11-02 09:00", "2013-11-02 10:00"),
            accepted("X2", "E1", "2013-11-03 09:00", "2013-11-03 10:00", issuer_id="20002"),
        ],
        issuers=[["10001", "A", "NC"], ["20002", "B", "TX"]],
    )
    assert errs(engine, states=("TX",))["duplicate"] == 1


def test_daily_rates_include_days_with_no_834(export):
    engine = export(
        enrollments=[enrollment("E1"), enrollment("E2")],
        transactions=[
            accepted("X1", "E1", "2013-11-02 09:00", "2013-11-02 10:00"),
            outbound("X2", "E2", "2013-11-05 23:59:59"),
        ],
    )
    days = m.errors_daily(query(engine, LATE))
    assert [d["date"] for d in days] == [date(2013, 11, d) for d in (2, 3, 4, 5)]
    assert [d["sent"] for d in days] == [1, 0, 0, 1]
    assert days[1]["rate"] is None and days[3]["rate"] == 1.0 and days[3]["unacknowledged"] == 1
    assert m.errors_daily(query(engine, LATE, states=("ZZ",))) == []


def test_never_sent_count_share_and_boundaries(export):
    engine = export(
        enrollments=[
            enrollment("E1", plan_selected_at=ts("2013-11-01 10:00")),  # never sent
            enrollment("E2", plan_selected_at=ts("2013-11-01 10:00")),  # sent
            enrollment("E3", plan_selected_at=ts("2013-11-01 10:00")),  # sent to the wrong issuer
            enrollment("E4", plan_selected_at=ts("2013-11-01 10:00"), cancelled_at=ts("2013-11-01 12:00")),
            enrollment("E5", plan_selected_at=ts("2013-11-01 10:00:00.000001")),
            enrollment("E6", plan_selected_at=None),
        ],
        transactions=[
            outbound("X2", "E2", "2013-11-01 11:00"),
            outbound("X3", "E3", "2013-11-01 11:00", issuer_id="20002"),
        ],
    )
    ns = m.never_sent(query(engine, "2013-11-02 10:00"))
    # eligible at exactly 24 h: E1, E2, E3 (E4 cancelled before any 834, E5 one microsecond short)
    assert (ns["count"], ns["share"]) == (2, 2 / 3)
    ns = m.never_sent(query(engine, "2013-11-02 10:00:00.000001"))
    assert (ns["count"], ns["share"]) == (3, 3 / 4)
    ns = m.never_sent(query(engine, "2013-11-02 09:59"))
    assert (ns["count"], ns["share"]) == (0, None)
