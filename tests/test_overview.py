"""The Overview's headline numbers and the numbers derived from query results (metrics.py), on literal
results with hand-computed answers; and how the registry formats them (definitions.py)."""

from datetime import date, datetime

from dashboard import definitions as d
from dashboard import metrics as m


def _funnel(counts: dict[str, int]) -> m.FunnelResult:
    return m.FunnelResult(total=m.funnel_stages(counts), by_issuer={}, by_state={}, cancelled=0)


COUNTS = {
    "applied": 10,
    "plan_selected": 8,
    "sent_834": 7,
    "accepted_834": 6,
    "reached_payment": 5,
    "paid": 4,
    "effectuated": 2,
}
BACKLOG = [
    {"stage": "awaiting_payment", "bucket": "0-1", "count": 1, "oldest_days": 0.5},
    {"stage": "awaiting_payment", "bucket": "7-14", "count": 2, "oldest_days": 9.25},
    {"stage": "awaiting_effectuation", "bucket": "1-3", "count": 2, "oldest_days": 2.0},
    {"stage": "awaiting_834", "bucket": "0-1", "count": 0, "oldest_days": None},
]


def test_headline_from_the_results_that_hold_it():
    h = m.headline(
        _funnel(COUNTS),
        {"rate": 0.25},
        {"count": 3},
        BACKLOG,
        {"at_risk": 1, "past_due": 2},
        {"rate": 0.1},
    )
    assert h == {
        "applied": 10,
        "plan_selected": 8,
        "accepted_834": 6,
        "paid": 4,
        "effectuated": 2,
        "effectuation_rate": 0.25,  # 2 effectuated / 8 plans selected
        "error_rate_recent": 0.1,  # the last 7 days' rate, not since launch: it shows a fix
        "never_sent": 3,
        "backlog": 5,  # 1 + 2 + 2 + 0
        "oldest_days": 9.25,
        "at_risk": 1,
        "past_due": 2,
    }
    assert tuple(h) == m.HEADLINE
    assert all(name in d.DEFINITIONS for name in m.HEADLINE)


def test_effectuation_rate_is_null_with_no_plan_selected():
    assert m.effectuation_rate({"effectuated": 0, "plan_selected": 0}) is None
    assert m.effectuation_rate({"effectuated": 1, "plan_selected": 4}) == 0.25


def test_backlog_by_stage_lists_every_stage_and_its_oldest_wait():
    by_stage = m.backlog_by_stage(BACKLOG)
    assert list(by_stage) == list(d.BACKLOG_STAGES)
    assert by_stage["awaiting_payment"] == {"count": 3, "oldest_days": 9.25}
    assert by_stage["awaiting_effectuation"] == {"count": 2, "oldest_days": 2.0}
    assert by_stage["awaiting_834"] == {"count": 0, "oldest_days": None}
    assert by_stage["awaiting_ack"] == {"count": 0, "oldest_days": None}


def test_oldest_wait_is_null_when_nobody_waits():
    assert m.oldest_wait([]) is None
    assert m.oldest_wait([{"stage": "awaiting_834", "bucket": "0-1", "count": 0, "oldest_days": None}]) is None


def test_backlog_total_by_day_adds_the_stages_of_each_day():
    trend = [
        {"date": date(2013, 12, 1), "stage": "awaiting_834", "count": 3},
        {"date": date(2013, 12, 1), "stage": "awaiting_payment", "count": 4},
        {"date": date(2013, 12, 2), "stage": "awaiting_834", "count": 1},
    ]
    assert m.backlog_total_by_day(trend) == [
        {"date": date(2013, 12, 1), "backlog": 7},
        {"date": date(2013, 12, 2), "backlog": 1},
    ]


def test_change_is_null_when_either_side_is():
    assert m.change(5, 3) == 2
    assert m.change(None, 3) is None and m.change(0.1, None) is None


def test_canary_summary_and_freshness():
    rows = [{"stage": "effectuated", "stuck": False}, {"stage": "paid", "stuck": True}, {"stage": "paid", "stuck": 0}]
    assert m.canary_summary(rows) == {"canaries": 3, "effectuated": 1, "stuck": 1}
    now = datetime(2013, 12, 2, 12)
    assert m.freshness(datetime(2013, 12, 1, 12), now, 36) == (1.0, False)
    assert m.freshness(datetime(2013, 11, 30, 12), now, 36) == (2.0, True)
    assert m.freshness(None, now, 36) == (None, True)


def test_formats_are_the_same_everywhere():
    assert d.shown("plan_selected", 40466) == "40,466"
    assert d.shown("error_rate", 0.2434) == "24.3%"
    assert d.shown("error_rate", None) == "—"  # one mark for a number that does not exist
    assert d.shown("plan_selected", float("nan")) == "—"
    assert d.shown("oldest_days", 12.345) == "12.3 d"
    assert d.shown_change("error_rate", -0.001) == "-0.1 pts"
    assert d.shown_change("backlog", 1200) == "+1,200"
    assert d.shown_change("backlog", None) is None
    assert d.shown_change("backlog", 0) == "±0"  # no change: neither up nor down
    assert d.shown_change("error_rate", 0.0) == "±0.0 pts"
