"""How `ingest-x12` runs: two runs at once on one export, files read in parallel, maps parsed once,
files in a directory that are not X12."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import pyx12.map_if
from helpers import REPO

from dashboard.cli import main
from dashboard.x12 import ingest, read

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "x12"
FFM = FIXTURES / "ffm"
TABLE = Path(ingest.TABLE_DIR) / ingest.TABLE_FILE

# (file, the enrollment ids of its rows): two disjoint halves of the hand-written files
FIRST_HALF = {"ffm_outbound_family.834": {"7700101", "7700102"}, "ffm_full_subsidy.834": {"8800201"}}
SECOND_HALF = {"ffm_two_sets.834": {"7700301", "7700302"}, "ffm_unexpected_qualifier.834": {"9900501"}}


def enrollment_ids(export: Path) -> list[str]:
    return sorted(r["enrollment_id"] for r in pq.read_table(export / TABLE).to_pylist())


def every_state_file_reads(export: Path) -> int:
    paths = list((export / ingest.STATE_DIR).glob("*.json"))
    for path in paths:
        assert json.loads(path.read_text())["version"] == ingest.STATE_VERSION
    return len(paths)


# ---------------------------------------------------------------------------------------------
# Two runs at once


def test_a_run_waits_for_the_run_that_holds_the_lock_and_loses_nothing(tmp_path, monkeypatch):
    """The first run is slowed between reading the state and writing the table; the second, started
    meanwhile, must wait for it (without the lock, the first run's table, written last, would miss
    the second run's rows)."""
    export = tmp_path / "export"
    write_atomic = ingest._write_atomic

    def slow_for_the_first_run(path, write):
        if path.name == ingest.TABLE_FILE and threading.current_thread().name == "first":
            time.sleep(1.0)
        write_atomic(path, write)

    monkeypatch.setattr(ingest, "_write_atomic", slow_for_the_first_run)
    notices: list[str] = []
    errors: list[BaseException] = []

    def run(files, notify=None):
        try:
            ingest.ingest([FFM / f for f in files], export, jobs=1, notify=notify)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    first = threading.Thread(target=run, args=(FIRST_HALF,), name="first")
    second = threading.Thread(target=run, args=(SECOND_HALF, notices.append), name="second")
    first.start()
    deadline = time.monotonic() + 30
    while not list((export / ingest.STATE_DIR).glob("*.json")):  # the first run has stored a file: it is writing
        assert time.monotonic() < deadline
        time.sleep(0.01)
    second.start()
    first.join()
    second.join()
    assert errors == []
    expected = sorted(set().union(*FIRST_HALF.values(), *SECOND_HALF.values()))
    assert enrollment_ids(export) == expected
    assert every_state_file_reads(export) == 4
    assert len(notices) == 1 and notices[0].startswith(f"waiting for another ingest-x12 run (process {os.getpid()} ")
    assert str(export / ingest.STATE_DIR) in notices[0]


def test_a_run_gives_up_after_the_timeout_naming_the_folder_and_the_other_run(tmp_path):
    export = tmp_path / "export"
    with ingest.state_lock(export):
        started = time.monotonic()
        with pytest.raises(ingest.IngestError) as caught:
            ingest.ingest([FFM / "ffm_full_subsidy.834"], export, lock_timeout=0.3, notify=None)
        assert time.monotonic() - started >= 0.3
    message = str(caught.value)
    assert message.startswith(
        f"{export / ingest.STATE_DIR} is in use by another ingest-x12 run (process {os.getpid()} "
    )
    assert "waited 0.3 s" in message
    assert not (export / TABLE).exists() and every_state_file_reads(export) == 0
    # once the lock is free, the same run goes through
    ingest.ingest([FFM / "ffm_full_subsidy.834"], export, notify=None)
    assert enrollment_ids(export) == ["8800201"]
    assert (export / ingest.STATE_DIR / ingest.LOCK_FILE).read_text() == ""  # no holder left named


def test_two_processes_at_once_lose_no_rows(tmp_path):
    export = tmp_path / "export"
    # each process brings 12 files of its own (the same hand-written sets, other interchange numbers)
    inboxes = []
    for process in range(2):
        inbox = tmp_path / f"inbox{process}"
        inbox.mkdir()
        text = (FFM / "ffm_full_subsidy.834").read_text()
        for n in range(12):
            control = f"{process + 1}{n:08d}"
            policy = f"P{process}-{n:02d}"
            copy = text.replace("000000202", control).replace("REF*1L*8800201", f"REF*1L*{policy}")
            (inbox / f"{n:02d}.834").write_text(copy)
        inboxes.append(inbox)
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "dashboard", "ingest-x12", str(inbox), "--out", str(export)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for inbox in inboxes
    ]
    for run in runs:
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
        assert "Traceback" not in err
    assert enrollment_ids(export) == sorted(f"P{p}-{n:02d}" for p in range(2) for n in range(12))
    assert every_state_file_reads(export) == 24
    assert not [p for p in export.rglob(".*")]  # no temporary file left behind


# ---------------------------------------------------------------------------------------------
# Reading


def test_parallel_reading_gives_what_sequential_reading_gives(monkeypatch):
    names = [p for p in sorted(FIXTURES.rglob("*")) if p.is_file() and p.suffix != ".md"]
    items = [(str(p), p.read_bytes()) for p in names]
    sequential = ingest.read_files(items, jobs=1)
    monkeypatch.setattr(ingest, "PARALLEL_MIN_BYTES", 0)
    parallel = ingest.read_files(items, jobs=2)
    assert [r.file for r in parallel] == [str(p) for p in names]
    assert parallel == sequential
    assert sum(len(r.rows) for r in parallel) > 0 and sum(not r.ok for r in parallel) == 2


def test_each_map_is_parsed_once_and_validates_as_a_fresh_one():
    assert pyx12.map_if.load_map_file is read._load_map_once
    texts = [p.read_text() for p in sorted(FIXTURES.rglob("*")) if p.is_file() and p.suffix != ".md"]
    cached = [read.validate(t, "f") for t in texts]
    assert read._load_map_once("834.5010.X220.A1.xml", read._PARAMS) is read._load_map_once(
        "834.5010.X220.A1.xml", read._PARAMS
    )
    try:  # pyx12's own loader: a map parsed afresh for every file
        pyx12.map_if.load_map_file = read._pyx12_load_map_file
        fresh = [read.validate(t, "f") for t in texts]
    finally:
        pyx12.map_if.load_map_file = read._load_map_once

    def comparable(found):
        findings, segs = found
        return [str(f) for f in findings], [(s.number, s.seg_id, s.path) for s in segs]

    assert [comparable(c) for c in cached] == [comparable(f) for f in fresh]


# ---------------------------------------------------------------------------------------------
# Files that are not X12


def test_a_directory_run_skips_files_that_are_not_x12(tmp_path, capsys):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "README.md").write_text("# Files from the issuer\n")
    (inbox / "notes.txt").write_bytes(b"\x00\x01 binary")
    (inbox / "bom.834").write_bytes(b"\xef\xbb\xbf" + (FFM / "ffm_full_subsidy.834").read_bytes())
    # an ISA header (after white space, which pyx12 refuses): X12, so rejected with findings, not skipped
    (inbox / "spaced.834").write_bytes(b"\n  " + (FFM / "ffm_two_sets.834").read_bytes())
    (inbox / "broken.834").write_text("ISA*00*broken~")
    code = main(["ingest-x12", str(inbox), "--out", str(tmp_path / "export")])
    out, err = capsys.readouterr()
    assert code == 2
    assert f"error: {inbox / 'spaced.834'}: rejected" in err
    assert f"{inbox / 'README.md'}: skipped, not an X12 file (no ISA header)\n" in out
    assert f"{inbox / 'notes.txt'}: skipped, not an X12 file (no ISA header)\n" in out
    assert f"{inbox / 'bom.834'}: ingested, 834: 1 row(s)" in out
    assert f"error: {inbox / 'broken.834'}: rejected" in err
    assert enrollment_ids(tmp_path / "export") == ["8800201"]


def test_a_file_named_on_the_command_line_is_read_even_if_not_x12(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("# not X12\n")
    code = main(["ingest-x12", str(readme), "--out", str(tmp_path / "export")])
    _, err = capsys.readouterr()
    assert code == 2 and f"{readme}: rejected" in err and "not an X12 interchange" in err


def test_a_directory_without_any_x12_is_bad_input(tmp_path, capsys):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "README.md").write_text("# nothing yet\n")
    code = main(["ingest-x12", str(inbox), "--out", str(tmp_path / "export")])
    _, err = capsys.readouterr()
    assert code == 2 and f"no X12 files to ingest in {inbox} (1 file(s) without an ISA header skipped)" in err
    assert not (tmp_path / "export").exists()
