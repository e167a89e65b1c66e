"""The story of one chunk of enrollments, one function per step, in the order the chunk runs them.

applications → plan selections → who they are and what they chose → voluntary cancellations →
outbound 834s (first sends, never-sent and the Dec 1 backfill; each attempt's defects, its 999
acknowledgement, duplicates and re-sends) → binder payments (100% subsidies owe nothing) →
effectuations (inbound 834s) → non-payment terminations → cancellation 834s.

Every step draws from the chunk's one random stream, so the steps must run in this order and
draw in the order they do: moving a draw changes every later number of the chunk.
Times are microseconds since 1970 (int64), NEVER where an event did not happen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .columns import id_array
from .scenario import (
    AGES_AS_OF,
    CHANNEL_P,
    CHANNELS,
    COVERAGE_FEBRUARY,
    COVERAGE_JANUARY,
    COVERAGE_MARCH,
    DAY,
    DEFECT_MIX,
    EXPORT_AT,
    FEBRUARY_COVERAGE_DEADLINE,
    FIX_WEEKEND_834,
    FRONT_END_NOVEMBER,
    HOUR,
    HOUR_WEIGHTS,
    JANUARY_COVERAGE_DEADLINE,
    METAL_BASE,
    METAL_P,
    METALS,
    MINUTE,
    NC_PAYMENT_FIX,
    NEVER,
    REJECT_CODES,
    SECOND,
    STATES,
    WINDOW_DAYS,
    WINDOW_START,
    Issuer,
    daily_application_weights,
    day_start,
    error_p,
)

# ------------------------------------------------------------------ the chunk


@dataclass(frozen=True)
class Chunk:
    """Which enrollments a chunk holds: `n` of them from `first_index`, public or canaries."""

    number: int
    first_index: int
    n: int
    canary: bool

    def enrollment_ids(self, idx: np.ndarray) -> np.ndarray:
        ids = id_array("TEST-", self.first_index + idx, 6) if self.canary else id_array("", self.first_index + idx, 10)
        return ids.to_numpy(zero_copy_only=False).astype(object)


@dataclass
class Log834:
    """The chunk's 834 rows, in the order they are logged; each gets the next transaction id."""

    chunk: Chunk
    parts: dict[str, list[np.ndarray]] = field(default_factory=dict)
    count: int = 0

    def add_as_enrolled(
        self,
        idx: np.ndarray,
        people: Enrollees,
        *,
        direction: str,
        enrollment_id: np.ndarray,
        issuer_id: np.ndarray,
        maintenance_type: str,
        maintenance_reason: str,
        sent_at: np.ndarray,
        ack_at: np.ndarray,
        **changed: np.ndarray,
    ) -> None:
        """An accepted 834 for enrollments `idx` carrying their own values (plan, coverage, premium,
        subsidy, members, birth date); `changed` replaces any of those."""
        k = idx.size
        cols = {
            "direction": np.full(k, direction, object),
            "enrollment_id": enrollment_id,
            "issuer_id": issuer_id,
            "maintenance_type": np.full(k, maintenance_type, object),
            "maintenance_reason": np.full(k, maintenance_reason, object),
            "sent_at": sent_at,
            "ack_code": np.full(k, "A", object),
            "ack_at": ack_at,
            "error_code": np.full(k, None, object),
            "plan_id": people.plan_id[idx],
            "coverage_start_date": people.coverage[idx],
            "total_premium": people.premium[idx],
            "aptc_amount": people.aptc[idx],
            "member_count": people.members[idx],
            "subscriber_birth_date": people.birth[idx],
        }
        assert set(changed) <= set(cols), set(changed) - set(cols)
        cols.update(changed)
        self.add(**cols)

    def add(self, **cols) -> None:
        count = len(cols["sent_at"])
        start = self.count
        self.count += count
        prefix = f"T{'C' if self.chunk.canary else ''}{self.chunk.number:04d}-"
        cols["transaction_id"] = id_array(prefix, np.arange(start, start + count), 8).to_numpy(zero_copy_only=False)
        # acknowledgements after the export's cut-off have not arrived yet
        late = np.asarray(cols["ack_at"]) > EXPORT_AT
        cols["ack_at"] = np.where(late, NEVER, cols["ack_at"])
        cols["ack_code"] = np.where(late, None, np.asarray(cols["ack_code"], dtype=object))
        for key, value in cols.items():
            self.parts.setdefault(key, []).append(np.asarray(value))

    def columns(self) -> dict[str, np.ndarray]:
        return {key: np.concatenate(parts) for key, parts in self.parts.items()}


# ---------------------------------------------------------------- applications


@dataclass(frozen=True)
class Applications:
    applied: np.ndarray  # when the application was submitted
    issuer_idx: np.ndarray  # index into the issuers list
    issuer: np.ndarray  # issuer id
    state: np.ndarray


def applications(rng: np.random.Generator, chunk: Chunk, issuers: list[Issuer]) -> Applications:
    """Who applies, when, where: public applications follow the daily and hourly curves and the
    states' volumes; canaries are a handful of test records every week, spread over all issuers."""
    n = chunk.n
    if chunk.canary:
        # a handful of test records every week, pushed end-to-end by issuers and the exchange
        week = np.arange(n) // 8
        applied = WINDOW_START + week * 7 * DAY + rng.integers(0, 7 * DAY, n)
        issuer_idx = rng.integers(0, len(issuers), n)
    else:
        day = rng.choice(WINDOW_DAYS, size=n, p=daily_application_weights())
        hour = rng.choice(24, size=n, p=HOUR_WEIGHTS)
        applied = WINDOW_START + day * DAY + hour * HOUR + rng.integers(0, HOUR // SECOND, n) * SECOND
        state_names = list(STATES)
        state_p = np.array(list(STATES.values()), float)
        state_idx = rng.choice(len(state_names), size=n, p=state_p / state_p.sum())
        issuer_idx = np.empty(n, np.int64)
        for s, name in enumerate(state_names):
            rows = np.flatnonzero(state_idx == s)
            if rows.size:
                members = [k for k, i in enumerate(issuers) if i.state == name]
                shares = np.array([issuers[k].share for k in members])
                issuer_idx[rows] = np.array(members)[rng.choice(len(members), rows.size, p=shares / shares.sum())]
    issuer = np.array([i.issuer_id for i in issuers])[issuer_idx]
    state = np.array([i.state for i in issuers])[issuer_idx]
    applied = np.minimum(applied, EXPORT_AT)
    return Applications(applied, issuer_idx, issuer, state)


# ------------------------------------------------------------- plan selections


@dataclass(frozen=True)
class Selections:
    selected: np.ndarray  # when a plan was selected, NEVER if none was
    has_plan: np.ndarray


def plan_selections(rng: np.random.Generator, chunk: Chunk, apps: Applications) -> Selections:
    """The October front end barely worked; many never select a plan (every canary does)."""
    n, applied = chunk.n, apps.applied
    select_p = np.where(applied < FRONT_END_NOVEMBER, 0.45, np.where(applied < FIX_WEEKEND_834, 0.60, 0.72))
    if chunk.canary:
        select_p = np.ones(n)
    selects = rng.random(n) < select_p
    same_session = rng.random(n) < 0.7
    delay = np.where(same_session, rng.exponential(40 * MINUTE, n), rng.exponential(3 * DAY, n)).astype(np.int64)
    selected = np.where(selects, applied + delay + SECOND, NEVER)
    selected = np.where(selected > EXPORT_AT, NEVER, selected)
    return Selections(selected, selected != NEVER)


@dataclass(frozen=True)
class Enrollees:
    """Who they are and what they chose (the plan fields count only where a plan was selected)."""

    birth: np.ndarray
    members: np.ndarray
    metal_idx: np.ndarray
    premium: np.ndarray  # cents a month
    aptc: np.ndarray  # the advance premium tax credit, cents a month
    responsible: np.ndarray  # what the consumer owes, cents a month: 0 with a 100% subsidy
    coverage: np.ndarray  # coverage start
    plan_id: np.ndarray
    channel: np.ndarray


def enrollees(rng: np.random.Generator, chunk: Chunk, apps: Applications, sel: Selections) -> Enrollees:
    """Ages, household sizes, metal levels, premiums and subsidies, coverage start, channel."""
    n = chunk.n
    age_band = rng.choice(3, size=n, p=[0.24, 0.43, 0.33])
    age = np.choose(age_band, [rng.integers(18, 35, n), rng.integers(35, 55, n), rng.integers(55, 65, n)])
    birth = AGES_AS_OF - age * 365 * DAY - rng.integers(0, 365, n) * DAY
    birth = day_start(birth)
    members = np.where(rng.random(n) < 0.6, 1, rng.integers(2, 6, n))
    metal_idx = rng.choice(len(METALS), size=n, p=METAL_P)
    age_factor = 1 + np.clip(age - 21, 0, None) / 43 * 2
    premium = np.round(
        METAL_BASE[metal_idx] * age_factor * (1 + 0.8 * (members - 1)) * rng.uniform(0.85, 1.25, n) * 100
    ).astype(np.int64)
    subsidy_kind = rng.choice(4, size=n, p=[0.15, 0.78, 0.05, 0.02])  # none, partial, 100%, above premium
    aptc = np.select(
        [subsidy_kind == 0, subsidy_kind == 1, subsidy_kind == 2],
        [np.zeros(n, np.int64), np.round(premium * rng.uniform(0.2, 0.9, n)).astype(np.int64), premium],
        premium + rng.integers(100, 5000, n),
    )
    if chunk.canary:
        aptc = np.where(rng.random(n) < 0.5, premium, aptc)  # half the canaries owe nothing
    responsible = np.maximum(0, premium - aptc)
    coverage = np.select(
        [sel.selected <= JANUARY_COVERAGE_DEADLINE, sel.selected <= FEBRUARY_COVERAGE_DEADLINE],
        [np.full(n, COVERAGE_JANUARY), np.full(n, COVERAGE_FEBRUARY)],
        COVERAGE_MARCH,
    )
    plan_number = 1 + metal_idx
    plan_id = pc.binary_join_element_wise(
        pa.array(apps.issuer), pa.array(apps.state), id_array("", 10 * plan_number, 7), pa.array(np.full(n, "01")), ""
    )
    channel = CHANNELS[rng.choice(len(CHANNELS), size=n, p=CHANNEL_P)]
    plan_np = plan_id.to_numpy(zero_copy_only=False).astype(object)
    return Enrollees(birth, members, metal_idx, premium, aptc, responsible, coverage, plan_np, channel)


def voluntary_cancellations(rng: np.random.Generator, chunk: Chunk, sel: Selections) -> np.ndarray:
    """When the consumer cancelled (4% of plan selections, days later), NEVER if they did not."""
    n = chunk.n
    return np.where(
        sel.has_plan & (rng.random(n) < 0.04), sel.selected + rng.exponential(10 * DAY, n).astype(np.int64), NEVER
    )


# --------------------------------------------------------------- outbound 834s


@dataclass(frozen=True)
class FirstSends:
    send_at: np.ndarray  # the first outbound 834, NEVER if it was never sent
    canary_stuck: np.ndarray | None  # canaries only: stuck somewhere...
    canary_stage: np.ndarray | None  # ...at the 834 (0), the acknowledgement (1) or the effectuation (2)


def first_sends(
    rng: np.random.Generator, chunk: Chunk, apps: Applications, sel: Selections, cancelled: np.ndarray
) -> FirstSends:
    """The exchange's first outbound 834: hours after the selection (half a day before Dec 1);
    before Dec 1 about 1 in 9 were never sent, and the Dec 1 release re-sent most of that backlog."""
    n, selected = chunk.n, sel.selected
    never_sent_p = np.where(selected < FIX_WEEKEND_834, 0.11, 0.002)
    never_sent = sel.has_plan & (rng.random(n) < never_sent_p)
    # the Dec 1 release re-sent most of the backlog of enrollments that had never been sent
    backfilled = never_sent & (selected < FIX_WEEKEND_834) & (rng.random(n) < 0.85)
    first_send = np.where(
        selected < FIX_WEEKEND_834,
        selected + rng.lognormal(np.log(12 * HOUR), 0.8, n).astype(np.int64),
        selected + rng.lognormal(np.log(2 * HOUR), 0.8, n).astype(np.int64),
    )
    first_send = np.where(backfilled, FIX_WEEKEND_834 + rng.integers(1 * DAY, 11 * DAY, n), first_send)
    canary_stuck = canary_stage = None
    if chunk.canary:
        stuck_p = np.where(apps.applied < FIX_WEEKEND_834, 0.40, 0.05)
        canary_stuck = rng.random(n) < stuck_p
        canary_stage = rng.choice(3, size=n)  # where a stuck canary stops: 834, acknowledgement, effectuation
        never_sent = canary_stuck & (canary_stage == 0)
        backfilled = np.zeros(n, bool)
    sends = sel.has_plan & (~never_sent | backfilled)
    send_at = np.where(sends, first_send, NEVER)
    send_at = np.where(send_at >= cancelled, NEVER, send_at)  # cancelled before the exchange sent anything
    return FirstSends(send_at, canary_stuck, canary_stage)


def defect_kinds(
    rng: np.random.Generator, chunk: Chunk, e: np.ndarray, times: np.ndarray, first: FirstSends
) -> np.ndarray:
    """What each 834 of an attempt gets wrong ("clean" for most), by its sending time (DEFECT_MIX)."""
    m = e.size
    p_err = error_p(times)
    if chunk.canary:
        p_err = np.zeros(m)
    draw = rng.random(m)
    kind = np.full(m, "clean", dtype=object)
    cum = 0.0
    for name, share in DEFECT_MIX:
        hit = (draw >= cum * p_err) & (draw < (cum + share) * p_err)
        kind[hit] = name
        cum += share
    if chunk.canary:
        kind[first.canary_stuck[e] & (first.canary_stage[e] == 1)] = "unack"
    return kind


@dataclass(frozen=True)
class Sent834s:
    """One attempt's outbound 834s as sent, defects included."""

    enrollment_id: np.ndarray
    to_issuer: np.ndarray
    unmatched: np.ndarray  # the enrollment id lost its leading zeros
    plan: np.ndarray  # the enrollment's plan
    tx_plan: np.ndarray  # the plan the 834 carries
    tx_aptc: np.ndarray
    tx_birth: np.ndarray
    tx_members: np.ndarray


def sent_834s(
    rng: np.random.Generator,
    chunk: Chunk,
    e: np.ndarray,
    kind: np.ndarray,
    apps: Applications,
    people: Enrollees,
    issuers: list[Issuer],
) -> Sent834s:
    """The attempt's 834s with their defects: to the wrong issuer, the id without its leading
    zeros, or a field-level defect (the wrong subsidy, birth date, member count or plan variant)."""
    m = e.size
    to_issuer = apps.issuer[e].copy()
    if np.any(kind == "wrong_issuer"):
        wrong = np.flatnonzero(kind == "wrong_issuer")
        to_issuer[wrong] = np.array([i.issuer_id for i in issuers])[rng.integers(0, len(issuers), wrong.size)]
    eid = chunk.enrollment_ids(e)
    unmatched = kind == "unmatched"
    eid[unmatched] = np.array([s.lstrip("0") or "0" for s in eid[unmatched]], dtype=object)  # leading zeros lost
    # field-level defects: the wrong subsidy, birth date, member count or plan variant
    fld = rng.choice(4, size=m, p=[0.5, 0.2, 0.15, 0.15])
    mism = kind == "mismatch"
    aptc, birth, members = people.aptc[e], people.birth[e], people.members[e]
    tx_aptc = np.where(mism & (fld == 0), aptc + rng.integers(-5000, 5000, m) // 100 * 100 + 100, aptc)
    tx_birth = np.where(mism & (fld == 1), birth + DAY * rng.integers(1, 400, m), birth)
    tx_members = np.where(mism & (fld == 2), members + 1, members)
    plan_e = people.plan_id[e]
    tx_plan = plan_e.copy()
    variant = np.flatnonzero(mism & (fld == 3))
    tx_plan[variant] = np.array([p[:-2] + "04" for p in plan_e[variant]], dtype=object)
    return Sent834s(eid, to_issuer, unmatched, plan_e, tx_plan, tx_aptc, tx_birth, tx_members)


@dataclass(frozen=True)
class Acks:
    ack_at: np.ndarray  # NEVER when no 999 came back
    ack_code: np.ndarray  # A, E or R; None when no 999 came back
    error_code: np.ndarray  # the reject's code, None otherwise


def acknowledgements_999(rng: np.random.Generator, times: np.ndarray, kind: np.ndarray, slow: np.ndarray) -> Acks:
    """The receiver's 999: most within hours, some days late, some never; a few stamped early.
    `slow` is each receiving issuer's slowness."""
    m = times.size
    ack_delay = (
        np.where(rng.random(m) < 0.88, rng.lognormal(np.log(3 * HOUR), 0.9, m), rng.uniform(1 * DAY, 6 * DAY, m)) * slow
    )
    ack_delay = np.where(rng.random(m) < 0.003, -rng.uniform(MINUTE, 2 * HOUR, m), ack_delay)
    ack_at = times + ack_delay.astype(np.int64)
    ack_code = np.where(kind == "reject", "R", np.where(rng.random(m) < 0.04, "E", "A")).astype(object)
    ack_at = np.where(kind == "unack", NEVER, ack_at)
    ack_code[kind == "unack"] = None
    error_code = np.where(kind == "reject", REJECT_CODES[rng.integers(0, len(REJECT_CODES), m)], None)
    return Acks(ack_at, ack_code, error_code.astype(object))


def duplicates(
    rng: np.random.Generator,
    e: np.ndarray,
    times: np.ndarray,
    kind: np.ndarray,
    sent: Sent834s,
    slow: np.ndarray,
    apps: Applications,
    people: Enrollees,
    log: Log834,
) -> None:
    """A duplicate: the same 834 sent again hours later (and acknowledged again)."""
    dup = np.flatnonzero(kind == "duplicate")
    if dup.size:
        dsent = times[dup] + rng.integers(10 * MINUTE, 8 * HOUR, dup.size)
        keep = dsent <= EXPORT_AT
        dup, dsent = dup[keep], dsent[keep]
        dack = dsent + (rng.lognormal(np.log(3 * HOUR), 0.9, dup.size) * slow[dup]).astype(np.int64)
        log.add_as_enrolled(
            e[dup],
            people,
            direction="outbound",
            enrollment_id=sent.enrollment_id[dup],
            issuer_id=apps.issuer[e[dup]],
            maintenance_type="021",
            maintenance_reason="EC",
            sent_at=dsent,
            ack_at=dack,
            plan_id=sent.plan[dup],
        )


def resends(
    rng: np.random.Generator,
    e: np.ndarray,
    times: np.ndarray,
    kind: np.ndarray,
    ack_at: np.ndarray,
    cancelled: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Re-sends, days later: after a reject, after the issuer complains, after silence.
    Returns the enrollments to send again and when."""
    m = e.size
    resend_p = np.select(
        [kind == "reject", kind == "unmatched", kind == "wrong_issuer", kind == "unack"],
        [0.85, 0.85, 0.85, 0.4],
        0.0,
    )
    base = np.where(kind == "reject", np.where(ack_at == NEVER, times, ack_at), times)
    next_at = base + rng.integers(1 * DAY, 6 * DAY, m)
    again = (rng.random(m) < resend_p) & (next_at <= EXPORT_AT) & (next_at < cancelled[e])
    return e[again], next_at[again]


def outbound_834s(
    rng: np.random.Generator,
    chunk: Chunk,
    apps: Applications,
    people: Enrollees,
    first: FirstSends,
    cancelled: np.ndarray,
    issuers: list[Issuer],
    log: Log834,
) -> np.ndarray:
    """The exchange's outbound 834s: up to three attempts per enrollment, each with its defects,
    its 999, its duplicates and the re-sends it calls for. Returns when the enrollment's own issuer
    first accepted it (NEVER if it never did)."""
    accepted_at = np.full(chunk.n, NEVER)  # the earliest acceptance by the enrollment's own issuer
    slowness = np.array([i.ack_slowness for i in issuers])
    pending = np.flatnonzero((first.send_at != NEVER) & (first.send_at <= EXPORT_AT))
    times = first.send_at[pending]
    for _attempt in range(3):
        if pending.size == 0:
            break
        e = pending
        kind = defect_kinds(rng, chunk, e, times, first)
        sent = sent_834s(rng, chunk, e, kind, apps, people, issuers)
        slow = slowness[apps.issuer_idx[e]]
        ack = acknowledgements_999(rng, times, kind, slow)
        log.add(
            direction=np.full(e.size, "outbound", object),
            enrollment_id=sent.enrollment_id,
            issuer_id=sent.to_issuer,
            maintenance_type=np.full(e.size, "021", object),
            maintenance_reason=np.full(e.size, "EC", object),
            sent_at=times,
            ack_code=ack.ack_code,
            ack_at=ack.ack_at,
            error_code=ack.error_code,
            plan_id=sent.tx_plan,
            coverage_start_date=people.coverage[e],
            total_premium=people.premium[e],
            aptc_amount=sent.tx_aptc,
            member_count=sent.tx_members,
            subscriber_birth_date=sent.tx_birth,
        )
        good = (
            (~sent.unmatched)
            & (sent.to_issuer == apps.issuer[e])
            & np.isin(ack.ack_code, ["A", "E"])
            & (ack.ack_at <= EXPORT_AT)
        )
        accepted_at[e[good]] = np.minimum(accepted_at[e[good]], np.maximum(times[good], ack.ack_at[good]))
        duplicates(rng, e, times, kind, sent, slow, apps, people, log)
        pending, times = resends(rng, e, times, kind, ack.ack_at, cancelled)
    return accepted_at


# ------------------------------------------------------------- binder payments


@dataclass(frozen=True)
class Payments:
    due: np.ndarray  # the binder payment's due date: the day before coverage starts
    paid_at: np.ndarray  # NEVER if not paid
    # one list per payment attempt (the redirect, then paying after it): the enrollments and their
    # redirected_at, redirect_status, paid_at and payment_status
    attempts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def binder_payments(
    rng: np.random.Generator,
    chunk: Chunk,
    apps: Applications,
    sel: Selections,
    people: Enrollees,
    cancelled: np.ndarray,
    pay_rates: dict[str, float],
    nc_issuer: str,
) -> Payments:
    """Binder payments: redirected to the issuer at plan selection, paid before coverage starts
    (mostly). A 100% subsidy owes nothing and gets no payment. One North Carolina issuer's payment
    link was broken until its fix: nobody could pay there until then, some came back and paid."""
    n, selected, canary = chunk.n, sel.selected, chunk.canary
    pay_rate = np.array([pay_rates[s] for s in apps.state])
    owes = sel.has_plan & (people.responsible > 0)
    redirected = np.where(owes & (rng.random(n) < 0.95), selected + rng.integers(MINUTE, 20 * MINUTE, n), NEVER)
    broken_era = (apps.issuer == nc_issuer) & (redirected < NC_PAYMENT_FIX)
    r = rng.random(n)
    normal_status = np.where(
        redirected < FIX_WEEKEND_834,
        np.select([r < 0.90, r < 0.94, r < 0.97], ["ok", "timeout", "error"], "broken_link"),
        np.select([r < 0.97, r < 0.985], ["ok", "timeout"], "error"),
    )
    redirect_status = np.where(broken_era, np.where(r < 0.18, "ok", "broken_link"), normal_status).astype(object)
    due = people.coverage - DAY
    if canary:
        pay_rate = np.full(n, 0.97)
    will_pay = owes & (rng.random(n) < pay_rate)
    pay_delay = np.where(
        rng.random(n) < 0.6, rng.exponential(2 * DAY, n), rng.uniform(0, 1, n) * np.maximum(due - selected, DAY)
    ).astype(np.int64)
    if canary:
        pay_delay = rng.exponential(2 * HOUR, n).astype(np.int64)  # testers pay at once
    paid_at = np.where(will_pay, selected + HOUR + pay_delay, NEVER)
    paid_at = np.where(will_pay & (rng.random(n) < 0.08), due + rng.integers(1 * DAY, 10 * DAY, n), paid_at)
    # the broken link: nobody could pay until the fix; some came back afterwards and paid
    blocked = will_pay & broken_era
    came_back = blocked & (rng.random(n) < 0.45)
    paid_at = np.where(blocked, np.where(came_back, NC_PAYMENT_FIX + rng.integers(HOUR, 12 * DAY, n), NEVER), paid_at)
    paid_at = np.where(paid_at >= cancelled, NEVER, paid_at)
    paid_at = np.where(paid_at > EXPORT_AT, NEVER, paid_at)
    first_ok = (redirect_status == "ok") & ~broken_era
    # attempt 1: the redirect; it carries the payment when the page worked and the consumer paid in one go
    pays_on_first = first_ok & (paid_at != NEVER) & ~came_back
    first_status = np.where(
        pays_on_first,
        "paid",
        np.where(
            redirect_status == "ok",
            np.where(broken_era, "failed", np.where(rng.random(n) < 0.5, "abandoned", "pending")),
            "failed",
        ),
    ).astype(object)
    has_first = (redirected != NEVER) & (redirected <= EXPORT_AT)
    # attempt 2: paying after a failed first attempt (through a new redirect or directly on the issuer's site)
    second = (paid_at != NEVER) & ~pays_on_first
    direct = owes & (redirected == NEVER) & (paid_at != NEVER)
    second |= direct
    second_redirect = np.where(second & (rng.random(n) < 0.7) & ~direct, paid_at - rng.integers(MINUTE, HOUR, n), NEVER)
    attempts = []
    for rows_mask, red, status, paid, red_status in (
        (has_first, redirected, first_status, np.where(pays_on_first, paid_at, NEVER), redirect_status),
        (
            second,
            second_redirect,
            np.full(n, "paid", object),
            paid_at,
            np.where(second_redirect != NEVER, "ok", None).astype(object),
        ),
    ):
        idx = np.flatnonzero(rows_mask)
        attempts.append((idx, red[idx], red_status[idx], paid[idx], status[idx]))
    return Payments(due, paid_at, attempts)


# ------------------------------------------------------- the issuer's side: 834s in


def effectuations(
    rng: np.random.Generator,
    chunk: Chunk,
    apps: Applications,
    people: Enrollees,
    accepted_at: np.ndarray,
    pay: Payments,
    first: FirstSends,
    cancelled: np.ndarray,
    log: Log834,
) -> None:
    """The issuer effectuates an accepted enrollment once it is paid (at once if it owes nothing):
    an inbound 834 (021, reason 28). A few carry the issuer's own policy number or another subsidy."""
    n, paid_at = chunk.n, pay.paid_at
    ready = np.where(people.responsible == 0, accepted_at, np.maximum(accepted_at, paid_at))
    ready = np.where((accepted_at == NEVER) | ((people.responsible > 0) & (paid_at == NEVER)), NEVER, ready)
    eff_delay = rng.lognormal(np.log(6 * HOUR if chunk.canary else 2 * DAY), 0.6, n).astype(np.int64)
    eff_at = np.where(ready != NEVER, ready + eff_delay, NEVER)
    eff_at = np.where(rng.random(n) < 0.04, NEVER, eff_at)
    if chunk.canary:
        eff_at = np.where(first.canary_stuck & (first.canary_stage == 2), NEVER, eff_at)
    eff_at = np.where((eff_at > EXPORT_AT) | (eff_at >= cancelled), NEVER, eff_at)
    eff = np.flatnonzero(eff_at != NEVER)
    k = eff.size
    eff_eid = chunk.enrollment_ids(eff)
    issuer_only = rng.random(k) < 0.004  # the issuer's own policy number, unknown to the exchange
    eff_eid[issuer_only] = np.array([f"ISS{x}" for x in eff_eid[issuer_only]], dtype=object)
    eff_aptc = np.where(rng.random(k) < 0.02, people.aptc[eff] + 1000, people.aptc[eff])
    log.add_as_enrolled(
        eff,
        people,
        direction="inbound",
        enrollment_id=eff_eid,
        issuer_id=apps.issuer[eff],
        maintenance_type="021",
        maintenance_reason="28",
        sent_at=eff_at[eff],
        ack_at=eff_at[eff] + 30 * MINUTE,
        aptc_amount=eff_aptc,
    )


def nonpayment_terminations(
    rng: np.random.Generator,
    chunk: Chunk,
    apps: Applications,
    people: Enrollees,
    accepted_at: np.ndarray,
    pay: Payments,
    cancelled: np.ndarray,
    log: Log834,
) -> np.ndarray:
    """Issuers terminate half the accepted-but-unpaid enrollments some weeks after the due date
    (inbound 024, reason 59). Returns when (NEVER if not terminated)."""
    n = chunk.n
    unpaid = (accepted_at != NEVER) & (people.responsible > 0) & (pay.paid_at == NEVER)
    term_at = np.where(unpaid & (rng.random(n) < 0.5), pay.due + rng.integers(5 * DAY, 25 * DAY, n), NEVER)
    term_at = np.where((term_at > EXPORT_AT) | (term_at >= cancelled), NEVER, term_at)
    term = np.flatnonzero(term_at != NEVER)
    log.add_as_enrolled(
        term,
        people,
        direction="inbound",
        enrollment_id=chunk.enrollment_ids(term),
        issuer_id=apps.issuer[term],
        maintenance_type="024",
        maintenance_reason="59",
        sent_at=term_at[term],
        ack_at=term_at[term] + 30 * MINUTE,
    )
    return term_at


def cancellation_834s(
    rng: np.random.Generator,
    chunk: Chunk,
    apps: Applications,
    people: Enrollees,
    accepted_at: np.ndarray,
    term_at: np.ndarray,
    cancelled: np.ndarray,
    log: Log834,
) -> np.ndarray:
    """A termination cancels the enrollment a day later; the exchange tells the issuer about a
    voluntary cancellation (outbound 024, reason 14). Returns the enrollments' cancelled_at as the
    export has it (NEVER after its cut-off)."""
    n = chunk.n
    cancelled = np.where(term_at != NEVER, np.minimum(cancelled, term_at + DAY), cancelled)
    # the exchange tells the issuer about a voluntary cancellation (outbound 024, reason 14)
    told = (cancelled != NEVER) & (accepted_at != NEVER) & (accepted_at < cancelled) & (term_at == NEVER)
    cancel_834 = np.where(told, cancelled + rng.integers(HOUR, 2 * DAY, n), NEVER)
    cancel_834 = np.where(cancel_834 > EXPORT_AT, NEVER, cancel_834)
    c_idx = np.flatnonzero(cancel_834 != NEVER)
    c = c_idx.size
    log.add_as_enrolled(
        c_idx,
        people,
        direction="outbound",
        enrollment_id=chunk.enrollment_ids(c_idx),
        issuer_id=apps.issuer[c_idx],
        maintenance_type="024",
        maintenance_reason="14",
        sent_at=cancel_834[c_idx],
        ack_at=cancel_834[c_idx] + rng.lognormal(np.log(3 * HOUR), 0.9, c).astype(np.int64),
    )
    return np.where(cancelled > EXPORT_AT, NEVER, cancelled)
