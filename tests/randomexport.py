"""Random exports dense in the spec's edge cases, and the filters they are checked under: shared by
the reference comparison (test_against_reference.py) and the list/trend checks (test_work_lists.py).

Timestamp ties, acknowledgements stamped before their 834, codes without times, 834s to the wrong
issuer, re-sends after rejects, test records, cancellations before and after events, 100%
subsidies, ids with leading zeros, unknown issuers.
"""

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from exportkit import write_export

START = datetime(2013, 11, 1)
ISSUERS = [("10001", "NC"), ("10002", "NC"), ("20001", "TX"), ("30001", "FL")]  # 30001 not in issuers.csv
PLANS = ["10001NC0010001" + "01", "10001NC0010001" + "02", None]


def moment(rng, spread_days=20):
    # a coarse 6-hour grid makes ties and exact boundaries common; microsecond offsets test precision
    t = START + timedelta(hours=6 * rng.randrange(spread_days * 4))
    return t + timedelta(microseconds=rng.choice([0, 0, 0, 1, 999999]))


def maybe(rng, p, value):
    return value if rng.random() < p else None


def random_export(root, seed, n=45):
    rng = random.Random(seed)
    enrollments, transactions, payments = [], [], []
    for i in range(n):
        issuer, state = rng.choice(ISSUERS)
        eid = rng.choice(["E", "0"]) + f"{i:03d}"
        applied = moment(rng)
        premium = rng.choice([Decimal("300.00"), Decimal("412.37"), None])
        aptc = rng.choice([Decimal("0.00"), Decimal("300.00"), Decimal("450.00"), None, Decimal("100.10")])
        e = {
            "enrollment_id": eid,
            "application_id": f"A{i}",
            "subscriber_id": f"S{i}",
            "state": state,
            "issuer_id": issuer,
            "plan_id": rng.choice(PLANS),
            "metal_level": "silver",
            "channel": "online",
            "subscriber_birth_date": date(1970 + rng.randrange(3), 1, 1),
            "member_count": rng.choice([1, 2]),
            "total_premium": premium,
            "aptc_amount": aptc,
            "application_submitted_at": applied,
            "plan_selected_at": maybe(rng, 0.85, applied + timedelta(hours=rng.randrange(-2, 60))),
            "coverage_start_date": rng.choice([date(2013, 11, 15), date(2013, 12, 1), date(2014, 1, 1), None]),
            "cancelled_at": maybe(rng, 0.15, applied + timedelta(hours=6 * rng.randrange(0, 50))),
            "is_test": rng.random() < 0.12,
        }
        enrollments.append(e)
        for j in range(rng.choice([0, 1, 1, 1, 2, 3])):
            sent = moment(rng)
            ack_code = rng.choice([None, "A", "A", "E", "R"])
            ack_at = maybe(rng, 0.85, sent + timedelta(hours=rng.randrange(-30, 90)))
            transactions.append(
                {
                    "transaction_id": f"T{i:03d}{j}{rng.choice('ab')}",
                    "direction": "outbound",
                    "enrollment_id": rng.choice([eid] * 8 + [None, "E999"]),
                    "issuer_id": issuer if rng.random() < 0.85 else rng.choice(ISSUERS)[0],
                    "maintenance_type": rng.choice(["021"] * 6 + ["001", "024"]),
                    "maintenance_reason": "EC",
                    "sent_at": sent,
                    "ack_code": ack_code,
                    "ack_at": ack_at if ack_code or rng.random() < 0.3 else None,
                    "error_code": None,
                    "plan_id": e["plan_id"] if rng.random() < 0.8 else rng.choice(PLANS),
                    "coverage_start_date": e["coverage_start_date"],
                    "total_premium": premium,
                    "aptc_amount": aptc if rng.random() < 0.85 else Decimal("1.00"),
                    "member_count": e["member_count"],
                    "subscriber_birth_date": e["subscriber_birth_date"],
                }
            )
        if rng.random() < 0.6:
            transactions.append(
                {
                    "transaction_id": f"F{i:03d}",
                    "direction": "inbound",
                    "enrollment_id": rng.choice([eid] * 6 + [None, "E998"]),
                    "issuer_id": issuer if rng.random() < 0.9 else rng.choice(ISSUERS)[0],
                    "maintenance_type": rng.choice(["021"] * 5 + ["024"]),
                    "maintenance_reason": rng.choice(["28"] * 5 + ["59"]),
                    "sent_at": moment(rng),
                    "ack_code": None,
                    "ack_at": None,
                    "error_code": None,
                    "plan_id": e["plan_id"] if rng.random() < 0.8 else None,
                    "coverage_start_date": e["coverage_start_date"],
                    "total_premium": premium,
                    "aptc_amount": aptc if rng.random() < 0.8 else Decimal("2.00"),
                    "member_count": 1,
                    "subscriber_birth_date": None,
                }
            )
        for j in range(rng.choice([0, 1, 1, 2])):
            redirected = maybe(rng, 0.8, moment(rng))
            status = rng.choice(["paid", "paid", "failed", "abandoned", "pending"])
            payments.append(
                {
                    "payment_id": f"P{i:03d}{j}",
                    "enrollment_id": eid,
                    "issuer_id": issuer,
                    "redirected_at": redirected,
                    "redirect_status": rng.choice(["ok", "ok", "broken_link", "timeout"]) if redirected else None,
                    "paid_at": maybe(rng, 0.9, moment(rng)) if status == "paid" else None,
                    "amount": None,
                    "payment_status": status,
                }
            )
    releases = [
        ["R-a", "2013-11-08T00:00:00Z", "834_generator", "a", ""],
        ["R-b", "2013-11-12T06:00:00Z", "payment_redirect", "b", "10001"],
        ["R-c", "2013-11-14T00:00:00Z", "front_end", "c", ""],
        ["R-d", "2013-12-30T00:00:00Z", "hub", "d", ""],
    ]
    issuers = [[i, f"Issuer {i}", s] for i, s in ISSUERS if i != "30001"]
    return write_export(
        root, enrollments=enrollments, transactions=transactions, payments=payments, releases=releases, issuers=issuers
    )


FILTERS = [
    {},
    {"states": ("NC",)},
    {"issuers": ("10001", "30001")},
    {"states": ("TX", "FL"), "issuers": ("20001",)},
    {"date_from": date(2013, 11, 5), "date_to": date(2013, 11, 15)},
    {"states": ("ZZ",)},
]
