"""Shared fixtures: literal exports on disk and the engine / report over them."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Prepared databases of the tests' exports (and of the servers and reports they start) go to a
# temporary folder, never to the repository's .prepared/.
_PREPARED = tempfile.mkdtemp(prefix="prepared-")
os.environ["DASHBOARD_PREPARED_DIR"] = _PREPARED
atexit.register(shutil.rmtree, _PREPARED, ignore_errors=True)

from exportkit import write_export  # noqa: E402

from dashboard import metrics as m  # noqa: E402
from dashboard.engine import Engine  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def export(tmp_path):
    """export(**tables) -> Engine over a fresh export written from literal rows."""
    counter = iter(range(1000))

    def build(**tables) -> Engine:
        root = write_export(tmp_path / f"export{next(counter)}", **tables)
        return Engine(root)

    return build


def query(engine: Engine, as_of: str, **filters) -> m.Query:
    from exportkit import ts

    return m.Query(engine, ts(as_of), m.Filters(**filters))


def run_report(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dashboard", "report", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def report_json(*args: str) -> dict:
    done = run_report(*args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
