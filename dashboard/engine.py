"""The one module that talks to DuckDB: prepares an export once, then runs named queries on it."""
from __future__ import annotations

import csv
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from . import contract as c
from .catalog import NamedQuery, load_catalog
from .exports import (TablePlan, csv_view_sql, display_path, empty_select, export_fingerprint,
                      plan_table, sql_ident, staging_view_sql)
from .problems import ERROR, WARNING, ExportError, Problem

_MAX_SNAPSHOT_TRIES = 3


class Engine:
    """One prepared export. Thread-safe: every query runs on its own cursor."""

    def __init__(self, export_dir: Path | str, *, memory_limit: str | None = None,
                 threads: int | None = None):
        self.export_dir = Path(export_dir)
        self._prepare_sql, self._queries = load_catalog()
        self._lock = threading.Lock()
        self.problems: list[Problem] = []
        self.fingerprint = ""
        if not self.export_dir.is_dir():
            raise ExportError([Problem(ERROR, "export",
                                       f"the export directory {self.export_dir} does not exist",
                                       file=str(self.export_dir))])
        self._con = duckdb.connect(":memory:")
        self._con.execute("SET TimeZone = 'UTC'")
        if memory_limit:
            self._con.execute(f"SET memory_limit = {_quote(memory_limit)}")
        if threads:
            self._con.execute(f"SET threads = {int(threads)}")
        self._load_consistent_snapshot()

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
            return [dict(zip(columns, row)) for row in cursor.fetchall()]
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
        self._con.close()

    # ----------------------------------------------------------------- loading

    def _load_consistent_snapshot(self) -> None:
        # An export replaced while it is read must not give a mix of old and new files.
        for _ in range(_MAX_SNAPSHOT_TRIES):
            before = export_fingerprint(self.export_dir)
            self._load()
            if export_fingerprint(self.export_dir) == before:
                self.fingerprint = before
                return
        self.problems.append(Problem(ERROR, "export",
                                     "the export kept changing while it was read; "
                                     "try again once the exporter has finished writing",
                                     file=str(self.export_dir)))
        self.fingerprint = before

    def _load(self) -> None:
        self.problems = []
        # (file, column) -> values that failed their cast; they read as null and are reported once
        self._cast_failures: dict[tuple[str, str], int] = {}
        plans = [plan_table(self.export_dir, table) for table in c.PARQUET_TABLES]
        for plan in plans:
            self.problems.extend(plan.problems)
            self._con.execute(staging_view_sql(plan))
            for file in plan.files:
                for column, source, expression in file.cast_checks:
                    self._check_cast(plan.table.name, file, column, source, expression)
        for table in c.CSV_TABLES:
            self._create_csv_staging(table)
        while True:
            try:
                for statement in self._prepare_sql:
                    self._con.execute(statement.sql)
                break
            except duckdb.Error:
                # A file whose footer reads but whose data does not: find it, name it, leave it out.
                if not self._drop_unreadable_files(plans):
                    raise
        self._validate()
        self.problems.sort(key=lambda p: (p.severity != ERROR, p.table, p.file or "", p.column or ""))

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
                    self.problems.append(Problem(
                        ERROR, plan.table.name, f"the file could not be read ({_first_line(exc)}); it was left out",
                        file=display_path(file.path, self.export_dir)))
            self._con.execute(staging_view_sql(plan))
        return dropped

    def _check_cast(self, table: str, file, column: str, source: str, expression: str) -> None:
        sql = (f"SELECT count(*), CAST(any_value({source}) AS VARCHAR) FROM ("
               f"SELECT {source}, {expression} AS converted FROM read_parquet(?, hive_partitioning = false)"
               f") WHERE {source} IS NOT NULL AND converted IS NULL")
        try:
            count, example = self._con.execute(sql, [str(file.path)]).fetchone()
        except duckdb.Error:
            return  # an unreadable file: named when the tables are prepared
        if count:
            self._cast_failures[(display_path(file.path, self.export_dir), column)] = count
            self.problems.append(Problem(
                ERROR, table, f"{count} value(s) cannot be read as the contract's type, e.g. {example!r}",
                file=display_path(file.path, self.export_dir), column=column, rows=count))

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
                self.problems.append(Problem(ERROR, table.name,
                                             f"the file cannot be read as CSV ({_first_line(exc)})", file=shown))
        self._con.execute(f"CREATE OR REPLACE VIEW stg_{table.name} AS {empty_select(table)}")

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
                        self.problems.append(Problem(
                            ERROR, table.name, f"line {reader.line_num} has {len(row)} fields but the header "
                            f"has {len(header)}", file=shown))
                        return None
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            self.problems.append(Problem(ERROR, table.name, f"the file cannot be read as CSV ({exc})", file=shown))
            return None
        if not header:
            self.problems.append(Problem(ERROR, table.name, "the file is empty (it needs a header row)", file=shown))
            return None
        return header

    # -------------------------------------------------------------- validation

    def _validate(self) -> None:
        for table in c.PARQUET_TABLES:
            # the staged rows, not the prepared tables: a duplicated enrollment would duplicate its 834s there
            self._validate_values(f"stg_{table.name}", table)
        for table in c.CSV_TABLES:
            self._validate_csv_timestamps(table)
            self._validate_values(f"stg_{table.name}", table)
        self._validate_references()

    def _validate_values(self, view: str, table: c.Table) -> None:
        required = [col for col in table.columns if not col.nullable]
        if required:
            counts = ", ".join(f"count_if({sql_ident(col.prepared_name)} IS NULL)" for col in required)
            for row in self._con.execute(f"SELECT _source_file, {counts} FROM {view} GROUP BY _source_file "
                                         "ORDER BY _source_file").fetchall():
                for col, nulls in zip(required, row[1:]):
                    nulls -= self._cast_failures.get((row[0], col.name), 0)
                    if nulls:
                        self.problems.append(Problem(ERROR, table.name,
                                                     f"{nulls} row(s) have no value in a required column",
                                                     file=row[0], column=col.name, rows=nulls))
        for col in table.columns:
            ident = sql_ident(col.prepared_name)
            if col.unique:
                dup_values, dup_rows, example, files = self._con.execute(
                    f"SELECT count(*), sum(n), any_value(v), list_sort(flatten(list(files)))[1:3] FROM ("
                    f"SELECT {ident} AS v, count(*) AS n, list(DISTINCT _source_file) AS files FROM {view} "
                    f"WHERE {ident} IS NOT NULL GROUP BY {ident} HAVING count(*) > 1)").fetchone()
                if dup_values:
                    self.problems.append(Problem(
                        ERROR, table.name,
                        f"{dup_values} value(s) appear more than once ({dup_rows} rows), e.g. {example!r} "
                        f"in {', '.join(dict.fromkeys(files))}; the column must be unique",
                        column=col.name, rows=int(dup_rows)))
            if col.codes:
                for file, rows, values in self._con.execute(
                        f"SELECT _source_file, count(*), list(DISTINCT {ident})[1:5] FROM {view} "
                        f"WHERE {ident} IS NOT NULL AND NOT list_contains($codes, {ident}) "
                        "GROUP BY _source_file ORDER BY _source_file", {"codes": list(col.codes)}).fetchall():
                    severity = ERROR if col.codes_drive_metrics else WARNING
                    self.problems.append(Problem(
                        severity, table.name,
                        f"{rows} row(s) carry unknown code(s) {', '.join(map(repr, sorted(values)))}; "
                        f"allowed: {', '.join(col.codes)}", file=file, column=col.name, rows=rows))
        if table is c.ENROLLMENTS:
            for file, rows in self._con.execute(
                    f"SELECT _source_file, count(*) FROM {view} WHERE member_count < 1 GROUP BY ALL").fetchall():
                self.problems.append(Problem(ERROR, table.name, f"{rows} row(s) have a member_count below 1",
                                             file=file, column="member_count", rows=rows))

    def _validate_csv_timestamps(self, table: c.Table) -> None:
        for col in table.columns:
            if col.kind != c.TIMESTAMP:
                continue
            try:
                rows, example, file = self._con.execute(
                    f"SELECT count(*), any_value({sql_ident(col.name + '__raw')}), any_value(_source_file) "
                    f"FROM stg_{table.name} WHERE {sql_ident(col.name)} IS NULL "
                    f"AND nullif(trim({sql_ident(col.name + '__raw')}), '') IS NOT NULL").fetchone()
            except duckdb.Error:
                continue  # the column is missing: already reported
            if rows:
                self._cast_failures[(file, col.name)] = rows
                self.problems.append(Problem(ERROR, table.name,
                                             f"{rows} value(s) are not ISO 8601 timestamps, e.g. {example!r}",
                                             file=file, column=col.name, rows=rows))

    def _validate_references(self) -> None:
        if any(p.table == "issuers" and p.severity == ERROR for p in self.problems):
            return
        missing = self._con.execute(
            "SELECT issuer_id, list(DISTINCT source ORDER BY source) FROM ("
            "SELECT issuer_id, 'enrollments' AS source FROM enrollments "
            "UNION ALL SELECT issuer_id, 'transactions_834' FROM transactions_834 "
            "UNION ALL SELECT issuer_id, 'payments' FROM payments) "
            "WHERE issuer_id IS NOT NULL AND issuer_id NOT IN (SELECT issuer_id FROM issuers) "
            "GROUP BY issuer_id ORDER BY issuer_id").fetchall()
        for issuer_id, sources in missing:
            self.problems.append(Problem(
                WARNING, "issuers",
                f"issuer {issuer_id!r} appears in {', '.join(sources)} but not in issuers.csv; "
                "it is counted and shown by its id, and has no state",
                file=display_path(self.export_dir / "issuers.csv", self.export_dir), column="issuer_id",
                issuer_id=issuer_id))

    def table_summary(self) -> list[dict[str, Any]]:
        """Per parquet table: usable files and rows (for the data-health view)."""
        out = []
        for table in c.PARQUET_TABLES:
            files, rows = self._con.execute(
                f"SELECT count(DISTINCT _source_file), count(*) FROM stg_{table.name}").fetchone()
            out.append({"table": table.name, "files": files, "rows": rows})
        return out


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
