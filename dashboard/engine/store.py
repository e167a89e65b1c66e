"""The prepared store: DuckDB files in `prepared_dir`, one per export fingerprint.

A file is named `<export path digest>-<preparation SQL digest>-<export fingerprint>.duckdb`: a process
that finds the one for the export as it is opens it read-only at once; otherwise a new one is built
(incrementally from the newest previous one when possible, else in full), renamed into place
atomically, and older ones are pruned.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..problems import Problem
from .catalog import NamedQuery
from .incremental import prepare_incremental
from .prepare import PROBLEM_COLUMNS, Connect, Preparation, Progress, insert_rows
from .staging import ExportChanged, export_fingerprint, sql_ident

# Bump when the layout of a prepared database changes in a way the prepare SQL's text does not show.
_PREPARED_FORMAT = "3"  # 3: problems store file paths from the export folder, messages none
# Prepared databases kept per export directory: the one in use and the one before it (for incremental
# preparation and for a process still serving the previous export).
_KEEP_PREPARED = 2


@dataclass
class Prepared:
    """A prepared database, open read-only."""

    con: duckdb.DuckDBPyConnection
    path: Path
    fingerprint: str
    problems: list[Problem]
    preparation: str  # "reused" (an existing file), "incremental" (from the previous one) or "full"
    consistent: bool = True  # False: the export kept changing while it was read (never reused)


def prepared_prefix(export_dir: Path, prepare_sql: list[NamedQuery]) -> str:
    """What the names of an export's prepared files start with: its path and the preparation SQL."""
    digest = hashlib.sha256(str(export_dir.resolve()).encode())
    version = hashlib.sha256(_PREPARED_FORMAT.encode())
    for statement in prepare_sql:
        version.update(statement.sql.encode())
    return f"{digest.hexdigest()[:12]}-{version.hexdigest()[:8]}"


def open_prepared(
    prepared_dir: Path,
    export_dir: Path,
    prepare_sql: list[NamedQuery],
    connect: Connect,
    timings: dict[str, float],
    progress: Progress | None = None,
) -> Prepared:
    """The export's prepared database: reused when it exists, else built (and the store pruned)."""
    prepared_dir.mkdir(parents=True, exist_ok=True)
    prefix = prepared_prefix(export_dir, prepare_sql)
    path = prepared_dir / f"{prefix}-{export_fingerprint(export_dir)}.duckdb"
    if path.is_file():
        existing = _open_existing(path, connect)
        if existing is not None:
            return existing
    prep = Preparation(export_dir, prepare_sql, connect, timings, progress)
    prep.saves = True
    previous = _newest(prepared_dir.glob(f"{prefix}-*.duckdb"), exclude=path)
    building = prepared_dir / f".{path.name}.building-{os.getpid()}-{threading.get_ident()}"
    _remove_database(building)
    try:
        try:
            consistent = previous is not None and prepare_incremental(prep, previous, building)
        except (ExportChanged, FileNotFoundError):
            consistent = False  # a file vanished while it was compared: the full preparation reads it again
        if consistent:
            preparation = "incremental"
        else:
            prep.close()
            _remove_database(building)
            preparation = "full"
            prep.con = connect(str(building))
            prep.con.execute("SET preserve_insertion_order = false")  # every query orders what it shows
            consistent = prep.load_consistent_snapshot()
        with prep.timed("save"):
            _save_state(prep)
            prep.con.execute("CHECKPOINT")
    except BaseException:
        prep.close()
        _remove_database(building)
        raise
    prep.close()
    final = prepared_dir / f"{prefix}-{prep.fingerprint}.duckdb"
    if consistent:
        os.replace(building, final)  # atomic: another process sees the whole file or none
        _prune(prepared_dir, prefix, keep=final)
        target = final
    else:
        target = building  # serve what was read, with its problem, but never reuse it
    con = connect(str(target), read_only=True)
    if not consistent:
        _remove_database(building)  # the open connection keeps its file (POSIX); nothing is left behind
    return Prepared(con, target, prep.fingerprint, prep.findings.problems, preparation, consistent)


def _open_existing(path: Path, connect: Connect) -> Prepared | None:
    try:
        con = connect(str(path), read_only=True)
        fingerprint = con.execute("SELECT fingerprint FROM _meta").fetchone()[0]
        problems = con.execute(
            f"SELECT {', '.join(map(sql_ident, PROBLEM_COLUMNS))} FROM _problems ORDER BY position"
        ).fetchall()
    except duckdb.Error:
        _remove_database(path)  # unreadable or from an interrupted write: prepare again
        return None
    return Prepared(con, path, fingerprint, [Problem(*row) for row in problems], "reused")


def _save_state(prep: Preparation) -> None:
    """_meta, _problems, _files and _cast_failures: what a reuse or the next incremental preparation reads."""
    con = prep.con
    findings = prep.findings
    con.execute(
        "CREATE OR REPLACE TABLE _meta AS SELECT $fingerprint AS fingerprint, "
        "$export_dir AS export_dir, now() AS prepared_at",
        {"fingerprint": prep.fingerprint, "export_dir": str(prep.export_dir.resolve())},
    )
    con.execute(
        'CREATE OR REPLACE TABLE _problems (position INTEGER, severity VARCHAR, "table" VARCHAR, '
        'message VARCHAR, file VARCHAR, "column" VARCHAR, "rows" BIGINT, issuer_id VARCHAR, '
        "origin VARCHAR)"
    )
    insert_rows(
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
                "file_values" if p in findings.file_value_problems else None,
            ]
            for i, p in enumerate(findings.problems)
        ],
    )
    con.execute('CREATE OR REPLACE TABLE _files ("table" VARCHAR, file VARCHAR, size BIGINT, mtime_ns BIGINT)')
    insert_rows(con, "_files", prep.file_stats)
    con.execute(
        'CREATE OR REPLACE TABLE _cast_failures ("table" VARCHAR, file VARCHAR, "column" VARCHAR, '
        "failures BIGINT, message VARCHAR)"
    )
    insert_rows(
        con,
        "_cast_failures",
        [[table, f, col, n, message] for (f, col), (table, n, message) in findings.cast_failures.items()],
    )


def _prune(prepared_dir: Path, prefix: str, keep: Path) -> None:
    older = sorted((p for p in prepared_dir.glob(f"{prefix}-*.duckdb") if p != keep), key=_mtime, reverse=True)
    for path in older[_KEEP_PREPARED - 1 :]:
        _remove_database(path)  # a process still reading it keeps its open file (POSIX)
    for stale in prepared_dir.glob(f".{prefix}-*.building-*"):
        if time.time() - _mtime(stale) > 24 * 3600:  # left by a process that died while preparing
            _remove_database(stale)


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
