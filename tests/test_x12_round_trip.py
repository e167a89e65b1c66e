"""The demo export as X12 834/999 files → ingest-x12 → the same table and the same report."""

from __future__ import annotations

import shutil
import subprocess
import sys
from decimal import Decimal

import pyarrow.parquet as pq
from helpers import REPO, report_json

from dashboard import demo
from dashboard.x12 import read


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
    assert "warning:" not in done.stderr  # the writer's TOT RES AMT is PRE AMT TOT - APTC AMT

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


def test_the_writer_writes_the_marketplace_layout(tmp_path):
    """The round trip above goes through the companion guide's layout: the policy id in each member's
    2300 REF*1L (never in loop 2000), the subsidy and the responsible amount in REF*9V categories."""
    demo.generate(tmp_path / "parquet", 40, progress=False, x12_dir=tmp_path / "x12")
    seen = {"2300 REF*1L": 0, "2000 REF*1L": 0, "2000 REF*17": 0}
    categories: dict[str, set[str]] = {}
    for path in sorted((tmp_path / "x12").glob("*-834-*.x12")):
        findings, segs = read.validate(path.read_text(), path.name)
        assert findings == []
        category = None
        for seg in segs:
            qualifier = seg.value("REF01") if seg.seg_id == "REF" else None
            if qualifier in ("1L", "17") and seg.loop in ("2000", "2300"):
                seen[f"{seg.loop} REF*{qualifier}"] += 1
            if seg.loop == "2750" and seg.seg_id == "N1":
                category = seg.value("N102")
            elif seg.loop == "2750" and seg.seg_id == "REF":
                categories.setdefault(category, set()).add(qualifier)
    assert seen["2300 REF*1L"] > 0 and seen["2000 REF*17"] > 0 and seen["2000 REF*1L"] == 0
    assert categories == {
        "PRE AMT 1": {"9X"},
        "PRE AMT TOT": {"9X"},
        "APTC AMT": {"9V"},
        "TOT RES AMT": {"9V"},
        "RATING AREA": {"9X"},
    }
