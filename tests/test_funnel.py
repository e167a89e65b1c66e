"""Funnel rules of metrics.md, each on a literal fixture with a hand-computed answer."""

from datetime import datetime
from decimal import Decimal

from exportkit import accepted, effectuation, enrollment, outbound, payment, ts
from helpers import query

from dashboard import metrics as m

LATE = "2013-12-31 00:00"


def counts(engine, as_of=LATE, **filters):
    return {s["stage"]: s["count"] for s in m.funnel(query(engine, as_of, **filters)).total}


def full_journey(eid, day=2, **overrides):
    """An enrollment that goes all the way through, one stage a day in November."""
    issuer = overrides.get("issuer_id", "10001")
    return dict(
        enrollment=enrollment(
            eid,
            application_submitted_at=ts(f"2013-11-{day:02d} 08:00"),
            plan_selected_at=ts(f"2013-11-{day:02d} 09:00"),
            **overrides,
        ),
        transactions=[
            accepted(f"X{eid}", eid, f"2013-11-{day + 1:02d} 09:00", f"2013-11-{day + 1:02d} 12:00", issuer_id=issuer),
            effectuation(f"F{eid}", eid, f"2013-11-{day + 4:02d} 09:00", issuer_id=issuer),
        ],
        payments=[
            payment(
                f"P{eid}",
                eid,
                redirected_at=f"2013-11-{day + 2:02d} 09:00",
                redirect_status="ok",
                paid_at=f"2013-11-{day + 3:02d} 09:00",
                payment_status="paid",
            )
        ],
    )


def build(export, journeys, extra_enrollments=(), extra_tx=(), extra_pay=(), **kw):
    return export(
        enrollments=[j["enrollment"] for j in journeys] + list(extra_enrollments),
        transactions=[t for j in journeys for t in j["transactions"]] + list(extra_tx),
        payments=[p for j in journeys for p in j["payments"]] + list(extra_pay),
        **kw,
    )


def test_every_stage_counted_and_conversions(export):
    engine = build(
        export,
        [full_journey("E1")],
        extra_enrollments=[enrollment("E2", plan_selected_at=None), enrollment("E3"), enrollment("E4")],
    )
    funnel = m.funnel(query(engine, LATE)).total
    assert [s["count"] for s in funnel] == [4, 3, 1, 1, 1, 1, 1]
    assert funnel[0] == {
        "stage": "applied",
        "count": 4,
        "step_conversion": 1.0,
        "overall_conversion": 1.0,
        "drop_off": 0,
    }
    assert funnel[1]["step_conversion"] == 0.75 and funnel[1]["drop_off"] == 1
    assert funnel[2]["step_conversion"] == 1 / 3 and funnel[2]["overall_conversion"] == 0.25
    assert funnel[2]["drop_off"] == 2


def test_empty_cohort_gives_null_conversions(export):
    engine = build(export, [full_journey("E1")])
    funnel = m.funnel(query(engine, LATE, states=("ZZ",))).total
    assert [s["count"] for s in funnel] == [0] * 7
    assert all(s["step_conversion"] is None and s["overall_conversion"] is None for s in funnel)
    assert funnel[0]["drop_off"] == 0


def test_ordered_funnel_a_payment_without_an_834_does_not_count(export):
    journey = full_journey("E1")
    journey["transactions"] = []  # paid and effectuated but the exchange never sent the 834
    engine = build(export, [journey])
    assert counts(engine) == {
        "applied": 1,
        "plan_selected": 1,
        "sent_834": 0,
        "accepted_834": 0,
        "reached_payment": 0,
        "paid": 0,
        "effectuated": 0,
    }


def test_834_routed_to_the_wrong_issuer_does_not_reach_the_consumers_issuer(export):
    engine = build(
        export,
        [],
        extra_enrollments=[enrollment("E1")],
        extra_tx=[accepted("X1", "E1", "2013-11-02 09:00", "2013-11-02 10:00", issuer_id="99999")],
    )
    assert counts(engine)["sent_834"] == 0


def test_test_records_and_their_rows_are_excluded(export):
    test_journey = full_journey("T1", is_test=True)
    engine = build(export, [full_journey("E1"), test_journey])
    assert counts(engine)["applied"] == 1 and counts(engine)["effectuated"] == 1


def test_full_subsidy_reaches_payment_stages_at_stage_4_time(export):
    # responsible amount 0: premium 300, subsidy 300; and subsidy above premium (never below 0)
    for aptc in (Decimal("300.00"), Decimal("450.00")):
        engine = build(
            export,
            [],
            extra_enrollments=[enrollment("E1", total_premium=Decimal("300.00"), aptc_amount=aptc)],
            extra_tx=[accepted("X1", "E1", "2013-11-02 09:00", "2013-11-02 12:00")],
        )
        stages = engine.rows("time_to_convert", **query(engine, LATE).params())
        assert counts(engine)["paid"] == 1 and counts(engine)["effectuated"] == 0
        by_pair = {(r["stage_from"], r["stage_to"]): r for r in stages}
        assert by_pair[("accepted_834", "reached_payment")]["median_hours"] == 0.0
        assert by_pair[("plan_selected", "paid")]["median_hours"] == 26.0  # 11-01 10:00 -> 11-02 12:00


def test_unknown_premium_is_not_a_full_subsidy(export):
    engine = build(
        export,
        [],
        extra_enrollments=[enrollment("E1", total_premium=None, aptc_amount=None)],
        extra_tx=[accepted("X1", "E1", "2013-11-02 09:00", "2013-11-02 12:00", total_premium=None, aptc_amount=None)],
    )
    assert counts(engine)["reached_payment"] == 0


def test_a_direct_payment_without_redirect_reaches_payment_and_paid(export):
    engine = build(
        export,
        [],
        extra_enrollments=[enrollment("E1")],
        extra_tx=[accepted("X1", "E1", "2013-11-02 09:00", "2013-11-02 12:00")],
        extra_pay=[
            payment("P1", "E1", paid_at="2013-11-05 09:00", payment_status="paid"),
            payment(
                "P0", "E1", redirected_at="2013-11-03 09:00", redirect_status="broken_link", payment_status="failed"
            ),
        ],
    )
    assert counts(engine)["reached_payment"] == 1 and counts(engine)["paid"] == 1


def test_acknowledgement_stamped_before_its_834_is_clamped_and_waits_for_the_834(export):
    # ack stamped 11-01 20:00, but the 834 was only sent 11-03 09:00
    engine = build(
        export,
        [],
        extra_enrollments=[enrollment("E1")],
        extra_tx=[accepted("X1", "E1", "2013-11-03 09:00", "2013-11-01 20:00")],
    )
    assert counts(engine, "2013-11-02 00:00")["accepted_834"] == 0  # the 834 does not exist yet
    assert counts(engine, "2013-11-03 09:00")["accepted_834"] == 1
    ttc = {(r["from"], r["to"]): r for r in m.time_to_convert(query(engine, LATE))}
    # entry time clamped to the 834's sending time: 11-01 10:00 -> 11-03 09:00 = 47 h
    assert ttc[("plan_selected", "accepted_834")]["median"] == 47.0
    assert ttc[("sent_834", "accepted_834")]["median"] == 0.0


def test_acknowledgement_needs_code_and_time(export):
    engine = build(
        export,
        [],
        extra_enrollments=[enrollment("E1")],
        extra_tx=[outbound("X1", "E1", "2013-11-02 09:00", ack_code="A", ack_at=None)],
    )
    assert counts(engine)["accepted_834"] == 0


def test_as_of_gates_each_event(export):
    engine = build(export, [full_journey("E1")])
    assert counts(engine, "2013-11-02 08:59")["applied"] == 1
    assert counts(engine, "2013-11-02 08:59")["plan_selected"] == 1 - 1
    assert counts(engine, "2013-11-02 07:59")["applied"] == 0
    assert counts(engine, "2013-11-03 11:59")["accepted_834"] == 0
    assert counts(engine, "2013-11-03 12:00")["accepted_834"] == 1
    assert counts(engine, "2013-11-06 08:59")["effectuated"] == 0
    assert counts(engine, "2013-11-06 09:00")["effectuated"] == 1


def test_cancelled_keep_their_stages_and_are_counted_separately(export):
    journey = full_journey("E1", cancelled_at=ts("2013-11-20 00:00"))
    engine = build(export, [journey, full_journey("E2")])
    result = m.funnel(query(engine, LATE))
    assert result.cancelled == 1 and result.total[-1]["count"] == 2
    assert m.funnel(query(engine, "2013-11-19 00:00")).cancelled == 0


def test_breakdowns_by_issuer_and_state_add_up(export):
    engine = build(
        export,
        [full_journey("E1"), full_journey("E2", issuer_id="20002", state="TX")],
        extra_enrollments=[enrollment("E3", state="TX", issuer_id="20002", plan_selected_at=None)],
    )
    result = m.funnel(query(engine, LATE))
    assert sorted(result.by_issuer) == ["10001", "20002"] and sorted(result.by_state) == ["NC", "TX"]
    assert [s["count"] for s in result.by_issuer["20002"]] == [2, 1, 1, 1, 1, 1, 1]
    for i, stage in enumerate(result.total):
        assert stage["count"] == sum(g[i]["count"] for g in result.by_state.values())


def test_filters_and_window_select_the_cohort(export):
    engine = build(export, [full_journey("E1", day=2), full_journey("E2", day=10, issuer_id="20002", state="TX")])
    assert counts(engine, states=("TX",))["applied"] == 1
    assert counts(engine, states=("TX", "NC"))["applied"] == 2
    assert counts(engine, states=("TX",), issuers=("10001",))["applied"] == 0
    assert counts(engine, issuers=("00000",))["applied"] == 0
    from datetime import date

    assert counts(engine, date_from=date(2013, 11, 10))["applied"] == 1
    assert counts(engine, date_to=date(2013, 11, 10))["applied"] == 1
    assert counts(engine, date_from=date(2013, 11, 2), date_to=date(2013, 11, 3))["applied"] == 1


def test_time_to_convert_median_and_p90_interpolate(export):
    journeys = []
    for i, hours in enumerate([10, 20, 30, 40]):
        eid = f"E{i}"
        journeys.append(
            dict(
                enrollment=enrollment(eid, plan_selected_at=ts("2013-11-01 10:00")),
                transactions=[
                    accepted(
                        f"X{eid}",
                        eid,
                        "2013-11-01 10:00",
                        f"2013-11-0{1 + (10 + hours) // 24} {(10 + hours) % 24:02d}:00",
                    )
                ],
                payments=[],
            )
        )
    engine = build(export, journeys)
    first = m.time_to_convert(query(engine, LATE))[0]
    assert (first["from"], first["to"], first["n"]) == ("plan_selected", "accepted_834", 4)
    assert first["median"] == 25.0 and abs(first["p90"] - 37.0) < 1e-9
    pairs = [(r["from"], r["to"]) for r in m.time_to_convert(query(engine, LATE))[:3]]
    assert pairs == [("plan_selected", "accepted_834"), ("plan_selected", "paid"), ("plan_selected", "effectuated")]
    assert m.time_to_convert(query(engine, LATE))[1]["median"] is None  # nobody paid: n = 0


def test_plan_selected_before_application_is_clamped(export):
    engine = build(
        export,
        [],
        extra_enrollments=[
            enrollment("E1", application_submitted_at=ts("2013-11-02 10:00"), plan_selected_at=ts("2013-11-02 09:00"))
        ],
    )
    ttc = {(r["from"], r["to"]): r for r in m.time_to_convert(query(engine, LATE))}
    assert ttc[("applied", "plan_selected")]["median"] == 0.0


def test_accepted_entry_is_the_earliest_acknowledgement_known_by_t_with_several_834s(export):
    # Three initial 834s to the issuer, each accepted. An acknowledgement is known at
    # greatest(sent_at, ack_at): A at 12:00 (ack 12:00), B at 13:00 (ack 11:30, stamped before B
    # was sent), C at 14:00 (ack 11:00). Stage 4 is entered at the earliest ack_at among those
    # known by T, never before the 834 stage (first sent at 10:00).
    engine = export(
        enrollments=[
            enrollment(
                "T1",
                is_test=True,
                application_submitted_at=ts("2013-11-01 08:00"),
                plan_selected_at=ts("2013-11-01 09:00"),
            )
        ],
        transactions=[
            accepted("A", "T1", "2013-11-02 10:00", "2013-11-02 12:00"),
            accepted("B", "T1", "2013-11-02 13:00", "2013-11-02 11:30"),
            accepted("C", "T1", "2013-11-02 14:00", "2013-11-02 11:00"),
        ],
    )

    def entered(as_of):
        (row,) = m.canaries(query(engine, as_of))
        return row["stage"], row["entered_at"]

    assert entered("2013-11-02 11:59:59") == ("sent_834", datetime(2013, 11, 2, 10))
    assert entered("2013-11-02 12:00") == ("accepted_834", datetime(2013, 11, 2, 12))
    assert entered("2013-11-02 12:59:59") == ("accepted_834", datetime(2013, 11, 2, 12))
    assert entered("2013-11-02 13:00") == ("accepted_834", datetime(2013, 11, 2, 11, 30))
    assert entered("2013-11-02 14:00") == ("accepted_834", datetime(2013, 11, 2, 11))
