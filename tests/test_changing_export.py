"""An export that changes while it is read: each step that touches the file system, raced on purpose.

Exporters replace an export in place (each file written under a `.` name and renamed, files the new
export lacks removed) while the dashboard serves it. Each test below makes the exporter act at one
exact step of a preparation, by wrapping that step so that it really removes, adds or rewrites a file
of the export just before the step runs. The rule under test (docs/scale.md, "Reliability"): the
snapshot is read again; the result is the export as it is afterwards, or, when it never holds still,
the documented refusal naming the file. Never an exception, never a mix.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from exportkit import enrollment, outbound, payment, write_csv, write_export, write_table

from dashboard import cli
from dashboard.engine import Engine, incremental, prepare, staging
from dashboard.engine.prepare import Preparation

PARAMS = dict(as_of=datetime(2014, 1, 1), date_from=None, date_to=None, states=None, issuers=None)
VICTIM = "part-1.parquet"  # a transactions_834 file that the exporter's next export lacks


@pytest.fixture
def export(tmp_path):
    root = write_export(
        tmp_path / "export",
        enrollments=[enrollment("E1"), enrollment("E2"), enrollment("E3")],
        transactions=[outbound("X1", "E1", "2013-11-02 09:00")],
        payments=[payment("P1", "E1", paid_at="2013-11-03 09:00", payment_status="paid")],
    )
    write_table(
        root / "transactions_834" / VICTIM,
        "transactions_834",
        [outbound("X2", "E2", "2013-11-02 10:00"), outbound("X3", "E3", "2013-11-02 11:00")],
    )
    return root


def sent(engine: Engine) -> int:
    return engine.rows("errors_summary", **PARAMS)[0]["sent"]


def files_read(engine: Engine) -> dict[str, tuple[int, int]]:
    return {r["table"]: (r["files"], r["rows"]) for r in engine.table_summary()}


class Exporter:
    """Does one thing to the export when the wrapped step is reached, `times` times."""

    def __init__(self, root, action: str, times: int = 1):
        self.root, self.action, self.left = root, action, times

    def act(self) -> None:
        if self.left <= 0:
            return
        self.left -= 1
        victim = self.root / "transactions_834" / VICTIM
        if self.action == "remove":
            victim.unlink(missing_ok=True)
        elif self.action == "add":
            write_table(self.root / "payments" / "part-7.parquet", "payments", [payment("P7", "E2")])
        elif self.action == "rewrite":  # another size every time: a file being rewritten again and again
            rows = [outbound(f"X{n}", "E2", "2013-11-02 10:00") for n in range(10, 14 + self.left)]
            write_table(victim, "transactions_834", rows)

    def before(self, step, when=lambda *a, **k: True):
        """`step` wrapped: the exporter acts just before it runs (when `when` says so)."""

        def wrapped(*args, **kwargs):
            if when(*args, **kwargs):
                self.act()
            return step(*args, **kwargs)

        return wrapped


def assert_read_without_the_victim(engine: Engine, exporter: Exporter) -> None:
    assert exporter.left == 0, "the exporter never acted: the step under test was not reached"
    assert engine.consistent and not engine.errors, [str(p) for p in engine.errors]
    assert sent(engine) == 1  # X1 only: the export as it is now, not a mix
    assert files_read(engine)["transactions_834"] == (1, 1)


# ----------------------------------------------------------------- each step of a full preparation


def test_a_file_removed_between_listing_and_its_footer_is_read_again(export, monkeypatch):
    exporter = Exporter(export, "remove")
    monkeypatch.setattr(
        staging.pq, "read_schema", exporter.before(staging.pq.read_schema, lambda path: path.name == VICTIM)
    )
    assert_read_without_the_victim(Engine(export), exporter)


def test_a_file_removed_between_listing_and_its_stat_is_read_again(export, monkeypatch):
    exporter = Exporter(export, "remove")
    when = lambda self, table, path, shown: path.name == VICTIM  # noqa: E731
    monkeypatch.setattr(Preparation, "_note_stat", exporter.before(Preparation._note_stat, when))
    assert_read_without_the_victim(Engine(export), exporter)


def test_a_file_removed_before_its_values_are_checked_is_read_again(export, monkeypatch):
    exporter = Exporter(export, "remove")
    when = lambda self, table, file: file.path.name == VICTIM  # noqa: E731
    monkeypatch.setattr(Preparation, "check_casts", exporter.before(Preparation.check_casts, when))
    assert_read_without_the_victim(Engine(export), exporter)


def test_a_file_removed_before_duckdb_reads_it_is_read_again(export, monkeypatch):
    exporter = Exporter(export, "remove")
    when = lambda plan, name=None: plan.table.name == "transactions_834"  # noqa: E731
    monkeypatch.setattr(prepare, "staging_table_sql", exporter.before(prepare.staging_table_sql, when))
    assert_read_without_the_victim(Engine(export), exporter)


def test_a_file_removed_after_it_was_read_is_caught_by_the_fingerprint(export, monkeypatch):
    calls = {"n": 0}
    exporter = Exporter(export, "remove")

    def second_call(path):  # the fingerprint taken after reading, on the first attempt
        calls["n"] += 1
        return calls["n"] == 2

    monkeypatch.setattr(prepare, "export_fingerprint", exporter.before(prepare.export_fingerprint, second_call))
    engine = Engine(export)
    assert calls["n"] >= 4  # before and after, twice: the snapshot was read again
    assert_read_without_the_victim(engine, exporter)


def test_a_file_that_appears_while_the_export_is_read_is_read_too(export, monkeypatch):
    exporter = Exporter(export, "add")
    when = lambda plan, name=None: plan.table.name == "transactions_834"  # noqa: E731
    monkeypatch.setattr(prepare, "staging_table_sql", exporter.before(prepare.staging_table_sql, when))
    engine = Engine(export)
    assert exporter.left == 0 and engine.consistent and not engine.errors
    assert files_read(engine)["payments"] == (2, 2)  # the new file is in: the export as it is now


def test_a_csv_replaced_between_its_header_and_its_rows_is_read_again(export, monkeypatch):
    def replace_releases():
        write_csv(
            export / "releases.csv",
            ["release_id", "deployed_at", "title", "component"],  # another order: another file
            [["R1", "2013-11-02T00:00:00Z", "834 fix", "edi_834"], ["R2", "2013-11-09T00:00:00Z", "fix", "edi_834"]],
        )

    real = Preparation._csv_header
    done = {"n": 0}

    def header_then_replace(self, table, path, shown):
        header = real(self, table, path, shown)
        if table.name == "releases" and not done["n"]:
            done["n"] = 1
            replace_releases()
        return header

    monkeypatch.setattr(Preparation, "_csv_header", header_then_replace)
    engine = Engine(export)
    assert done["n"] == 1 and engine.consistent and not engine.errors, [str(p) for p in engine.errors]
    assert engine._con.execute("SELECT list(release_id ORDER BY release_id) FROM releases").fetchone()[0] == [
        "R1",
        "R2",
    ]


def test_a_file_that_never_holds_still_is_the_documented_refusal_naming_it(export, monkeypatch):
    exporter = Exporter(export, "rewrite", times=1000)
    when = lambda plan, name=None: plan.table.name == "transactions_834"  # noqa: E731
    monkeypatch.setattr(prepare, "staging_table_sql", exporter.before(prepare.staging_table_sql, when))
    engine = Engine(export)
    assert not engine.consistent
    [problem] = engine.errors
    assert problem.table == "export" and "the export kept changing while it was read" in problem.message
    assert VICTIM in problem.message and problem.file.endswith(VICTIM)


def test_report_on_an_export_that_never_holds_still_refuses_with_exit_2(export, monkeypatch, capsys):
    exporter = Exporter(export, "rewrite", times=1000)
    when = lambda plan, name=None: plan.table.name == "transactions_834"  # noqa: E731
    monkeypatch.setattr(prepare, "staging_table_sql", exporter.before(prepare.staging_table_sql, when))
    code = cli.main(["report", "--data", str(export)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert "the export kept changing while it was read" in err and VICTIM in err and "Traceback" not in err


# ------------------------------------------------------------------ the prepared store (incremental)


@pytest.fixture
def prepared(export, tmp_path):
    """A prepared store holding the export; then the exporter adds a payments file (an increment)."""
    store = tmp_path / "prepared"
    Engine(export, prepared_dir=store).close()
    write_table(export / "payments" / "part-1.parquet", "payments", [payment("P2", "E2", paid_at="2013-11-04 09:00")])
    return store


def assert_full_without_the_victim(engine: Engine, exporter: Exporter) -> None:
    assert_read_without_the_victim(engine, exporter)
    assert engine.preparation == "full"  # the incremental attempt gave way to a full one
    assert files_read(engine) == {"enrollments": (1, 3), "transactions_834": (1, 1), "payments": (2, 2)}


def test_a_file_removed_while_an_increment_compares_files_falls_back_to_a_full_read(export, prepared, monkeypatch):
    exporter = Exporter(export, "remove")
    when = lambda self, table, path, shown: path.name == VICTIM  # noqa: E731
    monkeypatch.setattr(Preparation, "_note_stat", exporter.before(Preparation._note_stat, when))
    assert_full_without_the_victim(Engine(export, prepared_dir=prepared), exporter)


def test_an_unchanged_file_removed_while_the_store_copies_the_previous_one_falls_back(export, prepared, monkeypatch):
    exporter = Exporter(export, "remove")  # the victim is unchanged: its rows would come from the copy
    monkeypatch.setattr(incremental.shutil, "copyfile", exporter.before(incremental.shutil.copyfile))
    assert_full_without_the_victim(Engine(export, prepared_dir=prepared), exporter)


def test_a_new_file_removed_before_the_increment_reads_it_falls_back(export, prepared, monkeypatch):
    gone = {"n": 0}
    real = incremental.staging_table_sql

    def remove_new_payments(plan, name=None):
        if plan.table.name == "payments" and not gone["n"]:
            gone["n"] = 1
            (export / "payments" / "part-1.parquet").unlink()
        return real(plan, name)

    monkeypatch.setattr(incremental, "staging_table_sql", remove_new_payments)
    engine = Engine(export, prepared_dir=prepared)
    assert gone["n"] == 1 and engine.consistent and not engine.errors, [str(p) for p in engine.errors]
    assert engine.preparation == "full"
    assert files_read(engine)["payments"] == (1, 1)  # the export as it is now: the new file is gone again


def test_a_refused_read_leaves_no_prepared_file_behind(export, prepared, monkeypatch):
    exporter = Exporter(export, "rewrite", times=1000)
    when = lambda plan, name=None: plan.table.name == "transactions_834"  # noqa: E731
    monkeypatch.setattr(prepare, "staging_table_sql", exporter.before(prepare.staging_table_sql, when))
    monkeypatch.setattr(incremental, "staging_table_sql", exporter.before(incremental.staging_table_sql, when))
    before = sorted(p.name for p in prepared.iterdir())
    engine = Engine(export, prepared_dir=prepared)
    assert not engine.consistent and "kept changing" in engine.errors[0].message
    assert sent(engine) >= 1  # it still answers (what was read), for the page that shows the refusal
    assert sorted(p.name for p in prepared.iterdir()) == before  # never reused, nothing left to prune


# ------------------------------------------------------------------------------- the dashboard


def test_the_dashboard_keeps_serving_the_previous_export_while_the_new_one_keeps_changing(export, monkeypatch):
    from dashboard import serving

    monkeypatch.setenv("DASHBOARD_WARM_VIEWS", "0")
    exports = serving._Exports()
    directory = str(export)
    first = exports.get(directory, staging.export_fingerprint(export))
    assert first.consistent and sent(first.engine) == 3 and first.changing_since is None

    # the exporter starts replacing the export, and is still at it whenever it is read
    write_table(export / "payments" / "part-5.parquet", "payments", [payment("P5", "E3")])
    exporter = Exporter(export, "rewrite", times=1000)
    when = lambda plan, name=None: plan.table.name == "transactions_834"  # noqa: E731
    monkeypatch.setattr(prepare, "staging_table_sql", exporter.before(prepare.staging_table_sql, when))
    monkeypatch.setattr(incremental, "staging_table_sql", exporter.before(incremental.staging_table_sql, when))
    changing = exports.get(directory, staging.export_fingerprint(export))
    assert exporter.left < 1000  # it was read, and found changing
    assert changing.engine is first.engine and sent(changing.engine) == 3  # the previous export, still open
    assert changing.changing_since is not None and changing.newer_since is None
    again = exports.get(directory, staging.export_fingerprint(export))
    assert again.engine is first.engine and again.changing_since == changing.changing_since  # not re-read yet

    # the exporter has finished: the next read (after the pause between reads) serves the new export
    monkeypatch.undo()
    monkeypatch.setenv("DASHBOARD_WARM_VIEWS", "0")
    monkeypatch.setattr(serving, "_CHANGING_RETRY_SECONDS", 0)
    settled = exports.get(directory, staging.export_fingerprint(export))
    assert settled.consistent and settled.changing_since is None and settled.engine is not first.engine
    assert files_read(settled.engine)["payments"] == (2, 2)


@pytest.mark.parametrize("page", ["overview", "standup"])
def test_a_page_served_from_the_previous_export_says_the_directory_was_changing(export, app_page, monkeypatch, page):
    from dataclasses import replace

    from helpers import rendered_text

    from dashboard import serving

    real = serving.load_export
    changing_at = datetime(2013, 12, 2, 9, 41)
    monkeypatch.setattr(serving, "load_export", lambda: replace(real(), changing_since=changing_at))
    text = rendered_text(app_page(page, data_dir=export))
    if page == "standup":
        assert "the export was changing when read at 09:41 UTC" in text
    else:
        assert "was changing while it was read at 2013-12-02 09:41 UTC" in text
        assert "These numbers are from the export prepared at" in text
