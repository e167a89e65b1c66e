"""Writing an export: the output directory, atomic parquet and CSV files, the X12 834/999 files."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..x12.write import X12Writer, x12_representable
from .scenario import Issuer

TABLES = ("enrollments", "transactions_834", "payments")
REFERENCE_FILES = ("releases.csv", "issuers.csv")


class GenerateError(Exception):
    """The output directory cannot take a demo export; the message says why."""


def export_is_empty(directory: Path) -> bool:
    """True when a directory holds no parquet table file and neither reference CSV."""
    if not directory.exists():
        return True
    if (directory / "releases.csv").exists() or (directory / "issuers.csv").exists():
        return False
    return not any(any((directory / t).rglob("*.parquet")) for t in TABLES)


def prepare_output(out: Path, force: bool) -> None:
    """Make `out` ready for an export: refuse to overwrite one without `force`, else clear its tables."""
    if not export_is_empty(out):
        if not force:
            raise GenerateError(f"{out} already holds an export; pass --force to replace its tables and CSV files")
        for table in TABLES:
            shutil.rmtree(out / table, ignore_errors=True)
        for name in REFERENCE_FILES:
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def write_atomic(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)


def write_csv_atomic(path: Path, header: list[str], rows: list[list[str]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        w = csv.writer(handle, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    tmp.replace(path)


def as_x12(table: pa.Table, writer: X12Writer) -> pa.Table:
    """The 834 rows as X12 carries them, each queued in `writer` (their ids stay the demo's: an
    ingester names rows by their X12 envelopes)."""
    rows = [x12_representable(row) for row in table.to_pylist()]
    for row in rows:
        writer.add(row)
    return pa.Table.from_pylist(rows, schema=table.schema)


class ExportWriter:
    """Writes an export's parts into `out`, counting rows; with `x12_dir`, also its 834s as X12 files."""

    def __init__(self, out: Path, x12_dir: Path | None = None) -> None:
        self.out = out
        self.x12_dir = x12_dir
        self.x12 = X12Writer() if x12_dir is not None else None
        self.counts = {table: 0 for table in TABLES}

    def write_part(self, tables: dict[str, pa.Table], name: str) -> None:
        if self.x12 is not None:
            tables["transactions_834"] = as_x12(tables["transactions_834"], self.x12)
        for table_name, table in tables.items():
            write_atomic(table, self.out / table_name / name)
            self.counts[table_name] += table.num_rows

    def finish(self, issuers: list[Issuer], releases: list[list[str]]) -> dict[str, int]:
        """The reference files last (an export is complete once they are there), then the X12 files."""
        write_csv_atomic(
            self.out / "issuers.csv",
            ["issuer_id", "issuer_name", "state"],
            [[i.issuer_id, i.issuer_name, i.state] for i in issuers],
        )
        write_csv_atomic(
            self.out / "releases.csv", ["release_id", "deployed_at", "component", "title", "issuer_id"], releases
        )
        if self.x12 is not None:
            self.counts["x12_files"] = len(self.x12.write(Path(self.x12_dir), "demo"))
        return self.counts
