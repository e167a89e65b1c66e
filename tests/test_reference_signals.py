"""The plain-Python reading of signals.md (tests/reference.py) on tiny exports with hand-computed answers.

The reference is the yardstick for the engine's signals, so it needs its own evidence: one edge case
per rule, with the arithmetic written out in the comments.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
import statsmodels.api as sm
from exportkit import accepted, effectuation, enrollment, outbound, payment, write_csv, write_export
from reference import Reference, fit_its

from dashboard.stats import judge_change

RELEASE_HEADER = ["release_id", "deployed_at", "component", "title", "issuer_id", "metric"]


def export(root, releases=(), **tables):
    write_export(root, **tables)
    write_csv(root / "releases.csv", RELEASE_HEADER, list(releases))
    return Reference(root)


def redirects(prefix, enrollment_id, at: datetime, n, failed):
    """n redirects at one time, the first `failed` of them to a broken link."""
    return [
        payment(
            f"{prefix}-{i}",
            enrollment_id,
            redirected_at=at.isoformat(sep=" "),
            redirect_status="broken_link" if i < failed else "ok",
        )
        for i in range(n)
    ]


def test_control_chart_phases_limits_and_a_shift(tmp_path):
    # redirect_failure (lag 0) from 100 redirects a day, Nov 1-12 in the first phase (no release yet):
    # x = 0, 20, 0, 20 and then 11 for eight days.
    pays = []
    for day, x in enumerate([0, 20, 0, 20] + [11] * 8, start=1):
        pays += redirects(f"P{day}", "E1", datetime(2013, 11, day, 6), 100, x)
    pays += redirects("Q14", "E1", datetime(2013, 11, 14, 6), 10, 1)  # Nov 13 has none
    pays += redirects("Q15", "E1", datetime(2013, 11, 15, 2), 1, 0)  # T's own day: immature
    pays += redirects("U", "NOBODY", datetime(2013, 11, 14, 6), 5, 5)  # unknown enrollment: no unit
    releases = [
        ["R0", "2013-11-06T00:00:00Z", "834_generator", "t", "", ""],  # error_834: not this chart's
        ["R1", "2013-11-13T09:00:00Z", "payment_redirect", "t", "", ""],  # redirect_failure by component
        ["R2", "2013-11-13T10:00:00Z", "hub", "t", "", " redirect_failure "],  # the later one labels Nov 13
        ["R3", "2013-11-13T00:00:00Z", "payment_redirect", "t", "20001", ""],  # an issuer outside the view
        ["R4", "2013-11-15T12:00:00Z", "payment_redirect", "t", "", ""],  # after T: no phase
    ]
    ref = export(
        tmp_path,
        releases,
        enrollments=[enrollment("E1")],
        payments=pays,
        issuers=[["10001", "Test Mutual", "NC"], ["20001", "Lone Star", "TX"]],
    )
    chart = ref.control_chart("redirect_failure", datetime(2013, 11, 15, 6), {"states": ("NC",)})
    assert [d["date"] for d in chart] == [date(2013, 11, d) for d in range(1, 16)]
    assert [d["phase"] for d in chart] == [None] * 12 + ["R2"] * 3
    # phase 1: p-bar = 128/1200; sigma = sqrt(p-bar (1 - p-bar) / 100) = 0.0308689 on every day;
    # z = -3.455474 (p = 0), 3.023539 (p = 0.2), 0.107984 (p = 0.11); moving ranges 3 x 6.479013,
    # 2.915556 and seven 0: mean 2.032054, sigma_z = 2.032054 / 1.128 = 1.801466;
    # ucl = 0.106667 + 3 x 0.0308689 x 1.801466 = 0.273495, lcl = max(0, -0.060161) = 0
    first = chart[:12]
    assert all(d["centre"] == pytest.approx(128 / 1200) for d in first)
    assert all(d["ucl"] == pytest.approx(0.2734945196647324) and d["lcl"] == 0 for d in first)
    # p = 0 is not below an lcl of 0, p = 0.2 not above 0.2735; the run of p > p-bar starts on
    # Nov 4 (p = 0.2) and its 8th day is Nov 11
    assert [d["signal"] for d in first] == [None] * 10 + ["shift_up", "shift_up"]
    # phase R2: Nov 13 is mature with n = 0 (centre only); Nov 14 is the phase's one day, sigma_z = 1:
    # ucl = 0.1 + 3 sqrt(0.1 x 0.9 / 10) = 0.384605
    nov13, nov14, nov15 = chart[12:]
    assert nov13 == {
        "date": date(2013, 11, 13),
        "n": 0,
        "x": 0,
        "rate": None,
        "mature": True,
        "phase": "R2",
        "centre": pytest.approx(0.1),
        "lcl": None,
        "ucl": None,
        "signal": None,
    }
    assert (nov14["n"], nov14["x"], nov14["centre"], nov14["lcl"], nov14["signal"]) == (10, 1, 0.1, 0, None)
    assert nov14["ucl"] == pytest.approx(0.3846049894151541)
    assert nov15["mature"] is False and nov15["rate"] == 0
    assert [nov15[k] for k in ("centre", "lcl", "ucl", "signal")] == [None] * 4
    # with 20001's state in view, R3 (deployed at midnight, before R2 the same day) does not label Nov 13
    wider = ref.control_chart("redirect_failure", datetime(2013, 11, 15, 6), {})
    assert [d["phase"] for d in wider][12:] == ["R2"] * 3


def test_funnel_plot_of_error_rates(tmp_path):
    T = datetime(2013, 11, 30)
    issuers = [("10001", "NC", 20), ("10002", "NC", 10), ("20001", "TX", 10), ("20002", "TX", 10), ("20003", "TX", 10)]
    enrollments, transactions = [], []
    for issuer, state, errored in issuers:
        eid = f"E{issuer}"
        enrollments.append(enrollment(eid, issuer_id=issuer, state=state))
        for i in range(100):  # 100 changes each: an unmatched one (no enrollment id) is errored
            transactions.append(
                accepted(
                    f"T{issuer}-{i}",
                    None if i < errored else eid,
                    "2013-11-20 10:00",
                    "2013-11-20 12:00",
                    maintenance_type="001",
                    issuer_id=issuer,
                )
            )
    # sent exactly 28 days before T: outside (T - 28 days, T]; its issuer has no 834 in the window
    transactions.append(outbound("OLD", None, "2013-11-02 00:00", issuer_id="30001"))
    ref = export(
        tmp_path, enrollments=enrollments, transactions=transactions, issuers=[[i, i, s] for i, s, _ in issuers]
    )
    got = ref.issuer_comparison(T, {})
    # p0 = 60/500 = 0.12; sigma at n = 100: sqrt(0.12 x 0.88 / 100) = 0.0324962;
    # z = 0.08 / 0.0324962 = 2.461830 for 10001, -0.02 / 0.0324962 = -0.615457 for the others;
    # phi = (6.060606 + 4 x 0.378788) / 5 = 50/33 = 1.515152; 10001: 2.461830 / sqrt(phi) = 2.0 > 1.959964
    errors = got["error_834"]
    assert errors["p0"] == pytest.approx(0.12) and errors["phi"] == pytest.approx(50 / 33)
    assert [i["issuer_id"] for i in errors["issuers"]] == ["10001", "10002", "20001", "20002", "20003"]
    assert errors["issuers"][0] == {
        "issuer_id": "10001",
        "n": 100,
        "x": 20,
        "rate": 0.2,
        "z": pytest.approx(2.461829819586655),
        "flag": "high_95",
    }
    assert all(i["z"] == pytest.approx(-0.6154574548966637) and i["flag"] == "within" for i in errors["issuers"][1:])
    # effectuation: one plan selected per issuer, none effectuated: p0 = 0, so every z is 0
    eff = got["effectuation"]
    assert (eff["p0"], eff["phi"]) == (0, 1)
    assert [(i["n"], i["x"], i["z"], i["flag"]) for i in eff["issuers"]] == [(1, 0, 0, "within")] * 5
    # an NC view sees two issuers: neither comparison is shown
    assert ref.issuer_comparison(T, {"states": ("NC",)}) == {"error_834": None, "effectuation": None}


def test_coverage_deadline_rows(tmp_path):
    T = datetime(2013, 12, 28, 12)  # pace counts stage-6 entries in (Dec 21 12:00, Dec 28 12:00]
    jan = {"coverage_start_date": date(2014, 1, 1)}
    dec = {"coverage_start_date": date(2013, 12, 15)}
    enrollments = [
        enrollment("C1", **jan),  # paid Dec 25: in the pace
        enrollment("C2", **jan),  # paid Dec 10 and effectuated
        enrollment("C3", **jan),  # paid Dec 20, but accepted only Dec 22: enters `paid` Dec 22, in the pace
        enrollment("C4", aptc_amount=Decimal("400.00"), **jan),  # 100% subsidy: paid once accepted, Dec 27
        enrollment("C5", **jan),  # accepted, unpaid
        enrollment("C6", **jan),  # plan selected only
        enrollment("C7", cancelled_at=datetime(2013, 12, 26), **jan),  # cancelled as of T: no row
        enrollment("C8", plan_selected_at=datetime(2013, 12, 29), **jan),  # selected after T
        enrollment("C9", plan_selected_at=None, **jan),
        enrollment("C10", coverage_start_date=None),  # no coverage start: no row
        enrollment("C11", cancelled_at=datetime(2013, 12, 29), **jan),  # cancelled after T: counts, unpaid
        enrollment("D1", **dec),
        enrollment("D2", **dec),  # paid 1 microsecond after T - 7 days: in the pace
        enrollment("D3", **dec),  # paid exactly at T - 7 days: not in the pace
    ]
    accepted_on = {"C1": "12-20", "C2": "12-05", "C3": "12-22", "C4": "12-27", "C5": "12-20", "C7": "12-20"}
    accepted_on |= {"C10": "12-20", "D1": "12-01", "D2": "12-01", "D3": "12-01"}
    transactions = [
        accepted(f"T-{e}", e, f"2013-{day} 08:00", f"2013-{day} 09:00", coverage_start_date=None)
        for e, day in accepted_on.items()
    ]
    transactions.append(effectuation("F-C2", "C2", "2013-12-12 00:00"))
    paid = {
        "C1": "2013-12-25 00:00",
        "C2": "2013-12-10 00:00",
        "C3": "2013-12-20 00:00",
        "C7": "2013-12-24 00:00",
        "C10": "2013-12-24 00:00",
        "D2": "2013-12-21 12:00:00.000001",
        "D3": "2013-12-21 12:00",
    }
    payments = [payment(f"P-{e}", e, paid_at=at, payment_status="paid") for e, at in paid.items()]
    ref = export(tmp_path, enrollments=enrollments, transactions=transactions, payments=payments)
    assert ref.coverage_deadlines(T, {}) == [
        {
            "coverage_start": date(2013, 12, 15),
            "due_date": date(2013, 12, 14),
            "days_left": -14,  # Dec 14 - Dec 28
            "selected": 3,
            "paid": 2,
            "effectuated": 0,
            "unpaid": 1,
            "pace": 1 / 7,
            "projected_unpaid": 1,  # past due: all the unpaid
        },
        {
            "coverage_start": date(2014, 1, 1),
            "due_date": date(2013, 12, 31),
            "days_left": 3,
            "selected": 7,  # C1-C6, C11
            "paid": 4,  # C1-C4
            "effectuated": 1,
            "unpaid": 3,
            "pace": 3 / 7,  # C1, C3, C4
            "projected_unpaid": pytest.approx(9 / 7),  # 3 - 3/7 x (3 + 1)
        },
    ]


def test_late_834_units(tmp_path):
    selected = {"plan_selected_at": datetime(2013, 11, 1, 10)}
    enrollments = [
        enrollment("L1", **selected),  # 021 exactly at plan_selected_at + 24 h: on time
        enrollment("L2", **selected),  # 021 one microsecond later: late
        enrollment("L3", cancelled_at=datetime(2013, 11, 2, 9), **selected),  # cancelled within 24 h: no unit
        enrollment("L4", cancelled_at=datetime(2013, 11, 2, 10), **selected),  # cancelled at 24 h: no unit
        enrollment("L5", cancelled_at=datetime(2013, 11, 2, 11), **selected),  # cancelled after: a unit, late
        enrollment("L6", **selected),  # its 021 went to another issuer: late
        enrollment("L7", **selected),  # 021 on time, rejected: on time all the same
        enrollment("L8", is_test=True, **selected),
        enrollment("L9", plan_selected_at=datetime(2013, 11, 2, 0, 0, 0, 1)),  # not 24 h before T
        enrollment("L10", **selected),  # only a change (001) on time: late
        enrollment("L11", application_submitted_at=datetime(2013, 11, 4), **selected),  # applied after T
    ]
    transactions = [
        outbound("T1", "L1", "2013-11-02 10:00"),
        outbound("T2", "L2", "2013-11-02 10:00:00.000001"),
        outbound("T6", "L6", "2013-11-01 12:00", issuer_id="10002"),
        outbound("T7", "L7", "2013-11-01 12:00", ack_code="R", ack_at=datetime(2013, 11, 1, 13)),
        outbound("T10", "L10", "2013-11-01 12:00", maintenance_type="001"),
        outbound("T11", "L11", "2013-11-01 12:00"),
    ]
    ref = export(tmp_path, enrollments=enrollments, transactions=transactions)
    T = datetime(2013, 11, 3)
    units = sorted(ref.units("late_834", T, {}))
    assert [failed for _, _, failed in units] == [False, False, True, True, True, True]  # L1, L7 on time
    # one day, mature (Nov 2 <= T - 24 h): p = 4/6, sigma = sqrt(2/3 x 1/3 / 6) = 0.19245, sigma_z = 1
    (day,) = ref.control_chart("late_834", T, {})
    assert (day["date"], day["n"], day["x"], day["mature"], day["phase"]) == (date(2013, 11, 1), 6, 4, True, None)
    assert day["centre"] == pytest.approx(2 / 3) and day["ucl"] == 1
    assert day["lcl"] == pytest.approx(0.0893163974770409) and day["signal"] is None
    # one microsecond earlier the day is not mature yet, though its units are already counted
    (day,) = ref.control_chart("late_834", T - timedelta(microseconds=1), {})
    assert (day["n"], day["mature"], day["centre"]) == (6, False, None)


def its_export(tmp_path, before_failures, issuer_id=""):
    """Redirects around a release at Nov 10 00:00: periods -4..-1 and 0..3, 10 units each."""
    R = datetime(2013, 11, 10)
    pays = []
    for k in range(-4, 4):
        pays += redirects(f"P{k}", "E1", R + timedelta(days=k, hours=6), 10, before_failures if k < 0 else 1)
    pays += redirects("LATE", "E1", R + timedelta(days=10), 10, 10)  # at T: outside [R - W, min(R + W, T))
    releases = [["R1", "2013-11-10T00:00:00Z", "payment_redirect", "t", issuer_id, ""]]
    return export(tmp_path, releases, enrollments=[enrollment("E1")], payments=pays), datetime(2013, 11, 20)


def test_its_on_constant_rates_before_and_after(tmp_path):
    ref, T = its_export(tmp_path, before_failures=3)
    release = ref.releases[0]
    its = ref.its(release, T, {})
    # each side's rate is constant, so the MLE has both slopes 0 and the fitted rates are 0.3 and 0.1:
    # odds ratio (1/9) / (3/7) = 7/27; all Pearson residuals are 0, so phi = 1.
    # Var(beta_post) = Var(intercept at k = 0) before + after, each a weighted regression on k:
    # before w = 10 x 0.3 x 0.7 = 2.1 per period, k-bar = -2.5, Sxx = 5: 1/8.4 + 6.25/10.5 = 0.714286;
    # after w = 0.9, k-bar = 1.5: 1/3.6 + 2.25/4.5 = 0.777778; SE = sqrt(1.492063) = 1.221501;
    # 95%: exp(ln(7/27) -/+ 1.959964 x 1.221501) = 0.023659 .. 2.841040; z = -1.105139, p = 0.269100
    assert its == {
        "metric": "redirect_failure",
        "method": "its",
        "periods_before": 4,
        "periods_after": 4,
        "units_before": 40,
        "units_after": 40,
        "odds_ratio": pytest.approx(7 / 27),
        "ci_low": pytest.approx(0.023658714847446284),
        "ci_high": pytest.approx(2.8410403500389196),
        "p_value": pytest.approx(0.26909976578685546),
        "rate_before": pytest.approx(0.3),
        "rate_after": pytest.approx(0.1),
        "slope_change": pytest.approx(0, abs=1e-9),
        "dispersion": 1.0,
        "verdict": "no clear change",
        "comparison": None,
    }
    # W = 3: three periods a side (fewer than 4): too little data, counts only
    short = ref.its(release, T, {}, its_days=3)
    assert (short["periods_before"], short["periods_after"], short["units_before"], short["units_after"]) == (
        3,
        3,
        30,
        30,
    )
    assert short["method"] == "its" and short["verdict"] == "too little data"
    assert short["odds_ratio"] is short["ci_low"] is short["p_value"] is short["dispersion"] is None
    # the report carries it in the release's fix_impact entry
    assert ref.report(T, {})["fix_impact"][0]["its"] == its


def test_its_falls_back_on_before_after_when_a_side_only_fails(tmp_path):
    ref, T = its_export(tmp_path, before_failures=10, issuer_id="10001")
    its = ref.its(ref.releases[0], T, {})
    judged = judge_change(40, 40, 4, 40)
    assert judged.verdict == "improved"
    assert {k: its[k] for k in ("method", "rate_before", "rate_after", "ci_low", "ci_high", "p_value", "verdict")} == {
        "method": "before_after",
        "rate_before": 1.0,
        "rate_after": 0.1,
        "ci_low": judged.ci_low,
        "ci_high": judged.ci_high,
        "p_value": judged.p_value,
        "verdict": "improved",
    }
    assert its["odds_ratio"] is its["slope_change"] is its["dispersion"] is None
    # the release's issuer is the only one: its comparison group has no units at all
    assert its["comparison"] == {
        "metric": "redirect_failure",
        "method": "its",
        "periods_before": 0,
        "periods_after": 0,
        "units_before": 0,
        "units_after": 0,
        **dict.fromkeys(
            ("odds_ratio", "ci_low", "ci_high", "p_value", "rate_before", "rate_after", "slope_change", "dispersion")
        ),
    }


@pytest.mark.parametrize("seed", range(5))
def test_irls_agrees_with_statsmodels(seed):
    rng = np.random.default_rng(seed)
    ks = [k for k in range(-14, 14) if rng.random() < 0.8]
    ns = [int(rng.integers(5, 60)) for _ in ks]
    xs = [int(rng.binomial(n, 0.3 if k < 0 else 0.15)) for k, n in zip(ks, ns, strict=True)]
    beta, se, phi = fit_its(ks, ns, xs)
    X = np.array([[1, k, k >= 0, k * (k >= 0)] for k in ks], dtype=float)
    model = sm.GLM(np.column_stack([xs, np.subtract(ns, xs)]), X, family=sm.families.Binomial()).fit(tol=1e-13)
    assert beta == pytest.approx(list(model.params), rel=1e-8, abs=1e-10)
    assert phi == pytest.approx(max(1.0, model.pearson_chi2 / (len(ks) - 4)), rel=1e-8)
    assert se == pytest.approx(list(model.bse * np.sqrt(phi)), rel=1e-7)


def test_irls_does_not_converge_on_separated_data():
    # before: failures only in the later periods, after: only in the earlier: the MLE is at infinity
    assert fit_its([-4, -3, -2, -1, 0, 1, 2, 3], [10] * 8, [0, 0, 10, 10, 10, 10, 0, 0]) is None


def test_metric_column_rules(tmp_path):
    releases = [
        ["A", "2013-11-01T00:00:00Z", "payment_redirect", "t", "", ""],
        ["B", "2013-11-01T00:00:00Z", "hub", "t", "", "  "],
        ["C", "2013-11-01T00:00:00Z", "payment_redirect", "t", "", " late_834 "],
    ]
    ref = export(tmp_path / "ok", releases)
    assert [r["metric"] for r in ref.releases] == ["redirect_failure", "error_834", "late_834"]
    with pytest.raises(ValueError, match=r"\(D\): unknown metric .Late_834."):
        export(tmp_path / "bad", [["D", "2013-11-01T00:00:00Z", "hub", "t", "", "Late_834"]])
