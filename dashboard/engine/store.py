"""The prepared store: DuckDB files in `prepared_dir`, one per export fingerprint.

A file is named `<export path digest>-<preparation SQL digest>-<export fingerprint>.duckdb`: a process
that finds the one for the export as it is opens it read-only at once; otherwise a new one is built
(incrementally from the newest previous one when possible, else in full), renamed into place
atomically, and older ones are pruned.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
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

log = logging.getLogger(__name__)


class Hold:
    """A shared flock on `<db>.lock`, held by an Engine while it serves the file; its mtime is the last use."""

    def __init__(self, fd: int):
        self.fd: int | None = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __del__(self):
        self.release()


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def hold(path: Path) -> Hold | None:
    """A shared lock on the prepared file `path` (existing or about to be), its use recorded; None if impossible."""
    lock = _lock_path(path)
    for _ in range(10):
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            log.warning("cannot lock the prepared file %s (%s); it may be pruned while in use", path, exc)
            return None
        fcntl.flock(fd, fcntl.LOCK_SH)  # a pruner holds its exclusive lock only while it removes
        if _same_file(fd, lock):  # not removed by a pruner while we waited
            with contextlib.suppress(OSError):
                os.utime(fd)
            return Hold(fd)
        os.close(fd)
    return None


@dataclass
class Prepared:
    """A prepared database, open read-only."""

    con: duckdb.DuckDBPyConnection
    path: Path
    fingerprint: str
    problems: list[Problem]
    preparation: str  # "reused" (an existing file), "incremental" (from the previous one) or "full"
    consistent: bool = True  # False: the export kept changing while it was read (never reused)
    hold: Hold | None = None  # the shared lock that keeps pruning away from this file while it is open


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
    max_bytes: int | None = None,
) -> Prepared:
    """The export's prepared database: reused when it exists, else built (and the store pruned).

    The returned Prepared holds a shared lock on its file (`hold`), so that no pruning removes it
    while it serves; with `max_bytes`, files of other export directories are removed, least
    recently used first, until the store fits.
    """
    prepared_dir.mkdir(parents=True, exist_ok=True)
    prefix = prepared_prefix(export_dir, prepare_sql)
    path = prepared_dir / f"{prefix}-{export_fingerprint(export_dir)}.duckdb"
    held = hold(path)
    if path.is_file():
        existing = _open_existing(path, connect)
        if existing is not None:
            existing.hold = held
            bound_store(prepared_dir, prefix, path, max_bytes)
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
        if held is not None:
            held.release()
        raise
    prep.close()
    final = prepared_dir / f"{prefix}-{prep.fingerprint}.duckdb"
    if consistent:
        if final != path:
            if held is not None:
                held.release()
            held = hold(final)  # before it appears: no pruner may take it
        os.replace(building, final)  # atomic: another process sees the whole file or none
        _prune(prepared_dir, prefix, keep=final)
        bound_store(prepared_dir, prefix, final, max_bytes)
        target = final
    else:
        target = building  # serve what was read, with its problem, but never reuse it
    con = connect(str(target), read_only=True)
    if not consistent:
        _remove_database(building)  # the open connection keeps its file (POSIX); nothing is left behind
        if held is not None:
            _drop_unused_lock(held, path)
            held = None
    return Prepared(con, target, prep.fingerprint, prep.findings.problems, preparation, consistent, held)


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
    """_meta, _problems, _files, _cast_failures and _unique_tables: what a reuse or the next incremental
    preparation reads."""
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
    con.execute('CREATE OR REPLACE TABLE _unique_tables ("table" VARCHAR)')
    insert_rows(con, "_unique_tables", [[t] for t in sorted(findings.unique_tables)])


def _prune(prepared_dir: Path, prefix: str, keep: Path) -> None:
    older = sorted((p for p in prepared_dir.glob(f"{prefix}-*.duckdb") if p != keep), key=_mtime, reverse=True)
    for path in older[_KEEP_PREPARED - 1 :]:
        _remove_database(path)  # a process still reading it keeps its open file (POSIX)
        _lock_path(path).unlink(missing_ok=True)
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


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _last_used(path: Path) -> float:
    """When an Engine last opened the file (its lock file's mtime), else when it was written."""
    lock = _lock_path(path)
    return _mtime(lock) if lock.exists() else _mtime(path)


def bound_store(prepared_dir: Path, prefix: str, keep: Path, max_bytes: int | None) -> None:
    """Remove other export directories' prepared files, least recently used first, until the store
    holds at most `max_bytes`; a file some process holds open (its lock) is skipped, and so are this
    export's own files. Never raises: a file that cannot be removed is logged and kept."""
    if max_bytes is None:
        return
    try:
        files = list(prepared_dir.glob("*.duckdb"))
        sizes = {p: _size(p) + _size(p.with_name(p.name + ".wal")) for p in files}
        total = sum(sizes.values())
        if total <= max_bytes:
            return
        others = sorted((p for p in files if not p.name.startswith(f"{prefix}-")), key=_last_used)
        for path in others:
            if total <= max_bytes:
                break
            if _remove_unused(path):
                total -= sizes[path]
        if total > max_bytes:
            if sizes.get(keep, 0) > max_bytes:
                log.warning(
                    "the prepared file %s (%d bytes) alone exceeds DASHBOARD_PREPARED_MAX_BYTES (%d bytes); "
                    "it is kept because it is in use",
                    keep,
                    sizes[keep],
                    max_bytes,
                )
            else:
                log.warning(
                    "the prepared store %s holds %d bytes, over DASHBOARD_PREPARED_MAX_BYTES (%d bytes): "
                    "the rest is in use or belongs to the export just opened",
                    prepared_dir,
                    total,
                    max_bytes,
                )
    except OSError as exc:  # pruning must never break a page
        log.warning("could not prune the prepared store %s: %s", prepared_dir, exc)


def _remove_unused(path: Path) -> bool:
    """Remove a prepared file and its sidecars (WAL, temp directory, lock) unless a process holds it."""
    lock = _lock_path(path)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        log.warning("cannot prune the prepared file %s: %s", path, exc)
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # in use by some process: kept
        if not _same_file(fd, lock):
            return False  # removed and re-created meanwhile: look again next time
        try:
            for sidecar in (path, path.with_name(path.name + ".wal")):
                sidecar.unlink(missing_ok=True)
            shutil.rmtree(path.with_name(path.name + ".tmp"), ignore_errors=True)
            lock.unlink(missing_ok=True)  # still locked: an opener waiting on it sees it gone and retries
        except OSError as exc:
            log.warning("cannot remove the prepared file %s: %s", path, exc)
            return not path.exists()
        return True
    finally:
        os.close(fd)


def _drop_unused_lock(held: Hold, path: Path) -> None:
    """Release a lock taken for a file that was never stored, removing its lock file if nobody else holds it."""
    try:
        fcntl.flock(held.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if not path.exists() and _same_file(held.fd, _lock_path(path)):
            _lock_path(path).unlink(missing_ok=True)
    except OSError:
        pass  # another process holds it (or it is gone): leave it
    finally:
        held.release()
