"""One chunk of the export: its own random stream, the story's steps in order, its three tables."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from . import steps
from .scenario import Issuer, nc_payment_link_issuer
from .tables import enrollments_table, payments_table, transactions_table


def generate_chunk(
    seed: int,
    chunk: int,
    first_index: int,
    n: int,
    issuers: list[Issuer],
    pay_rates: dict[str, float],
    canary: bool = False,
) -> dict[str, pa.Table]:
    """`n` enrollments from `first_index` (or `n` canaries), drawn from the stream (seed, chunk, canary).

    The steps share that stream: their order below is part of the output."""
    rng = np.random.default_rng([seed, chunk, 1 if canary else 0])
    c = steps.Chunk(chunk, first_index, n, canary)
    log = steps.Log834(c)

    apps = steps.applications(rng, c, issuers)
    sel = steps.plan_selections(rng, c, apps)
    people = steps.enrollees(rng, c, apps, sel)
    cancelled = steps.voluntary_cancellations(rng, c, sel)
    first = steps.first_sends(rng, c, apps, sel, cancelled)
    accepted_at = steps.outbound_834s(rng, c, apps, people, first, cancelled, issuers, log)
    pay = steps.binder_payments(
        rng, c, apps, sel, people, cancelled, pay_rates, nc_payment_link_issuer(issuers).issuer_id
    )
    steps.effectuations(rng, c, apps, people, accepted_at, pay, first, cancelled, log)
    term_at = steps.nonpayment_terminations(rng, c, apps, people, accepted_at, pay, cancelled, log)
    cancelled = steps.cancellation_834s(rng, c, apps, people, accepted_at, term_at, cancelled, log)

    return {
        "enrollments": enrollments_table(c, apps, sel, people, cancelled),
        "transactions_834": transactions_table(log),
        "payments": payments_table(c, apps, people, pay),
    }
