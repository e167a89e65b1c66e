"""The engine: one prepared export, and the named queries run on it (a cursor per query)."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from .. import contract as c
from ..problems import ERROR, WARNING, ExportError, Problem
from . import store
from .catalog import NamedQuery, load_catalog
from .prepare import Preparation, Progress
from .staging import sql_string


class Engine:
    """One prepared export. Thread-safe: every query runs on its own cursor.

    With `prepared_dir`, the prepared tables live in a DuckDB file there (never in the export), named
    by the export's fingerprint: a process that finds it opens it read-only at once, and a new export
    copies the rows of its unchanged files from the previous one instead of reading them again.
    Without it, everything is prepared in memory (small exports, tests). `progress(step, i, n)` hears
    of each preparation step as it starts (not called when a prepared file is reused).
    """

    def __init__(
        self,
        export_dir: Path | str,
        *,
        memory_limit: str | None = None,
        threads: int | None = None,
        prepared_dir: Path | str | None = None,
        progress: Progress | None = None,
        prepared_max_bytes: int | None = None,
    ):
        self.export_dir = Path(export_dir)
        self._prepare_sql, self._queries = load_catalog()
        self._settings = {"memory_limit": memory_limit, "threads": threads}
        self.problems: list[Problem] = []
        self.fingerprint = ""
        self.prepared_path: Path | None = None
        # how this engine got its data: "memory", "reused" (an existing prepared file),
        # "incremental" (some files copied from the previous one) or "full"
        self.preparation = "memory"
        # False when the export kept changing while it was read: its numbers may be neither export's
        # and it carries the documented refusal among its problems
        self.consistent = True
        self.prepare_seconds = 0.0
        self.timings: dict[str, float] = {}  # seconds per preparation step (for the benchmark)
        self._con: duckdb.DuckDBPyConnection | None = None
        self._progress = progress
        self._hold: store.Hold | None = None  # a shared lock on the prepared file: never pruned while open
        self._max_bytes = prepared_max_bytes
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
            self._prepare_in_memory()
        else:
            self._open_prepared(Path(prepared_dir))
        self.prepare_seconds = time.perf_counter() - started

    @classmethod
    def configured(cls, export_dir: Path | str, progress: Progress | None = None) -> Engine:
        """The engine as the dashboard and `report` open it: with the settings of dashboard.config."""
        from .. import config

        return cls(
            export_dir,
            memory_limit=config.duckdb_memory_limit(),
            threads=config.duckdb_threads(),
            prepared_dir=config.prepared_dir(),
            progress=progress,
            prepared_max_bytes=config.prepared_max_bytes(),
        )

    def _prepare_in_memory(self) -> None:
        prep = Preparation(self.export_dir, self._prepare_sql, self._connect, self.timings, self._progress)
        prep.con = self._connect(":memory:")
        self.consistent = prep.load_consistent_snapshot()
        self._con = prep.con
        self.fingerprint = prep.fingerprint
        self.problems = prep.findings.problems

    def _open_prepared(self, prepared_dir: Path) -> None:
        prepared = store.open_prepared(
            prepared_dir,
            self.export_dir,
            self._prepare_sql,
            self._connect,
            self.timings,
            progress=self._progress,
            max_bytes=self._max_bytes,
        )
        self._hold = prepared.hold
        self._con = prepared.con
        self.fingerprint = prepared.fingerprint
        self.problems = prepared.problems
        self.preparation = prepared.preparation
        self.consistent = prepared.consistent
        self.prepared_path = prepared.path

    def _connect(self, database: str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(database, read_only=read_only)
        con.execute("SET TimeZone = 'UTC'")
        if self._settings["memory_limit"]:
            con.execute(f"SET memory_limit = {sql_string(self._settings['memory_limit'])}")
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

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._hold is not None:
            self._hold.release()
            self._hold = None

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
