"""The data contract (docs/data-contract.md) as data: tables, columns, types."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

# Column kinds. Each maps to one DuckDB type in the prepared tables.
ID = "id"  # string; leading zeros significant; integer storage is a warning
TEXT = "text"  # free string
CODE = "code"  # string from a fixed list of values
TIMESTAMP = "timestamp"  # UTC, microseconds, stored as naive TIMESTAMP
DATE = "date"
MONEY = "money"  # dollars; prepared as whole cents (BIGINT), ties to even
INTEGER = "integer"
BOOLEAN = "boolean"

DUCKDB_TYPE = {
    ID: "VARCHAR",
    TEXT: "VARCHAR",
    CODE: "VARCHAR",
    TIMESTAMP: "TIMESTAMP",
    DATE: "DATE",
    MONEY: "BIGINT",
    INTEGER: "BIGINT",
    BOOLEAN: "BOOLEAN",
}

# The Arrow type each kind is written with by this repository's exporters (the ingester, the tests'
# exports). Readers accept more (timestamps with a time zone, money as double, ...): see engine/staging.py (column_expression).
ARROW_TYPE = {
    ID: pa.string(),
    TEXT: pa.string(),
    CODE: pa.string(),
    TIMESTAMP: pa.timestamp("us"),  # naive: the values are UTC
    DATE: pa.date32(),
    MONEY: pa.decimal128(10, 2),
    INTEGER: pa.int32(),
    BOOLEAN: pa.bool_(),
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    nullable: bool = False
    unique: bool = False
    codes: tuple[str, ...] = ()
    # An unknown code in a column the metrics branch on is an error; in a descriptive one, a warning.
    codes_drive_metrics: bool = True

    @property
    def prepared_name(self) -> str:
        """Money columns are prepared as cents, and say so in their name."""
        return f"{self.name}_cents" if self.kind == MONEY else self.name


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


ENROLLMENTS = Table(
    "enrollments",
    (
        Column("enrollment_id", ID, unique=True),
        Column("application_id", ID),
        Column("subscriber_id", ID),
        Column("state", TEXT),
        Column("issuer_id", ID),
        Column("plan_id", ID, nullable=True),
        Column(
            "metal_level",
            CODE,
            nullable=True,
            codes=("bronze", "silver", "gold", "platinum", "catastrophic"),
            codes_drive_metrics=False,
        ),
        Column("channel", CODE, codes=("online", "call_center", "assister", "paper"), codes_drive_metrics=False),
        Column("subscriber_birth_date", DATE),
        Column("member_count", INTEGER),
        Column("total_premium", MONEY, nullable=True),
        Column("aptc_amount", MONEY, nullable=True),
        Column("application_submitted_at", TIMESTAMP),
        Column("plan_selected_at", TIMESTAMP, nullable=True),
        Column("coverage_start_date", DATE, nullable=True),
        Column("cancelled_at", TIMESTAMP, nullable=True),
        Column("is_test", BOOLEAN),
    ),
)

TRANSACTIONS_834 = Table(
    "transactions_834",
    (
        Column("transaction_id", ID, unique=True),
        Column("direction", CODE, codes=("outbound", "inbound")),
        Column("enrollment_id", ID, nullable=True),
        Column("issuer_id", ID),
        Column("maintenance_type", CODE, codes=("021", "001", "024", "025", "030")),
        Column("maintenance_reason", TEXT, nullable=True),
        Column("sent_at", TIMESTAMP),
        Column("ack_code", CODE, nullable=True, codes=("A", "E", "R")),
        Column("ack_at", TIMESTAMP, nullable=True),
        Column("error_code", TEXT, nullable=True),
        Column("plan_id", ID, nullable=True),
        Column("coverage_start_date", DATE, nullable=True),
        Column("total_premium", MONEY, nullable=True),
        Column("aptc_amount", MONEY, nullable=True),
        Column("member_count", INTEGER, nullable=True),
        Column("subscriber_birth_date", DATE, nullable=True),
    ),
)

PAYMENTS = Table(
    "payments",
    (
        Column("payment_id", ID, unique=True),
        Column("enrollment_id", ID),
        Column("issuer_id", ID),
        Column("redirected_at", TIMESTAMP, nullable=True),
        Column(
            "redirect_status",
            CODE,
            nullable=True,
            codes=("ok", "broken_link", "timeout", "error"),
            codes_drive_metrics=False,
        ),
        Column("paid_at", TIMESTAMP, nullable=True),
        Column("amount", MONEY, nullable=True),
        Column("payment_status", CODE, codes=("paid", "failed", "abandoned", "pending")),
    ),
)

PARQUET_TABLES = (ENROLLMENTS, TRANSACTIONS_834, PAYMENTS)


def arrow_schema(table: str | Table) -> pa.Schema:
    """The Arrow schema a parquet table of the contract is written with: its columns in contract
    order, each of its kind's ARROW_TYPE. Every field is nullable in Arrow terms: whether a null is
    allowed is the contract's to check when the export is read, not the file's to refuse."""
    if isinstance(table, str):
        by_name = {t.name: t for t in PARQUET_TABLES}
        if table not in by_name:
            raise KeyError(f"{table!r} is not a parquet table of the contract ({', '.join(by_name)})")
        table = by_name[table]
    return pa.schema([pa.field(col.name, ARROW_TYPE[col.kind]) for col in table.columns])


# The two hand-kept CSV files are read as text; these are their columns.
RELEASES = Table(
    "releases",
    (
        Column("release_id", ID, unique=True),
        Column("deployed_at", TIMESTAMP),
        Column("component", TEXT),
        Column("title", TEXT),
        Column("issuer_id", ID, nullable=True),
        # checked by the engine with the row's release_id named (validate.validate_release_metrics)
        Column("metric", CODE, nullable=True),
    ),
)

# The failure rates a release can be judged on (docs/signals.md); queries/prepare/030_releases.sql
# fills an empty one from the component.
RELEASE_METRICS = ("error_834", "redirect_failure", "late_834")

ISSUERS = Table(
    "issuers",
    (
        Column("issuer_id", ID, unique=True),
        Column("issuer_name", TEXT),
        Column("state", TEXT),
    ),
)

CSV_TABLES = (RELEASES, ISSUERS)

# The seven timestamp columns whose latest value is the default as-of time (metrics.md).
AS_OF_COLUMNS = (
    ("enrollments", "application_submitted_at"),
    ("enrollments", "plan_selected_at"),
    ("enrollments", "cancelled_at"),
    ("transactions_834", "sent_at"),
    ("transactions_834", "ack_at"),
    ("payments", "redirected_at"),
    ("payments", "paid_at"),
)
