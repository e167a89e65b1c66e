"""Prepared databases: kept outside the export, reused per fingerprint, updated incrementally.

An incrementally prepared export must give exactly the numbers, problems and table summary of
one prepared from scratch, whatever the change: files added, rewritten or removed.
"""

from __future__ import annotations

import os
import threading
import time
from decimal import Decimal

import pytest
from exportkit import accepted, effectuation, enrollment, outbound, payment, ts, write_export, write_table

from dashboard import metrics as m
from dashboard import serving
from dashboard.engine import Engine
from dashboard.report import build_report

AS_OF = ["2013-11-02 12:00", "2013-11-20 00:00", "2014-01-31 00:00"]


def snapshot(directory) -> dict:
    return {
        str(p.relative_to(directory)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(directory.rglob("*"))
    }


def same_as_from_scratch(engine: Engine, root) -> None:
    scratch = Engine(root)  # in memory, everything read anew
    assert engine.problems == scratch.problems
    assert engine.table_summary() == scratch.table_summary()
    # the trends' prepared day-end changes: an incremental update sums to what a preparation from scratch has
    day_changes = "SELECT * FROM day_changes ORDER BY ALL"
    assert engine._con.execute(day_changes).fetchall() == scratch._con.execute(day_changes).fetchall()
    for as_of in AS_OF:
        for filters in (m.Filters(), m.Filters(states=("NC",)), m.Filters(issuers=("20002",))):
            assert build_report(m.Request(engine, ts(as_of), filters)) == build_report(
                m.Request(scratch, ts(as_of), filters)
            ), (as_of, filters)


@pytest.fixture
def base(tmp_path):
    root = write_export(
        tmp_path / "export",
        enrollments=[
            enrollment("E1"),
            enrollment("E2", state="TX", issuer_id="20002"),
            enrollment("E3", plan_selected_at=ts("2013-11-01 11:00")),
            enrollment("T1", is_test=True),
        ],
        transactions=[
            accepted("X1", "E1", "2013-11-02 09:00", "2013-11-02 10:00"),
            outbound("X2", "E2", "2013-11-02 09:00", issuer_id="20002"),
            outbound("X9", "E9", "2013-11-02 09:00"),  # unmatched until E9 arrives
            accepted("XT", "T1", "2013-11-02 09:00", "2013-11-02 10:00"),
        ],
        payments=[payment("P1", "E1", redirected_at="2013-11-03 09:00", redirect_status="ok")],
        issuers=[["10001", "Test Mutual", "NC"], ["20002", "Lone Star", "TX"]],
    )
    return root


def test_prepared_once_then_reused_and_nothing_written_into_the_export(base, tmp_path):
    before = snapshot(base)
    first = Engine(base, prepared_dir=tmp_path / "prepared")
    assert first.preparation == "full"
    again = Engine(base, prepared_dir=tmp_path / "prepared")
    assert again.preparation == "reused" and again.prepared_path == first.prepared_path
    assert again.fingerprint == first.fingerprint
    same_as_from_scratch(again, base)
    assert snapshot(base) == before
    assert not list((tmp_path / "prepared").glob(".*building*"))


def test_incremental_after_files_are_added_rewritten_and_removed(base, tmp_path):
    prepared = tmp_path / "prepared"
    write_table(
        base / "transactions_834" / "day-2.parquet", "transactions_834", [effectuation("F1", "E1", "2013-11-05 09:00")]
    )
    write_table(
        base / "payments" / "day-2.parquet",
        "payments",
        [payment("P2", "E2", paid_at="2013-11-04 09:00", payment_status="paid")],
    )
    serving = Engine(base, prepared_dir=prepared)  # stays open, as the dashboard's current export does

    # the next export: new files, one rewritten, one removed
    write_table(
        base / "enrollments" / "day-3.parquet",
        "enrollments",
        [
            enrollment("E9"),
            enrollment("E4", application_submitted_at=ts("2013-11-19 08:00"), plan_selected_at=ts("2013-11-19 09:00")),
        ],
    )
    write_table(
        base / "transactions_834" / "day-3.parquet",
        "transactions_834",
        [
            accepted("X3", "E3", "2013-11-03 09:00", "2013-11-03 11:00"),
            outbound("X1b", "E1", "2013-11-04 09:00"),  # a duplicate of X1
            outbound("X0", None, "2013-11-04 09:00"),
        ],
    )
    write_table(
        base / "payments" / "day-2.parquet",
        "payments",  # rewritten: the payment failed after all
        [payment("P2", "E2", redirected_at="2013-11-04 08:00", redirect_status="ok", payment_status="failed")],
    )
    os.remove(base / "transactions_834" / "day-2.parquet")  # the effectuation is withdrawn
    engine = Engine(base, prepared_dir=prepared)
    assert engine.preparation == "incremental"
    same_as_from_scratch(engine, base)
    assert serving.rows("funnel_counts", **m.Request(serving, ts(AS_OF[-1])).params())  # still serves
    # and again on top of the incremental one
    write_table(
        base / "enrollments" / "day-4.parquet",
        "enrollments",
        [enrollment("E5", total_premium=Decimal("50"), aptc_amount=Decimal("50"))],
    )
    write_table(
        base / "transactions_834" / "day-4.parquet",
        "transactions_834",
        [accepted("X5", "E5", "2013-11-06 09:00", "2013-11-06 10:00")],
    )
    engine = Engine(base, prepared_dir=prepared)
    assert engine.preparation == "incremental"
    same_as_from_scratch(engine, base)
    assert len(list(prepared.glob("*.duckdb"))) == 2  # the one in use and the one before it


def test_incremental_when_enrollments_move_issuer_stop_being_tests_and_vanish(base, tmp_path):
    prepared = tmp_path / "prepared"
    assert Engine(base, prepared_dir=prepared).preparation == "full"
    write_table(  # a second file, so that the rewritten first one is not the only one
        base / "payments" / "day-2.parquet", "payments", [payment("P2", "E2", paid_at="2013-11-04 09:00")]
    )
    write_table(
        base / "enrollments" / "part-0.parquet",
        "enrollments",
        [
            enrollment("E1", state="TX", issuer_id="20002"),  # moved to another state and issuer
            enrollment("E2", state="TX", issuer_id="20002", cancelled_at=ts("2013-11-03 09:00")),
            enrollment("T1", is_test=False),  # no longer a test record
            # E3 is gone
        ],
    )
    engine = Engine(base, prepared_dir=prepared)
    assert engine.preparation == "incremental"
    same_as_from_scratch(engine, base)


def test_problems_of_an_unchanged_file_are_kept_and_new_ones_found(base, tmp_path):
    prepared = tmp_path / "prepared"
    write_table(
        base / "payments" / "odd.parquet",
        "payments",
        [payment("P7", "E3", redirected_at="2013-11-03 09:00", redirect_status="maybe")],
    )
    Engine(base, prepared_dir=prepared)
    write_table(base / "enrollments" / "dup.parquet", "enrollments", [enrollment("E1")])
    engine = Engine(base, prepared_dir=prepared)
    assert engine.preparation == "incremental"
    messages = [(p.table, p.file, p.column) for p in engine.problems]
    assert ("payments", "export/payments/odd.parquet", "redirect_status") in messages
    assert ("enrollments", None, "enrollment_id") in messages  # E1 twice, across files
    same_as_from_scratch(engine, base)


def unique_problems(engine: Engine) -> list[tuple]:
    return [(p.table, p.column, p.rows) for p in engine.problems if "must be unique" in p.message]


def test_a_landed_id_that_repeats_a_kept_one_is_found_without_counting_every_id_again(base, tmp_path):
    # the previous preparation found every id unique, so only the landed rows' ids are counted: X1 and
    # P1 are in the kept files, X3 and P3 are new and appear twice within the landed files
    prepared = tmp_path / "prepared"
    assert unique_problems(Engine(base, prepared_dir=prepared)) == []
    write_table(
        base / "transactions_834" / "day-2.parquet",
        "transactions_834",
        [
            outbound("X1", "E2", "2013-11-04 09:00", issuer_id="20002"),
            accepted("X3", "E3", "2013-11-03 09:00", "2013-11-03 11:00"),
            accepted("X3", "E3", "2013-11-03 09:00", "2013-11-03 11:00"),
        ],
    )
    write_table(
        base / "payments" / "day-2.parquet",
        "payments",
        [payment("P1", "E2", paid_at="2013-11-04 09:00"), payment("P3", "E3"), payment("P3", "E3")],
    )
    engine = Engine(base, prepared_dir=prepared)
    assert engine.preparation == "incremental"
    # 2 ids, 4 rows each: X1 in part-0 and day-2, X3 twice in day-2
    assert unique_problems(engine) == [("payments", "payment_id", 4), ("transactions_834", "transaction_id", 4)]
    same_as_from_scratch(engine, base)


def test_an_id_duplicated_before_a_landing_is_still_reported_after_it_and_gone_with_its_file(base, tmp_path):
    prepared = tmp_path / "prepared"
    write_table(base / "enrollments" / "dup.parquet", "enrollments", [enrollment("E1")])
    assert unique_problems(Engine(base, prepared_dir=prepared)) == [("enrollments", "enrollment_id", 2)]
    # an unrelated landing, twice: E1 is duplicated in the kept rows only, and a new 834 for the doubled E1
    # is one row of the export (prepared once per E1 row), not a duplicate
    write_table(base / "enrollments" / "day-2.parquet", "enrollments", [enrollment("E7")])
    write_table(
        base / "transactions_834" / "day-2.parquet",
        "transactions_834",
        [outbound("X8", "E1", "2013-11-04 09:00")],
    )
    for _ in range(2):
        engine = Engine(base, prepared_dir=prepared)
        assert engine.preparation == "incremental"
        assert unique_problems(engine) == [("enrollments", "enrollment_id", 2)]
        same_as_from_scratch(engine, base)
        write_table(base / "payments" / "day-3.parquet", "payments", [payment("P9", "E7")])
    os.remove(base / "enrollments" / "dup.parquet")
    engine = Engine(base, prepared_dir=prepared)
    assert engine.preparation == "incremental"
    assert unique_problems(engine) == []
    same_as_from_scratch(engine, base)


def test_a_prepared_database_without_the_record_of_unique_tables_has_every_id_counted(base, tmp_path):
    # a database prepared before _unique_tables was kept says nothing about its ids: every id is counted
    # again, so a duplicate among its kept rows is still found
    import duckdb

    prepared = tmp_path / "prepared"
    write_table(base / "payments" / "dup.parquet", "payments", [payment("P1", "E1")])
    first = Engine(base, prepared_dir=prepared)
    path = first.prepared_path
    first.close()
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE _unique_tables")
    con.close()
    write_table(base / "enrollments" / "day-2.parquet", "enrollments", [enrollment("E7")])
    engine = Engine(base, prepared_dir=prepared)
    assert engine.preparation == "incremental"
    assert unique_problems(engine) == [("payments", "payment_id", 2)]


def test_a_duplicated_enrollments_834s_are_staged_once_when_it_is_prepared_again(base, tmp_path):
    # E1 is in the export twice (an error the engine names); its prepared 834s are one row per E1 row.
    # A new 834 for E1 makes the incremental preparation prepare E1 again: its earlier 834 X1 must be
    # counted as a preparation from scratch counts it (it was staged once per prepared copy, 4 instead of 2)
    prepared = tmp_path / "prepared"
    write_table(base / "enrollments" / "dup.parquet", "enrollments", [enrollment("E1")])
    Engine(base, prepared_dir=prepared)
    write_table(
        base / "transactions_834" / "day-2.parquet", "transactions_834", [outbound("X8", "E1", "2013-11-04 09:00")]
    )
    engine = Engine(base, prepared_dir=prepared)
    assert engine.preparation == "incremental"
    same_as_from_scratch(engine, base)


def test_a_changed_reference_file_prepares_everything_again(base, tmp_path):
    prepared = tmp_path / "prepared"
    Engine(base, prepared_dir=prepared)
    (base / "issuers.csv").write_text("issuer_id,issuer_name,state\n10001,Test Mutual,SC\n20002,Lone Star,TX\n")
    engine = Engine(base, prepared_dir=prepared)
    assert engine.preparation == "full"
    same_as_from_scratch(engine, base)


def test_an_unreadable_new_file_is_named_and_the_rest_prepared(base, tmp_path):
    prepared = tmp_path / "prepared"
    Engine(base, prepared_dir=prepared)
    (base / "payments" / "broken.parquet").write_bytes(b"PAR1 not really parquet")
    engine = Engine(base, prepared_dir=prepared)
    assert any(p.file == "export/payments/broken.parquet" for p in engine.errors)
    same_as_from_scratch(engine, base)


def test_a_corrupt_prepared_file_is_prepared_again(base, tmp_path):
    prepared = tmp_path / "prepared"
    first = Engine(base, prepared_dir=prepared)
    path = first.prepared_path
    first.close()
    path.write_bytes(b"not a database")
    engine = Engine(base, prepared_dir=prepared)
    assert engine.preparation == "full"
    same_as_from_scratch(engine, base)


def test_the_previous_export_serves_while_a_new_one_is_prepared(base, monkeypatch):
    monkeypatch.setenv("DASHBOARD_NEW_EXPORT_WAIT_SECONDS", "0.2")
    release = threading.Event()
    real = serving._prepare

    def slow(export_dir, fingerprint, progress=None):
        if fingerprint == "new":
            release.wait(timeout=30)
        return real(export_dir, fingerprint, progress)

    monkeypatch.setattr(serving, "_prepare", slow)
    exports = serving._Exports()
    first = exports.get(str(base), "old")
    assert first.engine is not None and first.newer_since is None
    served = exports.get(str(base), "new")
    assert served.engine is first.engine and served.newer_since is not None  # said, not hidden
    release.set()
    deadline = time.monotonic() + 30
    while exports.get(str(base), "new").newer_since is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    newest = exports.get(str(base), "new")
    assert newest.newer_since is None and newest.engine is not first.engine


def test_a_preparation_overtaken_by_a_newer_export_closes_its_connection(base, monkeypatch):
    """Export "mid" is still being prepared when "new" lands and is served first: "mid" is never
    shown, so its DuckDB connection (and its hold on the prepared file) must not outlive its thread."""
    monkeypatch.setenv("DASHBOARD_NEW_EXPORT_WAIT_SECONDS", "0")
    release = threading.Event()
    real = serving._prepare
    prepared = {}

    def slow(export_dir, fingerprint, progress=None):
        if fingerprint == "mid":
            release.wait(timeout=30)
        prepared[fingerprint] = real(export_dir, fingerprint, progress)
        return prepared[fingerprint]

    monkeypatch.setattr(serving, "_prepare", slow)
    exports = serving._Exports()
    exports.get(str(base), "old")
    exports.get(str(base), "mid")  # "mid" waits in its thread
    deadline = time.monotonic() + 30
    while exports.get(str(base), "new").newer_since is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert exports.get(str(base), "new").engine is prepared["new"].engine  # "new" is served
    assert "mid" not in prepared
    release.set()
    while "mid" not in prepared and time.monotonic() < deadline:
        time.sleep(0.05)
    while prepared["mid"].engine._con is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert prepared["mid"].engine._con is None  # closed: nobody could ever be served it
    served = exports.get(str(base), "new")
    assert served.engine is prepared["new"].engine and served.engine._con is not None  # still open


def overview_page():
    """The overview (the app's default page) run once under AppTest, with no exception."""
    from helpers import REPO
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=120)
    at.user = {}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_pages_say_so_while_they_show_the_previous_export(base, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(base))
    monkeypatch.setenv("DASHBOARD_NEW_EXPORT_WAIT_SECONDS", "0.2")
    page = overview_page

    def banner(at: AppTest) -> list[str]:
        return [i.value for i in at.info if "newer export" in i.value]

    before = page()
    assert not banner(before)
    applications = next(mm.value for mm in before.metric if mm.label == "Applications")

    release = threading.Event()
    real = serving._prepare
    monkeypatch.setattr(serving, "_prepare", lambda d, f, p=None: (release.wait(timeout=60), real(d, f, p))[1])
    write_table(base / "enrollments" / "day-2.parquet", "enrollments", [enrollment("E7")])
    during = page()
    assert banner(during) and "being prepared" in banner(during)[0]
    assert next(mm.value for mm in during.metric if mm.label == "Applications") == applications  # previous numbers
    release.set()
    deadline = time.monotonic() + 60
    while banner(after := page()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not banner(after)
    assert next(mm.value for mm in after.metric if mm.label == "Applications") != applications


def test_a_new_export_replaces_the_served_one_with_its_overview_already_computed(base, monkeypatch):
    """While the previous export serves, the new one's overview is computed; once it is shown, the
    overview's first visitor runs no query at all (the page itself says what it needs)."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(base))
    monkeypatch.setenv("DASHBOARD_NEW_EXPORT_WAIT_SECONDS", "0")
    monkeypatch.setenv("DASHBOARD_WARM_VIEWS", "1")
    overview = overview_page

    def applications(at: AppTest) -> str:
        return next(mm.value for mm in at.metric if mm.label == "Applications")

    before = applications(overview())
    write_table(base / "enrollments" / "day-2.parquet", "enrollments", [enrollment("E7")])
    fingerprint = serving.export_fingerprint(base)
    deadline = time.monotonic() + 120
    while serving._EXPORTS.get(str(base), fingerprint).newer_since is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    new = serving._EXPORTS.get(str(base), fingerprint)
    assert new.newer_since is None and new.fingerprint == fingerprint

    asked: list[tuple[str, str]] = []
    real_rows = Engine.rows

    def counted(self, name, **params):
        if self is new.engine and threading.current_thread().name not in ("prepare-export", "warm-default-views"):
            asked.append((threading.current_thread().name, name))
        return real_rows(self, name, **params)

    monkeypatch.setattr(Engine, "rows", counted)
    shown = overview()
    assert applications(shown) != before  # the new export's numbers
    assert asked == []
