"""The statistics of signals.md: Laney p' charts, the trend-adjusted release verdict, funnel plots, deadline projections."""

from __future__ import annotations

import math
import warnings
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import statsmodels.api as sm
from scipy.stats import norm

from .stats import Z_95, judge_change

Z_998 = 3.090232

# Control charts
D2 = 1.128  # the unbiasing constant of a moving range of two
LIMIT_SIGMAS = 3
SHIFT_RUN = 8  # the 8th day in a row on one side of the centre line is a shift

# Fix impact, trend-adjusted
MIN_PERIODS_PER_SIDE = 4
MIN_UNITS_PER_SIDE = 30
IRLS_TOLERANCE = 1e-10
IRLS_MAX_ROUNDS = 100
ITS_PARAMETERS = 4  # 1, k, post, k*post

_ITS_NUMBERS = (
    "odds_ratio",
    "ci_low",
    "ci_high",
    "p_value",
    "rate_before",
    "rate_after",
    "slope_change",
    "dispersion",
)


# ------------------------------------------------------------------------------------ control charts


def control_chart(days: list[dict], phase_starts: list[tuple[date, str]]) -> list[dict]:
    """Laney p' chart. `days`: one dict per UTC day from the first to the last day with n > 0, in date order,
    keys date (datetime.date), n (int), x (int), mature (bool); days with n == 0 included.
    `phase_starts`: (UTC day of deployed_at, release_id) of every release that applies to the chart and was
    deployed at or before T, sorted by (deployed_at, release_id) by the caller.
    Returns one dict per input day with keys: date, n, x, rate (x/n, None when n == 0), mature, phase
    (release id or None), centre, lcl, ucl, signal (None where the spec says null; signal one of
    'above','below','shift_up','shift_down' or None)."""
    start_days = [start for start, _ in phase_starts]
    # index into phase_starts of the release that opened each day's phase, -1 before the first;
    # of releases deployed on the same day the last one (by deployed_at, release_id) labels it
    phase_index = [bisect_right(start_days, day["date"]) - 1 for day in days]

    out = [
        {
            "date": day["date"],
            "n": day["n"],
            "x": day["x"],
            "rate": day["x"] / day["n"] if day["n"] > 0 else None,
            "mature": day["mature"],
            "phase": phase_starts[i][1] if i >= 0 else None,
            "centre": None,
            "lcl": None,
            "ucl": None,
            "signal": None,
        }
        for day, i in zip(days, phase_index, strict=True)
    ]
    for phase in dict.fromkeys(phase_index):
        members = [j for j, i in enumerate(phase_index) if i == phase and days[j]["mature"]]
        _judge_phase(days, out, members)
    return out


def _judge_phase(days: list[dict], out: list[dict], mature: list[int]) -> None:
    """Centre, limits and signals of one phase's mature days (positions into days/out, in date order)."""
    # p-bar, moving ranges and runs go over the days with units; empty days get a centre but no limits
    counted = [j for j in mature if days[j]["n"] > 0]
    if not counted:
        return  # no p-bar (0 / 0): its empty mature days keep a null centre
    total_x = sum(days[j]["x"] for j in counted)
    total_n = sum(days[j]["n"] for j in counted)
    p_bar = total_x / total_n

    sigmas, zs = [], []
    for j in counted:
        sigma = math.sqrt(p_bar * (1 - p_bar) / days[j]["n"])
        sigmas.append(sigma)
        zs.append((days[j]["x"] / days[j]["n"] - p_bar) / sigma if sigma > 0 else 0.0)
    sigma_z = laney_sigma_z(zs)

    for j in mature:
        out[j]["centre"] = p_bar

    run_side, run_length = 0, 0
    for j, sigma in zip(counted, sigmas, strict=True):
        n, x = days[j]["n"], days[j]["x"]
        p = x / n
        ucl = min(1.0, p_bar + LIMIT_SIGMAS * sigma * sigma_z)
        lcl = max(0.0, p_bar - LIMIT_SIGMAS * sigma * sigma_z)
        # which side of the centre line, compared exactly: x/n against total_x/total_n
        side = (x * total_n > total_x * n) - (x * total_n < total_x * n)
        if side == 0:
            run_side, run_length = 0, 0  # a day on the centre line ends a run
        elif side == run_side:
            run_length += 1
        else:
            run_side, run_length = side, 1
        if p > ucl:
            signal = "above"
        elif p < lcl:
            signal = "below"
        elif run_length >= SHIFT_RUN:
            signal = "shift_up" if run_side > 0 else "shift_down"
        else:
            signal = None
        out[j].update(lcl=lcl, ucl=ucl, signal=signal)


def laney_sigma_z(zs: list[float]) -> float:
    """Laney's sigma_z: the mean moving range of successive z-scores / 1.128; 1 with fewer than 2 days."""
    if len(zs) < 2:
        return 1.0
    moving_ranges = [abs(b - a) for a, b in zip(zs, zs[1:], strict=False)]
    return sum(moving_ranges) / len(moving_ranges) / D2


# ------------------------------------------------------------------- fix impact, trend-adjusted (ITS)


@dataclass(frozen=True)
class SegmentedFit:
    """A converged fit of logit(p) = b0 + b1*k + b2*post + b3*k*post; standard errors already times sqrt(phi)."""

    params: tuple[float, float, float, float]
    standard_errors: tuple[float, float, float, float]
    dispersion: float


def its_design(ks: Iterable[int]) -> np.ndarray:
    """The model's columns 1, k, post, k*post (post = 1 when k >= 0)."""
    k = np.asarray(list(ks), dtype=float)
    post = (k >= 0).astype(float)
    return np.column_stack([np.ones_like(k), k, post, k * post])


def fit_segmented_logit(periods: list[tuple[int, int, int]]) -> SegmentedFit | None:
    """Maximum-likelihood binomial GLM (logit link) on periods (k, n, x) by IRLS from beta = 0.

    None when the fit does not converge by signals.md's rule: some coefficient still moves by more than
    1e-10 after 100 rounds, a round's X'WX is singular, or a coefficient is not finite. statsmodels does
    the rounds; whether they converged is decided here (its flag says 'converged' on separated data)."""
    if len(periods) < ITS_PARAMETERS:
        return None
    X = its_design(p[0] for p in periods)
    n = np.array([p[1] for p in periods], dtype=float)
    x = np.array([p[2] for p in periods], dtype=float)
    # endog x/n with var_weights n: the binomial likelihood of x successes in n trials (a two-column
    # endog would make statsmodels' Pearson statistics ignore the trial counts)
    model = sm.GLM(x / n, X, family=sm.families.Binomial(), var_weights=n)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # perfect-fit and domain warnings: judged below instead
            result = model.fit(
                start_params=np.zeros(ITS_PARAMETERS),
                method="IRLS",
                maxiter=IRLS_MAX_ROUNDS,
                tol=IRLS_TOLERANCE,
                tol_criterion="params",
                rtol=0.0,  # absolute change only: stop when no coefficient moves by more than 1e-10
            )
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):
        return None
    iterates = [np.asarray(b, dtype=float) for b in result.fit_history["params"][1:]]  # [beta_0 = 0, beta_1, ...]
    if len(iterates) < 2 or not all(np.all(np.isfinite(b)) for b in iterates):
        return None
    beta = iterates[-1]
    if np.max(np.abs(beta - iterates[-2])) > IRLS_TOLERANCE:
        return None  # still moving after the last round
    # every round solved X'WX at the iterate before it; the standard errors need it at the final one
    for b in iterates:
        if _singular(_information(X, n, b)):
            return None
    information = _information(X, n, beta)
    mu = _expit_array(X @ beta)
    pearson = float(np.sum((x - n * mu) ** 2 / (n * mu * (1 - mu))))
    m = len(periods)
    dispersion = max(1.0, pearson / (m - ITS_PARAMETERS)) if m > ITS_PARAMETERS else 1.0
    if not math.isfinite(dispersion):
        return None
    covariance = np.linalg.inv(information) * dispersion
    se = np.sqrt(np.diag(covariance))
    if not np.all(np.isfinite(se)):
        return None
    return SegmentedFit(
        params=tuple(float(b) for b in beta),
        standard_errors=tuple(float(s) for s in se),
        dispersion=float(dispersion),
    )


def _expit_array(eta: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-eta))


def _information(X: np.ndarray, n: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """X'WX with W = n*mu*(1 - mu) at beta."""
    with np.errstate(all="ignore"):
        mu = _expit_array(X @ beta)
        w = n * mu * (1 - mu)
        return X.T @ (X * w[:, None])


def _singular(matrix: np.ndarray) -> bool:
    return not np.all(np.isfinite(matrix)) or np.linalg.matrix_rank(matrix) < matrix.shape[0]


def its_judgement(periods: list[tuple[int, int, int]], metric: str, *, with_verdict: bool = True) -> dict:
    """periods: (k, n, x) for every 24-hour period with n > 0 (k < 0 before the release, k >= 0 after).
    Returns the report's `its` dict keys: metric, method ('its' or 'before_after'), periods_before, periods_after,
    units_before, units_after, odds_ratio, ci_low, ci_high, p_value, rate_before, rate_after, slope_change,
    dispersion, and 'verdict' only when with_verdict (the comparison group has no verdict; the caller adds
    'comparison' itself). Rules: spec 'Fix impact, trend-adjusted' and its 'Readings settled' (too little data
    decided first -> method 'its' with null numbers; not fittable -> 'before_after' using
    dashboard.stats.judge_change on the summed sides: rate_before/after are the two sides' rates, ci_low/ci_high/
    p_value are those of the difference, odds_ratio/slope_change/dispersion null, verdict from judge_change)."""
    kept = sorted((int(k), int(n), int(x)) for k, n, x in periods if n > 0)  # periods with n = 0 are dropped
    before = [p for p in kept if p[0] < 0]
    after = [p for p in kept if p[0] >= 0]
    n_before, x_before = sum(p[1] for p in before), sum(p[2] for p in before)
    n_after, x_after = sum(p[1] for p in after), sum(p[2] for p in after)
    out: dict[str, Any] = {
        "metric": metric,
        "method": "its",
        "periods_before": len(before),
        "periods_after": len(after),
        "units_before": n_before,
        "units_after": n_after,
        **dict.fromkeys(_ITS_NUMBERS),
    }
    verdict = "too little data"
    too_little = (
        len(before) < MIN_PERIODS_PER_SIDE
        or len(after) < MIN_PERIODS_PER_SIDE
        or n_before < MIN_UNITS_PER_SIDE
        or n_after < MIN_UNITS_PER_SIDE
    )
    if not too_little:
        # a side without a failure, or with nothing but failures, has no maximum-likelihood fit; checked
        # here because IRLS on such data drifts to huge coefficients that statsmodels calls converged
        separated = x_before in (0, n_before) or x_after in (0, n_after)
        fit = None if separated else fit_segmented_logit(kept)
        if fit is None:
            judged = judge_change(x_before, n_before, x_after, n_after)
            out.update(
                method="before_after",
                ci_low=judged.ci_low,
                ci_high=judged.ci_high,
                p_value=judged.p_value,
                rate_before=x_before / n_before,
                rate_after=x_after / n_after,
            )
            verdict = judged.verdict
        else:
            b0, _, b_post, b_slope = fit.params
            se_post = fit.standard_errors[2]
            ci_low = math.exp(b_post - Z_95 * se_post)
            ci_high = math.exp(b_post + Z_95 * se_post)
            out.update(
                odds_ratio=math.exp(b_post),
                ci_low=ci_low,
                ci_high=ci_high,
                p_value=float(2 * norm.sf(abs(b_post / se_post))),
                rate_before=expit(b0),
                rate_after=expit(b0 + b_post),
                slope_change=b_slope,
                dispersion=fit.dispersion,
            )
            verdict = "improved" if ci_high < 1 else "worse" if ci_low > 1 else "no clear change"
    if with_verdict:
        out["verdict"] = verdict
    return out


def expit(v: float) -> float:
    """The logistic function, without overflow for large |v|."""
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


# --------------------------------------------------------------------------------------- funnel plots


def issuer_comparison(rows: list[tuple[str, int, int]]) -> dict | None:
    """rows: (issuer_id, n, x) per issuer in the view. Funnel plot per spec: {'p0','phi','issuers':[{issuer_id,n,x,
    rate,z,flag}]} over issuers with n > 0 in issuer_id order; None when fewer than 3 issuers have n > 0."""
    shown = sorted(((i, int(n), int(x)) for i, n, x in rows if n > 0), key=lambda r: r[0])
    if len(shown) < 3:
        return None
    total_x = sum(x for _, _, x in shown)
    total_n = sum(n for _, n, _ in shown)
    p0 = total_x / total_n
    degenerate = total_x in (0, total_n)  # p0 is 0 or 1: no binomial spread, every z is 0
    zs = [0.0 if degenerate else (x / n - p0) / math.sqrt(p0 * (1 - p0) / n) for _, n, x in shown]
    phi = max(1.0, sum(z * z for z in zs) / len(zs))
    return {
        "p0": p0,
        "phi": phi,
        "issuers": [
            {"issuer_id": i, "n": n, "x": x, "rate": x / n, "z": z, "flag": funnel_flag(z / math.sqrt(phi))}
            for (i, n, x), z in zip(shown, zs, strict=True)
        ],
    }


def funnel_flag(scaled_z: float) -> str:
    """An issuer's band from z/sqrt(phi): beyond a limit only when strictly beyond it."""
    if scaled_z > Z_998:
        return "high_99.8"
    if scaled_z > Z_95:
        return "high_95"
    if scaled_z < -Z_998:
        return "low_99.8"
    if scaled_z < -Z_95:
        return "low_95"
    return "within"


def funnel_limits(p0: float, phi: float, n_values) -> list[dict]:
    """For drawing: per n, {'n', 'low_95','high_95','low_998','high_998'} clipped to [0,1]."""
    out = []
    for n in n_values:
        if n <= 0:
            raise ValueError(f"funnel limits need a positive number of units, not {n}")
        spread = math.sqrt(phi * p0 * (1 - p0) / n)
        out.append(
            {
                "n": n,
                "low_95": max(0.0, p0 - Z_95 * spread),
                "high_95": min(1.0, p0 + Z_95 * spread),
                "low_998": max(0.0, p0 - Z_998 * spread),
                "high_998": min(1.0, p0 + Z_998 * spread),
            }
        )
    return out


# ---------------------------------------------------------------------------------- coverage deadlines


def projected_unpaid(unpaid: int, pace: float, days_left: int) -> float:
    """max(0, unpaid - pace*(days_left+1)) when days_left >= 0, else unpaid (spec 'Coverage deadlines')."""
    if days_left < 0:
        return float(unpaid)
    return float(max(0.0, unpaid - pace * (days_left + 1)))
