"""Incremental preparation: change a copy of the previous prepared database instead of reading
everything again.

Only what a new, changed or removed file touches is read and recomputed: every enrollment with a
row in one of them, with all its 834s and payments. Not possible, or not worth it, when a CSV file
changed, no parquet file is unchanged or a file cannot be read: then the caller prepares in full.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from .. import contract as c
from ..problems import Problem
from . import validate
from .prepare import PROBLEM_COLUMNS, Preparation
from .staging import TablePlan, export_fingerprint, sql_ident, sql_string, staging_table_sql

FileKey = tuple[str, str]  # (table, file as shown)


@dataclass
class _Previous:
    """What the previous prepared database recorded about the files it read."""

    files: dict[FileKey, tuple[int, int]]  # (size, mtime_ns)
    file_value_problems: list[tuple]
    cast_failures: list[tuple]
    unique_tables: set[str]  # tables found without a duplicated id (none from an older database)


@dataclass
class _Changes:
    kept: set[FileKey]  # parquet files unchanged since the previous preparation
    dropped: dict[str, list[str]]  # per parquet table: its files removed or rewritten since then


def prepare_incremental(prep: Preparation, previous: Path, building: Path) -> bool:
    """Prepare `building` from a copy of `previous`, into `prep`. False when it cannot be done."""
    before = export_fingerprint(prep.export_dir)
    plans = prep.start(incremental=True)
    state = _read_previous(prep, previous)
    if state is None:
        return False
    changes = _compare_files(prep.file_stats, state.files)
    if changes is None:
        return False
    with prep.timed("copy previous"):
        shutil.copyfile(previous, building)
    prep.con = prep.connect(":memory:")
    con = prep.con
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"ATTACH {sql_string(str(building))} AS target")
    _carry_over(prep, state, changes.kept)
    try:
        _stage_new_files(prep, plans, changes.kept)
        with prep.timed("affected enrollments"):
            _stage_affected_enrollments(con, changes.dropped)
        prep.run_prepare_sql()
        with prep.timed("apply changes"):
            _apply_changes(con, changes.dropped)
        with prep.timed("validate"):
            file_rows = _validate_new_rows(prep, changes.kept)
            checked = _validate_new_ids(prep, state.unique_tables)
    except duckdb.Error:
        return False  # e.g. a file whose data cannot be read: the full preparation names it
    con.execute("DETACH target")
    con.close()
    if export_fingerprint(prep.export_dir) != before:
        return False
    prep.fingerprint = before
    _validate_whole(prep, building, file_rows, checked)
    return True


def _read_previous(prep: Preparation, previous: Path) -> _Previous | None:
    try:
        probe = prep.connect(":memory:")
    except duckdb.Error:
        return None
    try:
        probe.execute(f"ATTACH {sql_string(str(previous))} AS previous (READ_ONLY)")
        files = {
            (t, f): (size, mtime) for t, f, size, mtime in probe.execute("SELECT * FROM previous._files").fetchall()
        }
        carried = probe.execute(
            f"SELECT {', '.join(map(sql_ident, PROBLEM_COLUMNS))} FROM previous._problems "
            "WHERE origin = 'file_values' ORDER BY position"
        ).fetchall()
        failures = probe.execute("SELECT * FROM previous._cast_failures").fetchall()
        try:
            unique_tables = {t for (t,) in probe.execute('SELECT "table" FROM previous._unique_tables').fetchall()}
        except duckdb.CatalogException:
            unique_tables = set()  # prepared before the record was kept: every id is checked again
    except duckdb.Error:
        return None
    finally:
        probe.close()
    return _Previous(files, carried, failures, unique_tables)


def _compare_files(file_stats: list[list[Any]], known: dict[FileKey, tuple[int, int]]) -> _Changes | None:
    """Which parquet files are unchanged and which are gone; None when a CSV changed or none is kept."""
    now = {(t, f): (size, mtime) for t, f, size, mtime in file_stats}
    csv_names = {t.name for t in c.CSV_TABLES}
    if {k: v for k, v in now.items() if k[0] in csv_names} != {k: v for k, v in known.items() if k[0] in csv_names}:
        return None
    kept = {k for k in now if k[0] not in csv_names and known.get(k) == now[k]}
    if not kept:
        return None
    dropped = {t.name: sorted(f for (tt, f) in known if tt == t.name and (tt, f) not in kept) for t in c.PARQUET_TABLES}
    return _Changes(kept, dropped)


def _carry_over(prep: Preparation, state: _Previous, kept: set[FileKey]) -> None:
    """The problems and cast failures found in the unchanged files last time still hold."""
    for problem in state.file_value_problems:
        p = Problem(*problem)
        if (p.table, p.file) in kept:
            prep.findings.add_file_value_problem(p)
    for table, file, column, count, message in state.cast_failures:
        if (table, file) in kept:
            prep.findings.cast_failures[(file, column)] = (table, count, message)


def _stage_new_files(prep: Preparation, plans: list[TablePlan], kept: set[FileKey]) -> None:
    """new_<table>: the rows of the new and changed files (cast-checked); stg_ of the CSV files."""
    new_files = {plan.table.name: [f for f in plan.files if (plan.table.name, f.shown) not in kept] for plan in plans}
    with prep.timed("check types"):
        for plan in plans:
            for file in new_files[plan.table.name]:
                prep.check_casts(plan.table.name, file)
    for plan in plans:
        with prep.timed(f"read {plan.table.name}"):
            prep.con.execute(
                staging_table_sql(TablePlan(plan.table, new_files[plan.table.name], []), name=f"new_{plan.table.name}")
            )
    for table in c.CSV_TABLES:
        prep.create_csv_staging(table)


def _in_dropped(dropped: dict[str, list[str]], table: str) -> str:
    """The condition on rows of the table's removed or rewritten files."""
    files = dropped[table]
    return f"_source_file IN ({', '.join(map(sql_string, files))})" if files else "false"


def _stage_affected_enrollments(con: duckdb.DuckDBPyConnection, dropped: dict[str, list[str]]) -> None:
    """`affected`: every enrollment that a new, changed or removed row names; stg_<table>: all their
    rows (the kept ones from the previous database, the new ones)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE affected AS SELECT DISTINCT enrollment_id FROM ("
        + " UNION ALL ".join(
            f"SELECT enrollment_id FROM new_{t.name}"
            + (
                f" UNION ALL SELECT enrollment_id FROM target.{t.name} WHERE {_in_dropped(dropped, t.name)}"
                if dropped[t.name]
                else ""
            )
            for t in c.PARQUET_TABLES
        )
        + ") WHERE enrollment_id IS NOT NULL"
    )
    for t in c.PARQUET_TABLES:
        columns = ", ".join(sql_ident(col.prepared_name) for col in t.columns)
        # a prepared 834 appears once per enrollments row with its id: a duplicated enrollment's 834s
        # must be staged once each (one per row of the export), as a preparation from scratch stages them
        distinct = "DISTINCT " if t is c.TRANSACTIONS_834 else ""
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE stg_{t.name} AS "
            f"SELECT {distinct}{columns}, _source_file, _file_row FROM target.{t.name} "
            f"WHERE enrollment_id IN (SELECT enrollment_id FROM affected) "
            f"AND NOT ({_in_dropped(dropped, t.name)}) "
            f"UNION ALL SELECT * FROM new_{t.name}"
        )


def _apply_changes(con: duckdb.DuckDBPyConnection, dropped: dict[str, list[str]]) -> None:
    """Replace the affected enrollments' prepared rows in the copy by the ones just prepared."""
    for t in c.PARQUET_TABLES:
        con.execute(
            f"DELETE FROM target.{t.name} WHERE enrollment_id IN (SELECT enrollment_id FROM affected) "
            f"OR {_in_dropped(dropped, t.name)}"
        )
        con.execute(f"INSERT INTO target.{t.name} BY NAME SELECT * FROM main.{t.name}")
    # day_changes holds sums over enrollments: take out what the affected ones added before, put in what
    # they add now (main.day_changes, prepared from their new rows). Only the groups they touch are
    # rewritten (a new day's export touches few of the table's millions), and a group that now sums to
    # zero is dropped, as a preparation from scratch has no such group.
    keys = ("issuer_id", "state", "submitted_day", "series", "day")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE old_milestones AS SELECT * FROM target.enrollment_milestones "
        "WHERE enrollment_id IN (SELECT enrollment_id FROM affected)"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE touched AS SELECT {', '.join(keys)}, sum(delta) AS delta FROM ("
        f" SELECT {', '.join(keys)}, -delta AS delta FROM day_changes_of('old_milestones')"
        f" UNION ALL SELECT {', '.join(keys)}, delta FROM main.day_changes"
        ") GROUP BY ALL"
    )
    same_group = " AND ".join(f"t.{k} IS NOT DISTINCT FROM c.{k}" for k in keys)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE merged AS "
        f"SELECT {', '.join(f'c.{k}' for k in keys)}, CAST(coalesce(t.delta, 0) + c.delta AS BIGINT) AS delta "
        f"FROM touched AS c LEFT JOIN target.day_changes AS t ON {same_group}"
    )
    con.execute(f"DELETE FROM target.day_changes AS t USING touched AS c WHERE {same_group}")
    con.execute("INSERT INTO target.day_changes BY NAME SELECT * FROM merged WHERE delta <> 0")
    con.execute("DELETE FROM target.enrollment_milestones WHERE enrollment_id IN (SELECT enrollment_id FROM affected)")
    con.execute("INSERT INTO target.enrollment_milestones BY NAME SELECT * FROM main.enrollment_milestones")


def _validate_new_rows(prep: Preparation, kept: set[FileKey]) -> list[list[Any]]:
    """The per-file checks on the new rows and the CSV files; the rows per file, kept and new."""
    con = prep.con
    for t in c.PARQUET_TABLES:
        validate.validate_file_values(con, f"new_{t.name}", t, prep.findings)
    validate.validate_csv(con, prep.findings)
    file_rows = [[t, f, n] for t, f, n in con.execute("SELECT * FROM target._file_rows").fetchall() if (t, f) in kept]
    file_rows += [row for t in c.PARQUET_TABLES for row in prep.count_rows(f"new_{t.name}", t)]
    return file_rows


def _validate_new_ids(prep: Preparation, unique_before: set[str]) -> set[str]:
    """Unique ids of the tables whose ids were all unique last time: the rows kept from then still
    are, so an id can only be duplicated now if a new row has it; only those ids are counted, over
    the changed table. Returns the tables checked so."""
    checked = set()
    for t in c.PARQUET_TABLES:
        if t.name in unique_before:
            validate.validate_unique(prep.con, f"target.{t.name}", t, prep.findings, values_in=f"new_{t.name}")
            checked.add(t.name)
    return checked


def _validate_whole(prep: Preparation, building: Path, file_rows: list[list[Any]], checked: set[str]) -> None:
    """What needs every row (unique ids unless `checked` already, issuers, the summary): on the
    prepared tables themselves."""
    prep.con = prep.connect(str(building))
    with prep.timed("validate"):
        for t in c.PARQUET_TABLES:
            if t.name not in checked:
                validate.validate_unique(prep.con, t.name, t, prep.findings)
        validate.validate_references(prep.con, prep.export_dir, prep.findings)
        prep.summarise(file_rows)
    prep.findings.sort()
