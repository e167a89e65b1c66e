"""Reading exports as the data contract says: layout, skipped files, types, time zones, ids."""

import hashlib
from datetime import datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
from exportkit import SCHEMAS, accepted, enrollment, outbound, write_export, write_table
from helpers import query, run_report

from dashboard import metrics as m
from dashboard.engine import Engine


def snapshot(root):
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_hive_folders_are_read_and_partition_columns_ignored(tmp_path):
    root = write_export(tmp_path / "x", enrollments=[enrollment("E1")])
    (root / "enrollments" / "part-0.parquet").unlink()
    write_table(root / "enrollments" / "export_date=2013-12-02" / "part-0.parquet", "enrollments", [enrollment("E1")])
    # a folder named like a column must not override the file's own value
    write_table(root / "enrollments" / "state=ZZ" / "sub=1" / "part-1.parquet", "enrollments", [enrollment("E2")])
    engine = Engine(root)
    assert not engine.errors
    funnel = m.funnel(query(engine, "2013-12-31 00:00"))
    assert funnel.total[0]["count"] == 2 and list(funnel.by_state) == ["NC"]


def test_files_still_being_written_or_not_data_are_skipped(tmp_path):
    root = write_export(tmp_path / "x", enrollments=[enrollment("E1")])
    for name in (
        "_x.parquet",
        ".hidden.parquet",
        "x.parquet.tmp",
        "_staging/part.parquet",
        ".tmp-dir/part.parquet",
        "ok/_partial/part.parquet",
    ):
        write_table(root / "enrollments" / name, "enrollments", [enrollment("E-" + name)])
    (root / "enrollments" / "notes.txt").write_text("not a table file")
    (root / "enrollments" / "garbage.tmp").write_bytes(b"\x00\x01")
    engine = Engine(root)
    assert not engine.errors
    assert m.funnel(query(engine, "2013-12-31 00:00")).total[0]["count"] == 1


def test_extra_columns_any_order_and_absent_nullable_columns(tmp_path):
    root = write_export(tmp_path / "x", enrollments=[enrollment("E1")])
    schema = SCHEMAS["enrollments"]
    keep = [f for f in reversed(schema) if f.name not in ("plan_id", "metal_level", "cancelled_at")]
    row = enrollment("E2")
    table = pa.table(
        {f.name: pa.array([row[f.name]], f.type) for f in keep}
        | {"export_date": pa.array(["2013-12-02"]), "extra_note": pa.array([1])}
    )
    pq.write_table(table, root / "enrollments" / "part-1.parquet")
    engine = Engine(root)
    assert not engine.errors
    rows = {
        eid: (plan_id, cancelled_at)
        for eid, plan_id, cancelled_at in engine._con.execute(
            "SELECT enrollment_id, plan_id, cancelled_at FROM enrollments"
        ).fetchall()
    }
    assert rows == {"E1": ("10001NC001000101", None), "E2": (None, None)}


def test_naive_and_zoned_timestamps_and_nanoseconds(tmp_path):
    root = write_export(tmp_path / "x", enrollments=[enrollment("E1"), enrollment("E2")])
    schema = SCHEMAS["transactions_834"]
    zoned = pa.schema(
        [pa.field(f.name, pa.timestamp("ns", tz="America/New_York")) if f.name == "sent_at" else f for f in schema]
    )
    naive = accepted("X1", "E1", "2013-11-02 14:00", "2013-11-02 16:00")
    write_table(root / "transactions_834" / "part-0.parquet", "transactions_834", [naive])
    ny = accepted("X2", "E2", "2013-11-02 09:00", "2013-11-02 16:00")  # stored zoned: 10:00 in New York
    ny["sent_at"] = 1383400800_000_000_999  # epoch ns of 2013-11-02 14:00:00.000000999 UTC
    write_table(root / "transactions_834" / "part-1.parquet", "transactions_834", [ny], schema=zoned)
    engine = Engine(root)
    assert not engine.errors
    sent = dict(engine._con.execute("SELECT transaction_id, sent_at FROM transactions_834").fetchall())
    assert sent == {"X1": datetime(2013, 11, 2, 14), "X2": datetime(2013, 11, 2, 14)}  # ns truncated


def test_integer_ids_are_read_as_text_with_a_warning(tmp_path):
    root = write_export(tmp_path / "x")
    schema = pa.schema(
        [pa.field("enrollment_id", pa.int64()) if f.name == "enrollment_id" else f for f in SCHEMAS["enrollments"]]
    )
    write_table(root / "enrollments" / "part-0.parquet", "enrollments", [enrollment(123)], schema=schema)
    engine = Engine(root)
    assert not engine.errors
    [warning] = [p for p in engine.warnings if p.column == "enrollment_id"]
    assert "integer" in warning.message and "part-0.parquet" in warning.file
    assert engine._con.execute("SELECT enrollment_id FROM enrollments").fetchone() == ("123",)


def test_money_decimal_and_double_in_one_table(tmp_path):
    root = write_export(tmp_path / "x", enrollments=[enrollment("E1")])
    double = pa.schema(
        [
            pa.field(f.name, pa.float64()) if f.name in ("total_premium", "aptc_amount") else f
            for f in SCHEMAS["enrollments"]
        ]
    )
    write_table(
        root / "enrollments" / "part-1.parquet",
        "enrollments",
        [enrollment("E2", total_premium=400.005, aptc_amount=0.125)],
        schema=double,
    )
    engine = Engine(root)
    cents = dict(
        engine._con.execute(
            "SELECT enrollment_id, [total_premium_cents, aptc_amount_cents, responsible_cents] FROM enrollments"
        ).fetchall()
    )
    # whole cents, ties to even: 0.125 -> 12; 400.005 is 400.00499.. in binary -> 40000
    assert cents == {"E1": [40000, 25000, 15000], "E2": [40000, 12, 39988]}


def test_the_export_is_never_modified(tmp_path):
    root = write_export(
        tmp_path / "x", enrollments=[enrollment("E1")], transactions=[outbound("X1", "E1", "2013-11-02 09:00")]
    )
    before = snapshot(root)
    done = run_report("--data", str(root))
    assert done.returncode == 0, done.stderr
    Engine(root)
    assert snapshot(root) == before
    assert not any(p.name.endswith((".duckdb", ".wal")) for p in root.rglob("*"))


def test_future_timestamps_are_ignored_by_the_default_as_of_and_reported(tmp_path):
    root = write_export(
        tmp_path / "x", enrollments=[enrollment("E1"), enrollment("E2", plan_selected_at=datetime(2999, 1, 1))]
    )
    done = run_report("--data", str(root))
    assert done.returncode == 0
    assert "plan_selected_at" in done.stderr and "1 row(s)" in done.stderr
    import json

    assert json.loads(done.stdout)["as_of"] == "2013-11-01T10:00:00Z"


def test_zero_row_files_are_fine(tmp_path):
    root = write_export(tmp_path / "x")
    engine = Engine(root)
    assert not engine.errors
    assert m.default_as_of(engine, now=datetime(2014, 1, 1)) == datetime(2014, 1, 1)
    assert m.funnel(m.Request(engine, datetime(2014, 1, 1))).total[0]["count"] == 0


def test_decimal_money_with_more_places_rounds_half_even(tmp_path):
    root = write_export(tmp_path / "x")
    schema = pa.schema(
        [
            pa.field(f.name, pa.decimal128(12, 3)) if f.name in ("total_premium", "aptc_amount") else f
            for f in SCHEMAS["enrollments"]
        ]
    )
    write_table(
        root / "enrollments" / "part-0.parquet",
        "enrollments",
        [enrollment("E1", total_premium=Decimal("100.005"), aptc_amount=Decimal("100.015"))],
        schema=schema,
    )
    engine = Engine(root)
    assert engine._con.execute("SELECT total_premium_cents, aptc_amount_cents FROM enrollments").fetchone() == (
        10000,
        10002,
    )
