"""The chunk's three tables, as the export writes them: enrollments, transactions_834, payments."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .columns import date_array, id_array, money_array, str_array, ts_array
from .scenario import METALS, NEVER
from .steps import Applications, Chunk, Enrollees, Log834, Payments, Selections


def enrollments_table(
    chunk: Chunk, apps: Applications, sel: Selections, people: Enrollees, cancelled: np.ndarray
) -> pa.Table:
    n, first_index, canary, has_plan = chunk.n, chunk.first_index, chunk.canary, sel.has_plan
    plan_mask = ~has_plan
    return pa.table(
        {
            "enrollment_id": pa.array(chunk.enrollment_ids(np.arange(n)), pa.string()),
            "application_id": id_array("APP", first_index + np.arange(n), 10)
            if not canary
            else id_array("TAPP", np.arange(n), 6),
            "subscriber_id": id_array("SUB", first_index + np.arange(n), 10)
            if not canary
            else id_array("TSUB", np.arange(n), 6),
            "state": str_array(apps.state),
            "issuer_id": str_array(apps.issuer),
            "plan_id": pa.array(people.plan_id, pa.string(), mask=plan_mask),
            "metal_level": pa.array(METALS[people.metal_idx].astype(object), pa.string(), mask=plan_mask),
            "channel": str_array(people.channel),
            "subscriber_birth_date": date_array(people.birth),
            "member_count": pa.array(people.members.astype(np.int32)),
            "total_premium": money_array(np.where(has_plan, people.premium, NEVER)),
            "aptc_amount": money_array(np.where(has_plan, people.aptc, NEVER)),
            "application_submitted_at": ts_array(apps.applied),
            "plan_selected_at": ts_array(sel.selected),
            "coverage_start_date": date_array(np.where(has_plan, people.coverage, NEVER)),
            "cancelled_at": ts_array(cancelled),
            "is_test": pa.array(np.full(n, canary)),
        }
    )


def transactions_table(log: Log834) -> pa.Table:
    """The logged 834s in sending order (ties by transaction id)."""
    tx = log.columns()
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
    return transactions.take(order)


def payments_table(chunk: Chunk, apps: Applications, people: Enrollees, pay: Payments) -> pa.Table:
    """One row per payment attempt: all first attempts, then all second ones."""
    rows = pay.attempts
    idx = np.concatenate([p[0] for p in rows])
    paid = np.concatenate([p[3] for p in rows])
    return pa.table(
        {
            "payment_id": id_array(f"PAY{'C' if chunk.canary else ''}{chunk.number:04d}-", np.arange(idx.size), 8),
            "enrollment_id": pa.array(chunk.enrollment_ids(idx), pa.string()),
            "issuer_id": str_array(apps.issuer[idx]),
            "redirected_at": ts_array(np.concatenate([p[1] for p in rows])),
            "redirect_status": pa.array(np.concatenate([p[2] for p in rows]), pa.string()),
            "paid_at": ts_array(paid),
            "amount": money_array(np.where(paid != NEVER, people.responsible[idx], NEVER)),
            "payment_status": str_array(np.concatenate([p[4] for p in rows])),
        }
    )
