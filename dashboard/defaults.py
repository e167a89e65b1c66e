"""Defaults and small parsers that the command line's argument definitions need.

Kept free of heavy imports (no duckdb, pandas, pyarrow, numpy, pyx12, streamlit) so that `--help`
and a mistyped flag answer at once; the modules that use these values import them from here.
"""

from __future__ import annotations

from datetime import UTC, datetime

DEFAULT_WINDOW_DAYS = 7  # fix-impact window on each side of a release
DEFAULT_ITS_DAYS = 14  # W, the interrupted-time-series window on each side of a release

DEMO_ENROLLMENTS = 60_000  # public enrollments of `generate` and of the default demo export
DEFAULT_SEED = 2013

DEFAULT_EXCHANGE_ID = "CMSFFM"  # the exchange's interchange id (ISA06/ISA08) in X12 files

# Where ingest-x12 keeps its state and writes its table, inside an export directory
X12_STATE_DIR = "_x12"
X12_TABLE_DIR = "transactions_834"
X12_TABLE_FILE = "x12-834.parquet"


def parse_as_of(text: str) -> datetime:
    """An as-of time as users write it: ISO 8601, UTC when no offset is given, a bare date at 00:00 UTC.

    Raises ValueError when the text is not one; returns a naive UTC datetime.
    """
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value
