"""The parquet tables' Arrow schemas as the data contract states them, written out by hand.

dashboard/contract.py builds these schemas from its column kinds (arrow_schema), and the ingester
and tests/exportkit.py write with them; the literal lists here are the independent statement that
the built schemas are checked against. Change them only when the data contract changes.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from exportkit import SCHEMAS

from dashboard import contract as c
from dashboard.x12 import ingest

MONEY = pa.decimal128(10, 2)  # dollars with cents
TIMESTAMP = pa.timestamp("us")  # naive values are UTC

STATED = {
    "enrollments": [
        ("enrollment_id", pa.string()),
        ("application_id", pa.string()),
        ("subscriber_id", pa.string()),
        ("state", pa.string()),
        ("issuer_id", pa.string()),
        ("plan_id", pa.string()),
        ("metal_level", pa.string()),
        ("channel", pa.string()),
        ("subscriber_birth_date", pa.date32()),
        ("member_count", pa.int32()),
        ("total_premium", MONEY),
        ("aptc_amount", MONEY),
        ("application_submitted_at", TIMESTAMP),
        ("plan_selected_at", TIMESTAMP),
        ("coverage_start_date", pa.date32()),
        ("cancelled_at", TIMESTAMP),
        ("is_test", pa.bool_()),
    ],
    "transactions_834": [
        ("transaction_id", pa.string()),
        ("direction", pa.string()),
        ("enrollment_id", pa.string()),
        ("issuer_id", pa.string()),
        ("maintenance_type", pa.string()),
        ("maintenance_reason", pa.string()),
        ("sent_at", TIMESTAMP),
        ("ack_code", pa.string()),
        ("ack_at", TIMESTAMP),
        ("error_code", pa.string()),
        ("plan_id", pa.string()),
        ("coverage_start_date", pa.date32()),
        ("total_premium", MONEY),
        ("aptc_amount", MONEY),
        ("member_count", pa.int32()),
        ("subscriber_birth_date", pa.date32()),
    ],
    "payments": [
        ("payment_id", pa.string()),
        ("enrollment_id", pa.string()),
        ("issuer_id", pa.string()),
        ("redirected_at", TIMESTAMP),
        ("redirect_status", pa.string()),
        ("paid_at", TIMESTAMP),
        ("amount", MONEY),
        ("payment_status", pa.string()),
    ],
}


@pytest.mark.parametrize("table", sorted(STATED))
def test_arrow_schema_is_the_stated_one(table):
    schema = c.arrow_schema(table)
    assert [(f.name, f.type) for f in schema] == STATED[table]
    assert all(f.nullable for f in schema)  # nulls are the reader's to check, not the file type's
    assert schema.equals(pa.schema(STATED[table]))
    assert c.arrow_schema(next(t for t in c.PARQUET_TABLES if t.name == table)).equals(schema)


def test_the_writers_use_it():
    assert ingest.SCHEMA.equals(pa.schema(STATED["transactions_834"]))
    assert sorted(SCHEMAS) == sorted(STATED)
    for table, fields in STATED.items():
        assert SCHEMAS[table].equals(pa.schema(fields)), table


def test_only_parquet_tables_have_one():
    with pytest.raises(KeyError, match="releases"):
        c.arrow_schema("releases")  # the CSV files are read as text
