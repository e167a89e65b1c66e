"""The checks of an export's rows against the data contract, and the problems they found.

Each check takes the connection and the relation it looks at (a staging table, or a prepared one)
and records what it finds in a `Findings`; none changes the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .. import contract as c
from ..problems import ERROR, WARNING, Problem
from .staging import FileSelect, display_path, sql_ident


@dataclass
class Findings:
    """What one preparation found wrong with the export."""

    problems: list[Problem] = field(default_factory=list)
    # (file, column) -> (table, values that failed their cast, message): they read as null and are
    # reported once
    cast_failures: dict[tuple[str, str], tuple[str, int, str]] = field(default_factory=dict)
    # problems about the values of one parquet file: carried over while the file is unchanged
    file_value_problems: set[Problem] = field(default_factory=set)
    # tables whose unique columns were checked and hold no duplicated id: the next incremental
    # preparation then checks only the ids of the rows it adds
    unique_tables: set[str] = field(default_factory=set)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def add_file_value_problem(self, problem: Problem) -> None:
        self.problems.append(problem)
        self.file_value_problems.add(problem)

    def record_cast_failure(self, table: str, file: str, column: str, count: int, message: str) -> None:
        self.cast_failures[(file, column)] = (table, count, message)
        self.add_file_value_problem(Problem(ERROR, table, message, file=file, column=column, rows=count))

    def has_error(self, table: str) -> bool:
        return any(p.table == table and p.severity == ERROR for p in self.problems)

    def sort(self) -> None:
        self.problems.sort(key=lambda p: (p.severity != ERROR, p.table, p.file or "", p.column or ""))


def check_cast(
    con: duckdb.DuckDBPyConnection,
    export_dir: Path,
    table: str,
    file: FileSelect,
    column: str,
    source: str,
    expression: str,
    findings: Findings,
) -> None:
    """Values of one file column that are present but cannot be cast to the contract's type."""
    sql = (
        f"SELECT count(*), CAST(any_value({source}) AS VARCHAR) FROM ("
        f"SELECT {source}, {expression} AS converted FROM read_parquet(?, hive_partitioning = false)"
        f") WHERE {source} IS NOT NULL AND converted IS NULL"
    )
    try:
        count, example = con.execute(sql, [str(file.path)]).fetchone()
    except duckdb.Error:
        return  # an unreadable file: named when the tables are prepared
    if count:
        findings.record_cast_failure(
            table,
            display_path(file.path, export_dir),
            column,
            count,
            f"{count} value(s) cannot be read as the contract's type, e.g. {example!r}",
        )


def check_file_casts(
    con: duckdb.DuckDBPyConnection, export_dir: Path, table: str, file: FileSelect, findings: Findings
) -> None:
    for column, source, expression in file.cast_checks:
        check_cast(con, export_dir, table, file, column, source, expression, findings)


def validate_csv(con: duckdb.DuckDBPyConnection, findings: Findings) -> None:
    for table in c.CSV_TABLES:
        validate_csv_timestamps(con, table, findings)
        validate_file_values(con, f"stg_{table.name}", table, findings)
        validate_unique(con, f"stg_{table.name}", table, findings)
    validate_release_metrics(con, findings)


def validate_release_metrics(con: duckdb.DuckDBPyConnection, findings: Findings) -> None:
    """A `metric` outside the list (after trimming, case-sensitive) is an error naming the release."""
    for release_id, value, file in con.execute(
        "SELECT release_id, metric, _source_file FROM stg_releases "
        "WHERE metric IS NOT NULL AND NOT list_contains($metrics, metric) ORDER BY release_id",
        {"metrics": list(c.RELEASE_METRICS)},
    ).fetchall():
        findings.add(
            Problem(
                ERROR,
                "releases",
                f"release {release_id!r} has the metric {value!r}, which is not one of "
                f"{', '.join(c.RELEASE_METRICS)} (leave it empty for the component's default)",
                file=file,
                column="metric",
            )
        )


def _file_problem(findings: Findings, table: c.Table, problem: Problem) -> None:
    if table in c.PARQUET_TABLES:
        findings.add_file_value_problem(problem)  # carried over while its file is unchanged
    else:
        findings.add(problem)


def validate_file_values(con: duckdb.DuckDBPyConnection, view: str, table: c.Table, findings: Findings) -> None:
    """The checks that look at one file's rows at a time: required values, codes, member counts."""
    required = [col for col in table.columns if not col.nullable]
    if required:
        counts = ", ".join(f"count_if({sql_ident(col.prepared_name)} IS NULL)" for col in required)
        for row in con.execute(
            f"SELECT _source_file, {counts} FROM {view} GROUP BY _source_file ORDER BY _source_file"
        ).fetchall():
            for col, nulls in zip(required, row[1:], strict=True):
                nulls -= findings.cast_failures.get((row[0], col.name), ("", 0, ""))[1]
                if nulls:
                    _file_problem(
                        findings,
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
            for file, rows, values in con.execute(
                f"SELECT _source_file, count(*), list(DISTINCT {ident})[1:5] FROM {view} "
                f"WHERE {ident} IS NOT NULL AND NOT list_contains($codes, {ident}) "
                "GROUP BY _source_file ORDER BY _source_file",
                {"codes": list(col.codes)},
            ).fetchall():
                severity = ERROR if col.codes_drive_metrics else WARNING
                _file_problem(
                    findings,
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
        for file, rows in con.execute(
            f"SELECT _source_file, count(*) FROM {view} WHERE member_count < 1 GROUP BY ALL"
        ).fetchall():
            _file_problem(
                findings,
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


def validate_unique(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    table: c.Table,
    findings: Findings,
    *,
    values_in: str | None = None,
) -> None:
    """Ids that must be unique across all files of the table. `values_in`: a relation of rows of the
    same table; only ids that appear in it can be duplicated (an incremental preparation passes the
    new rows when the rows it kept were found unique last time). Records the table in
    `findings.unique_tables` when none is duplicated."""
    clean = True
    for col in table.columns:
        if not col.unique:
            continue
        ident = sql_ident(col.prepared_name)
        # values first (one cheap aggregate), then the files of the duplicated ones only
        # Rows of the export, not of the relation: a prepared 834 appears once per enrollment row
        # with its id, so a duplicated enrollment must not make its 834s look duplicated too.
        # The exact count only for the few candidates the cheap one finds.
        prepared_834 = relation.rsplit(".", 1)[-1] == c.TRANSACTIONS_834.name
        exact = "count(DISTINCT (_source_file, _file_row))" if prepared_834 else "count(*)"
        among = f"AND {ident} IN (SELECT {ident} FROM {values_in}) " if values_in is not None else ""
        dup_values, dup_rows, example, files = con.execute(
            f"WITH candidate AS (SELECT {ident} AS v FROM {relation} WHERE {ident} IS NOT NULL {among}"
            f"GROUP BY {ident} HAVING count(*) > 1), "
            f"dup AS (SELECT {ident} AS v, {exact} AS n FROM {relation} "
            f"WHERE {ident} IN (SELECT v FROM candidate) GROUP BY {ident} HAVING {exact} > 1) "
            f"SELECT (SELECT count(*) FROM dup), (SELECT sum(n) FROM dup), (SELECT min(v) FROM dup), "
            f"(SELECT list(DISTINCT _source_file ORDER BY _source_file)[1:3] FROM {relation} "
            f"WHERE {ident} IN (SELECT v FROM dup))"
        ).fetchone()
        if dup_values:
            clean = False
            findings.add(
                Problem(
                    ERROR,
                    table.name,
                    f"{dup_values} value(s) appear more than once ({dup_rows} rows), e.g. {example!r} "
                    f"in {', '.join(dict.fromkeys(files))}; the column must be unique",
                    column=col.name,
                    rows=int(dup_rows),
                )
            )
    if clean:
        findings.unique_tables.add(table.name)


def validate_csv_timestamps(con: duckdb.DuckDBPyConnection, table: c.Table, findings: Findings) -> None:
    for col in table.columns:
        if col.kind != c.TIMESTAMP:
            continue
        try:
            rows, example, file = con.execute(
                f"SELECT count(*), any_value({sql_ident(col.name + '__raw')}), any_value(_source_file) "
                f"FROM stg_{table.name} WHERE {sql_ident(col.name)} IS NULL "
                f"AND nullif(trim({sql_ident(col.name + '__raw')}), '') IS NOT NULL"
            ).fetchone()
        except duckdb.Error:
            continue  # the column is missing: already reported
        if rows:
            findings.record_cast_failure(
                table.name, file, col.name, rows, f"{rows} value(s) are not ISO 8601 timestamps, e.g. {example!r}"
            )


def validate_references(con: duckdb.DuckDBPyConnection, export_dir: Path, findings: Findings) -> None:
    """Issuers named by the prepared tables but missing from issuers.csv (a warning each)."""
    if findings.has_error("issuers"):
        return
    missing = con.execute(
        "SELECT issuer_id, list(DISTINCT source ORDER BY source) FROM ("
        "SELECT issuer_id, 'enrollments' AS source FROM enrollments "
        "UNION ALL SELECT issuer_id, 'transactions_834' FROM transactions_834 "
        "UNION ALL SELECT issuer_id, 'payments' FROM payments) "
        "WHERE issuer_id IS NOT NULL AND issuer_id NOT IN (SELECT issuer_id FROM issuers) "
        "GROUP BY issuer_id ORDER BY issuer_id"
    ).fetchall()
    for issuer_id, sources in missing:
        findings.add(
            Problem(
                WARNING,
                "issuers",
                f"issuer {issuer_id!r} appears in {', '.join(sources)} but not in issuers.csv; "
                "it is counted and shown by its id, and has no state",
                file=display_path(export_dir / "issuers.csv", export_dir),
                column="issuer_id",
                issuer_id=issuer_id,
            )
        )
