"""Full preparation: read every file of an export into a DuckDB connection, run the preparation SQL
of queries/prepare/ on it, validate it, and summarise what was read."""

from __future__ import annotations

import contextlib
import csv
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from .. import contract as c
from ..problems import ERROR, Problem, first_line
from . import validate
from .catalog import NamedQuery
from .staging import (
    ExportChanged,
    TablePlan,
    csv_view_sql,
    display_path,
    empty_select,
    export_files,
    export_fingerprint,
    plan_table,
    sql_string,
    staging_table_sql,
)
from .validate import Findings

_MAX_SNAPSHOT_TRIES = 3
_RETRY_PAUSE_SECONDS = 0.2  # before the second try; doubled before the third
# A Problem's fields as a prepared database keeps them (table _problems), in Problem's order
PROBLEM_COLUMNS = ("severity", "table", "message", "file", "column", "rows", "issuer_id")

Connect = Callable[..., duckdb.DuckDBPyConnection]
# Called as each preparation step starts: (the step in user words, its number from 1, steps in all).
# A preparation that falls back from incremental to full numbers its steps from 1 again.
Progress = Callable[[str, int, int], None]

_TABLE_WORDS = {"transactions_834": "834 transactions"}
_STEP_WORDS = {
    "check types": "Checking column types",
    "validate": "Checking the rows",
    "save": "Saving the prepared export",
    "copy previous": "Copying the previous preparation",
    "affected enrollments": "Finding the enrollments the changed files touch",
    "apply changes": "Applying the changes",
    "macro_day_changes_of": "Defining the trends' day-end changes",
    "prepare_day_changes": "Preparing the trends' day-end changes",
    "macro_cohort_day_changes": "Defining the trends' days",
    "macro_reached_by_pair": "Defining the funnel's counts",
    "macro_entered_as_of": "Defining the stages' entry times",
}


def step_words(step: str) -> str:
    """A step as `Preparation.timed` names it, in user words: 'read transactions_834' is 'Reading 834
    transactions', 'prepare_stage_events' is 'Preparing stage events'."""
    if step in _STEP_WORDS:
        return _STEP_WORDS[step]
    for prefix, verb in (("read ", "Reading"), ("prepare_", "Preparing"), ("macro_", "Defining")):
        if step.startswith(prefix):
            name = step.removeprefix(prefix)
            return f"{verb} {_TABLE_WORDS.get(name, name.replace('_', ' '))}"
    return step.replace("_", " ").capitalize()


class Preparation:
    """One preparation of an export: the connection it fills, what it found and how long each step took.

    `connect(database, read_only=False)` opens a connection with the engine's settings; `timings`
    (seconds per step) is shared with the engine, for the benchmark. `progress`, when given, hears of
    each step as it starts; `saves` says a "save" step follows (the prepared store), for the count.
    """

    def __init__(
        self,
        export_dir: Path,
        prepare_sql: list[NamedQuery],
        connect: Connect,
        timings: dict[str, float],
        progress: Progress | None = None,
    ):
        self.export_dir = export_dir
        self.progress = progress
        self.saves = False
        self._step = 0
        self._steps = 0
        self.prepare_sql = prepare_sql
        self.connect = connect
        self.timings = timings
        self.con: duckdb.DuckDBPyConnection | None = None
        self.fingerprint = ""
        self.findings = Findings()
        # [table, file, size, mtime_ns] of every file read: what an incremental preparation compares
        self.file_stats: list[list[Any]] = []
        self._stat_paths: list[Path] = []  # the path of each file_stats row

    @contextlib.contextmanager
    def timed(self, step: str):
        if self.progress is not None:
            self._step += 1
            self.progress(step_words(step), self._step, max(self._steps, self._step))
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[step] = self.timings.get(step, 0.0) + time.perf_counter() - started

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    # ------------------------------------------------------------ full preparation

    def load_consistent_snapshot(self) -> bool:
        """Prepare the whole export into self.con. False when it kept changing while it was read."""
        # An export replaced while it is read must not give a mix of old and new files, nor fail: a file
        # that vanished or changed between two looks at it means "read the snapshot again".
        changed: ExportChanged | None = None
        broken_off = False
        for attempt in range(_MAX_SNAPSHOT_TRIES):
            if attempt:
                time.sleep(_RETRY_PAUSE_SECONDS * 2 ** (attempt - 1))  # give the exporter a moment to finish
            before = export_fingerprint(self.export_dir)
            try:
                self.load()
            except (ExportChanged, FileNotFoundError, duckdb.Error) as exc:
                changed = self.what_changed(exc)
                if changed is None:
                    raise  # the export is as it was: a real failure, not a race
                broken_off = True
                continue
            broken_off = False
            if export_fingerprint(self.export_dir) == before:
                self.fingerprint = before
                return True
            changed = self.changed_file()
        if broken_off:
            self.findings = Findings()  # what a broken-off attempt found says nothing about the export
        self.findings.add(
            Problem(
                ERROR,
                "export",
                "the export kept changing while it was read"
                + (f" ({changed})" if changed else "")
                + "; try again once the exporter has finished writing",
                file=changed.file if changed else str(self.export_dir),
            )
        )
        self.fingerprint = before
        return False

    def what_changed(self, exc: BaseException) -> ExportChanged | None:
        """The change to the export that `exc` stems from, or None when the files are as they were."""
        if isinstance(exc, ExportChanged):
            return exc
        if isinstance(exc, FileNotFoundError) and exc.filename:
            return ExportChanged(display_path(Path(exc.filename), self.export_dir))
        return self.changed_file()

    def changed_file(self) -> ExportChanged | None:
        """The first file noted by `start` that is gone or has another size or time now, or else the
        first file that has appeared since."""
        for (_, shown, size, mtime_ns), path in zip(self.file_stats, self._stat_paths, strict=True):
            try:
                stat = path.stat()
            except FileNotFoundError:
                return ExportChanged(shown)
            if (stat.st_size, stat.st_mtime_ns) != (size, mtime_ns):
                return ExportChanged(shown, "changed")
        known = set(self._stat_paths)
        for path in export_files(self.export_dir):
            if path not in known and path.is_file():
                return ExportChanged(display_path(path, self.export_dir), "appeared")
        return None

    def raise_if_changed(self) -> None:
        changed = self.changed_file()
        if changed is not None:
            raise changed

    def start(self, incremental: bool = False) -> list[TablePlan]:
        """Forget what an earlier attempt found; plan every parquet table and note every file's stat."""
        # the steps `timed` will announce: check types, a read per table, the preparation SQL, validate
        # (twice when incremental, which also copies, finds affected enrollments and applies), save
        self._step = 0
        self._steps = 2 + len(c.PARQUET_TABLES) + len(self.prepare_sql) + (4 if incremental else 0) + self.saves
        self.findings = Findings()
        self.file_stats = []
        self._stat_paths = []
        plans = [plan_table(self.export_dir, table) for table in c.PARQUET_TABLES]
        for plan in plans:
            self.findings.problems.extend(plan.problems)
            for file in plan.files:
                self._note_stat(plan.table.name, file.path, file.shown)
        for table in c.CSV_TABLES:
            path = self.export_dir / f"{table.name}.csv"
            if path.is_file():
                self._note_stat(table.name, path, display_path(path, self.export_dir))
        return plans

    def _note_stat(self, table: str, path: Path, shown: str) -> None:
        try:
            stat = path.stat()
        except FileNotFoundError as exc:
            raise ExportChanged(shown) from exc  # listed a moment ago
        self.file_stats.append([table, shown, stat.st_size, stat.st_mtime_ns])
        self._stat_paths.append(path)

    def load(self) -> None:
        plans = self.start()
        with self.timed("check types"):
            for plan in plans:
                for file in plan.files:
                    self.check_casts(plan.table.name, file)
        for table in c.CSV_TABLES:
            self.create_csv_staging(table)
        while True:
            try:
                for plan in plans:
                    with self.timed(f"read {plan.table.name}"):
                        self.con.execute(staging_table_sql(plan))
                self.run_prepare_sql()
                break
            except duckdb.Error:
                self.raise_if_changed()  # a file replaced or removed since it was listed is not broken
                # A file whose footer reads but whose data does not: find it, name it, leave it out.
                if not self._drop_unreadable_files(plans):
                    raise
        with self.timed("validate"):
            for table in c.PARQUET_TABLES:
                # the staged rows, not the prepared tables: a duplicated enrollment duplicates its 834s there
                validate.validate_file_values(self.con, f"stg_{table.name}", table, self.findings)
                validate.validate_unique(self.con, f"stg_{table.name}", table, self.findings)
            validate.validate_csv(self.con, self.findings)
            validate.validate_references(self.con, self.export_dir, self.findings)
            self.summarise([row for t in c.PARQUET_TABLES for row in self.count_rows(f"stg_{t.name}", t)])
        self.findings.sort()

    # ------------------------------------------------- steps shared with incremental

    def check_casts(self, table: str, file) -> None:
        validate.check_file_casts(self.con, self.export_dir, table, file, self.findings)

    def run_prepare_sql(self) -> None:
        for statement in self.prepare_sql:
            with self.timed(statement.name):
                self.con.execute(statement.sql)

    def count_rows(self, relation: str, table: c.Table) -> list[list[Any]]:
        return [
            [table.name, file, rows]
            for file, rows in self.con.execute(f"SELECT _source_file, count(*) FROM {relation} GROUP BY ALL").fetchall()
        ]

    def summarise(self, file_rows: list[list[Any]]) -> None:
        """_file_rows (rows per table file) and _table_summary (usable files and rows per table)."""
        self.con.execute('CREATE OR REPLACE TABLE _file_rows ("table" VARCHAR, file VARCHAR, "rows" BIGINT)')
        insert_rows(self.con, "_file_rows", file_rows)
        self.con.execute(
            "CREATE OR REPLACE TABLE _table_summary AS "
            + " UNION ALL ".join(
                f'SELECT {sql_string(t.name)} AS "table", count(*) FILTER (WHERE "rows" > 0) AS files, '
                f'coalesce(sum("rows"), 0)::BIGINT AS "rows" FROM _file_rows WHERE "table" = {sql_string(t.name)}'
                for t in c.PARQUET_TABLES
            )
        )

    def create_csv_staging(self, table: c.Table) -> None:
        """stg_<releases|issuers>; when the file is missing or unreadable, an empty view and a problem."""
        path = self.export_dir / f"{table.name}.csv"
        shown = display_path(path, self.export_dir)
        header = self._csv_header(table, path, shown)
        sql, problems = csv_view_sql(self.export_dir, table, header or [])
        if header is not None:
            self.findings.problems.extend(problems)
            try:
                self.con.execute(sql)
                self.con.execute(f"SELECT count(*) FROM stg_{table.name}").fetchall()
                return
            except duckdb.Error as exc:
                self.raise_if_changed()  # e.g. replaced, with another header, since it was looked at
                self.findings.add(
                    Problem(ERROR, table.name, f"the file cannot be read as CSV ({first_line(exc)})", file=shown)
                )
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE stg_{table.name} AS {empty_select(table)}")

    # -------------------------------------------------------------------- helpers

    def _drop_unreadable_files(self, plans: list[TablePlan]) -> bool:
        dropped = False
        for plan in plans:
            for file in list(plan.files):
                try:
                    # hash every column so that every page is decoded (count() may answer from statistics)
                    self.con.execute(f"SELECT min(hash(COLUMNS(*))) FROM ({file.select_sql}) AS f").fetchall()
                except duckdb.Error as exc:
                    self.raise_if_changed()
                    plan.files.remove(file)
                    dropped = True
                    self.findings.add(
                        Problem(
                            ERROR,
                            plan.table.name,
                            f"the file could not be read ({first_line(exc)}); it was left out",
                            file=file.shown,
                        )
                    )
        return dropped

    def _csv_header(self, table: c.Table, path: Path, shown: str) -> list[str] | None:
        if not path.is_file():
            self.raise_if_changed()  # it was there when the export was listed
            self.findings.add(Problem(ERROR, table.name, "the reference file is missing", file=shown))
            return None
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.reader(handle, strict=True)
                header = [h.strip() for h in next(reader, [])]
                for row in reader:
                    if row and len(row) != len(header):
                        self.findings.add(
                            Problem(
                                ERROR,
                                table.name,
                                f"line {reader.line_num} has {len(row)} fields but the header has {len(header)}",
                                file=shown,
                            )
                        )
                        return None
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            self.raise_if_changed()
            self.findings.add(Problem(ERROR, table.name, f"the file cannot be read as CSV ({exc})", file=shown))
            return None
        if not header:
            self.findings.add(Problem(ERROR, table.name, "the file is empty (it needs a header row)", file=shown))
            return None
        return header


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[list[Any]]) -> None:
    if rows:
        con.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)
