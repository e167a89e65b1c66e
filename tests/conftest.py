"""Shared fixtures: literal exports on disk and the engine / report over them."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Prepared databases of the tests' exports (and of the servers and reports they start) go to a
# temporary folder, never to the repository's .prepared/.
_PREPARED = tempfile.mkdtemp(prefix="prepared-")
os.environ["DASHBOARD_PREPARED_DIR"] = _PREPARED
atexit.register(shutil.rmtree, _PREPARED, ignore_errors=True)

from exportkit import write_export  # noqa: E402
from helpers import run_page  # noqa: E402

from dashboard.engine import Engine  # noqa: E402


@pytest.fixture
def export(tmp_path):
    """export(**tables) -> Engine over a fresh export written from literal rows."""
    counter = iter(range(1000))

    def build(**tables) -> Engine:
        root = write_export(tmp_path / f"export{next(counter)}", **tables)
        return Engine(root)

    return build


@pytest.fixture
def app_page(monkeypatch):
    """app_page(page, data_dir=..., user=..., roles=..., **url_params) -> AppTest after one run of that page."""

    def run(page: str = "overview", *, data_dir: Path, user: dict | None = None, roles: Path | None = None, **params):
        monkeypatch.setenv("DASHBOARD_DATA_DIR", str(data_dir))
        if roles is not None:
            monkeypatch.setenv("DASHBOARD_ROLES_FILE", str(roles))
        return run_page(page, user=user, **params)

    return run
