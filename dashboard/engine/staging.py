"""Finds an export's table files and turns each into a typed SELECT that follows the data contract.

Nothing here touches DuckDB or writes anything: it reads parquet footers with pyarrow and
produces SQL text (identifiers only from the contract, paths quoted) plus the problems it
found. The engine (prepare, incremental) runs that SQL.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .. import contract as c
from ..problems import ERROR, WARNING, Problem, first_line


class ExportChanged(Exception):
    """A file of the export vanished or changed between two looks at it: the exporter is writing.

    Every step that reads the export raises it (or lets the caller detect it), so that the snapshot
    is read again instead of failing, or mixing two exports.
    """

    def __init__(self, file: str, how: str = "disappeared"):
        super().__init__(f"{file} {how} while it was read")
        self.file = file
        self.how = how


def sql_string(text: str) -> str:
    """A SQL string literal with quotes escaped (paths come from the file system)."""
    return "'" + text.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def is_skipped_name(name: str) -> bool:
    """Files and folders still being written, or not data (data contract)."""
    return name.startswith((".", "_")) or name.endswith(".tmp")


def table_files(table_dir: Path) -> list[Path]:
    """Every `.parquet` table file under a table folder, at any depth, in a stable order."""
    found: list[Path] = []
    for root, dirs, files in os.walk(table_dir):
        dirs[:] = sorted(d for d in dirs if not is_skipped_name(d))
        for name in sorted(files):
            if not is_skipped_name(name) and name.endswith(".parquet"):
                found.append(Path(root) / name)
    return found


def export_files(export_dir: Path) -> list[Path]:
    """Every file the dashboard reads from an export (the CSV files whether or not they exist)."""
    paths = [export_dir / f"{t.name}.csv" for t in c.CSV_TABLES]
    for table in c.PARQUET_TABLES:
        paths.extend(table_files(export_dir / table.name))
    return paths


def export_fingerprint(export_dir: Path) -> str:
    """Changes whenever any file the dashboard reads is added, removed, resized or touched."""
    digest = hashlib.sha256()
    for path in export_files(export_dir):
        try:
            st = path.stat()
        except OSError:
            continue
        digest.update(f"{path.relative_to(export_dir)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


@dataclass
class FileSelect:
    """One table file, read as the contract's columns (in contract order)."""

    path: Path
    shown: str  # the path as users see it, and the row's _source_file
    select_sql: str
    # (column, source expression, cast expression): values present but not castable are errors
    cast_checks: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class TablePlan:
    table: c.Table
    files: list[FileSelect]
    problems: list[Problem]
    folder_missing: bool = False


def _is_string(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        return _is_string(t.value_type)
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _timestamp_expr(col: str, t: pa.DataType) -> str:
    # Finer than microseconds is truncated (floored), not rounded as DuckDB's cast would.
    if t.unit == "ns":
        return f"make_timestamp((epoch_ns({col}) - ((epoch_ns({col}) % 1000) + 1000) % 1000) // 1000)"
    return f"make_timestamp(epoch_us({col}))"


def column_expression(column: c.Column, t: pa.DataType) -> tuple[str | None, bool, str | None]:
    """(SQL expression, needs a cast check, warning) for one file column, or (None, _, reason)."""
    col = sql_ident(column.name)
    kind = column.kind
    target = c.DUCKDB_TYPE[kind]
    if pa.types.is_null(t):
        return f"CAST(NULL AS {target})", False, None
    if _is_string(t):
        if kind in (c.ID, c.TEXT, c.CODE):
            return f"CAST({col} AS VARCHAR)", False, None
        if kind == c.TIMESTAMP:
            return f"timezone('UTC', try_cast({col} AS TIMESTAMPTZ))", True, None
        if kind == c.MONEY:
            # parse exactly (18 places) and round once, to whole cents
            return f"CAST(round_even(try_cast({col} AS DECIMAL(38,18)) * 100, 0) AS BIGINT)", True, None
        return f"try_cast({col} AS {target})", True, None
    if pa.types.is_integer(t):
        if kind == c.ID:
            return (
                f"CAST({col} AS VARCHAR)",
                False,
                "is stored as an integer; read as its decimal text (leading zeros cannot be recovered)",
            )
        if kind in (c.TEXT, c.CODE):
            return f"CAST({col} AS VARCHAR)", False, None
        if kind == c.INTEGER:
            return f"CAST({col} AS BIGINT)", False, None
        if kind == c.MONEY:
            return f"CAST({col} AS BIGINT) * 100", False, None
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        if kind == c.MONEY:
            inner = f"CAST({col} AS DOUBLE)" if pa.types.is_floating(t) else col
            return f"CAST(round_even({inner} * 100, 0) AS BIGINT)", False, None
        if kind == c.INTEGER:
            return f"CASE WHEN {col} = floor({col}) THEN CAST({col} AS BIGINT) END", True, None
    if pa.types.is_timestamp(t):
        if kind == c.TIMESTAMP:
            return _timestamp_expr(col, t), False, None
        if kind == c.DATE:
            return f"CAST({_timestamp_expr(col, t)} AS DATE)", False, None
    if pa.types.is_date(t):
        if kind == c.DATE:
            return f"CAST({col} AS DATE)", False, None
        if kind == c.TIMESTAMP:
            return f"CAST({col} AS TIMESTAMP)", False, None
    if pa.types.is_boolean(t) and kind == c.BOOLEAN:
        return col, False, None
    return None, False, f"has type {t}, which cannot be read as {kind} ({target})"


def display_path(path: Path, export_dir: Path) -> str:
    try:
        return str(export_dir.name / path.relative_to(export_dir))
    except ValueError:
        return str(path)


def plan_table(export_dir: Path, table: c.Table) -> TablePlan:
    """Inspect every file of a parquet table; build its typed SELECTs and list its problems."""
    folder = export_dir / table.name
    problems: list[Problem] = []
    if not folder.is_dir():
        shown = display_path(folder, export_dir)
        problems.append(Problem(ERROR, table.name, "the table folder does not exist", file=shown))
        return TablePlan(table, [], problems, folder_missing=True)
    paths = table_files(folder)
    if not paths:
        problems.append(
            Problem(
                ERROR,
                table.name,
                "the table folder holds no .parquet file "
                "(exporters always write at least one, with zero rows if need be)",
                file=display_path(folder, export_dir),
            )
        )
        return TablePlan(table, [], problems)
    selects: list[FileSelect] = []
    for path in paths:
        shown = display_path(path, export_dir)
        try:
            schema = pq.read_schema(path)
        except Exception as exc:  # pyarrow raises several types for non-parquet or truncated files
            if isinstance(exc, FileNotFoundError) or not path.is_file():
                raise ExportChanged(shown) from exc  # listed a moment ago, gone now: not a broken file
            problems.append(
                Problem(
                    ERROR,
                    table.name,
                    f"the file is not a readable parquet file ({first_line(exc)}); it was left out",
                    file=shown,
                )
            )
            continue
        fields = {f.name: f.type for f in schema}
        exprs: list[str] = []
        checks: list[tuple[str, str, str]] = []
        usable = True
        for column in table.columns:
            if column.name not in fields:
                if column.nullable:
                    exprs.append(f"CAST(NULL AS {c.DUCKDB_TYPE[column.kind]}) AS {sql_ident(column.prepared_name)}")
                    continue
                problems.append(
                    Problem(
                        ERROR,
                        table.name,
                        "a required column is missing; the file was left out",
                        file=shown,
                        column=column.name,
                    )
                )
                usable = False
                continue
            expr, needs_check, note = column_expression(column, fields[column.name])
            if expr is None:
                problems.append(
                    Problem(
                        ERROR, table.name, f"the column {note}; the file was left out", file=shown, column=column.name
                    )
                )
                usable = False
                continue
            if note:
                problems.append(Problem(WARNING, table.name, f"the column {note}", file=shown, column=column.name))
            if needs_check:
                checks.append((column.name, sql_ident(column.name), expr))
            exprs.append(f"{expr} AS {sql_ident(column.prepared_name)}")
        if not usable:
            continue
        # (_source_file, _file_row) names a row of the export: stable while its file is unchanged
        select = (
            f"SELECT {', '.join(exprs)}, {sql_string(shown)} AS _source_file, file_row_number AS _file_row "
            f"FROM read_parquet({sql_string(str(path))}, hive_partitioning = false, file_row_number = true)"
        )
        selects.append(FileSelect(path, shown, select, checks))
    return TablePlan(table, selects, problems)


def empty_select(table: c.Table) -> str:
    cols = ", ".join(
        f"CAST(NULL AS {c.DUCKDB_TYPE[col.kind]}) AS {sql_ident(col.prepared_name)}" for col in table.columns
    )
    return f"SELECT {cols}, CAST(NULL AS VARCHAR) AS _source_file, CAST(NULL AS BIGINT) AS _file_row WHERE false"


def staging_table_sql(plan: TablePlan, name: str | None = None) -> str:
    """A temporary table (`stg_<table>` unless named): every usable file of the table, typed as the
    contract says, read once."""
    parts = [f.select_sql for f in plan.files] or [empty_select(plan.table)]
    return f"CREATE OR REPLACE TEMP TABLE {name or 'stg_' + plan.table.name} AS\n" + "\nUNION ALL\n".join(parts)


def csv_view_sql(export_dir: Path, table: c.Table, header: list[str]) -> tuple[str, list[Problem]]:
    """`stg_<releases|issuers>`: the CSV read once, as text (a table, not a view: a file replaced later
    cannot change it half-way); missing optional columns read as null."""
    path = export_dir / f"{table.name}.csv"
    problems: list[Problem] = []
    exprs = []
    shown = display_path(path, export_dir)
    for column in table.columns:
        if column.name not in header:
            if column.nullable:
                exprs.append(f"CAST(NULL AS VARCHAR) AS {sql_ident(column.name)}")
                continue
            problems.append(
                Problem(
                    ERROR,
                    table.name,
                    "a required column is missing from the CSV header",
                    file=shown,
                    column=column.name,
                )
            )
            continue
        raw = f"nullif(trim({sql_ident(column.name)}), '')"
        if column.kind == c.TIMESTAMP:
            exprs.append(f"timezone('UTC', try_cast({raw} AS TIMESTAMPTZ)) AS {sql_ident(column.name)}")
        else:
            exprs.append(f"{raw} AS {sql_ident(column.name)}")
    if problems:
        return f"CREATE OR REPLACE TEMP TABLE stg_{table.name} AS {empty_select(table)}", problems
    raw_columns = ", ".join(
        f"{sql_ident(col.name)} AS {sql_ident(col.name + '__raw')}" for col in table.columns if col.name in header
    )
    sql = (
        f"CREATE OR REPLACE TEMP TABLE stg_{table.name} AS SELECT {', '.join(exprs)}, "
        f"{sql_string(shown)} AS _source_file, {raw_columns} "
        f"FROM read_csv({sql_string(str(path))}, header = true, all_varchar = true, auto_detect = true)"
    )
    return sql, problems
