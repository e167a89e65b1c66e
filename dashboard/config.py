"""Settings in one place, each overridable by an environment variable (documented in docs/configuration.md)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# The export directory the dashboard and `report` read when none is named.
DEFAULT_DATA_DIR = REPO_ROOT / "data"


def data_dir() -> Path:
    return Path(os.environ.get("DASHBOARD_DATA_DIR", DEFAULT_DATA_DIR))


def prepared_dir() -> Path | None:
    """Where prepared exports are kept (DuckDB files named by the export's fingerprint; never inside
    the export). `memory` prepares in memory on every start instead."""
    value = os.environ.get("DASHBOARD_PREPARED_DIR", str(REPO_ROOT / ".prepared"))
    return None if value.strip().lower() == "memory" else Path(value)


def new_export_wait_seconds() -> float:
    """How long a page waits for a newly landed export before showing the previous one (saying so)."""
    return float(os.environ.get("DASHBOARD_NEW_EXPORT_WAIT_SECONDS", "5"))


def warm_views() -> bool:
    """Compute the default views in the background when an export is loaded (off for benchmarks of cold pages)."""
    return os.environ.get("DASHBOARD_WARM_VIEWS", "1") != "0"


def duckdb_memory_limit() -> str:
    """DuckDB's own memory ceiling, so that the dashboard's process stays within the machine."""
    return os.environ.get("DASHBOARD_DUCKDB_MEMORY_LIMIT", "3GB")


def duckdb_threads() -> int | None:
    value = os.environ.get("DASHBOARD_DUCKDB_THREADS")
    return int(value) if value else None


def cache_ttl_seconds() -> int:
    """How long a computed view stays cached (a new export changes the key at once anyway)."""
    return int(os.environ.get("DASHBOARD_CACHE_TTL_SECONDS", "3600"))


def standup_refresh_seconds() -> int:
    return int(os.environ.get("DASHBOARD_STANDUP_REFRESH_SECONDS", "300"))


def stale_after_hours() -> float:
    """The data-health page warns when the newest event in the export is older than this."""
    return float(os.environ.get("DASHBOARD_STALE_AFTER_HOURS", "36"))
