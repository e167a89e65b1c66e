"""Settings in one place, each overridable by an environment variable (documented in docs/configuration.md)."""

from __future__ import annotations

import os
import re
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


class SettingError(ValueError):
    """A setting's value cannot be used; the message names the setting and the value."""


_SIZE_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_SIZE_UNITS.update({"ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40})
DEFAULT_PREPARED_MAX_BYTES = "10GB"


def parse_size(name: str, text: str) -> int | None:
    """'500MB', '2GB', '1.5GiB' or a plain number of bytes; 0 or 'none' means no cap (None)."""
    value = text.strip().lower()
    if value in ("0", "none"):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(|k|m|g|t|ki|mi|gi|ti)b?", value)
    if match is None:
        raise SettingError(
            f"{name}={text!r} is not a size: give a number of bytes, optionally with a unit "
            "(KB, MB, GB, TB or KiB, MiB, GiB, TiB; e.g. 500MB or 2GB), or 0 or none for no cap"
        )
    amount = float(match.group(1)) * _SIZE_UNITS[match.group(2)]
    if amount == 0:
        return None  # '0MB' as '0': no cap
    if amount < 1:
        # it would round to 0 bytes, which reads as no cap: the opposite of a very small cap
        raise SettingError(
            f"{name}={text!r} is less than one byte: give a whole number of bytes or more, or 0 for no cap"
        )
    return int(amount)


def prepared_max_bytes() -> int | None:
    """The cap on the prepared store's size; files of other export directories go, least recently used first."""
    value = os.environ.get("DASHBOARD_PREPARED_MAX_BYTES", "").strip() or DEFAULT_PREPARED_MAX_BYTES
    return parse_size("DASHBOARD_PREPARED_MAX_BYTES", value)
