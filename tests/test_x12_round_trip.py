"""The demo export as X12 834/999 files → ingest-x12 → the same table and the same report."""

from __future__ import annotations

import shutil
import subprocess
import sys
from decimal import Decimal

import pyarrow.parquet as pq
from helpers import REPO, report_json

from dashboard import demo


def test_x12_files_ingest_to_the_parquet_export_and_its_numbers(tmp_path):
    parquet, x12, ingested = tmp_path / "parquet", tmp_path / "x12", tmp_path / "ingested"
    demo.generate(parquet, 150, progress=False, x12_dir=x12)
    shutil.copytree(parquet, ingested, ignore=shutil.ignore_patterns("transactions_834"))
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "ingest-x12", str(x12), "--out", str(ingested)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    def table(root):
        rows = pq.read_table(root / "transactions_834").to_pylist()
        for row in rows:  # money as cents, whichever of the contract's money types the file uses
            for key in ("total_premium", "aptc_amount"):
                if row[key] is not None:
                    row[key] = round(Decimal(str(row[key])) * 100)
            del row["transaction_id"]  # the ingester names rows by their X12 envelopes
        return sorted(rows, key=lambda r: [str(r[k]) for k in sorted(r)])

    expected, got = table(parquet), table(ingested)
    assert len(got) == len(expected) > 0
    assert got == expected
    assert report_json("--data", str(ingested)) == report_json("--data", str(parquet))
