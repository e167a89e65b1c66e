"""The one module that talks to DuckDB: prepares an export once, then runs named queries on it."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import os
import shutil
import threading
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from .. import contract as c
from ..problems import ERROR, WARNING, ExportError, Problem
from .catalog import NamedQuery, load_catalog
from .staging import (
    TablePlan,
    csv_view_sql,
    display_path,
    empty_select,
    export_fingerprint,
    plan_table,
    sql_ident,
    sql_string,
    staging_table_sql,
)

_MAX_SNAPSHOT_TRIES = 3
# Bump when the layout of a prepared database changes in a way the prepare SQL's text does not show.
_PREPARED_FORMAT = "2"
# Prepared databases kept per export directory: the one in use and the one before it (for incremental
# preparation and for a process still serving the previous export).
_KEEP_PREPARED = 2
_PROBLEM_COLUMNS = ("severity", "table", "message", "file", "column", "rows", "issuer_id")


class Engine:
    """One prepared export. Thread-safe: every query runs on its own cursor.

    With `prepared_dir`, the prepared tables live in a DuckDB file there (never in the export), named
    by the export's fingerprint: a process that finds it opens it read-only at once, and a new export
    copies the rows of its unchanged files from the previous one instead of reading them again.
    Without it, everything is prepared in memory (small exports, tests).
    """

    def __init__(
        self,
        export_dir: Path | str,
        *,
        memory_limit: str | None = None,
        threads: int | None = None,
        prepared_dir: Path | str | None = None,
    ):
        self.export_dir = Path(export_dir)
        self._prepare_sql, self._queries = load_catalog()
        self._lock = threading.Lock()
        self._settings = {"memory_limit": memory_limit, "threads": threads}
        self.problems: list[Problem] = []
        self.fingerprint = ""
        self.prepared_path: Path | None = None
        # how this engine got its data: "memory", "reused" (an existing prepared file),
        # "incremental" (some files copied from the previous one) or "full"
        self.preparation = "memory"
        self.reused_files = 0
        self.prepare_seconds = 0.0
        self.timings: dict[str, float] = {}  # seconds per preparation step (for the benchmark)
        self._con: duckdb.DuckDBPyConnection | None = None
        if not self.export_dir.is_dir():
            raise ExportError(
                [
                    Problem(
                        ERROR,
                        "export",
                        f"the export directory {self.export_dir} does not exist",
                        file=str(self.export_dir),
                    )
                ]
            )
        started = time.perf_counter()
        if prepared_dir is None:
            self._con = self._connect(":memory:")
            self._load_consistent_snapshot()
        else:
            self._open_prepared(Path(prepared_dir))
        self.prepare_seconds = time.perf_counter() - started

    @classmethod
    def configured(cls, export_dir: Path | str) -> Engine:
        """The engine as the dashboard and `report` open it: with the settings of dashboard.config."""
        from .. import config

        return cls(
            export_dir,
            memory_limit=config.duckdb_memory_limit(),
            threads=config.duckdb_threads(),
            prepared_dir=config.prepared_dir(),
        )

    def _connect(self, database: str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(database, read_only=read_only)
        con.execute("SET TimeZone = 'UTC'")
        if self._settings["memory_limit"]:
            con.execute(f"SET memory_limit = {_quote(self._settings['memory_limit'])}")
        if self._settings["threads"]:
            con.execute(f"SET threads = {int(self._settings['threads'])}")
        return con

    # ----------------------------------------------------------------- queries

    @property
    def query_names(self) -> list[str]:
        return sorted(self._queries)

    def query(self, name: str) -> NamedQuery:
        try:
            return self._queries[name]
        except KeyError:
            raise KeyError(f"no named query {name!r}; known: {', '.join(self.query_names)}") from None

    def _execute(self, name: str, params: dict[str, Any]) -> duckdb.DuckDBPyConnection:
        query = self.query(name)
        if set(params) != set(query.params):
            raise TypeError(f"query {name} takes parameters {sorted(query.params)}, got {sorted(params)}")
        cursor = self._con.cursor()
        cursor.execute(query.sql, {k: _bindable(v) for k, v in params.items()})
        return cursor

    def rows(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """The query's rows as dicts of plain Python values (dates, datetimes, ints, floats)."""
        cursor = self._execute(name, params)
        try:
            columns = [d[0] for d in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def frame(self, name: str, **params: Any) -> pd.DataFrame:
        cursor = self._execute(name, params)
        try:
            return cursor.df()
        finally:
            cursor.close()

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    def close(self) -> None:
        self._close()

    def _close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    # ----------------------------------------------------------------- loading

    def _load_consistent_snapshot(self) -> bool:
        """Prepare the whole export into self._con. False when it kept changing while it was read."""
        # An export replaced while it is read must not give a mix of old and new files.
        for _ in range(_MAX_SNAPSHOT_TRIES):
            before = export_fingerprint(self.export_dir)
            self._load()
            if export_fingerprint(self.export_dir) == before:
                self.fingerprint = before
                return True
        self.problems.append(
            Problem(
                ERROR,
                "export",
                "the export kept changing while it was read; try again once the exporter has finished writing",
                file=str(self.export_dir),
            )
        )
        self.fingerprint = before
        return False

    @contextlib.contextmanager
    def _timed(self, step: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[step] = self.timings.get(step, 0.0) + time.perf_counter() - started

    def _start_load(self) -> list[TablePlan]:
        self.problems = []
        # (file, column) -> (table, values that failed their cast, message): they read as null and
        # are reported once
        self._cast_failures: dict[tuple[str, str], tuple[str, int, str]] = {}
        # problems about the values of one parquet file: carried over while the file is unchanged
        self._file_value_problems: set[Problem] = set()
        self._file_stats: list[list[Any]] = []
        plans = [plan_table(self.export_dir, table) for table in c.PARQUET_TABLES]
        for plan in plans:
            self.problems.extend(plan.problems)
            for file in plan.files:
                stat = file.path.stat()
                self._file_stats.append([plan.table.name, file.shown, stat.st_size, stat.st_mtime_ns])
        for table in c.CSV_TABLES:
            path = self.export_dir / f"{table.name}.csv"
            if path.is_file():
                stat = path.stat()
                self._file_stats.append(
                    [table.name, display_path(path, self.export_dir), stat.st_size, stat.st_mtime_ns]
                )
        return plans

    def _load(self) -> None:
        plans = self._start_load()
        for plan in plans:
            for file in plan.files:
                for column, source, expression in file.cast_checks:
                    self._check_cast(plan.table.name, file, column, source, expression)
        for table in c.CSV_TABLES:
            self._create_csv_staging(table)
        while True:
            try:
                for plan in plans:
                    with self._timed(f"read {plan.table.name}"):
                        self._con.execute(staging_table_sql(plan))
                self._run_prepare_sql()
                break
            except duckdb.Error:
                # A file whose footer reads but whose data does not: find it, name it, leave it out.
                if not self._drop_unreadable_files(plans):
                    raise
        with self._timed("validate"):
            for table in c.PARQUET_TABLES:
                # the staged rows, not the prepared tables: a duplicated enrollment duplicates its 834s there
                self._validate_file_values(f"stg_{table.name}", table)
                self._validate_unique(f"stg_{table.name}", table)
            self._validate_csv()
            self._validate_references()
            self._summarise([row for t in c.PARQUET_TABLES for row in self._count_rows(f"stg_{t.name}", t)])
        self._sort_problems()

    def _run_prepare_sql(self) -> None:
        for statement in self._prepare_sql:
            with self._timed(statement.name):
                self._con.execute(statement.sql)

    def _sort_problems(self) -> None:
        self.problems.sort(key=lambda p: (p.severity != ERROR, p.table, p.file or "", p.column or ""))

    def _count_rows(self, relation, table: c.Table) -> list[list[Any]]:
        return [
            [table.name, file, rows]
            for file, rows in self._con.execute(
                f"SELECT _source_file, count(*) FROM {relation} GROUP BY ALL"
            ).fetchall()
        ]

    def _summarise(self, file_rows: list[list[Any]]) -> None:
        """_file_rows (rows per table file) and _table_summary (usable files and rows per table)."""
        self._con.execute('CREATE OR REPLACE TABLE _file_rows ("table" VARCHAR, file VARCHAR, "rows" BIGINT)')
        _insert(self._con, "_file_rows", file_rows)
        self._con.execute(
            "CREATE OR REPLACE TABLE _table_summary AS "
            + " UNION ALL ".join(
                f'SELECT {sql_string(t.name)} AS "table", count(*) FILTER (WHERE "rows" > 0) AS files, '
                f'coalesce(sum("rows"), 0)::BIGINT AS "rows" FROM _file_rows WHERE "table" = {sql_string(t.name)}'
                for t in c.PARQUET_TABLES
            )
        )

    # ------------------------------------------------------- prepared databases

    def _prepared_prefix(self) -> str:
        digest = hashlib.sha256(str(self.export_dir.resolve()).encode())
        version = hashlib.sha256(_PREPARED_FORMAT.encode())
        for statement in self._prepare_sql:
            version.update(statement.sql.encode())
        return f"{digest.hexdigest()[:12]}-{version.hexdigest()[:8]}"

    def _open_prepared(self, prepared_dir: Path) -> None:
        prepared_dir.mkdir(parents=True, exist_ok=True)
        prefix = self._prepared_prefix()
        path = prepared_dir / f"{prefix}-{export_fingerprint(self.export_dir)}.duckdb"
        if path.is_file() and self._open_existing(path):
            self.preparation = "reused"
            return
        previous = _newest(prepared_dir.glob(f"{prefix}-*.duckdb"), exclude=path)
        building = prepared_dir / f".{path.name}.building-{os.getpid()}-{threading.get_ident()}"
        _remove_database(building)
        try:
            consistent = previous is not None and self._prepare_incremental(previous, building)
            if consistent:
                self.preparation = "incremental"
            else:
                self._close()
                _remove_database(building)
                self.preparation = "full"
                self._con = self._connect(str(building))
                self._con.execute("SET preserve_insertion_order = false")  # every query orders what it shows
                consistent = self._load_consistent_snapshot()
            with self._timed("save"):
                self._save_state()
                self._con.execute("CHECKPOINT")
        except BaseException:
            self._close()
            _remove_database(building)
            raise
        self._close()
        final = prepared_dir / f"{prefix}-{self.fingerprint}.duckdb"
        if consistent:
            os.replace(building, final)  # atomic: another process sees the whole file or none
            self._prune(prepared_dir, prefix, keep=final)
            target = final
        else:
            target = building  # serve what was read, with its problem, but never reuse it
        self._con = self._connect(str(target), read_only=True)
        self.prepared_path = target

    def _prepare_incremental(self, previous: Path, building: Path) -> bool:
        """Prepare by changing a copy of the previous prepared database: only what a new, changed or
        removed file touches is read and recomputed (every enrollment with a row in one of them,
        with all its 834s and payments). False when that is not possible or not worth it (a CSV
        file changed, no file is unchanged, a file cannot be read): then everything is prepared."""
        before = export_fingerprint(self.export_dir)
        plans = self._start_load()
        try:
            probe = self._connect(":memory:")
            probe.execute(f"ATTACH {sql_string(str(previous))} AS previous (READ_ONLY)")
            known = {
                (t, f): (size, mtime) for t, f, size, mtime in probe.execute("SELECT * FROM previous._files").fetchall()
            }
            carried = probe.execute(
                f"SELECT {', '.join(map(sql_ident, _PROBLEM_COLUMNS))} FROM previous._problems "
                "WHERE origin = 'file_values' ORDER BY position"
            ).fetchall()
            failures = probe.execute("SELECT * FROM previous._cast_failures").fetchall()
            probe.close()
        except duckdb.Error:
            return False
        now = {(t, f): (size, mtime) for t, f, size, mtime in self._file_stats}
        csv_names = {t.name for t in c.CSV_TABLES}
        if {k: v for k, v in now.items() if k[0] in csv_names} != {k: v for k, v in known.items() if k[0] in csv_names}:
            return False
        kept = {k for k in now if k[0] not in csv_names and known.get(k) == now[k]}
        if not kept:
            return False
        dropped = {
            t.name: sorted(f for (tt, f) in known if tt == t.name and (tt, f) not in kept) for t in c.PARQUET_TABLES
        }
        with self._timed("copy previous"):
            shutil.copyfile(previous, building)
        self._con = self._connect(":memory:")
        con = self._con
        con.execute("SET preserve_insertion_order = false")
        con.execute(f"ATTACH {sql_string(str(building))} AS target")
        for problem in carried:
            p = Problem(*problem)
            if (p.table, p.file) in kept:
                self.problems.append(p)
                self._file_value_problems.add(p)
        for table, file, column, count, message in failures:
            if (table, file) in kept:
                self._cast_failures[(file, column)] = (table, count, message)
        try:
            for plan in plans:
                new_files = [f for f in plan.files if (plan.table.name, f.shown) not in kept]
                for file in new_files:
                    for column, source, expression in file.cast_checks:
                        self._check_cast(plan.table.name, file, column, source, expression)
                with self._timed(f"read {plan.table.name}"):
                    con.execute(staging_table_sql(TablePlan(plan.table, new_files, []), name=f"new_{plan.table.name}"))
            for table in c.CSV_TABLES:
                self._create_csv_staging(table)
            # every enrollment that a new, changed or removed row names
            with self._timed("affected enrollments"):

                def in_dropped(table: str) -> str:  # rows of removed or rewritten files
                    files = dropped[table]
                    return f"_source_file IN ({', '.join(map(sql_string, files))})" if files else "false"

                con.execute(
                    "CREATE OR REPLACE TEMP TABLE affected AS SELECT DISTINCT enrollment_id FROM ("
                    + " UNION ALL ".join(
                        f"SELECT enrollment_id FROM new_{t.name}"
                        + (
                            f" UNION ALL SELECT enrollment_id FROM target.{t.name} WHERE {in_dropped(t.name)}"
                            if dropped[t.name]
                            else ""
                        )
                        for t in c.PARQUET_TABLES
                    )
                    + ") WHERE enrollment_id IS NOT NULL"
                )
                for t in c.PARQUET_TABLES:
                    columns = ", ".join(sql_ident(col.prepared_name) for col in t.columns)
                    con.execute(
                        f"CREATE OR REPLACE TEMP TABLE stg_{t.name} AS "
                        f"SELECT {columns}, _source_file, _file_row FROM target.{t.name} "
                        f"WHERE enrollment_id IN (SELECT enrollment_id FROM affected) "
                        f"AND NOT ({in_dropped(t.name)}) "
                        f"UNION ALL SELECT * FROM new_{t.name}"
                    )
            self._run_prepare_sql()
            with self._timed("apply changes"):
                for t in c.PARQUET_TABLES:
                    con.execute(
                        f"DELETE FROM target.{t.name} WHERE enrollment_id IN (SELECT enrollment_id FROM affected) "
                        f"OR {in_dropped(t.name)}"
                    )
                    con.execute(f"INSERT INTO target.{t.name} BY NAME SELECT * FROM main.{t.name}")
                con.execute(
                    "DELETE FROM target.enrollment_milestones "
                    "WHERE enrollment_id IN (SELECT enrollment_id FROM affected)"
                )
                con.execute("INSERT INTO target.enrollment_milestones BY NAME SELECT * FROM main.enrollment_milestones")
            with self._timed("validate"):
                for t in c.PARQUET_TABLES:
                    self._validate_file_values(f"new_{t.name}", t)
                self._validate_csv()
                file_rows = [
                    [t, f, n] for t, f, n in con.execute("SELECT * FROM target._file_rows").fetchall() if (t, f) in kept
                ]
                file_rows += [row for t in c.PARQUET_TABLES for row in self._count_rows(f"new_{t.name}", t)]
        except duckdb.Error:
            return False  # e.g. a file whose data cannot be read: the full preparation names it
        con.execute("DETACH target")
        con.close()
        if export_fingerprint(self.export_dir) != before:
            return False
        self.fingerprint = before
        # what needs every row: unique ids, issuers, the summary; on the prepared tables themselves
        self._con = self._connect(str(building))
        with self._timed("validate"):
            for t in c.PARQUET_TABLES:
                self._validate_unique(t.name, t)
            self._validate_references()
            self._summarise(file_rows)
        self._sort_problems()
        return True

    def _open_existing(self, path: Path) -> bool:
        try:
            con = self._connect(str(path), read_only=True)
            fingerprint = con.execute("SELECT fingerprint FROM _meta").fetchone()[0]
            problems = con.execute(
                f"SELECT {', '.join(map(sql_ident, _PROBLEM_COLUMNS))} FROM _problems ORDER BY position"
            ).fetchall()
        except duckdb.Error:
            _remove_database(path)  # unreadable or from an interrupted write: prepare again
            return False
        self._con = con
        self.fingerprint = fingerprint
        self.problems = [Problem(*row) for row in problems]
        self.prepared_path = path
        return True

    def _save_state(self) -> None:
        con = self._con
        con.execute(
            "CREATE OR REPLACE TABLE _meta AS SELECT $fingerprint AS fingerprint, "
            "$export_dir AS export_dir, now() AS prepared_at",
            {"fingerprint": self.fingerprint, "export_dir": str(self.export_dir.resolve())},
        )
        con.execute(
            'CREATE OR REPLACE TABLE _problems (position INTEGER, severity VARCHAR, "table" VARCHAR, '
            'message VARCHAR, file VARCHAR, "column" VARCHAR, "rows" BIGINT, issuer_id VARCHAR, '
            "origin VARCHAR)"
        )
        _insert(
            con,
            "_problems",
            [
                [
                    i,
                    p.severity,
                    p.table,
                    p.message,
                    p.file,
                    p.column,
                    p.rows,
                    p.issuer_id,
                    "file_values" if p in self._file_value_problems else None,
                ]
                for i, p in enumerate(self.problems)
            ],
        )
        con.execute('CREATE OR REPLACE TABLE _files ("table" VARCHAR, file VARCHAR, size BIGINT, mtime_ns BIGINT)')
        _insert(con, "_files", self._file_stats)
        con.execute(
            'CREATE OR REPLACE TABLE _cast_failures ("table" VARCHAR, file VARCHAR, "column" VARCHAR, '
            "failures BIGINT, message VARCHAR)"
        )
        _insert(
            con,
            "_cast_failures",
            [[table, f, col, n, message] for (f, col), (table, n, message) in self._cast_failures.items()],
        )

    @staticmethod
    def _prune(prepared_dir: Path, prefix: str, keep: Path) -> None:
        older = sorted((p for p in prepared_dir.glob(f"{prefix}-*.duckdb") if p != keep), key=_mtime, reverse=True)
        for path in older[_KEEP_PREPARED - 1 :]:
            _remove_database(path)  # a process still reading it keeps its open file (POSIX)
        for stale in prepared_dir.glob(f".{prefix}-*.building-*"):
            if time.time() - _mtime(stale) > 24 * 3600:  # left by a process that died while preparing
                _remove_database(stale)

    def _drop_unreadable_files(self, plans: list[TablePlan]) -> bool:
        dropped = False
        for plan in plans:
            for file in list(plan.files):
                try:
                    # hash every column so that every page is decoded (count() may answer from statistics)
                    self._con.execute(f"SELECT min(hash(COLUMNS(*))) FROM ({file.select_sql}) AS f").fetchall()
                except duckdb.Error as exc:
                    plan.files.remove(file)
                    dropped = True
                    self.problems.append(
                        Problem(
                            ERROR,
                            plan.table.name,
                            f"the file could not be read ({_first_line(exc)}); it was left out",
                            file=file.shown,
                        )
                    )
        return dropped

    def _check_cast(self, table: str, file, column: str, source: str, expression: str) -> None:
        sql = (
            f"SELECT count(*), CAST(any_value({source}) AS VARCHAR) FROM ("
            f"SELECT {source}, {expression} AS converted FROM read_parquet(?, hive_partitioning = false)"
            f") WHERE {source} IS NOT NULL AND converted IS NULL"
        )
        try:
            count, example = self._con.execute(sql, [str(file.path)]).fetchone()
        except duckdb.Error:
            return  # an unreadable file: named when the tables are prepared
        if count:
            self._record_cast_failure(
                table,
                display_path(file.path, self.export_dir),
                column,
                count,
                f"{count} value(s) cannot be read as the contract's type, e.g. {example!r}",
            )

    def _record_cast_failure(self, table: str, file: str, column: str, count: int, message: str) -> None:
        self._cast_failures[(file, column)] = (table, count, message)
        problem = Problem(ERROR, table, message, file=file, column=column, rows=count)
        self.problems.append(problem)
        self._file_value_problems.add(problem)

    def _create_csv_staging(self, table: c.Table) -> None:
        """stg_<releases|issuers>; when the file is missing or unreadable, an empty view and a problem."""
        path = self.export_dir / f"{table.name}.csv"
        shown = display_path(path, self.export_dir)
        header = self._csv_header(table, path, shown)
        sql, problems = csv_view_sql(self.export_dir, table, header or [])
        if header is not None:
            self.problems.extend(problems)
            try:
                self._con.execute(sql)
                self._con.execute(f"SELECT count(*) FROM stg_{table.name}").fetchall()
                return
            except duckdb.Error as exc:
                self.problems.append(
                    Problem(ERROR, table.name, f"the file cannot be read as CSV ({_first_line(exc)})", file=shown)
                )
        self._con.execute(f"CREATE OR REPLACE TEMP VIEW stg_{table.name} AS {empty_select(table)}")

    def _csv_header(self, table: c.Table, path: Path, shown: str) -> list[str] | None:
        if not path.is_file():
            self.problems.append(Problem(ERROR, table.name, f"the reference file {path} is missing", file=shown))
            return None
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.reader(handle, strict=True)
                header = [h.strip() for h in next(reader, [])]
                for row in reader:
                    if row and len(row) != len(header):
                        self.problems.append(
                            Problem(
                                ERROR,
                                table.name,
                                f"line {reader.line_num} has {len(row)} fields but the header has {len(header)}",
                                file=shown,
                            )
                        )
                        return None
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            self.problems.append(Problem(ERROR, table.name, f"the file cannot be read as CSV ({exc})", file=shown))
            return None
        if not header:
            self.problems.append(Problem(ERROR, table.name, "the file is empty (it needs a header row)", file=shown))
            return None
        return header

    # -------------------------------------------------------------- validation

    def _validate_csv(self) -> None:
        for table in c.CSV_TABLES:
            self._validate_csv_timestamps(table)
            self._validate_file_values(f"stg_{table.name}", table)
            self._validate_unique(f"stg_{table.name}", table)

    def _file_problem(self, table: c.Table, problem: Problem) -> None:
        self.problems.append(problem)
        if table in c.PARQUET_TABLES:
            self._file_value_problems.add(problem)  # carried over while its file is unchanged

    def _validate_file_values(self, view: str, table: c.Table) -> None:
        """The checks that look at one file's rows at a time: required values, codes, member counts."""
        required = [col for col in table.columns if not col.nullable]
        if required:
            counts = ", ".join(f"count_if({sql_ident(col.prepared_name)} IS NULL)" for col in required)
            for row in self._con.execute(
                f"SELECT _source_file, {counts} FROM {view} GROUP BY _source_file ORDER BY _source_file"
            ).fetchall():
                for col, nulls in zip(required, row[1:], strict=True):
                    nulls -= self._cast_failures.get((row[0], col.name), ("", 0, ""))[1]
                    if nulls:
                        self._file_problem(
                            table,
                            Problem(
                                ERROR,
                                table.name,
                                f"{nulls} row(s) have no value in a required column",
                                file=row[0],
                                column=col.name,
                                rows=nulls,
                            ),
                        )
        for col in table.columns:
            if col.codes:
                ident = sql_ident(col.prepared_name)
                for file, rows, values in self._con.execute(
                    f"SELECT _source_file, count(*), list(DISTINCT {ident})[1:5] FROM {view} "
                    f"WHERE {ident} IS NOT NULL AND NOT list_contains($codes, {ident}) "
                    "GROUP BY _source_file ORDER BY _source_file",
                    {"codes": list(col.codes)},
                ).fetchall():
                    severity = ERROR if col.codes_drive_metrics else WARNING
                    self._file_problem(
                        table,
                        Problem(
                            severity,
                            table.name,
                            f"{rows} row(s) carry unknown code(s) {', '.join(map(repr, sorted(values)))}; "
                            f"allowed: {', '.join(col.codes)}",
                            file=file,
                            column=col.name,
                            rows=rows,
                        ),
                    )
        if table is c.ENROLLMENTS:
            for file, rows in self._con.execute(
                f"SELECT _source_file, count(*) FROM {view} WHERE member_count < 1 GROUP BY ALL"
            ).fetchall():
                self._file_problem(
                    table,
                    Problem(
                        ERROR,
                        table.name,
                        f"{rows} row(s) have a member_count below 1",
                        file=file,
                        column="member_count",
                        rows=rows,
                    ),
                )

    def _validate_unique(self, relation: str, table: c.Table) -> None:
        """Ids that must be unique across all files of the table."""
        for col in table.columns:
            if not col.unique:
                continue
            ident = sql_ident(col.prepared_name)
            # values first (one cheap aggregate), then the files of the duplicated ones only
            # Rows of the export, not of the relation: a prepared 834 appears once per enrollment row
            # with its id, so a duplicated enrollment must not make its 834s look duplicated too.
            # The exact count only for the few candidates the cheap one finds.
            exact = "count(DISTINCT (_source_file, _file_row))" if relation == c.TRANSACTIONS_834.name else "count(*)"
            dup_values, dup_rows, example, files = self._con.execute(
                f"WITH candidate AS (SELECT {ident} AS v FROM {relation} WHERE {ident} IS NOT NULL "
                f"GROUP BY {ident} HAVING count(*) > 1), "
                f"dup AS (SELECT {ident} AS v, {exact} AS n FROM {relation} "
                f"WHERE {ident} IN (SELECT v FROM candidate) GROUP BY {ident} HAVING {exact} > 1) "
                f"SELECT (SELECT count(*) FROM dup), (SELECT sum(n) FROM dup), (SELECT min(v) FROM dup), "
                f"(SELECT list(DISTINCT _source_file ORDER BY _source_file)[1:3] FROM {relation} "
                f"WHERE {ident} IN (SELECT v FROM dup))"
            ).fetchone()
            if dup_values:
                self.problems.append(
                    Problem(
                        ERROR,
                        table.name,
                        f"{dup_values} value(s) appear more than once ({dup_rows} rows), e.g. {example!r} "
                        f"in {', '.join(dict.fromkeys(files))}; the column must be unique",
                        column=col.name,
                        rows=int(dup_rows),
                    )
                )

    def _validate_csv_timestamps(self, table: c.Table) -> None:
        for col in table.columns:
            if col.kind != c.TIMESTAMP:
                continue
            try:
                rows, example, file = self._con.execute(
                    f"SELECT count(*), any_value({sql_ident(col.name + '__raw')}), any_value(_source_file) "
                    f"FROM stg_{table.name} WHERE {sql_ident(col.name)} IS NULL "
                    f"AND nullif(trim({sql_ident(col.name + '__raw')}), '') IS NOT NULL"
                ).fetchone()
            except duckdb.Error:
                continue  # the column is missing: already reported
            if rows:
                self._record_cast_failure(
                    table.name, file, col.name, rows, f"{rows} value(s) are not ISO 8601 timestamps, e.g. {example!r}"
                )

    def _validate_references(self) -> None:
        if any(p.table == "issuers" and p.severity == ERROR for p in self.problems):
            return
        missing = self._con.execute(
            "SELECT issuer_id, list(DISTINCT source ORDER BY source) FROM ("
            "SELECT issuer_id, 'enrollments' AS source FROM enrollments "
            "UNION ALL SELECT issuer_id, 'transactions_834' FROM transactions_834 "
            "UNION ALL SELECT issuer_id, 'payments' FROM payments) "
            "WHERE issuer_id IS NOT NULL AND issuer_id NOT IN (SELECT issuer_id FROM issuers) "
            "GROUP BY issuer_id ORDER BY issuer_id"
        ).fetchall()
        for issuer_id, sources in missing:
            self.problems.append(
                Problem(
                    WARNING,
                    "issuers",
                    f"issuer {issuer_id!r} appears in {', '.join(sources)} but not in issuers.csv; "
                    "it is counted and shown by its id, and has no state",
                    file=display_path(self.export_dir / "issuers.csv", self.export_dir),
                    column="issuer_id",
                    issuer_id=issuer_id,
                )
            )

    def table_summary(self) -> list[dict[str, Any]]:
        """Per parquet table: usable files and rows (for the data-health view)."""
        rows = dict((t, (f, r)) for t, f, r in self._con.execute("SELECT * FROM _table_summary").fetchall())
        return [{"table": t.name, "files": rows[t.name][0], "rows": rows[t.name][1]} for t in c.PARQUET_TABLES]


def _bindable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        raise ValueError("bind timestamps as naive UTC datetimes")
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[list[Any]]) -> None:
    if rows:
        con.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _newest(paths, exclude: Path) -> Path | None:
    candidates = [p for p in paths if p != exclude]
    return max(candidates, key=_mtime) if candidates else None


def _remove_database(path: Path) -> None:
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
