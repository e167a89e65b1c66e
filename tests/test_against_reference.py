"""The SQL engine against the plain-Python reading of metrics.md and signals.md, on random adversarial exports.

Random exports are dense in the spec's edge cases: timestamp ties, acknowledgements stamped before
their 834, codes without times, 834s to the wrong issuer, re-sends after rejects, test records,
cancellations before and after events, 100% subsidies, ids with leading zeros, unknown issuers.
"""

import random
from datetime import date, datetime, timedelta

import pytest
from randomexport import FILTERS, START, random_export
from reference import Reference

from dashboard import metrics as m
from dashboard.engine import Engine
from dashboard.report import build_report


def plain(value):
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%dT%H:%M:%S")
        return text + (f".{value.microsecond:06d}" if value.microsecond else "") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def assert_matches(expected, actual, path="report"):
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        if path.endswith(("funnel_by_issuer", "funnel_by_state")):
            assert sorted(expected) == sorted(actual), path
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} missing"
            assert_matches(value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        if path.endswith("time_to_convert_hours"):  # more pairs may follow the three required ones
            actual = actual[: len(expected)]
        assert len(expected) == len(actual), f"{path}: {len(expected)} != {len(actual)}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_matches(e, a, f"{path}[{i}]")
    elif isinstance(expected, float) and actual is not None:
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-9), path
    else:
        assert expected == actual, f"{path}: expected {expected!r}, got {actual!r}"


def reference_filters(f):
    return {**f, **{k: datetime(v.year, v.month, v.day) for k, v in f.items() if k.startswith("date")}}


def as_of_times(engine, ref, seed):
    """As-of times on exact boundaries: 48 h after an 834 (unacknowledged), 24 h after a plan selection
    (never sent), whole days after an event (age buckets, stuck canaries)."""
    rng = random.Random(seed)
    sent = [t["sent_at"] for t in ref.tx]
    selected = [e["plan_selected_at"] for e in ref.enr.values() if e["plan_selected_at"]]
    return [
        m.default_as_of(engine),
        rng.choice(sent) + timedelta(hours=48),
        rng.choice(selected) + timedelta(hours=24),
        rng.choice(sent) + timedelta(days=3),
        START + timedelta(days=8),
    ]


@pytest.mark.parametrize("seed", range(6))
def test_report_equals_the_reference(tmp_path, seed):
    root = random_export(tmp_path / f"x{seed}", seed)
    engine = Engine(root)
    assert not engine.errors, [str(p) for p in engine.errors]
    ref = Reference(root)
    for as_of in as_of_times(engine, ref, seed):
        for f in FILTERS:
            actual = build_report(m.Request(engine, as_of, m.Filters(**f)))
            expected = plain(ref.report(as_of, reference_filters(f), signals=False))
            assert_matches(expected, actual, f"report[seed={seed}, as_of={as_of}, filters={f}]")


SIGNAL_KEYS = ("errors_recent", "control_charts", "issuer_comparison", "coverage_deadlines")


def signals_only(report):
    """The keys of report.md's "Signals" section, and each fix_impact entry's `its` (by release)."""
    out = {k: report[k] for k in SIGNAL_KEYS}
    out["fix_impact"] = [{"release_id": e["release_id"], "its": e["its"]} for e in report["fix_impact"]]
    return out


@pytest.mark.parametrize("seed", range(6))
def test_signals_equal_the_reference(tmp_path, seed):
    root = random_export(tmp_path / f"x{seed}", seed)
    engine = Engine(root)
    assert not engine.errors, [str(p) for p in engine.errors]
    ref = Reference(root)
    rng = random.Random(seed)
    # and for the signals: an ITS window's end (R + k days, or T - lag, on a period boundary) and the
    # end of a UTC day plus each maturity lag (the last day that is just mature)
    release = rng.choice([r for r in ref.releases if r["deployed_at"] >= START])
    lag = rng.choice([timedelta(0), timedelta(hours=24), timedelta(hours=48)])
    as_ofs = as_of_times(engine, ref, seed) + [
        release["deployed_at"] + timedelta(days=rng.randrange(4, 12)) + lag,
        START + timedelta(days=rng.randrange(6, 20)) + lag,
    ]
    for as_of in as_ofs:
        for f in FILTERS:
            actual = build_report(m.Request(engine, as_of, m.Filters(**f)))
            expected = signals_only(plain(ref.report(as_of, reference_filters(f))))
            assert_matches(expected, actual, f"signals[seed={seed}, as_of={as_of}, filters={f}]")
