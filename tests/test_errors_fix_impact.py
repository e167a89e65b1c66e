"""Fix impact: windows, verdicts, issuer-specific releases, overlaps, and the statistics."""

from datetime import datetime, timedelta

import pytest
from exportkit import accepted, enrollment, ts
from helpers import query

from dashboard import metrics as m
from dashboard.stats import judge_change, newcombe_difference_interval, pooled_z_test_p_value, wilson_interval

R = datetime(2013, 12, 1, 5, 0)


# ----------------------------------------------------------------- statistics


def test_wilson_interval_known_values():
    # Newcombe (1998), Table I: 81/263 -> 0.2553 to 0.3662
    low, high = wilson_interval(81, 263)
    assert round(low, 4) == 0.2553 and round(high, 4) == 0.3662
    assert wilson_interval(0, 10)[0] == 0.0


@pytest.mark.parametrize(
    "args,expected",
    [
        # Newcombe (1998), Table II, method 10: published to four decimals
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
        ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ],
)
def test_newcombe_hybrid_score_interval_matches_published_values(args, expected):
    low, high = newcombe_difference_interval(*args)
    assert (round(low, 4), round(high, 4)) == expected


def test_pooled_z_test():
    # 56/70 vs 48/80: z = 2.6502, two-sided p = 0.008045
    assert abs(pooled_z_test_p_value(56, 70, 48, 80) - 0.0080451) < 1e-6
    assert pooled_z_test_p_value(0, 40, 0, 40) == 1.0
    assert pooled_z_test_p_value(40, 40, 40, 40) == 1.0


def test_verdicts():
    assert judge_change(25, 100, 5, 100).verdict == "improved"
    assert judge_change(5, 100, 25, 100).verdict == "worse"
    assert judge_change(10, 100, 11, 100).verdict == "no clear change"
    judged = judge_change(10, 29, 0, 100)
    assert judged.verdict == "too little data" and judged.change is None and judged.p_value is None


# ------------------------------------------------------------------- windows


def batch(prefix, start: datetime, n: int, errored: int, issuer="10001", step=timedelta(minutes=1)):
    """n outbound 834s from `start`, `errored` of them unmatched (no enrollment), the rest clean."""
    enrollments, transactions = [], []
    for i in range(n):
        sent = start + step * i
        ack = (sent + timedelta(minutes=1)).isoformat(sep=" ")
        if i < errored:
            transactions.append(accepted(f"{prefix}{i:03d}", None, sent.isoformat(sep=" "), ack, issuer_id=issuer))
        else:
            eid = f"{prefix}E{i:03d}"
            enrollments.append(enrollment(eid, issuer_id=issuer))
            transactions.append(accepted(f"{prefix}{i:03d}", eid, sent.isoformat(sep=" "), ack, issuer_id=issuer))
    return enrollments, transactions


def build(export, batches, releases, issuers=None):
    enrollments = [e for b in batches for e in b[0]]
    transactions = [t for b in batches for t in b[1]]
    return export(
        enrollments=enrollments,
        transactions=transactions,
        releases=releases,
        issuers=issuers or [["10001", "A", "NC"], ["20002", "B", "TX"]],
    )


RELEASE = [["R-834", R.isoformat() + "Z", "834_generator", "834 fixes", ""]]


def test_before_and_after_counts_and_improved_verdict(export):
    engine = build(
        export, [batch("B", R - timedelta(days=3), 40, 10), batch("A", R + timedelta(days=1), 50, 2)], RELEASE
    )
    [fix] = m.fix_impact(query(engine, "2013-12-31 00:00"))
    assert fix["before"]["sent"] == 40 and fix["before"]["errored"] == 10 and fix["before"]["rate"] == 0.25
    assert fix["after"]["sent"] == 50 and fix["after"]["errored"] == 2 and fix["after"]["unmatched"] == 2
    assert fix["change"] == pytest.approx(0.04 - 0.25)
    low, high = newcombe_difference_interval(2, 50, 10, 40)
    assert (fix["ci_low"], fix["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert fix["p_value"] == pytest.approx(pooled_z_test_p_value(2, 50, 10, 40))
    assert fix["verdict"] == "improved" and fix["overlapping_releases"] == []
    assert fix["deployed_at"] == R


def test_window_boundaries(export):
    w = timedelta(days=7)
    one = timedelta(microseconds=1)
    engine = build(
        export,
        [
            batch("P", R - w - one, 1, 0),
            batch("Q", R - w, 1, 0),  # outside, inside before
            batch("S", R - one, 1, 0),
            batch("T", R, 1, 0),  # before, after
            batch("U", R + w, 1, 0),
            batch("V", R + w + one, 1, 0),  # inside after (closed), outside
        ],
        RELEASE,
    )
    [fix] = m.fix_impact(query(engine, "2013-12-31 00:00"))
    assert (fix["before"]["sent"], fix["after"]["sent"]) == (2, 2)
    [fix] = m.fix_impact(query(engine, "2013-12-01 05:00"))  # after window closes at T
    assert (fix["before"]["sent"], fix["after"]["sent"]) == (2, 1)
    [fix] = m.fix_impact(m.Request(engine, ts("2013-12-31 00:00")), window_days=1)
    assert (fix["before"]["sent"], fix["after"]["sent"]) == (1, 1)


def test_release_after_as_of_is_not_judged_but_overlaps(export):
    releases = RELEASE + [
        ["R-later", "2013-12-03T00:00:00Z", "front_end", "capacity", ""],
        ["R-far", "2013-12-20T00:00:00Z", "front_end", "later", ""],
        ["R-early", "2013-11-24T05:00:00Z", "hub", "hub fix", "20002"],
    ]
    engine = build(export, [batch("B", R - timedelta(days=1), 5, 0)], releases)
    fixes = m.fix_impact(query(engine, "2013-12-02 00:00"))
    assert [f["release_id"] for f in fixes] == ["R-early", "R-834"]
    by_id = {f["release_id"]: f for f in fixes}
    # both ends included; any release, issuer-specific or not, before or after T
    assert by_id["R-834"]["overlapping_releases"] == ["R-early", "R-later"]
    assert by_id["R-834"]["verdict"] == "too little data" and by_id["R-834"]["change"] is None


def test_issuer_specific_release_is_judged_on_its_issuers_834s(export):
    releases = [["R-NC", R.isoformat() + "Z", "payment_redirect", "NC link", "20002"]]
    engine = build(
        export,
        [
            batch("B", R - timedelta(days=2), 40, 10),
            batch("C", R - timedelta(days=2), 30, 0, issuer="20002"),
            batch("D", R + timedelta(days=2), 35, 7, issuer="20002"),
        ],
        releases,
    )
    [fix] = m.fix_impact(query(engine, "2013-12-31 00:00"))
    assert (fix["before"]["sent"], fix["before"]["errored"]) == (30, 0)
    assert (fix["after"]["sent"], fix["after"]["errored"]) == (35, 7)
    assert fix["verdict"] == "worse"
    # filters apply to the 834s; the release list does not change with them
    [fix] = m.fix_impact(query(engine, "2013-12-31 00:00", states=("NC",)))
    assert fix["before"]["sent"] == 0 and fix["verdict"] == "too little data"


def test_a_release_that_changed_nothing(export):
    engine = build(
        export, [batch("B", R - timedelta(days=3), 100, 10), batch("A", R + timedelta(days=1), 100, 11)], RELEASE
    )
    [fix] = m.fix_impact(query(engine, "2013-12-31 00:00"))
    assert fix["verdict"] == "no clear change" and fix["ci_low"] < 0 < fix["ci_high"]


def test_scope_hides_other_issuers_releases(export):
    releases = RELEASE + [["R-TX", "2013-12-02T00:00:00Z", "hub", "TX only", "20002"]]
    engine = build(export, [batch("B", R - timedelta(days=1), 5, 0)], releases)
    q = m.Request(engine, ts("2013-12-31 00:00"), scope=m.Scope(issuers=("10001",)))
    fixes = m.fix_impact(q)
    assert [f["release_id"] for f in fixes] == ["R-834"] and fixes[0]["overlapping_releases"] == []


def test_release_markers_are_the_visible_releases_deployed_by_as_of(export):
    releases = RELEASE + [
        ["R-TX", "2013-12-02T00:00:00Z", "hub", "TX only", "20002"],
        ["R-NC", "2013-12-03T00:00:00Z", "payments", "NC only", "10001"],
        ["R-LATER", "2014-01-15T00:00:00Z", "834", "after as-of", ""],
    ]
    engine = build(export, [batch("B", R - timedelta(days=1), 5, 0)], releases)
    everyone = m.releases(query(engine, "2013-12-31 00:00"))
    assert [r["release_id"] for r in everyone] == ["R-834", "R-TX", "R-NC"]  # deployed order; R-LATER not yet
    assert everyone[0]["deployed_at"] == R
    scoped = m.releases(m.Request(engine, ts("2013-12-31 00:00"), scope=m.Scope(issuers=("10001",))))
    assert [r["release_id"] for r in scoped] == ["R-834", "R-NC"]  # another issuer's release is not marked
    # the markers are exactly the releases fix impact judges
    assert [r["release_id"] for r in scoped] == [
        f["release_id"]
        for f in m.fix_impact(m.Request(engine, ts("2013-12-31 00:00"), scope=m.Scope(issuers=("10001",))))
    ]
