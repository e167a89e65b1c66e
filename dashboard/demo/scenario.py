"""The scenario's facts: autumn 2013 on the federal marketplace (docs/demo.md).

Sizes and seeds, the time units and the window, the releases and their fix dates, the states and
their issuers, the daily application curve, the plan, channel and payment mixes, and the 834 defect
rates: everything the story's steps (steps.py) draw from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from ..defaults import DEFAULT_SEED as DEFAULT_SEED
from ..defaults import DEMO_ENROLLMENTS as DEMO_ENROLLMENTS

CHUNK_SIZE = 250_000

US = 1
SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
NEVER = np.iinfo(np.int64).max  # "did not happen" inside the generator; written as null


def epoch_us(value: datetime | date) -> int:
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return int((value.replace(tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1))


WINDOW_START = epoch_us(datetime(2013, 10, 1))
WINDOW_DAYS = 123  # 2013-10-01 .. 2014-01-31
EXPORT_AT = epoch_us(datetime(2014, 2, 1)) - SECOND  # the export's cut-off: later events have not happened

# Releases (scenario.md). The 834 error rate and the never-sent rate change at the fixes below.
FIX_WEEKEND_834 = epoch_us(datetime(2013, 12, 1, 5, 0))
JANUARY_834_FIX = epoch_us(datetime(2014, 1, 10, 6, 0))
NC_PAYMENT_FIX = epoch_us(datetime(2013, 12, 10, 6, 0))

# The 36 states on the federal marketplace in 2014, weighted by their 2014 plan selections (thousands).
STATES = {
    "FL": 984,
    "TX": 734,
    "NC": 358,
    "GA": 317,
    "PA": 318,
    "MI": 272,
    "VA": 216,
    "IL": 217,
    "NJ": 161,
    "OH": 154,
    "TN": 151,
    "MO": 152,
    "WI": 139,
    "AZ": 120,
    "IN": 133,
    "SC": 118,
    "AL": 97,
    "LA": 102,
    "UT": 84,
    "ID": 76,
    "OK": 69,
    "KS": 57,
    "MS": 61,
    "NE": 43,
    "ME": 44,
    "AR": 43,
    "NH": 40,
    "MT": 36,
    "NM": 32,
    "IA": 29,
    "WV": 19,
    "DE": 14,
    "AK": 13,
    "SD": 13,
    "WY": 12,
    "ND": 10,
}

_NAME_FIRST = [
    "Piedmont",
    "Prairie",
    "Summit",
    "Harbor",
    "Lakeshore",
    "Red River",
    "Cardinal",
    "Evergreen",
    "Frontier",
    "Magnolia",
    "Keystone",
    "Pinecrest",
    "Bluewater",
    "Granite",
    "Sunbelt",
    "Heartland",
    "Riverbend",
    "Canyon",
    "Tidewater",
    "Cumberland",
]
_NAME_SECOND = [
    "Mutual Health",
    "Health Plan",
    "Care Cooperative",
    "Health Alliance",
    "Community Health",
    "Family Health",
    "HealthPartners",
    "Medical Mutual",
]

METALS = np.array(["bronze", "silver", "gold", "platinum", "catastrophic"])
METAL_P = [0.20, 0.65, 0.09, 0.04, 0.02]
METAL_BASE = np.array([250.0, 320.0, 390.0, 460.0, 180.0])
CHANNELS = np.array(["online", "call_center", "assister", "paper"])
CHANNEL_P = [0.70, 0.15, 0.10, 0.05]
REJECT_CODES = np.array(["I5", "I6", "I12", "709"])


@dataclass(frozen=True)
class Issuer:
    issuer_id: str
    issuer_name: str
    state: str
    share: float  # of its state's volume
    ack_slowness: float  # multiplies its 999 acknowledgement delays


def build_issuers(seed: int) -> list[Issuer]:
    """2-8 issuers per state, more in bigger states; 5-digit HIOS ids; fictional names."""
    rng = np.random.default_rng([seed, 0xA11CE])
    ids = rng.choice(np.arange(10000, 99999), size=400, replace=False)
    issuers, k = [], 0
    for state, volume in STATES.items():
        count = int(np.clip(2 + round(np.log2(volume / 10)), 2, 8))
        shares = np.sort(rng.dirichlet(np.full(count, 2.0)))[::-1]
        for i in range(count):
            name = (
                f"{_NAME_FIRST[int(rng.integers(len(_NAME_FIRST)))]} {_NAME_SECOND[i % len(_NAME_SECOND)]} of {state}"
            )
            issuers.append(
                Issuer(str(ids[k]), name, state, float(shares[i]), float(rng.choice([0.5, 1.0, 1.0, 1.5, 3.0])))
            )
            k += 1
    return issuers


def nc_payment_link_issuer(issuers: list[Issuer]) -> Issuer:
    """The North Carolina issuer whose payment link was broken until its own fix (the largest there)."""
    return max((i for i in issuers if i.state == "NC"), key=lambda i: i.share)


def state_pay_rates(seed: int) -> dict[str, float]:
    """Share of plan selections that eventually pay, per state: about 45% to 90%."""
    rng = np.random.default_rng([seed, 0xBEEF])
    rates = {state: float(rng.uniform(0.74, 0.95)) for state in STATES}
    rates[sorted(STATES)[int(rng.integers(len(STATES)))]] = 0.45  # one state far behind
    return rates


def releases(issuers: list[Issuer]) -> list[list[str]]:
    nc = nc_payment_link_issuer(issuers)
    return [
        ["R-2013-10-01-launch", "2013-10-01T12:00:00Z", "front_end", "HealthCare.gov launch", ""],
        ["R-2013-10-20-front-end", "2013-10-20T08:00:00Z", "front_end", "Front-end capacity patch", ""],
        ["R-2013-11-15-hub", "2013-11-15T06:00:00Z", "hub", "Data services hub maintenance (no 834 change)", ""],
        ["R-2013-11-30-front-end", "2013-11-30T08:00:00Z", "front_end", "Fix weekend: front-end capacity", ""],
        [
            "R-2013-12-01-834",
            "2013-12-01T05:00:00Z",
            "834_generator",
            "Fix weekend: 834 field-level defects repaired, never-sent backlog re-sent",
            "",
        ],
        [
            "R-2013-12-10-nc-payment-link",
            "2013-12-10T06:00:00Z",
            "payment_redirect",
            f"Payment redirect link fixed for {nc.issuer_name}",
            nc.issuer_id,
        ],
        ["R-2014-01-10-834", "2014-01-10T06:00:00Z", "834_generator", "834 duplicate and reject fixes", ""],
    ]


# ---------------------------------------------------------------- volume curve


def daily_application_weights() -> np.ndarray:
    """Applications per day, Oct 1 - Jan 31: a slow autumn, the December surge, the deadline peak."""
    w = np.zeros(WINDOW_DAYS)
    for d in range(WINDOW_DAYS):
        day = date(2013, 10, 1) + timedelta(days=d)
        if day < date(2013, 11, 3):
            w[d] = 0.9 + 0.4 * d / 33
        elif day < date(2013, 12, 1):
            w[d] = 3.5 + 2.0 * (day - date(2013, 11, 3)).days / 27
        elif day < date(2013, 12, 16):
            w[d] = 14 + 16 * (day - date(2013, 12, 1)).days / 15
        elif day <= date(2013, 12, 23):
            w[d] = 30 + 85 * ((day - date(2013, 12, 16)).days / 7) ** 2  # the deadline rush, peak on Dec 23
        elif day == date(2013, 12, 24):
            w[d] = 70
        elif day == date(2013, 12, 25):
            w[d] = 6
        elif day < date(2014, 1, 1):
            w[d] = 16
        else:
            jan = (day - date(2014, 1, 1)).days
            w[d] = 19 + (9 if 10 <= jan <= 15 else 0)  # the Jan 15 deadline for Feb 1 coverage
    return w / w.sum()


HOUR_WEIGHTS = np.array([6, 5, 4, 3, 2, 1, 1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 8, 8, 8, 8, 8, 7], float)
HOUR_WEIGHTS /= HOUR_WEIGHTS.sum()


def day_start(t: np.ndarray) -> np.ndarray:
    return t - (t % DAY)


def canary_count() -> int:
    """Test records pushed end to end: eight every week of the window."""
    return (WINDOW_DAYS // 7 + 1) * 8


# ----------------------------------------------------------------- 834 defects


def error_p(sent: np.ndarray) -> np.ndarray:
    """Share of outbound 834s with a defect, by sending time: ~1 in 4, ~1 in 10 after Dec 1, lower in January."""
    after = np.clip((sent - FIX_WEEKEND_834) / (5 * DAY), 0, 1)
    p = np.where(sent < FIX_WEEKEND_834, 0.25, 0.14 - 0.04 * after)
    return np.where(sent >= JANUARY_834_FIX, 0.05, p)


# what a defective outbound 834 gets wrong, as shares of the defect rate
DEFECT_MIX = (
    ("mismatch", 0.34),
    ("reject", 0.18),
    ("unack", 0.12),
    ("unmatched", 0.08),
    ("wrong_issuer", 0.06),
    ("duplicate", 0.22),
)


# ----------------------------------------------------------- plan selection and coverage

FRONT_END_NOVEMBER = epoch_us(date(2013, 11, 1))  # the October front end barely worked: fewer selected a plan
AGES_AS_OF = epoch_us(date(2014, 1, 1))
# coverage starts Jan 1 for selections by the Dec 24 deadline, Feb 1 by Jan 15 (end of day), else Mar 1
JANUARY_COVERAGE_DEADLINE = epoch_us(datetime(2013, 12, 24, 5))
FEBRUARY_COVERAGE_DEADLINE = epoch_us(date(2014, 1, 16))
COVERAGE_JANUARY = epoch_us(date(2014, 1, 1))
COVERAGE_FEBRUARY = epoch_us(date(2014, 2, 1))
COVERAGE_MARCH = epoch_us(date(2014, 3, 1))
