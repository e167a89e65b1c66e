"""signals.md's statistics on small literal series with hand-computed answers, and two published data sets."""

import math
from datetime import date, timedelta

import numpy as np
import pytest

from dashboard import signals
from dashboard.signals import (
    Z_95,
    Z_998,
    control_chart,
    fit_segmented_logit,
    funnel_flag,
    funnel_limits,
    issuer_comparison,
    its_judgement,
    projected_unpaid,
)
from dashboard.stats import judge_change

D0 = date(2013, 11, 1)


def days_of(counts, mature=True):
    """[(n, x), ...] -> chart input, one UTC day each from D0."""
    return [{"date": D0 + timedelta(days=i), "n": n, "x": x, "mature": mature} for i, (n, x) in enumerate(counts)]


def per_100(xs):
    """Days of 100 units each with the given failures."""
    return days_of([(100, x) for x in xs])


def signals_of(chart):
    return [d["signal"] for d in chart]


# ------------------------------------------------------------------------------------ control charts


def test_each_day_reports_its_counts_rate_and_phase():
    chart = control_chart(days_of([(100, 10), (0, 0), (50, 5)]), [])
    assert [(d["date"], d["n"], d["x"], d["rate"], d["mature"], d["phase"]) for d in chart] == [
        (D0, 100, 10, 0.1, True, None),
        (D0 + timedelta(days=1), 0, 0, None, True, None),
        (D0 + timedelta(days=2), 50, 5, 0.1, True, None),
    ]
    assert list(chart[0]) == ["date", "n", "x", "rate", "mature", "phase", "centre", "lcl", "ucl", "signal"]


def test_phases_start_on_the_deployment_day_and_carry_the_last_release_deployed_by_then():
    # days 0-1 at 10%, 2-3 at 20%, 4-5 at 30%; R-early was deployed before the first listed day, R-a and
    # R-b on day 2 (R-b sorts after R-a, so it labels the phase), R-c on day 4.
    days = per_100([10, 10, 20, 20, 30, 30])
    starts = [
        (D0 - timedelta(days=3), "R-early"),
        (D0 + timedelta(days=2), "R-a"),
        (D0 + timedelta(days=2), "R-b"),
        (D0 + timedelta(days=4), "R-c"),
    ]
    chart = control_chart(days, starts)
    assert [d["phase"] for d in chart] == ["R-early", "R-early", "R-b", "R-b", "R-c", "R-c"]
    # each phase has its own p-bar: 20/200, 40/200, 60/200
    assert [d["centre"] for d in chart] == [0.1, 0.1, 0.2, 0.2, 0.3, 0.3]

    # without the early release the first days belong to no release
    assert [d["phase"] for d in control_chart(days, starts[1:])][:2] == [None, None]


def test_a_phase_with_only_an_empty_day_has_no_centre():
    # R-1 opens on day 1, which has no units; R-2 opens on day 2: R-1's p-bar is 0/0
    chart = control_chart(
        days_of([(100, 10), (0, 0), (100, 20)]), [(D0 + timedelta(days=1), "R-1"), (D0 + timedelta(days=2), "R-2")]
    )
    assert [d["phase"] for d in chart] == [None, "R-1", "R-2"]
    assert [(d["centre"], d["lcl"], d["ucl"], d["signal"]) for d in chart[1:2]] == [(None, None, None, None)]


def test_sigma_z_is_one_in_a_phase_with_a_single_day():
    # one day, 10 of 100: p-bar = 0.1, sigma = sqrt(0.1 * 0.9 / 100) = 0.03, sigma_z = 1
    # ucl = 0.1 + 3 * 0.03 = 0.19, lcl = 0.1 - 0.09 = 0.01; a second phase starts the next day
    chart = control_chart(per_100([10, 40, 20]), [(D0 + timedelta(days=1), "R-1")])
    assert chart[0]["centre"] == 0.1
    assert chart[0]["ucl"] == pytest.approx(0.19, abs=1e-15)
    assert chart[0]["lcl"] == pytest.approx(0.01, abs=1e-15)
    assert chart[0]["signal"] is None
    # an empty mature day in the phase does not make it a two-day phase
    chart = control_chart(days_of([(100, 10), (0, 0), (100, 40)]), [(D0 + timedelta(days=2), "R-1")])
    assert chart[0]["ucl"] == pytest.approx(0.19, abs=1e-15)


def test_sigma_z_is_the_mean_moving_range_of_z_over_1_128_and_limits_are_clipped():
    # 20, 28, 12 of 100: p-bar = 60/300 = 0.2, sigma = sqrt(0.2 * 0.8 / 100) = 0.04
    # z = 0, 2, -2; moving ranges 2, 4 -> mean 3 -> sigma_z = 3 / 1.128 = 2.659574...
    # 3 * sigma * sigma_z = 0.12 * 2.659574 = 0.319149: ucl = 0.519149, lcl = max(0, -0.119149) = 0
    chart = control_chart(per_100([20, 28, 12]), [])
    sigma_z = 3 / 1.128
    assert signals.laney_sigma_z([0.0, 2.0, -2.0]) == pytest.approx(sigma_z)
    for d in chart:
        assert d["centre"] == pytest.approx(0.2)
        assert d["ucl"] == pytest.approx(0.2 + 3 * 0.04 * sigma_z)
        assert d["ucl"] == pytest.approx(0.519149, abs=1e-6)
        assert d["lcl"] == 0.0


def test_a_day_above_the_upper_limit():
    # nine days of 10/100 and one of 40/100 (day 4): p-bar = 130/1000 = 0.13. With equal n,
    # sigma * sigma_z = mean |p_i - p_(i-1)| / 1.128 = (2 * 0.30 / 9) / 1.128 = 0.0591017
    # ucl = 0.13 + 3 * 0.0591017 = 0.307305 < 0.40 -> above; lcl = max(0, 0.13 - 0.177305) = 0
    chart = control_chart(per_100([10, 10, 10, 10, 40, 10, 10, 10, 10, 10]), [])
    assert chart[4]["ucl"] == pytest.approx(0.13 + 3 * (0.6 / 9 / 1.128))
    assert chart[4]["ucl"] == pytest.approx(0.307305, abs=1e-6)
    assert chart[4]["lcl"] == 0.0
    assert signals_of(chart) == [None] * 4 + ["above"] + [None] * 5


def test_a_day_below_the_lower_limit_and_the_upper_limit_clipped_at_one():
    # the mirror image: nine days of 90/100, one of 60/100: p-bar = 870/1000 = 0.87
    # lcl = 0.87 - 0.177305 = 0.692695 > 0.60 -> below; ucl = min(1, 1.047305) = 1
    chart = control_chart(per_100([90, 90, 90, 90, 60, 90, 90, 90, 90, 90]), [])
    assert chart[4]["lcl"] == pytest.approx(0.87 - 3 * (0.6 / 9 / 1.128))
    assert chart[4]["ucl"] == 1.0
    assert signals_of(chart) == [None] * 4 + ["below"] + [None] * 5


def test_shift_on_the_8th_day_in_a_row_on_one_side():
    # nine days above 10% (11, 13, ...), nine below (9, 7, ...): p-bar = (107 + 73) / 1800 = 0.1
    # moving ranges of p: 17 of 0.02 -> sigma * sigma_z = 0.02 / 1.128; limits 0.1 -/+ 0.053191
    # = 0.046809 .. 0.153191: every day is inside them
    above = [11, 13, 11, 13, 11, 13, 11, 13, 11]
    below = [9, 7, 9, 7, 9, 7, 9, 7, 9]
    chart = control_chart(per_100(above + below), [])
    assert chart[0]["ucl"] == pytest.approx(0.1 + 3 * 0.02 / 1.128)
    assert signals_of(chart) == [None] * 7 + ["shift_up", "shift_up"] + [None] * 7 + ["shift_down", "shift_down"]


def test_above_comes_before_shift_up_and_below_before_shift_down():
    # seven days of 12/100, then 60/100 (the 8th day above p-bar), then eight of 2/100:
    # p-bar = (84 + 60 + 16) / 1600 = 0.1; moving ranges of p: 0.48 + 0.58 over 15 -> 0.070667
    # ucl = 0.1 + 3 * 0.070667 / 1.128 = 0.287943 < 0.60: the 8th day is 'above', not 'shift_up';
    # lcl = 0, so the eighth day of 2% is the 8th below: shift_down
    chart = control_chart(per_100([12] * 7 + [60] + [2] * 8), [])
    assert chart[7]["ucl"] == pytest.approx(0.1 + 3 * (1.06 / 15) / 1.128)
    assert signals_of(chart) == [None] * 7 + ["above"] + [None] * 7 + ["shift_down"]

    # the mirror image: p-bar = (616 + 40 + 784) / 1600 = 0.9, lcl = 0.9 - 0.187943 = 0.712057 > 0.40
    chart = control_chart(per_100([88] * 7 + [40] + [98] * 8), [])
    assert chart[7]["lcl"] == pytest.approx(0.9 - 3 * (1.06 / 15) / 1.128)
    assert chart[15]["ucl"] == 1.0
    assert signals_of(chart) == [None] * 7 + ["below"] + [None] * 7 + ["shift_up"]


def test_a_day_exactly_on_the_centre_line_ends_a_run():
    # seven days above, one at exactly p-bar (10/100 = 130/1300), one more above, four below:
    # p-bar = (83 + 10 + 13 + 24) / 1300 = 0.1. Were the centre day skipped, day 8 (index 8) would
    # be the 8th above; it is the 1st of a new run. Limits 0.1 -/+ 3 * (0.23 / 12) / 1.128 = 0.049..0.151
    chart = control_chart(per_100([11, 13, 11, 13, 11, 13, 11, 10, 13, 6, 6, 6, 6]), [])
    assert chart[7]["rate"] == chart[7]["centre"] == 0.1
    assert chart[8]["lcl"] < 0.06 and chart[8]["ucl"] > 0.13
    assert signals_of(chart) == [None] * 13


def test_a_day_without_units_neither_breaks_nor_extends_a_run():
    # four above, an empty day, four above, four below: p-bar = (96 + 24) / 1200 = 0.1. The 8th day
    # above with units (index 8) shifts; the day before it (index 7) would, were the empty day counted.
    # Moving ranges skip the empty day: 7 of 0.02 and one of 0.07 over 11 -> ucl = 0.1 + 3 * (0.21 / 11) / 1.128
    chart = control_chart(
        days_of([(100, x) for x in [11, 13, 11, 13]] + [(0, 0)] + [(100, x) for x in [11, 13, 11, 13, 6, 6, 6, 6]]), []
    )
    assert signals_of(chart) == [None] * 8 + ["shift_up"] + [None] * 4
    assert chart[0]["ucl"] == pytest.approx(0.1 + 3 * (0.21 / 11) / 1.128)
    # the mature empty day: rate null, centre its phase's p-bar, no limits, no signal
    assert (chart[4]["rate"], chart[4]["centre"], chart[4]["lcl"], chart[4]["ucl"], chart[4]["signal"]) == (
        None,
        0.1,
        None,
        None,
        None,
    )


def test_immature_days_are_shown_unjudged_and_left_out_of_the_statistics():
    # mature 10, 20, 30 of 100: p-bar = 60/300 = 0.2 (the immature 90/100 is left out), sigma = 0.04,
    # z = -2.5, 0, 2.5 -> sigma_z = 2.5 / 1.128; the immature day would be far above the limits
    days = per_100([10, 20, 30]) + [
        {"date": D0 + timedelta(days=3), "n": 100, "x": 90, "mature": False},
        {"date": D0 + timedelta(days=4), "n": 0, "x": 0, "mature": False},
    ]
    chart = control_chart(days, [])
    assert [d["centre"] for d in chart[:3]] == [pytest.approx(0.2)] * 3
    assert chart[0]["ucl"] == pytest.approx(0.2 + 3 * 0.04 * 2.5 / 1.128)
    assert [(d["rate"], d["mature"], d["centre"], d["lcl"], d["ucl"], d["signal"]) for d in chart[3:]] == [
        (0.9, False, None, None, None, None),
        (None, False, None, None, None, None),
    ]


# Mohammed MA, Panesar JS, Laney DB, Wilson R. Statistical process control charts for attribute data
# involving very large sample sizes. BMJ Qual Saf 2013;22:362-368: weekly attendances to major A&E
# departments (n) and those seen within 4 hours (r), as shipped in the qicharts2 R package (nhs_accidents).
NHS_SEEN = [266501, 264225, 276532, 281461, 269071, 261215, 270409, 279778, 270483, 270320,
            267923, 271478, 255353, 256820, 261835, 259144, 255910, 260863, 264465, 260989]  # fmt: skip
NHS_ATTENDANCES = [280443, 276823, 291681, 296155, 282343, 275888, 283867, 295251, 284468, 282529,
                   279618, 283932, 266629, 268091, 276803, 271578, 266005, 273520, 278574, 273772]  # fmt: skip
# qicharts2 0.8.1, qic(chart = "pp") with unscreened moving ranges (qic.screenedmr = FALSE), as recorded to
# 17 digits in AUS-DOH-Safety-and-Quality/PowerBI-SPC test/fixtures/qicharts2.ts, cases "nhs pp" and
# "nhs pp part 10"
QIC_PP_CENTRE = 0.95289971134419116
QIC_PP_LCL = [0.9401296441775141, 0.94004641862513627, 0.9403780655785402, 0.94047300747792362,
              0.94017268417608979, 0.94002465678041103, 0.94020689402152513, 0.94045399796641838,
              0.94022030926792188, 0.94017687421815865, 0.94011081930595297, 0.94020834697566502,
              0.93980301398912502, 0.9398387733905802, 0.94004595428549564, 0.93992289402775664,
              0.93978766173624928, 0.93996904398143111, 0.9400868775214295, 0.93997499652290417]  # fmt: skip
QIC_PP_UCL = [0.96566977851086822, 0.96575300406324605, 0.96542135710984212, 0.9653264152104587,
              0.96562673851229253, 0.96577476590797129, 0.96559252866685719, 0.96534542472196394,
              0.96557911342046043, 0.96562254847022366, 0.96568860338242934, 0.96559107571271729,
              0.96599640869925729, 0.96596064929780212, 0.96575346840288667, 0.96587652866062568,
              0.96601176095213304, 0.96583037870695121, 0.96571254516695282, 0.96582442616547814]  # fmt: skip
QIC_PP_PART_CENTRES = (0.95105964383277042, 0.95481431224580271)
QIC_PP_PART_LCL = [0.93866469138900677, 0.93858391054812595, 0.93890581552810026, 0.93899796855379847,
                   0.938706467107847, 0.93856278794736447, 0.93873967205514641, 0.93897951743776198,
                   0.93875269323498345, 0.93871053406939875, 0.940610623423212, 0.94071894028663061,
                   0.94026876652700142, 0.94030848188383087, 0.94053858258001044, 0.94040190853489958,
                   0.94025171590041701, 0.94045316391958889, 0.94058403303084548, 0.94045977497287903]  # fmt: skip
QIC_PP_PART_UCL = [0.96345459627653407, 0.96353537711741488, 0.96321347213744057, 0.96312131911174237,
                   0.96341282055769384, 0.96355649971817636, 0.96337961561039442, 0.96313977022777886,
                   0.96336659443055739, 0.96340875359614209, 0.96901800106839342, 0.96890968420497481,
                   0.969359857964604, 0.96932014260777455, 0.96909004191159498, 0.96922671595670584,
                   0.96937690859118841, 0.96917546057201653, 0.96904459146075994, 0.96916884951872639]  # fmt: skip


def nhs_weeks():
    return days_of(list(zip(NHS_ATTENDANCES, NHS_SEEN, strict=True)))


def test_laney_limits_match_qicharts2_on_the_nhs_accidents_data():
    chart = control_chart(nhs_weeks(), [])
    assert [d["centre"] for d in chart] == [pytest.approx(QIC_PP_CENTRE, rel=1e-15)] * 20
    assert [d["lcl"] for d in chart] == pytest.approx(QIC_PP_LCL, rel=1e-14)
    assert [d["ucl"] for d in chart] == pytest.approx(QIC_PP_UCL, rel=1e-14)
    assert signals_of(chart) == [None] * 20


def test_laney_limits_per_phase_match_qicharts2_parts():
    # qicharts2's part = 10: weeks 1-10 and 11-20 each get their own centre, z-scores and sigma_z
    chart = control_chart(nhs_weeks(), [(D0 + timedelta(days=10), "R-week-11")])
    assert [d["phase"] for d in chart] == [None] * 10 + ["R-week-11"] * 10
    centres = [QIC_PP_PART_CENTRES[0]] * 10 + [QIC_PP_PART_CENTRES[1]] * 10
    assert [d["centre"] for d in chart] == pytest.approx(centres, rel=1e-15)
    assert [d["lcl"] for d in chart] == pytest.approx(QIC_PP_PART_LCL, rel=1e-14)
    assert [d["ucl"] for d in chart] == pytest.approx(QIC_PP_PART_UCL, rel=1e-14)


# ------------------------------------------------------------------- fix impact, trend-adjusted (ITS)

ITS_KEYS = [
    "metric",
    "method",
    "periods_before",
    "periods_after",
    "units_before",
    "units_after",
    "odds_ratio",
    "ci_low",
    "ci_high",
    "p_value",
    "rate_before",
    "rate_after",
    "slope_change",
    "dispersion",
]


def constant_sides(rate_before_per_100, rate_after_per_100):
    """Five periods of 100 units on each side (k = -5..4), each side at a constant rate."""
    return [(k, 100, rate_before_per_100) for k in range(-5, 0)] + [(k, 100, rate_after_per_100) for k in range(5)]


def test_saturated_fit_solves_the_logit_system():
    # Two periods per side (m = 4): the model reproduces the observed logits L(k) exactly.
    # L(-2) = logit(0.5) = 0, L(-1) = logit(0.2) = -ln 4, L(0) = logit(0.1) = -ln 9, L(1) = -ln 4.
    # Before: b0 - 2 b1 = L(-2), b0 - b1 = L(-1)  ->  b1 = -ln 4, b0 = 2 L(-1) - L(-2) = -ln 16
    # After:  b0 + b2 = L(0)  ->  b2 = ln 16 - ln 9 = ln(16/9);  b0 + b1 + b2 + b3 = L(1)  ->  b3 = ln 9
    # phi = 1 (m <= 4). b_post = L(0) - 2 L(-1) + L(-2), each observed logit with variance 1/(n p (1-p)):
    # Var = 1/9 + 4/16 + 1/25 = 0.401111, SE = 0.633333
    fit = fit_segmented_logit([(-2, 100, 50), (-1, 100, 20), (0, 100, 10), (1, 100, 20)])
    assert fit.params == pytest.approx((-math.log(16), -math.log(4), math.log(16 / 9), math.log(9)), rel=1e-12)
    assert fit.dispersion == 1.0
    assert fit.standard_errors[2] == pytest.approx(math.sqrt(1 / 9 + 4 / 16 + 1 / 25), rel=1e-9)
    assert fit.standard_errors[2] == pytest.approx(0.633333, abs=1e-6)


def test_too_little_data_is_decided_before_anything_else():
    # two periods per side (the saturated series above): too little data, even though it would fit
    judged = its_judgement([(-2, 100, 50), (-1, 100, 20), (0, 100, 10), (1, 100, 20)], "error_834")
    assert judged == {
        "metric": "error_834",
        "method": "its",
        "periods_before": 2,
        "periods_after": 2,
        "units_before": 200,
        "units_after": 200,
        **dict.fromkeys(ITS_KEYS[6:]),
        "verdict": "too little data",
    }
    # four periods per side but 29 units before
    few_units = [(-4, 8, 1), (-3, 7, 1), (-2, 7, 1), (-1, 7, 1)] + [(k, 100, 10) for k in range(4)]
    judged = its_judgement(few_units, "error_834")
    assert (judged["method"], judged["units_before"], judged["verdict"], judged["odds_ratio"]) == (
        "its",
        29,
        "too little data",
        None,
    )
    # three periods after, plenty of units, and a side without failures: still 'its', too little data
    judged = its_judgement([(k, 1000, 100) for k in range(-4, 0)] + [(k, 1000, 0) for k in range(3)], "error_834")
    assert (judged["method"], judged["periods_after"], judged["verdict"]) == ("its", 3, "too little data")


def test_periods_without_units_are_dropped():
    judged = its_judgement([(-6, 0, 0), *constant_sides(20, 10), (9, 0, 0)], "error_834")
    assert (judged["periods_before"], judged["periods_after"]) == (5, 5)


@pytest.mark.parametrize(
    "before,after,verdict",
    [(20, 10, "improved"), (10, 20, "worse"), (20, 20, "no clear change")],
)
def test_constant_rates_on_each_side_hand_computed(before, after, verdict):
    # Each side's rate is constant, so the fit is exact: b0 = logit(p_before), b1 = 0,
    # b2 = logit(p_after) - logit(p_before), b3 = 0; Pearson chi2 = 0 -> phi = max(1, 0 / 6) = 1.
    # Each side is a straight-line fit of the logits with equal weights w = n p (1 - p) over five k's;
    # the variance of its level at k = 0 is (1/w)(1/5 + kbar^2 / Skk), Skk = 10:
    #   before (kbar = -3): (1/w_b)(0.2 + 0.9), after (kbar = 2): (1/w_a)(0.2 + 0.4); the sides are independent.
    # 20% -> 10%: w_b = 16, w_a = 9: Var(b_post) = 1.1/16 + 0.6/9 = 0.135417, SE = 0.367990
    p_b, p_a = before / 100, after / 100
    w_b, w_a = 100 * p_b * (1 - p_b), 100 * p_a * (1 - p_a)
    b_post = math.log(p_a / (1 - p_a)) - math.log(p_b / (1 - p_b))
    se = math.sqrt(1.1 / w_b + 0.6 / w_a)
    judged = its_judgement(constant_sides(before, after), "redirect_failure")
    assert list(judged) == [*ITS_KEYS, "verdict"]
    assert judged["method"] == "its"
    assert judged["dispersion"] == 1.0
    assert judged["odds_ratio"] == pytest.approx(math.exp(b_post), rel=1e-9)
    assert judged["ci_low"] == pytest.approx(math.exp(b_post - 1.959964 * se), rel=1e-9)
    assert judged["ci_high"] == pytest.approx(math.exp(b_post + 1.959964 * se), rel=1e-9)
    assert judged["p_value"] == pytest.approx(math.erfc(abs(b_post / se) / math.sqrt(2)), rel=1e-6, abs=1e-12)
    assert judged["rate_before"] == pytest.approx(p_b, rel=1e-12)
    assert judged["rate_after"] == pytest.approx(p_a, rel=1e-12)
    assert judged["slope_change"] == pytest.approx(0.0, abs=1e-12)
    assert judged["verdict"] == verdict
    if (before, after) == (20, 10):
        assert se == pytest.approx(0.367990, abs=1e-6)
        assert judged["odds_ratio"] == pytest.approx(4 / 9)


def newton_raphson_its(periods):
    """An independent fit for checking: Newton's method on the binomial log-likelihood (plain numpy,
    gradient X'(x - n mu), Hessian X' diag(n mu (1 - mu)) X) from beta = 0, then phi and the level change."""
    X = np.array([[1.0, k, float(k >= 0), k * float(k >= 0)] for k, _, _ in periods])
    n = np.array([p[1] for p in periods], dtype=float)
    x = np.array([p[2] for p in periods], dtype=float)
    beta = np.zeros(4)
    for _ in range(200):
        mu = 1 / (1 + np.exp(-X @ beta))
        hessian = (X * (n * mu * (1 - mu))[:, None]).T @ X
        step = np.linalg.solve(hessian, X.T @ (x - n * mu))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-13:
            break
    mu = 1 / (1 + np.exp(-X @ beta))
    hessian = (X * (n * mu * (1 - mu))[:, None]).T @ X
    chi2 = float(np.sum((x - n * mu) ** 2 / (n * mu * (1 - mu))))
    phi = max(1.0, chi2 / (len(periods) - 4))
    se = math.sqrt(np.linalg.inv(hessian)[2, 2] * phi)
    b0, b_post = float(beta[0]), float(beta[2])
    return {
        "odds_ratio": math.exp(b_post),
        "ci_low": math.exp(b_post - 1.959964 * se),
        "ci_high": math.exp(b_post + 1.959964 * se),
        "p_value": math.erfc(abs(b_post / se) / math.sqrt(2)),
        "rate_before": 1 / (1 + math.exp(-b0)),
        "rate_after": 1 / (1 + math.exp(-(b0 + b_post))),
        "slope_change": float(beta[3]),
        "dispersion": phi,
    }


# Five periods per side, noisier than binomial: Pearson chi2 / (10 - 4) = 1.314 > 1
OVERDISPERSED = list(
    zip(
        range(-5, 5),
        [120, 130, 110, 140, 125, 135, 128, 140, 150, 132],
        [30, 26, 31, 25, 33, 14, 18, 12, 17, 11],
        strict=True,
    )
)


def test_its_fit_matches_an_independent_newton_raphson_fit():
    judged = its_judgement(OVERDISPERSED, "late_834")
    expected = newton_raphson_its(OVERDISPERSED)
    assert expected["dispersion"] > 1.3  # the dispersion is not floored here
    assert (judged["method"], judged["periods_before"], judged["units_before"], judged["units_after"]) == (
        "its",
        5,
        625,
        685,
    )
    for key, value in expected.items():
        assert judged[key] == pytest.approx(value, rel=1e-9), key
    assert expected["ci_high"] < 1 and judged["verdict"] == "improved"
    assert all(type(judged[key]) is float for key in expected)


def test_statsmodels_own_standard_errors_agree_once_scaled_by_phi():
    # statsmodels with endog x/n and var_weights n, and scale = phi, gives the same standard errors
    import statsmodels.api as sm

    fit = fit_segmented_logit(OVERDISPERSED)
    k, n, x = (np.array(column, dtype=float) for column in zip(*OVERDISPERSED, strict=True))
    model = sm.GLM(x / n, signals.its_design(k), family=sm.families.Binomial(), var_weights=n)
    result = model.fit(scale=fit.dispersion, tol=1e-12, tol_criterion="params")
    assert fit.standard_errors == pytest.approx(tuple(result.bse), rel=1e-9)
    assert fit.dispersion == pytest.approx(result.pearson_chi2 / 6, rel=1e-9)


@pytest.mark.parametrize(
    "periods",
    [
        # no failure after the release (statsmodels would drift towards -infinity and may call it converged)
        constant_sides(10, 0),
        # only failures before it
        constant_sides(100, 10),
    ],
    ids=["no failure after", "only failures before"],
)
def test_a_side_without_failures_or_with_only_failures_falls_back_to_before_after(periods):
    # the fit's own convergence rule rejects such a series too (coefficients keep moving)
    assert fit_segmented_logit(periods) is None
    judged = its_judgement(periods, "error_834")
    before = [p for p in periods if p[0] < 0]
    after = [p for p in periods if p[0] >= 0]
    xb, nb = sum(p[2] for p in before), sum(p[1] for p in before)
    xa, na = sum(p[2] for p in after), sum(p[1] for p in after)
    expected = judge_change(xb, nb, xa, na)
    assert judged == {
        "metric": "error_834",
        "method": "before_after",
        "periods_before": 5,
        "periods_after": 5,
        "units_before": 500,
        "units_after": 500,
        "odds_ratio": None,
        "ci_low": expected.ci_low,
        "ci_high": expected.ci_high,
        "p_value": expected.p_value,
        "rate_before": xb / nb,
        "rate_after": xa / na,
        "slope_change": None,
        "dispersion": None,
        "verdict": expected.verdict,
    }


def test_a_fit_that_does_not_converge_falls_back_to_before_after():
    # Before the release every unit failed in k = -4, -3 and none in k = -2, -1: both outcomes occur on
    # that side, but the trend within it separates them, so the slope runs off and IRLS never settles.
    periods = [(-4, 50, 50), (-3, 50, 50), (-2, 50, 0), (-1, 50, 0), (0, 50, 5), (1, 50, 6), (2, 50, 4), (3, 50, 5)]
    assert fit_segmented_logit(periods) is None
    judged = its_judgement(periods, "error_834")
    expected = judge_change(100, 200, 20, 200)
    assert judged["method"] == "before_after"
    assert (judged["rate_before"], judged["rate_after"]) == (0.5, 0.1)
    assert (judged["ci_low"], judged["ci_high"], judged["p_value"]) == (
        expected.ci_low,
        expected.ci_high,
        expected.p_value,
    )
    assert judged["verdict"] == expected.verdict == "improved"


@pytest.mark.parametrize(
    "periods",
    [OVERDISPERSED, constant_sides(10, 0), constant_sides(20, 10)[:6]],
    ids=["its", "before_after", "too little data"],
)
def test_the_comparison_group_has_the_same_keys_and_no_verdict(periods):
    comparison = its_judgement(periods, "error_834", with_verdict=False)
    assert list(comparison) == ITS_KEYS
    judged = its_judgement(periods, "error_834")
    assert comparison == {k: v for k, v in judged.items() if k != "verdict"}


# --------------------------------------------------------------------------------------- funnel plots


def test_funnel_flags_use_z_over_sqrt_phi_with_phi_floored_at_one():
    # p0 = (56 + 984 + 6 * 10) / (400 + 10000 + 6 * 100) = 1100 / 11000 = 0.1
    # A: (0.14 - 0.1) / sqrt(0.09 / 400) = 0.04 / 0.015 = 2.666667 -> high_95 (1.959964 < 2.67 < 3.090232)
    # B: (0.0984 - 0.1) / sqrt(0.09 / 10000) = -0.0016 / 0.003 = -0.533333; the six at 10%: z = 0
    # mean z^2 = (7.111111 + 0.284444) / 8 = 0.924444 -> phi = 1. The issuer without units is left out.
    rows = [("C6", 0, 0), ("B", 10000, 984), ("A", 400, 56)] + [(f"C{i}", 100, 10) for i in range(6)]
    result = issuer_comparison(rows)
    assert result["p0"] == pytest.approx(0.1)
    assert result["phi"] == 1.0
    assert [i["issuer_id"] for i in result["issuers"]] == ["A", "B", "C0", "C1", "C2", "C3", "C4", "C5"]
    a, b = result["issuers"][:2]
    assert a == {"issuer_id": "A", "n": 400, "x": 56, "rate": 0.14, "z": pytest.approx(8 / 3), "flag": "high_95"}
    assert b["z"] == pytest.approx(-0.0016 / 0.003) and b["flag"] == "within"
    assert {i["flag"] for i in result["issuers"][2:]} == {"within"}
    assert [i["z"] for i in result["issuers"][2:]] == [pytest.approx(0.0, abs=1e-12)] * 6


def test_funnel_phi_is_the_mean_of_z_squared_and_shrinks_the_flags():
    # A: 30/100, three issuers at 10/100: p0 = 60/400 = 0.15, sigma = sqrt(0.1275 / 100)
    # z_A = 0.15 / sigma = 4.200840, z_others = -0.05 / sigma = -1.400280
    # phi = (0.0225 + 3 * 0.0025) / 0.001275 / 4 = 100/17 = 5.882353; z_A / sqrt(phi) = sqrt(3) -> within
    result = issuer_comparison([("A", 100, 30), ("B", 100, 10), ("C", 100, 10), ("D", 100, 10)])
    assert result["phi"] == pytest.approx(100 / 17)
    assert result["issuers"][0]["z"] == pytest.approx(0.15 / math.sqrt(0.1275 / 100))
    assert result["issuers"][0]["z"] == pytest.approx(4.200840, abs=1e-6)
    assert [i["flag"] for i in result["issuers"]] == ["within"] * 4


@pytest.mark.parametrize(
    "x_a,x_b,z_a,flag",
    [(64, 976, 4.0, "high_99.8"), (16, 1024, -4.0, "low_99.8"), (25, 1015, -2.5, "low_95")],
)
def test_funnel_bands_with_many_issuers(x_a, x_b, z_a, flag):
    # A: n = 400, B: n = 10000, eighteen at 10/100; B offsets A so that p0 = 1220 / 12200 = 0.1.
    # z_A = (x_a/400 - 0.1) / sqrt(0.09 / 400) = (x_a/400 - 0.1) / 0.015: 64 -> 4, 16 -> -4, 25 -> -2.5
    # z_B = (x_b/10000 - 0.1) / 0.003: 976 -> -0.8, 1024 -> 0.8, 1015 -> 0.5
    # mean z^2 = (16 + 0.64) / 20 = 0.832 or (6.25 + 0.25) / 20 = 0.325 -> phi = 1
    rows = [("A", 400, x_a), ("B", 10000, x_b)] + [(f"C{i:02}", 100, 10) for i in range(18)]
    result = issuer_comparison(rows)
    assert result["p0"] == pytest.approx(0.1)
    assert result["phi"] == 1.0
    assert result["issuers"][0]["z"] == pytest.approx(z_a)
    assert result["issuers"][0]["flag"] == flag
    assert result["issuers"][1]["flag"] == "within"


def test_funnel_flags_are_strictly_beyond_the_limits():
    # an issuer exactly on a limit (z / sqrt(phi) equal to 1.959964 or 3.090232) is not beyond it
    assert funnel_flag(Z_95) == "within"
    assert funnel_flag(math.nextafter(Z_95, math.inf)) == "high_95"
    assert funnel_flag(Z_998) == "high_95"
    assert funnel_flag(math.nextafter(Z_998, math.inf)) == "high_99.8"
    assert funnel_flag(-Z_95) == "within"
    assert funnel_flag(math.nextafter(-Z_95, -math.inf)) == "low_95"
    assert funnel_flag(-Z_998) == "low_95"
    assert funnel_flag(math.nextafter(-Z_998, -math.inf)) == "low_99.8"
    # an issuer's rate on the drawn 95% limit has z / sqrt(phi) = 1.959964 (to rounding)
    p0, phi, n = 0.1, 2.5, 400
    on_limit = funnel_limits(p0, phi, [n])[0]["high_95"]
    assert (on_limit - p0) / math.sqrt(p0 * (1 - p0) / n) / math.sqrt(phi) == pytest.approx(Z_95, rel=1e-12)


def test_funnel_needs_three_issuers_with_units():
    assert issuer_comparison([("A", 100, 10), ("B", 100, 20), ("C", 0, 0)]) is None
    assert issuer_comparison([]) is None
    assert issuer_comparison([("A", 100, 10), ("B", 100, 20), ("C", 1, 0)]) is not None


@pytest.mark.parametrize("x", [0, 1])
def test_funnel_with_p0_zero_or_one_has_z_zero(x):
    result = issuer_comparison([("A", 10, 10 * x), ("B", 20, 20 * x), ("C", 5, 5 * x)])
    assert result["p0"] == float(x)
    assert result["phi"] == 1.0
    assert [(i["z"], i["flag"]) for i in result["issuers"]] == [(0.0, "within")] * 3


def test_funnel_limits_hand_computed_and_clipped():
    # p0 = 0.1, phi = 1, n = 100: sqrt(0.09 / 100) = 0.03
    #   95%: 0.1 -/+ 1.959964 * 0.03 = 0.1 -/+ 0.05879892;  99.8%: 0.1 -/+ 3.090232 * 0.03 = 0.1 -/+ 0.09270696
    # n = 4: sqrt(0.09 / 4) = 0.15: 99.8% low = 0.1 - 0.4635348 -> 0; phi = 4 doubles the spread
    at_100, at_4 = funnel_limits(0.1, 1.0, [100, 4])
    assert at_100 == {
        "n": 100,
        "low_95": pytest.approx(0.04120108),
        "high_95": pytest.approx(0.15879892),
        "low_998": pytest.approx(0.00729304),
        "high_998": pytest.approx(0.19270696),
    }
    assert at_4["low_998"] == 0.0 and at_4["low_95"] == 0.0
    assert at_4["high_998"] == pytest.approx(0.5635348)
    wide = funnel_limits(0.1, 4.0, [100])[0]
    assert wide["high_95"] == pytest.approx(0.1 + 2 * 0.05879892)
    assert funnel_limits(0.9, 1.0, [4])[0]["high_998"] == 1.0
    with pytest.raises(ValueError):
        funnel_limits(0.1, 1.0, [0])


# qicharts2 0.8.1, qic(chart = "p") on the same nhs_accidents weeks ("nhs p screened" in the fixture cited
# above; screening does not touch a P chart): centre 0.95289971134419116, 3-sigma upper limits of weeks 1, 13
QIC_P_UCL = {280443: 0.9540998580423673, 266629: 0.95413055515123946}


def test_funnel_limit_spread_matches_qicharts2_binomial_sigma():
    # both are p0 +/- z * sqrt(p0 (1 - p0) / n): qicharts2 with z = 3, the funnel with z = 3.090232, phi = 1
    for limits in funnel_limits(QIC_PP_CENTRE, 1.0, list(QIC_P_UCL)):
        assert (limits["high_998"] - QIC_PP_CENTRE) / Z_998 == pytest.approx(
            (QIC_P_UCL[limits["n"]] - QIC_PP_CENTRE) / 3, rel=1e-12
        )


# ---------------------------------------------------------------------------------- coverage deadlines


def test_projected_unpaid():
    # 29 days left at 900.5 a day: 29000 - 900.5 * 30 = 1985
    assert projected_unpaid(29000, 900.5, 29) == 1985.0
    # due today: one more day of payments, 100 - 12.5 * 1
    assert projected_unpaid(100, 12.5, 0) == 87.5
    # the pace would pay more than are unpaid
    assert projected_unpaid(100, 60.0, 1) == 0.0
    # past due: the unpaid stay unpaid
    assert projected_unpaid(100, 60.0, -1) == 100.0
    assert isinstance(projected_unpaid(100, 60.0, -1), float)
