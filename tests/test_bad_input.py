"""Every bad-input path: one clear message naming table, file, column and value; exit code 2; no traceback."""

import shutil

import pyarrow as pa
import pytest
from exportkit import SCHEMAS, enrollment, outbound, payment, write_csv, write_export, write_table
from helpers import run_report

from dashboard.engine import Engine
from dashboard.problems import ExportError


@pytest.fixture
def good(tmp_path):
    return write_export(
        tmp_path / "export",
        enrollments=[enrollment("E1"), enrollment("E2")],
        transactions=[outbound("X1", "E1", "2013-11-02 09:00")],
        payments=[payment("P1", "E1", paid_at="2013-11-03 09:00", payment_status="paid")],
    )


def only_error(root, table=None):
    engine = Engine(root)
    errors = [p for p in engine.errors if table is None or p.table == table]
    assert len(errors) == 1, [str(p) for p in engine.errors]
    return errors[0], engine


def assert_report_fails(root, *needles, extra=()):
    done = run_report("--data", str(root), *extra)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    for needle in needles:
        assert needle in done.stderr, (needle, done.stderr)
    return done.stderr


def test_missing_export_directory(tmp_path):
    with pytest.raises(ExportError, match="does not exist"):
        Engine(tmp_path / "nowhere")
    assert_report_fails(tmp_path / "nowhere", "nowhere", "does not exist")


def test_missing_table_folder_other_tables_still_load(good):
    shutil.rmtree(good / "payments")
    problem, engine = only_error(good)
    assert problem.table == "payments" and "does not exist" in problem.message
    assert (
        engine.rows("errors_summary", as_of=None, date_from=None, date_to=None, states=None, issuers=None)[0]["sent"]
        == 0
    )  # the query still runs on the other tables
    assert_report_fails(good, "table payments", "does not exist")


def test_empty_table_folder(good):
    for f in (good / "payments").iterdir():
        f.unlink()
    (good / "payments" / "_in_progress.parquet").write_bytes(b"")
    problem, _ = only_error(good)
    assert "holds no .parquet file" in problem.message
    assert_report_fails(good, "table payments", "no .parquet file")


def test_corrupt_truncated_parquet(good):
    path = good / "enrollments" / "part-1.parquet"
    write_table(path, "enrollments", [enrollment("E3")])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    problem, engine = only_error(good)
    assert problem.file.endswith("part-1.parquet") and "not a readable parquet file" in problem.message
    assert engine._con.execute("SELECT count(*) FROM enrollments").fetchone() == (2,)
    assert_report_fails(good, "table enrollments", "part-1.parquet")


def test_text_file_with_a_parquet_name(good):
    (good / "transactions_834" / "part-9.parquet").write_text("transaction_id,direction\nX9,outbound\n")
    problem, _ = only_error(good)
    assert problem.table == "transactions_834" and problem.file.endswith("part-9.parquet")
    assert_report_fails(good, "part-9.parquet", "not a readable parquet file")


def test_corrupt_data_page_with_a_valid_footer(good):
    path = good / "enrollments" / "part-2.parquet"
    write_table(path, "enrollments", [enrollment(f"Z{i}") for i in range(200)])
    data = bytearray(path.read_bytes())
    for i in range(8, len(data) // 3):  # scribble over the first column chunks, keep the footer
        data[i] = 0xFF
    path.write_bytes(bytes(data))
    engine = Engine(good)
    problems = [p for p in engine.errors if p.file and p.file.endswith("part-2.parquet")]
    assert problems, [str(p) for p in engine.problems]
    assert engine._con.execute("SELECT count(*) FROM enrollments").fetchone()[0] == 2


def test_missing_required_column(good):
    schema = pa.schema([f for f in SCHEMAS["transactions_834"] if f.name != "sent_at"])
    write_table(
        good / "transactions_834" / "part-0.parquet",
        "transactions_834",
        [outbound("X1", "E1", "2013-11-02 09:00")],
        schema=schema,
    )
    problem, _ = only_error(good)
    assert (problem.table, problem.column) == ("transactions_834", "sent_at")
    assert problem.file.endswith("transactions_834/part-0.parquet")
    assert_report_fails(good, "table transactions_834", "column sent_at", "required column is missing")


def test_column_of_a_type_that_cannot_be_cast(good):
    schema = pa.schema(
        [pa.field("sent_at", pa.bool_()) if f.name == "sent_at" else f for f in SCHEMAS["transactions_834"]]
    )
    row = outbound("X1", "E1", "2013-11-02 09:00")
    row["sent_at"] = True
    write_table(good / "transactions_834" / "part-0.parquet", "transactions_834", [row], schema=schema)
    problem, _ = only_error(good)
    assert problem.column == "sent_at" and "bool" in problem.message
    assert_report_fails(good, "column sent_at", "cannot be read as timestamp")


def test_value_that_cannot_be_cast(good):
    schema = pa.schema(
        [pa.field("member_count", pa.string()) if f.name == "member_count" else f for f in SCHEMAS["enrollments"]]
    )
    write_table(
        good / "enrollments" / "part-0.parquet",
        "enrollments",
        [enrollment("E1", member_count="2"), enrollment("E2", member_count="two")],
        schema=schema,
    )
    problem, _ = only_error(good)
    assert problem.column == "member_count" and "'two'" in problem.message and problem.rows == 1
    assert_report_fails(good, "column member_count", "'two'")


def test_timestamps_as_text_are_read_when_valid(good):
    schema = pa.schema(
        [pa.field("sent_at", pa.string()) if f.name == "sent_at" else f for f in SCHEMAS["transactions_834"]]
    )
    row = outbound("X1", "E1", "2013-11-02 09:00")
    row["sent_at"] = "2013-11-02T04:00:00-05:00"
    write_table(good / "transactions_834" / "part-0.parquet", "transactions_834", [row], schema=schema)
    engine = Engine(good)
    assert not engine.errors
    assert str(engine._con.execute("SELECT sent_at FROM transactions_834").fetchone()[0]) == "2013-11-02 09:00:00"


def test_nulls_in_a_required_column(good):
    write_table(
        good / "enrollments" / "part-0.parquet",
        "enrollments",
        [enrollment("E1"), enrollment("E2", subscriber_birth_date=None)],
    )
    problem, _ = only_error(good)
    assert (problem.column, problem.rows) == ("subscriber_birth_date", 1)
    assert_report_fails(good, "column subscriber_birth_date", "1 row(s) have no value")


@pytest.mark.parametrize(
    "table,rows,column",
    [
        ("enrollments", [enrollment("E1"), enrollment("E1")], "enrollment_id"),
        (
            "transactions_834",
            [outbound("X1", "E1", "2013-11-02 09:00"), outbound("X1", "E2", "2013-11-03 09:00")],
            "transaction_id",
        ),
        ("payments", [payment("P1", "E1"), payment("P1", "E2")], "payment_id"),
    ],
)
def test_duplicate_ids(good, table, rows, column):
    write_table(good / table / "part-0.parquet", table, rows)
    problem, _ = only_error(good)
    assert problem.column == column and "more than once" in problem.message
    assert_report_fails(good, f"column {column}", "must be unique")


@pytest.mark.parametrize(
    "table,row,column,value",
    [
        ("transactions_834", outbound("X1", "E1", "2013-11-02 09:00", direction="sideways"), "direction", "sideways"),
        ("transactions_834", outbound("X1", "E1", "2013-11-02 09:00", ack_code="Q", ack_at=None), "ack_code", "Q"),
        ("transactions_834", outbound("X1", "E1", "2013-11-02 09:00", maintenance_type="21"), "maintenance_type", "21"),
        ("payments", payment("P1", "E1", payment_status="refunded"), "payment_status", "refunded"),
    ],
)
def test_unknown_codes(good, table, row, column, value):
    write_table(good / table / "part-0.parquet", table, [row])
    problem, _ = only_error(good)
    assert problem.column == column and repr(value) in problem.message
    assert_report_fails(good, f"column {column}", repr(value))


def test_unknown_descriptive_code_is_a_warning(good):
    write_table(good / "enrollments" / "part-0.parquet", "enrollments", [enrollment("E1", channel="kiosk")])
    engine = Engine(good)
    assert not engine.errors and any(p.column == "channel" for p in engine.warnings)


@pytest.mark.parametrize("name", ["releases", "issuers"])
def test_missing_csv(good, name):
    (good / f"{name}.csv").unlink()
    problem, _ = only_error(good)
    assert problem.table == name and "missing" in problem.message
    assert_report_fails(good, f"{name}.csv", "missing")


def test_releases_csv_with_a_bad_timestamp(good):
    write_csv(
        good / "releases.csv",
        ["release_id", "deployed_at", "component", "title", "issuer_id"],
        [
            ["R1", "2013-12-01T05:00:00Z", "834_generator", "fix", ""],
            ["R2", "first of December", "834_generator", "fix", ""],
        ],
    )
    problem, _ = only_error(good)
    assert problem.column == "deployed_at" and "'first of December'" in problem.message
    assert_report_fails(good, "table releases", "column deployed_at", "first of December")


def test_csv_missing_a_required_column(good):
    write_csv(good / "issuers.csv", ["issuer_id", "state"], [["10001", "NC"]])
    problem, _ = only_error(good)
    assert (problem.table, problem.column) == ("issuers", "issuer_name")
    assert_report_fails(good, "table issuers", "column issuer_name")


def test_releases_without_the_optional_issuer_column(good):
    write_csv(
        good / "releases.csv",
        ["release_id", "deployed_at", "component", "title"],
        [["R1", "2013-12-01T05:00:00Z", "834_generator", "fix"]],
    )
    assert not Engine(good).errors


def test_ragged_csv(good):
    (good / "issuers.csv").write_text("issuer_id,issuer_name,state\n10001,Test Mutual,NC,extra\n")
    problem, _ = only_error(good)
    assert problem.table == "issuers" and "line 2 has 4 fields" in problem.message


def test_empty_csv(good):
    (good / "issuers.csv").write_text("")
    problem, _ = only_error(good)
    assert "empty" in problem.message


def test_duplicate_release_ids(good):
    write_csv(
        good / "releases.csv",
        ["release_id", "deployed_at", "component", "title", "issuer_id"],
        [["R1", "2013-12-01T05:00:00Z", "a", "b", ""], ["R1", "2013-12-02T05:00:00Z", "a", "b", ""]],
    )
    problem, _ = only_error(good)
    assert problem.column == "release_id"


def test_issuer_missing_from_issuers_csv_is_a_warning(good):
    write_table(good / "enrollments" / "part-0.parquet", "enrollments", [enrollment("E1", issuer_id="55555")])
    engine = Engine(good)
    assert not engine.errors
    assert any("55555" in p.message for p in engine.warnings)


@pytest.mark.parametrize(
    "flags,needle",
    [
        (["--from", "2013-12-01", "--to", "2013-12-01"], "must be after"),
        (["--as-of", "yesterday"], "not an ISO 8601"),
        (["--from", "12/01/2013"], "not a date"),
        (["--window-days", "0"], "at least 1"),
    ],
)
def test_bad_flags_exit_2(good, flags, needle):
    done = run_report("--data", str(good), *flags)
    assert done.returncode == 2 and needle in done.stderr and "Traceback" not in done.stderr


def test_money_as_text_is_rounded_once_to_whole_cents(good):
    schema = pa.schema(
        [pa.field("total_premium", pa.string()) if f.name == "total_premium" else f for f in SCHEMAS["enrollments"]]
    )
    write_table(
        good / "enrollments" / "part-0.parquet",
        "enrollments",
        [enrollment("E1", total_premium="400.014999"), enrollment("E2", total_premium="1.235")],
        schema=schema,
    )
    engine = Engine(good)
    assert not engine.errors
    cents = dict(engine._con.execute("SELECT enrollment_id, total_premium_cents FROM enrollments").fetchall())
    assert cents == {"E1": 40001, "E2": 124}  # 40001.4999 -> 40001; 123.5 -> 124 (ties to even)


def test_an_export_replaced_while_it_is_read_is_read_again(good, monkeypatch):
    from dashboard.engine import prepare as engine_module

    values = iter(["old", "new", "new", "new"])
    monkeypatch.setattr(engine_module, "export_fingerprint", lambda _: next(values))
    engine = Engine(good)
    assert not engine.errors and engine.fingerprint == "new"  # the first read saw a change and was redone
    counter = iter(range(100))
    monkeypatch.setattr(engine_module, "export_fingerprint", lambda _: str(next(counter)))
    problem, _ = only_error(good)
    assert "kept changing" in problem.message
