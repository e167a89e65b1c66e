"""The command line imports only what a command needs (issue 15): `--help` loads none of the heavy
libraries, `report` none of the page libraries nor pyx12. Each command runs in a fresh interpreter
that writes the top-level modules it imported to a file as it exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers import REPO

HEAVY = {"duckdb", "pandas", "pyarrow", "streamlit", "plotly", "pyx12"}
PAGES_AND_X12 = {"streamlit", "plotly", "pyx12"}

# runs `python -m dashboard ARGS` and, at exit (also after SystemExit), writes sorted top-level modules
WRAPPER = """
import atexit, json, runpy, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted({m.split(".")[0] for m in sys.modules}))))
sys.argv = ["dashboard", *sys.argv[2:]]
runpy.run_module("dashboard", run_name="__main__", alter_sys=True)
"""


def imported(tmp_path, *args: str, env: dict | None = None) -> tuple[set[str], subprocess.CompletedProcess]:
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(out), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
    return set(json.loads(out.read_text())), done


@pytest.mark.parametrize(
    "args",
    [["--help"], ["report", "--help"], ["alerts", "--help"], ["generate", "--help"], ["ingest-x12", "--help"]],
    ids=" ".join,
)
def test_help_imports_nothing_heavy(tmp_path, args):
    modules, done = imported(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert "usage: python -m dashboard" in done.stdout
    assert modules & HEAVY == set()


def test_a_bad_flag_imports_nothing_heavy_and_says_so(tmp_path):
    modules, done = imported(tmp_path, "report", "--as-of", "yesterday")
    assert done.returncode == 2
    assert "--as-of 'yesterday' is not an ISO 8601 timestamp or date" in done.stderr
    assert modules & HEAVY == set()


def test_generate_and_report_import_what_they_need_only(tmp_path):
    export = tmp_path / "export"
    modules, done = imported(tmp_path, "generate", "--out", str(export), "--enrollments", "300")
    assert done.returncode == 0, done.stderr
    assert {"pyarrow"} <= modules
    assert modules & {"streamlit", "plotly", "duckdb"} == set()

    env = {"DASHBOARD_PREPARED_DIR": str(tmp_path / "prepared")}
    modules, done = imported(tmp_path, "report", "--data", str(export), env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["as_of"]
    assert "duckdb" in modules
    assert modules & PAGES_AND_X12 == set()


def test_alerts_import_no_page_library_nor_pyx12(tmp_path):
    """The alerts run every 15 minutes: they pay for DuckDB, not for Streamlit, Plotly or pyx12."""
    export = tmp_path / "export"
    _, done = imported(tmp_path, "generate", "--out", str(export), "--enrollments", "300")
    assert done.returncode == 0, done.stderr
    rules = tmp_path / "alerts.toml"
    rules.write_text(
        '[[rule]]\nname = "export"\ntype = "stale_export"\nchannel = "webhook"\n'
        'webhook_url = "http://127.0.0.1:9/x"\nscope = "all"\n'
    )
    env = {"DASHBOARD_PREPARED_DIR": str(tmp_path / "prepared")}
    modules, done = imported(tmp_path, "alerts", "--rules", str(rules), "--data", str(export), "--dry-run", env=env)
    assert done.returncode == 0, done.stderr
    assert "would send to webhook:all" in done.stdout  # the demo export is years old: stale
    assert "duckdb" in modules
    assert modules & PAGES_AND_X12 == set()


def test_ingest_x12_imports_pyx12_but_no_pages(tmp_path):
    export = tmp_path / "export"
    x12 = tmp_path / "x12"
    _, done = imported(tmp_path, "generate", "--out", str(export), "--enrollments", "50", "--x12", str(x12))
    assert done.returncode == 0, done.stderr
    modules, done = imported(tmp_path, "ingest-x12", str(x12), "--out", str(export))
    assert done.returncode == 0, done.stderr
    assert "pyx12" in modules
    assert modules & {"streamlit", "plotly"} == set()
