"""Builds small literal exports on disk, in the data contract's layout, for tests."""

from __future__ import annotations

import csv
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dashboard.contract import PARQUET_TABLES, arrow_schema

# the contract's parquet tables as this repository writes them (independently stated in test_contract.py)
SCHEMAS = {table.name: arrow_schema(table) for table in PARQUET_TABLES}

ISSUER = "10001"
STATE = "NC"
PLAN = "10001NC0010001" + "01"
BIRTH = date(1980, 5, 17)
COVERAGE = date(2014, 1, 1)


def ts(text: str) -> datetime:
    """'2013-12-01 10:00' -> naive UTC datetime."""
    return datetime.fromisoformat(text)


def enrollment(enrollment_id: str, **overrides: Any) -> dict[str, Any]:
    row = {
        "enrollment_id": enrollment_id,
        "application_id": f"A-{enrollment_id}",
        "subscriber_id": f"S-{enrollment_id}",
        "state": STATE,
        "issuer_id": ISSUER,
        "plan_id": PLAN,
        "metal_level": "silver",
        "channel": "online",
        "subscriber_birth_date": BIRTH,
        "member_count": 1,
        "total_premium": Decimal("400.00"),
        "aptc_amount": Decimal("250.00"),
        "application_submitted_at": ts("2013-11-01 09:00"),
        "plan_selected_at": ts("2013-11-01 10:00"),
        "coverage_start_date": COVERAGE,
        "cancelled_at": None,
        "is_test": False,
    }
    row.update(overrides)
    return row


def outbound(transaction_id: str, enrollment_id: str | None, sent_at: str, **overrides: Any) -> dict[str, Any]:
    """An initial-enrollment 834 from the exchange that agrees with enrollment()'s defaults."""
    row = {
        "transaction_id": transaction_id,
        "direction": "outbound",
        "enrollment_id": enrollment_id,
        "issuer_id": ISSUER,
        "maintenance_type": "021",
        "maintenance_reason": "EC",
        "sent_at": ts(sent_at),
        "ack_code": None,
        "ack_at": None,
        "error_code": None,
        "plan_id": PLAN,
        "coverage_start_date": COVERAGE,
        "total_premium": Decimal("400.00"),
        "aptc_amount": Decimal("250.00"),
        "member_count": 1,
        "subscriber_birth_date": BIRTH,
    }
    row.update(overrides)
    return row


def accepted(transaction_id: str, enrollment_id: str | None, sent_at: str, ack_at: str, **overrides):
    return outbound(transaction_id, enrollment_id, sent_at, ack_code="A", ack_at=ts(ack_at), **overrides)


def effectuation(transaction_id: str, enrollment_id: str | None, sent_at: str, **overrides: Any):
    """The issuer's inbound 021 reason 28 confirming coverage."""
    row = outbound(transaction_id, enrollment_id, sent_at, direction="inbound", maintenance_reason="28")
    row.update(overrides)
    return row


def payment(
    payment_id: str,
    enrollment_id: str,
    *,
    redirected_at: str | None = None,
    redirect_status: str | None = None,
    paid_at: str | None = None,
    payment_status: str = "pending",
    amount: Decimal | None = None,
    issuer_id: str = ISSUER,
):
    return {
        "payment_id": payment_id,
        "enrollment_id": enrollment_id,
        "issuer_id": issuer_id,
        "redirected_at": ts(redirected_at) if redirected_at else None,
        "redirect_status": redirect_status,
        "paid_at": ts(paid_at) if paid_at else None,
        "amount": amount,
        "payment_status": payment_status,
    }


def write_table(path: Path, table: str, rows: list[dict[str, Any]], schema: pa.Schema | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = schema or SCHEMAS[table]
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    pq.write_table(pa.table(columns, schema=schema), path)
    return path


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_export(root: Path, *, enrollments=(), transactions=(), payments=(), releases=None, issuers=None) -> Path:
    """A complete export: the three tables (one file each) and both CSV files."""
    write_table(root / "enrollments" / "part-0.parquet", "enrollments", list(enrollments))
    write_table(root / "transactions_834" / "part-0.parquet", "transactions_834", list(transactions))
    write_table(root / "payments" / "part-0.parquet", "payments", list(payments))
    write_csv(root / "releases.csv", ["release_id", "deployed_at", "component", "title", "issuer_id"], releases or [])
    write_csv(
        root / "issuers.csv",
        ["issuer_id", "issuer_name", "state"],
        issuers if issuers is not None else [[ISSUER, "Test Mutual", STATE]],
    )
    return root
