"""Lists, trends and breakdowns for the dashboard agree with the report's numbers they explain.

Each list or trend is checked against the metric it details (the drop-off it lists, the backlog
it itemises, the count as of each day's end) on random adversarial exports.
"""

from datetime import date, datetime, timedelta

import pytest
from randomexport import FILTERS, START, random_export

from dashboard import metrics as m
from dashboard.engine import Engine

NO_LIMIT = 10**9


@pytest.fixture(scope="module", params=[11, 12])
def engine(request, tmp_path_factory):
    return Engine(random_export(tmp_path_factory.mktemp("lists"), request.param))


def queries(engine):
    for as_of in (m.default_as_of(engine), START + timedelta(days=9, hours=6)):
        for f in FILTERS:
            yield m.Request(engine, as_of, m.Filters(**f))


def day_end(day: date, as_of: datetime) -> datetime:
    return min(datetime(day.year, day.month, day.day) + timedelta(days=1, microseconds=-1), as_of)


def test_dropouts_list_the_drop_off(engine):
    for q in queries(engine):
        funnel = m.funnel(q).total
        for stage in funnel[1:]:
            rows = engine.rows("funnel_dropouts", **q.params(), stage=stage["stage"], limit=NO_LIMIT)
            assert len(rows) == stage["drop_off"], (stage, q.filters)
            assert all(not set(r) & {"subscriber_birth_date", "subscriber_id"} for r in rows)


def test_backlog_work_list_itemises_the_backlog_and_deadlines(engine):
    for q in queries(engine):
        rows = engine.rows("backlog_work_list", **q.params(), stages=None, deadline=None, limit=NO_LIMIT)
        assert len(rows) == sum(b["count"] for b in m.backlog(q))
        risk = m.payment_deadline_risk(q)
        assert sum(r["deadline"] == "at_risk" for r in rows) == risk["at_risk"]
        assert sum(r["deadline"] == "past_due" for r in rows) == risk["past_due"]
        some = engine.rows("backlog_work_list", **q.params(), stages=["awaiting_ack"], deadline=None, limit=NO_LIMIT)
        assert {r["stage"] for r in some} <= {"awaiting_ack"}
        for deadline in ("past_due", "at_risk"):
            only = m.backlog_work_list(q, None, NO_LIMIT, deadline=deadline)
            assert only == [r for r in rows if r["deadline"] == deadline]


def test_errors_by_issuer_add_up(engine):
    for q in queries(engine):
        rows = engine.rows("errors_by_issuer", **q.params())
        total = m.errors(q)
        for key in ("sent", "errored", *m.ERROR_CATEGORIES):
            assert sum(r[key] for r in rows) == total[key]


def test_never_sent_trend_is_the_never_sent_count_as_of_each_day_end(engine):
    for q in queries(engine):
        trend = m.never_sent_trend(q)
        for row in trend:
            assert row["never_sent"] == m.never_sent(q.at(day_end(row["date"], q.as_of)))["count"], row


def test_stage_counts_by_day_are_the_funnel_as_of_each_day_end(engine):
    for q in list(queries(engine))[:4]:
        trend = m.stage_counts_by_day(q)
        for row in trend[:: max(1, len(trend) // 6)] + trend[-1:]:
            funnel = m.funnel(q.at(day_end(row["date"], q.as_of)))
            assert [row[s] for s in m.STAGES] == [s["count"] for s in funnel.total]
            assert row["cancelled"] == funnel.cancelled


def test_conversion_by_week_adds_up_to_the_funnel(engine):
    for q in queries(engine):
        weeks = engine.rows("conversion_by_week", **q.params())
        assert all(w["week"].weekday() == 0 for w in weeks)
        assert [sum(w[s] for w in weeks) for s in m.STAGES] == [s["count"] for s in m.funnel(q).total]


def test_time_to_convert_histogram_counts_n(engine):
    for q in queries(engine):
        ttc = m.time_to_convert(q)
        for pair in ttc[:3]:
            bins = engine.rows("time_to_convert_histogram", **q.params(), stage_from=pair["from"], stage_to=pair["to"])
            assert sum(b["enrollments"] for b in bins) == pair["n"] and len(bins) == 8


def test_reconciliation_work_lists_match_the_counts(engine):
    for q in queries(engine):
        recon = m.reconciliation(q)
        for category in ("matched", "field_mismatch", "exchange_only", "issuer_only"):
            rows = engine.rows("reconciliation_work_list", **q.params(), category=category, limit=NO_LIMIT)
            assert len(rows) == sum(r[category] for r in recon), category
            if category == "field_mismatch":
                assert all(r["differing_fields"] for r in rows)


def test_limits_are_applied(engine):
    q = next(queries(engine))
    assert len(engine.rows("funnel_dropouts", **q.params(), stage="plan_selected", limit=2)) <= 2
