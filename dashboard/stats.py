"""Confidence interval and test for the change in an 834 error rate around a release."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import norm

Z_95 = 1.959964
MIN_PER_SIDE = 30


def wilson_interval(errored: int, sent: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval without continuity correction."""
    if sent <= 0:
        raise ValueError("a Wilson interval needs at least one observation")
    p = errored / sent
    denom = 1 + z * z / sent
    centre = (p + z * z / (2 * sent)) / denom
    half = z * math.sqrt(p * (1 - p) / sent + z * z / (4 * sent * sent)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference_interval(
    x_after: int, n_after: int, x_before: int, n_before: int, z: float = Z_95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval (his method 10) for p_after - p_before."""
    p1, p2 = x_after / n_after, x_before / n_before
    l1, u1 = wilson_interval(x_after, n_after, z)
    l2, u2 = wilson_interval(x_before, n_before, z)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return low, high


def pooled_z_test_p_value(x_after: int, n_after: int, x_before: int, n_before: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test; 1.0 when the pooled rate is 0 or 1."""
    pooled = (x_after + x_before) / (n_after + n_before)
    if pooled in (0.0, 1.0):
        return 1.0
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_after + 1 / n_before))
    z = (x_after / n_after - x_before / n_before) / se
    return float(2 * norm.sf(abs(z)))


@dataclass(frozen=True)
class RateChange:
    change: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    verdict: str


def judge_change(errored_before: int, sent_before: int, errored_after: int, sent_after: int) -> RateChange:
    """metrics.md 'Fix impact': change = after - before, its 95% interval, p-value and verdict."""
    if sent_before < MIN_PER_SIDE or sent_after < MIN_PER_SIDE:
        return RateChange(None, None, None, None, "too little data")
    change = errored_after / sent_after - errored_before / sent_before
    low, high = newcombe_difference_interval(errored_after, sent_after, errored_before, sent_before)
    p_value = pooled_z_test_p_value(errored_after, sent_after, errored_before, sent_before)
    if high < 0:
        verdict = "improved"
    elif low > 0:
        verdict = "worse"
    else:
        verdict = "no clear change"
    return RateChange(change, low, high, p_value, verdict)
