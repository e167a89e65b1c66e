"""`report` shows the preparation's steps on standard error (DASHBOARD_PROGRESS, --no-progress) and
leaves the JSON on standard output as it is without them (issue 15)."""

from __future__ import annotations

import json
import os

from exportkit import accepted, enrollment, payment, write_export
from helpers import run_report

from dashboard import progress

# The steps of a full preparation into the prepared store, in user words (docs/configuration.md)
STEPS = [
    "Checking column types",
    "Reading enrollments",
    "Reading 834 transactions",
    "Reading payments",
    "Preparing enrollments",
    "Preparing 834 transactions",
    "Preparing payments",
    "Preparing stage events",
    "Preparing the trends' day-end changes",
    "Checking the rows",
    "Saving the prepared export",
]


def small_export(path):
    return write_export(
        path,
        enrollments=[enrollment("E1"), enrollment("E2", issuer_id="20002", state="TX")],
        transactions=[accepted("X1", "E1", "2013-11-02 09:00", "2013-11-02 10:00")],
        payments=[payment("P1", "E1", redirected_at="2013-11-03 09:00", redirect_status="ok")],
        releases=[],
        issuers=[["10001", "A", "NC"], ["20002", "B", "TX"]],
    )


def run(tmp_path, name: str, *args: str, mode: str | None = None):
    env = {k: v for k, v in os.environ.items() if k != "DASHBOARD_PROGRESS"}
    env["DASHBOARD_PREPARED_DIR"] = str(tmp_path / f"prepared-{name}")  # each run prepares in full
    if mode is not None:
        env["DASHBOARD_PROGRESS"] = mode
    return run_report("--data", str(tmp_path / "x"), "--as-of", "2013-11-03T12:00", *args, env=env)


def test_always_names_every_step_and_leaves_the_json_alone(tmp_path):
    small_export(tmp_path / "x")
    plain = run(tmp_path, "plain")
    shown = run(tmp_path, "shown", mode="always")
    assert plain.returncode == 0 and shown.returncode == 0, (plain.stderr, shown.stderr)
    assert plain.stderr == ""  # not a terminal: no progress by default
    for step in STEPS:
        assert step in shown.stderr, step
    assert "(29/29)" in shown.stderr  # i/n: 29 steps in all
    assert json.loads(shown.stdout) == json.loads(plain.stdout)
    assert shown.stdout == plain.stdout


def test_no_progress_and_never_show_nothing(tmp_path):
    small_export(tmp_path / "x")
    for name, args, mode in [("flag", ["--no-progress"], "always"), ("never", [], "never")]:
        done = run(tmp_path, name, *args, mode=mode)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        json.loads(done.stdout)


def test_a_reused_preparation_shows_no_steps(tmp_path):
    small_export(tmp_path / "x")
    assert run(tmp_path, "same").returncode == 0
    again = run(tmp_path, "same", mode="always")
    assert again.returncode == 0 and again.stderr == ""


def test_a_bad_setting_is_named(tmp_path):
    small_export(tmp_path / "x")
    done = run(tmp_path, "bad", mode="sometimes")
    assert done.returncode == 2
    assert done.stderr.strip() == "error: DASHBOARD_PROGRESS='sometimes' is not one of auto, always, never"


def test_step_words():
    from dashboard.engine.prepare import step_words

    assert step_words("read transactions_834") == "Reading 834 transactions"
    assert step_words("prepare_stage_events") == "Preparing stage events"
    assert step_words("save") == "Saving the prepared export"


def test_not_a_terminal_shows_nothing_by_default(monkeypatch):
    class Pipe:
        def isatty(self):
            return False

    monkeypatch.delenv("DASHBOARD_PROGRESS", raising=False)
    assert progress.step_bar(True, Pipe()) is None


def test_an_incremental_preparation_counts_its_own_steps(tmp_path):
    export = small_export(tmp_path / "x")
    assert run(tmp_path, "store").returncode == 0
    (payments,) = (export / "payments").glob("*.parquet")
    stat = payments.stat()
    os.utime(payments, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # "rewritten": read again
    done = run(tmp_path, "store", mode="always")
    assert done.returncode == 0, done.stderr
    for step in [
        "Copying the previous preparation",
        "Finding the enrollments the changed files touch",
        "Applying the changes",
    ]:
        assert step in done.stderr, step
    assert "(33/33)" in done.stderr
