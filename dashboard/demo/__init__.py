"""Writes a demo export shaped like autumn 2013 on the federal marketplace (../shared/spec/scenario.md).

Deterministic for a seed and size: every chunk of enrollments has its own random stream derived
from (seed, chunk number), so the files do not depend on how the work is scheduled. Chunks are
generated and written one at a time, which keeps memory flat whatever the size.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .columns import date_array, id_array, money_array, str_array, ts_array
from .scenario import (
    CHANNEL_P,
    CHANNELS,
    CHUNK_SIZE,
    DAY,
    DEFAULT_SEED,
    DEMO_ENROLLMENTS,
    EXPORT_AT,
    FIX_WEEKEND_834,
    HOUR,
    HOUR_WEIGHTS,
    JANUARY_834_FIX,
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
    build_issuers,
    canary_count,
    daily_application_weights,
    day_start,
    epoch_us,
    nc_payment_link_issuer,
    releases,
    state_pay_rates,
)
from .writer import ExportWriter, GenerateError, export_is_empty, prepare_output

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_SEED",
    "DEMO_ENROLLMENTS",
    "STATES",
    "GenerateError",
    "Issuer",
    "build_issuers",
    "canary_count",
    "ensure_default_export",
    "export_is_empty",
    "generate",
    "generate_chunk",
    "nc_payment_link_issuer",
    "releases",
    "state_pay_rates",
]


def generate_chunk(
    seed: int,
    chunk: int,
    first_index: int,
    n: int,
    issuers: list[Issuer],
    pay_rates: dict[str, float],
    canary: bool = False,
) -> dict[str, pa.Table]:
    rng = np.random.default_rng([seed, chunk, 1 if canary else 0])
    issuer_ids = np.array([i.issuer_id for i in issuers])
    issuer_state = np.array([i.state for i in issuers])
    slowness = np.array([i.ack_slowness for i in issuers])
    nc_issuer = nc_payment_link_issuer(issuers).issuer_id

    # --- who applies, when, where
    if canary:
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
    issuer = issuer_ids[issuer_idx]
    state = issuer_state[issuer_idx]
    applied = np.minimum(applied, EXPORT_AT)

    # --- plan selection: the October front end barely worked; many never select
    select_p = np.where(applied < epoch_us(date(2013, 11, 1)), 0.45, np.where(applied < FIX_WEEKEND_834, 0.60, 0.72))
    if canary:
        select_p = np.ones(n)
    selects = rng.random(n) < select_p
    same_session = rng.random(n) < 0.7
    delay = np.where(same_session, rng.exponential(40 * MINUTE, n), rng.exponential(3 * DAY, n)).astype(np.int64)
    selected = np.where(selects, applied + delay + SECOND, NEVER)
    selected = np.where(selected > EXPORT_AT, NEVER, selected)
    has_plan = selected != NEVER

    # --- who they are and what they chose (plan fields are null until a plan is selected)
    age_band = rng.choice(3, size=n, p=[0.24, 0.43, 0.33])
    age = np.choose(age_band, [rng.integers(18, 35, n), rng.integers(35, 55, n), rng.integers(55, 65, n)])
    birth = epoch_us(date(2014, 1, 1)) - age * 365 * DAY - rng.integers(0, 365, n) * DAY
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
    if canary:
        aptc = np.where(rng.random(n) < 0.5, premium, aptc)  # half the canaries owe nothing
    responsible = np.maximum(0, premium - aptc)
    coverage = np.select(
        [selected <= epoch_us(datetime(2013, 12, 24, 5)), selected <= epoch_us(date(2014, 1, 16))],
        [np.full(n, epoch_us(date(2014, 1, 1))), np.full(n, epoch_us(date(2014, 2, 1)))],
        epoch_us(date(2014, 3, 1)),
    )
    plan_number = 1 + metal_idx
    plan_id = pc.binary_join_element_wise(
        pa.array(issuer), pa.array(state), id_array("", 10 * plan_number, 7), pa.array(np.full(n, "01")), ""
    )
    plan_np = plan_id.to_numpy(zero_copy_only=False).astype(object)
    channel = CHANNELS[rng.choice(len(CHANNELS), size=n, p=CHANNEL_P)]

    # voluntary cancellations by the consumer
    cancelled = np.where(
        has_plan & (rng.random(n) < 0.04), selected + rng.exponential(10 * DAY, n).astype(np.int64), NEVER
    )

    tx_parts: dict[str, list[np.ndarray]] = {}
    tx_counter = [0]

    def add_834(**cols) -> None:
        count = len(cols["sent_at"])
        start = tx_counter[0]
        tx_counter[0] += count
        prefix = f"T{'C' if canary else ''}{chunk:04d}-"
        cols["transaction_id"] = id_array(prefix, np.arange(start, start + count), 8).to_numpy(zero_copy_only=False)
        # acknowledgements after the export's cut-off have not arrived yet
        late = np.asarray(cols["ack_at"]) > EXPORT_AT
        cols["ack_at"] = np.where(late, NEVER, cols["ack_at"])
        cols["ack_code"] = np.where(late, None, np.asarray(cols["ack_code"], dtype=object))
        for key, value in cols.items():
            tx_parts.setdefault(key, []).append(np.asarray(value))

    def enrollment_id_of(idx: np.ndarray) -> np.ndarray:
        ids = id_array("TEST-", first_index + idx, 6) if canary else id_array("", first_index + idx, 10)
        return ids.to_numpy(zero_copy_only=False).astype(object)

    def error_p(sent: np.ndarray) -> np.ndarray:
        """Share of outbound 834s with a defect, by sending time: ~1 in 4, ~1 in 10 after Dec 1, lower in January."""
        after = np.clip((sent - FIX_WEEKEND_834) / (5 * DAY), 0, 1)
        p = np.where(sent < FIX_WEEKEND_834, 0.25, 0.14 - 0.04 * after)
        return np.where(sent >= JANUARY_834_FIX, 0.05, p)

    # --- outbound 834s from the exchange, with re-sends after rejects and complaints
    never_sent_p = np.where(selected < FIX_WEEKEND_834, 0.11, 0.002)
    never_sent = has_plan & (rng.random(n) < never_sent_p)
    # the Dec 1 release re-sent most of the backlog of enrollments that had never been sent
    backfilled = never_sent & (selected < FIX_WEEKEND_834) & (rng.random(n) < 0.85)
    first_send = np.where(
        selected < FIX_WEEKEND_834,
        selected + rng.lognormal(np.log(12 * HOUR), 0.8, n).astype(np.int64),
        selected + rng.lognormal(np.log(2 * HOUR), 0.8, n).astype(np.int64),
    )
    first_send = np.where(backfilled, FIX_WEEKEND_834 + rng.integers(1 * DAY, 11 * DAY, n), first_send)
    if canary:
        stuck_p = np.where(applied < FIX_WEEKEND_834, 0.40, 0.05)
        canary_stuck = rng.random(n) < stuck_p
        canary_stage = rng.choice(3, size=n)  # where a stuck canary stops: 834, acknowledgement, effectuation
        never_sent = canary_stuck & (canary_stage == 0)
        backfilled = np.zeros(n, bool)
    sends = has_plan & (~never_sent | backfilled)
    send_at = np.where(sends, first_send, NEVER)
    send_at = np.where(send_at >= cancelled, NEVER, send_at)  # cancelled before the exchange sent anything
    accepted_at = np.full(n, NEVER)  # the earliest acceptance by the enrollment's own issuer

    pending = np.flatnonzero((send_at != NEVER) & (send_at <= EXPORT_AT))
    times = send_at[pending]
    for _attempt in range(3):
        if pending.size == 0:
            break
        m = pending.size
        p_err = error_p(times)
        if canary:
            p_err = np.zeros(m)
        draw = rng.random(m)
        kind = np.full(m, "clean", dtype=object)
        cum = 0.0
        for name, share in (
            ("mismatch", 0.34),
            ("reject", 0.18),
            ("unack", 0.12),
            ("unmatched", 0.08),
            ("wrong_issuer", 0.06),
            ("duplicate", 0.22),
        ):
            hit = (draw >= cum * p_err) & (draw < (cum + share) * p_err)
            kind[hit] = name
            cum += share
        if canary:
            kind[canary_stuck[pending] & (canary_stage[pending] == 1)] = "unack"
        e = pending
        to_issuer = issuer[e].copy()
        if np.any(kind == "wrong_issuer"):
            wrong = np.flatnonzero(kind == "wrong_issuer")
            to_issuer[wrong] = issuer_ids[rng.integers(0, len(issuers), wrong.size)]
        eid = enrollment_id_of(e)
        unmatched = kind == "unmatched"
        eid[unmatched] = np.array([s.lstrip("0") or "0" for s in eid[unmatched]], dtype=object)  # leading zeros lost
        # field-level defects: the wrong subsidy, birth date, member count or plan variant
        field = rng.choice(4, size=m, p=[0.5, 0.2, 0.15, 0.15])
        mism = kind == "mismatch"
        tx_aptc = np.where(mism & (field == 0), aptc[e] + rng.integers(-5000, 5000, m) // 100 * 100 + 100, aptc[e])
        tx_birth = np.where(mism & (field == 1), birth[e] + DAY * rng.integers(1, 400, m), birth[e])
        tx_members = np.where(mism & (field == 2), members[e] + 1, members[e])
        plan_e = plan_np[e]
        tx_plan = plan_e.copy()
        variant = np.flatnonzero(mism & (field == 3))
        tx_plan[variant] = np.array([p[:-2] + "04" for p in plan_e[variant]], dtype=object)
        # the receiver's 999: most within hours, some days late, some never; a few stamped early
        slow = slowness[issuer_idx[e]]
        ack_delay = (
            np.where(rng.random(m) < 0.88, rng.lognormal(np.log(3 * HOUR), 0.9, m), rng.uniform(1 * DAY, 6 * DAY, m))
            * slow
        )
        ack_delay = np.where(rng.random(m) < 0.003, -rng.uniform(MINUTE, 2 * HOUR, m), ack_delay)
        ack_at = times + ack_delay.astype(np.int64)
        ack_code = np.where(kind == "reject", "R", np.where(rng.random(m) < 0.04, "E", "A")).astype(object)
        ack_at = np.where(kind == "unack", NEVER, ack_at)
        ack_code[kind == "unack"] = None
        error_code = np.where(kind == "reject", REJECT_CODES[rng.integers(0, len(REJECT_CODES), m)], None)
        add_834(
            direction=np.full(m, "outbound", object),
            enrollment_id=eid,
            issuer_id=to_issuer,
            maintenance_type=np.full(m, "021", object),
            maintenance_reason=np.full(m, "EC", object),
            sent_at=times,
            ack_code=ack_code,
            ack_at=ack_at,
            error_code=error_code.astype(object),
            plan_id=tx_plan,
            coverage_start_date=coverage[e],
            total_premium=premium[e],
            aptc_amount=tx_aptc,
            member_count=tx_members,
            subscriber_birth_date=tx_birth,
        )
        good = (~unmatched) & (to_issuer == issuer[e]) & np.isin(ack_code, ["A", "E"]) & (ack_at <= EXPORT_AT)
        accepted_at[e[good]] = np.minimum(accepted_at[e[good]], np.maximum(times[good], ack_at[good]))
        # a duplicate: the same 834 sent again hours later
        dup = np.flatnonzero(kind == "duplicate")
        if dup.size:
            dsent = times[dup] + rng.integers(10 * MINUTE, 8 * HOUR, dup.size)
            keep = dsent <= EXPORT_AT
            dup, dsent = dup[keep], dsent[keep]
            dack = dsent + (rng.lognormal(np.log(3 * HOUR), 0.9, dup.size) * slow[dup]).astype(np.int64)
            add_834(
                direction=np.full(dup.size, "outbound", object),
                enrollment_id=eid[dup],
                issuer_id=issuer[e[dup]],
                maintenance_type=np.full(dup.size, "021", object),
                maintenance_reason=np.full(dup.size, "EC", object),
                sent_at=dsent,
                ack_code=np.full(dup.size, "A", object),
                ack_at=dack,
                error_code=np.full(dup.size, None, object),
                plan_id=plan_e[dup],
                coverage_start_date=coverage[e[dup]],
                total_premium=premium[e[dup]],
                aptc_amount=aptc[e[dup]],
                member_count=members[e[dup]],
                subscriber_birth_date=birth[e[dup]],
            )
        # re-sends: after a reject, after the issuer complains, after silence
        resend_p = np.select(
            [kind == "reject", kind == "unmatched", kind == "wrong_issuer", kind == "unack"],
            [0.85, 0.85, 0.85, 0.4],
            0.0,
        )
        base = np.where(kind == "reject", np.where(ack_at == NEVER, times, ack_at), times)
        next_at = base + rng.integers(1 * DAY, 6 * DAY, m)
        again = (rng.random(m) < resend_p) & (next_at <= EXPORT_AT) & (next_at < cancelled[e])
        pending, times = e[again], next_at[again]

    # --- binder payments: redirected at plan selection, paid before coverage starts (mostly)
    pay_rate = np.array([pay_rates[s] for s in state])
    owes = has_plan & (responsible > 0)
    redirected = np.where(owes & (rng.random(n) < 0.95), selected + rng.integers(MINUTE, 20 * MINUTE, n), NEVER)
    broken_era = (issuer == nc_issuer) & (redirected < NC_PAYMENT_FIX)
    r = rng.random(n)
    normal_status = np.where(
        redirected < FIX_WEEKEND_834,
        np.select([r < 0.90, r < 0.94, r < 0.97], ["ok", "timeout", "error"], "broken_link"),
        np.select([r < 0.97, r < 0.985], ["ok", "timeout"], "error"),
    )
    redirect_status = np.where(broken_era, np.where(r < 0.18, "ok", "broken_link"), normal_status).astype(object)
    due = coverage - DAY
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
    pay_rows = []
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
        pay_rows.append((idx, red[idx], red_status[idx], paid[idx], status[idx]))

    # --- the issuer's side: effectuation after payment, non-payment terminations, issuer-only records
    ready = np.where(responsible == 0, accepted_at, np.maximum(accepted_at, paid_at))
    ready = np.where((accepted_at == NEVER) | ((responsible > 0) & (paid_at == NEVER)), NEVER, ready)
    eff_delay = rng.lognormal(np.log(6 * HOUR if canary else 2 * DAY), 0.6, n).astype(np.int64)
    eff_at = np.where(ready != NEVER, ready + eff_delay, NEVER)
    eff_at = np.where(rng.random(n) < 0.04, NEVER, eff_at)
    if canary:
        eff_at = np.where(canary_stuck & (canary_stage == 2), NEVER, eff_at)
    eff_at = np.where((eff_at > EXPORT_AT) | (eff_at >= cancelled), NEVER, eff_at)
    eff = np.flatnonzero(eff_at != NEVER)
    k = eff.size
    eff_eid = enrollment_id_of(eff)
    issuer_only = rng.random(k) < 0.004  # the issuer's own policy number, unknown to the exchange
    eff_eid[issuer_only] = np.array([f"ISS{x}" for x in eff_eid[issuer_only]], dtype=object)
    eff_aptc = np.where(rng.random(k) < 0.02, aptc[eff] + 1000, aptc[eff])
    add_834(
        direction=np.full(k, "inbound", object),
        enrollment_id=eff_eid,
        issuer_id=issuer[eff],
        maintenance_type=np.full(k, "021", object),
        maintenance_reason=np.full(k, "28", object),
        sent_at=eff_at[eff],
        ack_code=np.full(k, "A", object),
        ack_at=eff_at[eff] + 30 * MINUTE,
        error_code=np.full(k, None, object),
        plan_id=plan_np[eff],
        coverage_start_date=coverage[eff],
        total_premium=premium[eff],
        aptc_amount=eff_aptc,
        member_count=members[eff],
        subscriber_birth_date=birth[eff],
    )
    # issuers terminate accepted-but-unpaid enrollments some weeks after the due date (024, reason 59)
    unpaid = (accepted_at != NEVER) & (responsible > 0) & (paid_at == NEVER)
    term_at = np.where(unpaid & (rng.random(n) < 0.5), due + rng.integers(5 * DAY, 25 * DAY, n), NEVER)
    term_at = np.where((term_at > EXPORT_AT) | (term_at >= cancelled), NEVER, term_at)
    term = np.flatnonzero(term_at != NEVER)
    t = term.size
    add_834(
        direction=np.full(t, "inbound", object),
        enrollment_id=enrollment_id_of(term),
        issuer_id=issuer[term],
        maintenance_type=np.full(t, "024", object),
        maintenance_reason=np.full(t, "59", object),
        sent_at=term_at[term],
        ack_code=np.full(t, "A", object),
        ack_at=term_at[term] + 30 * MINUTE,
        error_code=np.full(t, None, object),
        plan_id=plan_np[term],
        coverage_start_date=coverage[term],
        total_premium=premium[term],
        aptc_amount=aptc[term],
        member_count=members[term],
        subscriber_birth_date=birth[term],
    )
    cancelled = np.where(term_at != NEVER, np.minimum(cancelled, term_at + DAY), cancelled)
    # the exchange tells the issuer about a voluntary cancellation (outbound 024, reason 14)
    told = (cancelled != NEVER) & (accepted_at != NEVER) & (accepted_at < cancelled) & (term_at == NEVER)
    cancel_834 = np.where(told, cancelled + rng.integers(HOUR, 2 * DAY, n), NEVER)
    cancel_834 = np.where(cancel_834 > EXPORT_AT, NEVER, cancel_834)
    c_idx = np.flatnonzero(cancel_834 != NEVER)
    c = c_idx.size
    add_834(
        direction=np.full(c, "outbound", object),
        enrollment_id=enrollment_id_of(c_idx),
        issuer_id=issuer[c_idx],
        maintenance_type=np.full(c, "024", object),
        maintenance_reason=np.full(c, "14", object),
        sent_at=cancel_834[c_idx],
        ack_code=np.full(c, "A", object),
        ack_at=cancel_834[c_idx] + rng.lognormal(np.log(3 * HOUR), 0.9, c).astype(np.int64),
        error_code=np.full(c, None, object),
        plan_id=plan_np[c_idx],
        coverage_start_date=coverage[c_idx],
        total_premium=premium[c_idx],
        aptc_amount=aptc[c_idx],
        member_count=members[c_idx],
        subscriber_birth_date=birth[c_idx],
    )
    cancelled = np.where(cancelled > EXPORT_AT, NEVER, cancelled)

    # --- tables
    enrollment_ids = pa.array(enrollment_id_of(np.arange(n)), pa.string())
    plan_mask = ~has_plan
    enrollments = pa.table(
        {
            "enrollment_id": enrollment_ids,
            "application_id": id_array("APP", first_index + np.arange(n), 10)
            if not canary
            else id_array("TAPP", np.arange(n), 6),
            "subscriber_id": id_array("SUB", first_index + np.arange(n), 10)
            if not canary
            else id_array("TSUB", np.arange(n), 6),
            "state": str_array(state),
            "issuer_id": str_array(issuer),
            "plan_id": pa.array(plan_id.to_numpy(zero_copy_only=False).astype(object), pa.string(), mask=plan_mask),
            "metal_level": pa.array(METALS[metal_idx].astype(object), pa.string(), mask=plan_mask),
            "channel": str_array(channel),
            "subscriber_birth_date": date_array(birth),
            "member_count": pa.array(members.astype(np.int32)),
            "total_premium": money_array(np.where(has_plan, premium, NEVER)),
            "aptc_amount": money_array(np.where(has_plan, aptc, NEVER)),
            "application_submitted_at": ts_array(applied),
            "plan_selected_at": ts_array(selected),
            "coverage_start_date": date_array(np.where(has_plan, coverage, NEVER)),
            "cancelled_at": ts_array(cancelled),
            "is_test": pa.array(np.full(n, canary)),
        }
    )
    tx = {key: np.concatenate(parts) for key, parts in tx_parts.items()}
    transactions = pa.table(
        {
            "transaction_id": pa.array(tx["transaction_id"], pa.string()),
            "direction": str_array(tx["direction"]),
            "enrollment_id": pa.array(tx["enrollment_id"], pa.string()),
            "issuer_id": str_array(tx["issuer_id"]),
            "maintenance_type": str_array(tx["maintenance_type"]),
            "maintenance_reason": str_array(tx["maintenance_reason"]),
            "sent_at": ts_array(tx["sent_at"]),
            "ack_code": pa.array(tx["ack_code"], pa.string()),
            "ack_at": ts_array(tx["ack_at"]),
            "error_code": pa.array(tx["error_code"], pa.string()),
            "plan_id": pa.array(tx["plan_id"], pa.string()),
            "coverage_start_date": date_array(tx["coverage_start_date"]),
            "total_premium": money_array(tx["total_premium"]),
            "aptc_amount": money_array(tx["aptc_amount"]),
            "member_count": pa.array(tx["member_count"].astype(np.int32)),
            "subscriber_birth_date": date_array(tx["subscriber_birth_date"]),
        }
    )
    order = pc.sort_indices(transactions, [("sent_at", "ascending"), ("transaction_id", "ascending")])
    transactions = transactions.take(order)

    idx = np.concatenate([p[0] for p in pay_rows])
    pay_ids = pa.array(enrollment_id_of(idx), pa.string())
    payments = pa.table(
        {
            "payment_id": id_array(f"PAY{'C' if canary else ''}{chunk:04d}-", np.arange(idx.size), 8),
            "enrollment_id": pay_ids,
            "issuer_id": str_array(issuer[idx]),
            "redirected_at": ts_array(np.concatenate([p[1] for p in pay_rows])),
            "redirect_status": pa.array(np.concatenate([p[2] for p in pay_rows]), pa.string()),
            "paid_at": ts_array(np.concatenate([p[3] for p in pay_rows])),
            "amount": money_array(np.where(np.concatenate([p[3] for p in pay_rows]) != NEVER, responsible[idx], NEVER)),
            "payment_status": str_array(np.concatenate([p[4] for p in pay_rows])),
        }
    )
    return {"enrollments": enrollments, "transactions_834": transactions, "payments": payments}


def generate(
    out: Path,
    enrollments: int = DEMO_ENROLLMENTS,
    seed: int = DEFAULT_SEED,
    *,
    force: bool = False,
    progress: bool = True,
    x12_dir: Path | None = None,
) -> dict[str, int]:
    """Write a demo export of `enrollments` public enrollments (plus canaries) into `out`.

    With `x12_dir`, the 834s are also written there as X12 834 files with their 999
    acknowledgements, and the parquet rows are the ones X12 carries (times to the second, the issuer
    named by the plan, ...: see x12_write.x12_representable): ingesting those files gives the same
    transactions_834 rows (under other ids), so X12 → ingest → report gives the parquet numbers.
    """
    if enrollments < 1:
        raise GenerateError("--enrollments must be at least 1")
    out = Path(out)
    prepare_output(out, force)
    issuers = build_issuers(seed)
    pay_rates = state_pay_rates(seed)
    chunks = [
        (c, c * CHUNK_SIZE, min(CHUNK_SIZE, enrollments - c * CHUNK_SIZE))
        for c in range((enrollments + CHUNK_SIZE - 1) // CHUNK_SIZE)
    ]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(
            total=enrollments + canary_count(),
            unit=" enrollments",
            desc="Generating demo export",
            unit_scale=True,
            leave=True,
        )
    work = [(c, first, n, False) for c, first, n in chunks] + [(0, 0, canary_count(), True)]
    writer = ExportWriter(out, x12_dir)
    for c, first, n, canary in work:
        tables = generate_chunk(seed, c, first, n, issuers, pay_rates, canary=canary)
        writer.write_part(tables, f"part-canary-{c:05d}.parquet" if canary else f"part-{c:05d}.parquet")
        if bar:
            bar.update(n)
    if bar:
        bar.close()
    return writer.finish(issuers, releases(issuers))


def ensure_default_export(default: Path, notify) -> bool:
    """Fill the default export directory with the demo export when it is empty; True if it did.

    Only ever called for the default directory: a directory a user names is never written.
    """
    if not export_is_empty(default):
        return False
    notify(
        f"No export in {default}: generating the demo export there first "
        f"({DEMO_ENROLLMENTS:,} enrollments, autumn 2013)."
    )
    generate(default, DEMO_ENROLLMENTS, DEFAULT_SEED)
    notify(f"Generated the demo export in {default}; the numbers shown are demo data.")
    return True
