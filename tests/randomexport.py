"""Random exports dense in the spec's edge cases, and the filters they are checked under: shared by
the reference comparison (test_against_reference.py) and the list/trend checks (test_work_lists.py).

Timestamp ties, acknowledgements stamped before their 834, codes without times, 834s to the wrong
issuer, re-sends after rejects, test records, cancellations before and after events, 100%
subsidies, ids with leading zeros, unknown issuers.

For signals.md a second, plainer block of enrollments ("bulk") gives the release metrics enough
volume per side for some interrupted-time-series fits to run, others to fall back on the
before/after comparison or to have too little data: 834 error rates that drop at R-b, a broken
payment link of issuer 10001 fixed by R-c, an issuer (20001) whose 834s are all late before R-e.
Releases come with and without a `metric` value (and, for some seeds, without the column), before
the data, inside it and after every as-of time.
"""

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from exportkit import write_csv, write_export

START = datetime(2013, 11, 1)
ISSUERS = [("10001", "NC"), ("10002", "NC"), ("20001", "TX"), ("30001", "FL")]  # 30001 not in issuers.csv
PLANS = ["10001NC0010001" + "01", "10001NC0010001" + "02", None]
# the bulk block: 10003 is a third NC issuer (so that an NC view compares issuers); weights by repetition
BULK_ISSUERS = (
    [("10001", "NC")] * 5 + [("10002", "NC"), ("10003", "NC")] * 2 + [("20001", "TX")] * 3 + [("30001", "FL")] * 2
)
ERROR_FIX = datetime(2013, 11, 8)  # R-b: 834s sent after it are rejected or unacknowledged less often
LINK_FIX = datetime(2013, 11, 9, 6)  # R-c: issuer 10001's payment link
LATE_FIX = datetime(2013, 11, 12)  # R-e: issuer 20001's 834s are all late before it
RELEASES = [  # release_id, deployed_at, component, title, issuer_id, metric
    ["R-a", "2013-10-20T00:00:00Z", "834_generator", "a", "", ""],  # before the data: error_834 by default
    ["R-p", "2013-10-25T00:00:00Z", "payment_redirect", "p", "", ""],  # before the data: redirect_failure
    ["R-b", "2013-11-08T00:00:00Z", "834_generator", "b", "", "error_834"],
    ["R-c", "2013-11-09T06:00:00Z", "payment_redirect", "c", "10001", ""],
    ["R-e", "2013-11-12T00:00:00Z", "hub", "e", "20001", " late_834 "],
    ["R-f", "2013-11-12T00:00:00Z", "front_end", "f", "", "late_834"],  # same time as R-e: release_id breaks the tie
    ["R-g", "2013-11-14T00:00:00Z", "front_end", "g", "10002", "error_834"],
    ["R-h", "2013-11-10T12:00:00Z", "eligibility", "h", "30001", "redirect_failure"],  # issuer not in issuers.csv
    ["R-d", "2013-12-30T00:00:00Z", "hub", "d", "", ""],  # after every as-of time
]


def moment(rng, spread_days=20):
    # a coarse 6-hour grid makes ties and exact boundaries common; microsecond offsets test precision
    t = START + timedelta(hours=6 * rng.randrange(spread_days * 4))
    return t + timedelta(microseconds=rng.choice([0, 0, 0, 1, 999999]))


def maybe(rng, p, value):
    return value if rng.random() < p else None


def random_export(root, seed, n=45, bulk=300):
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
    bulk_block(random.Random(f"{seed}-bulk"), bulk, enrollments, transactions, payments)
    issuers = [[i, f"Issuer {i}", s] for i, s in sorted(set(ISSUERS + BULK_ISSUERS)) if i != "30001"]
    write_export(
        root, enrollments=enrollments, transactions=transactions, payments=payments, releases=[], issuers=issuers
    )
    if seed % 3 == 2:  # no `metric` column at all: every release falls back on its component
        write_csv(
            root / "releases.csv",
            ["release_id", "deployed_at", "component", "title", "issuer_id"],
            [r[:5] for r in RELEASES],
        )
    else:
        write_csv(
            root / "releases.csv", ["release_id", "deployed_at", "component", "title", "issuer_id", "metric"], RELEASES
        )
    return root


def bulk_block(rng, count, enrollments, transactions, payments):
    """Plain enrollments with a plan, an initial 834, acknowledgements, redirects and payments."""
    for i in range(count):
        issuer, state = rng.choice(BULK_ISSUERS)
        eid = f"B{i:03d}"
        applied = moment(rng)
        selected = maybe(rng, 0.92, applied + timedelta(hours=rng.choice([0, 1, 3, 6, 12])))
        cancelled = None
        # exactly at the late-834 deadline, or some time after applying (never before: test_work_lists'
        # day-end stage counts would count a cancellation of an application not made yet)
        if rng.random() < 0.1:
            cancelled = (
                selected + timedelta(hours=24)
                if selected and rng.random() < 0.4
                else applied + timedelta(hours=6 * rng.randrange(1, 12))
            )
        premium = Decimal("350.00")
        aptc = rng.choice([Decimal("0.00"), Decimal("200.00"), Decimal("200.00"), Decimal("350.00"), None])
        coverage = rng.choice([date(2013, 11, 15), date(2013, 12, 1), date(2013, 12, 15), date(2014, 1, 1), None])
        e = {
            "enrollment_id": eid,
            "application_id": f"BA{i}",
            "subscriber_id": f"BS{i}",
            "state": state,
            "issuer_id": issuer,
            "plan_id": PLANS[0],
            "metal_level": "silver",
            "channel": "online",
            "subscriber_birth_date": date(1980, 1, 1),
            "member_count": 1,
            "total_premium": premium,
            "aptc_amount": aptc,
            "application_submitted_at": applied,
            "plan_selected_at": selected,
            "coverage_start_date": coverage,
            "cancelled_at": cancelled,
            "is_test": rng.random() < 0.03,
        }
        enrollments.append(e)
        if selected is None:
            continue
        accepted_at = None
        for j in range(1 if rng.random() < 0.93 else 2):  # a second 021 is a duplicate unless the first is rejected
            if rng.random() < 0.08:
                continue  # never sent
            if issuer == "20001" and selected < LATE_FIX:
                hours = rng.choice([30, 48, 72])
            else:
                hours = rng.choice([1, 3, 6, 12, 24, 24, 25, 40])  # 24: exactly at the deadline
            sent = selected + timedelta(hours=hours + 30 * j)
            bad = 0.4 if sent < ERROR_FIX else 0.1
            ack_code = rng.choice(["R", None]) if rng.random() < bad else rng.choice(["A", "A", "E"])
            ack_at = sent + timedelta(hours=rng.choice([2, 6, 20, 50])) if ack_code else None
            if ack_code in ("A", "E") and accepted_at is None:
                accepted_at = ack_at
            transactions.append(
                {
                    "transaction_id": f"BT{i:03d}{j}",
                    "direction": "outbound",
                    "enrollment_id": eid,
                    "issuer_id": issuer if rng.random() < 0.95 else "10002",
                    "maintenance_type": "021",
                    "maintenance_reason": "EC",
                    "sent_at": sent,
                    "ack_code": ack_code,
                    "ack_at": ack_at,
                    "error_code": None,
                    "plan_id": PLANS[0],
                    "coverage_start_date": coverage,
                    "total_premium": premium,
                    "aptc_amount": aptc if rng.random() < (0.9 if sent < ERROR_FIX else 0.97) else Decimal("1.00"),
                    "member_count": 1,
                    "subscriber_birth_date": date(1980, 1, 1),
                }
            )
        paid_at = None
        # 30001's redirects never fail, and its consumers come back: a side without failures
        for j in range(rng.choice([2, 3] if issuer == "30001" else [0, 1, 1, 1, 2])):
            redirected = maybe(rng, 0.9, selected + timedelta(hours=rng.choice([1, 2, 6, 18, 30]) + 6 * j))
            status = None
            if redirected is not None:
                if issuer == "30001":
                    failing = 0.0
                elif issuer == "10001":
                    failing = 0.5 if redirected < LINK_FIX else 0.12
                else:
                    failing = 0.2
                status = rng.choice(["broken_link", "timeout", None]) if rng.random() < failing else "ok"
                if rng.random() < 0.03:
                    status = None  # redirected, status lost: a failure
            pays = status == "ok" or redirected is None
            paid_at = (redirected or selected) + timedelta(hours=rng.choice([0, 1, 5, 30])) if pays else None
            payments.append(
                {
                    "payment_id": f"BP{i:03d}{j}",
                    "enrollment_id": eid,
                    "issuer_id": issuer if rng.random() < 0.9 else "20001",  # redirect units use the enrollment's
                    "redirected_at": redirected,
                    "redirect_status": status,
                    "paid_at": paid_at,
                    "amount": None,
                    "payment_status": "paid" if paid_at else rng.choice(["failed", "abandoned", "pending"]),
                }
            )
        effectuate_after = paid_at or (accepted_at if aptc == premium else None)
        if effectuate_after and rng.random() < 0.7:
            transactions.append(
                {
                    "transaction_id": f"BF{i:03d}",
                    "direction": "inbound",
                    "enrollment_id": eid,
                    "issuer_id": issuer,
                    "maintenance_type": "021",
                    "maintenance_reason": "28",
                    "sent_at": effectuate_after + timedelta(hours=rng.choice([6, 30, 60])),
                    "ack_code": None,
                    "ack_at": None,
                    "error_code": None,
                    "plan_id": PLANS[0],
                    "coverage_start_date": coverage,
                    "total_premium": premium,
                    "aptc_amount": aptc,
                    "member_count": 1,
                    "subscriber_birth_date": None,
                }
            )
    for j, status in enumerate(["ok", "timeout", None, "ok"]):  # redirects for enrollments nobody knows
        payments.append(
            {
                "payment_id": f"PX{j}",
                "enrollment_id": f"X99{j}",
                "issuer_id": "10001",
                "redirected_at": moment(rng),
                "redirect_status": status,
                "paid_at": None,
                "amount": None,
                "payment_status": "abandoned",
            }
        )


FILTERS = [
    {},
    {"states": ("NC",)},
    {"issuers": ("10001", "30001")},
    {"states": ("TX", "FL"), "issuers": ("20001",)},
    {"date_from": date(2013, 11, 5), "date_to": date(2013, 11, 15)},
    {"states": ("ZZ",)},
]
