"""Each bad input, as a person sees it: named on the page that needs the data and on the data-health
page, while the pages that do not depend on the broken part keep working."""

from __future__ import annotations

import shutil

import pyarrow as pa
import pytest
from exportkit import SCHEMAS, accepted, enrollment, outbound, payment, write_csv, write_export, write_table
from helpers import markdown_as_read


def base(root):
    return write_export(
        root,
        enrollments=[enrollment("E1"), enrollment("E2")],
        transactions=[accepted("X1", "E1", "2013-11-02 09:00", "2013-11-02 10:00")],
        payments=[payment("P1", "E1", paid_at="2013-11-03 09:00", payment_status="paid")],
        releases=[["R1", "2013-11-03T00:00:00Z", "834_generator", "fix", ""]],
    )


def drop_column(root, table, column):
    schema = pa.schema([f for f in SCHEMAS[table] if f.name != column])
    rows = {
        "enrollments": [enrollment("E1")],
        "transactions_834": [outbound("X1", "E1", "2013-11-02 09:00")],
        "payments": [payment("P1", "E1")],
    }[table]
    write_table(root / table / "part-0.parquet", table, rows, schema=schema)


def truncate(root):
    path = root / "payments" / "part-0.parquet"
    path.write_bytes(path.read_bytes()[:40])


# (break the export, the table it breaks, text of the message, a page that needs it, a page that does not:
# None when every metric page needs that table)
CASES = {
    "missing table folder": (
        lambda r: shutil.rmtree(r / "payments"),
        "payments",
        "does not exist",
        "backlog",
        "errors",
    ),
    "empty folder": (
        lambda r: (r / "payments" / "part-0.parquet").unlink(),
        "payments",
        "no .parquet file",
        "funnel",
        "errors",
    ),
    "truncated parquet": (truncate, "payments", "not a readable parquet file", "funnel", "errors"),
    "not parquet": (
        lambda r: (r / "payments" / "part-0.parquet").write_text("id,status\n"),
        "payments",
        "not a readable parquet file",
        "backlog",
        "errors",
    ),
    "missing column": (
        lambda r: drop_column(r, "transactions_834", "sent_at"),
        "transactions_834",
        "required column is missing",
        "errors",
        None,
    ),
    "wrong type": (
        lambda r: write_table(
            r / "payments" / "part-0.parquet",
            "payments",
            [payment("P1", "E1") | {"paid_at": True}],
            schema=pa.schema(
                [pa.field("paid_at", pa.bool_()) if f.name == "paid_at" else f for f in SCHEMAS["payments"]]
            ),
        ),
        "payments",
        "cannot be read as timestamp",
        "funnel",
        "errors",
    ),
    "nulls": (
        lambda r: write_table(r / "enrollments" / "part-0.parquet", "enrollments", [enrollment("E1", state=None)]),
        "enrollments",
        "have no value",
        "funnel",
        None,
    ),
    "duplicate ids": (
        lambda r: write_table(
            r / "transactions_834" / "part-0.parquet",
            "transactions_834",
            [outbound("X1", "E1", "2013-11-02 09:00"), outbound("X1", "E2", "2013-11-02 09:00")],
        ),
        "transactions_834",
        "must be unique",
        "errors",
        None,
    ),
    "unknown code": (
        lambda r: write_table(
            r / "payments" / "part-0.parquet", "payments", [payment("P1", "E1", payment_status="refunded")]
        ),
        "payments",
        "unknown code",
        "backlog",
        "errors",
    ),
    "malformed releases.csv": (
        lambda r: write_csv(
            r / "releases.csv", ["release_id", "deployed_at", "component", "title"], [["R1", "soon", "x", "y"]]
        ),
        "releases",
        "not ISO 8601",
        "errors",
        "funnel",
    ),
    "missing issuers.csv": (lambda r: (r / "issuers.csv").unlink(), "issuers", "missing", "errors", "funnel"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_named_where_it_matters_and_the_rest_works(tmp_path, app_page, case):
    breaker, table, text, needs, unaffected = CASES[case]
    root = base(tmp_path / "export")
    breaker(root)
    before = sorted((p.relative_to(root), p.stat().st_mtime_ns) for p in root.rglob("*"))
    page = app_page(needs, data_dir=root)
    message = " ".join(markdown_as_read(e.value) for e in page.error)
    assert f"table {table}" in message and text in message, message
    health = app_page("health", data_dir=root)
    problems = health.dataframe[0].value
    assert table in problems["table"].tolist() and problems["message"].str.contains(text, regex=False).any()
    if unaffected:
        other = app_page(unaffected, data_dir=root)
        assert not other.error, [e.value for e in other.error]
    assert sorted((p.relative_to(root), p.stat().st_mtime_ns) for p in root.rglob("*")) == before  # never changed


def test_future_timestamps_are_a_warning_on_the_health_page(tmp_path, app_page):
    from datetime import datetime

    root = base(tmp_path / "export")
    write_table(
        root / "enrollments" / "part-0.parquet",
        "enrollments",
        [enrollment("E1"), enrollment("E2", cancelled_at=datetime(2999, 1, 1))],
    )
    health = app_page("health", data_dir=root)
    warning = " ".join(w.value for w in health.warning)
    assert "cancelled_at" in warning and "1 row(s)" in warning and "later than now" in warning
    # to an account manager without the count, which counts every issuer's rows
    roles = tmp_path / "roles.toml"
    roles.write_text('[[users]]\nemail = "am@issuer.example"\nrole = "account_manager"\nissuers = ["10001"]\n')
    user = {"email": "am@issuer.example", "is_logged_in": True}
    health = app_page("health", data_dir=root, roles=roles, user=user)
    warning = " ".join(w.value for w in health.warning)
    assert "cancelled_at" in warning and "row(s)" not in warning and "rows carry timestamps later than now" in warning
