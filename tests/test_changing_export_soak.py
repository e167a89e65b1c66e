"""Soak: two exports swapped back and forth in one directory while `report` runs against it again and again.

The exporter here behaves as real ones do: each file is written under a `.` name and renamed into
place, then the files the other export lacks are removed, with short random pauses in between. Every
report must be exactly one export's report, or the documented refusal ("the export kept changing
while it was read", exit 2): never a mix, never exit 1. Bounded in time (SOAK_SECONDS, default 40) so
that it runs in CI; set SOAK_SECONDS=600 for a longer run.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import shutil
import threading
import time
from pathlib import Path

import pytest

from dashboard import cli, demo

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "40"))
AS_OF = "2013-12-02T00:00:00Z"
REFUSAL = "the export kept changing while it was read"


def report(directory: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["report", "--data", str(directory), "--as-of", AS_OF])
    return code, out.getvalue(), err.getvalue()


def files_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def two_exports(tmp_path_factory):
    """Exports A (300 enrollments) and B (450, with its main files under other names): their file contents
    and their reports, each computed on a directory nobody touches."""
    base = tmp_path_factory.mktemp("soak")
    exports = {}
    for name, size, rename in (("A", 300, None), ("B", 450, ("part-00000", "part-00001"))):
        root = base / name
        demo.generate(root, size, progress=False)
        if rename:
            for path in root.rglob(f"{rename[0]}.parquet"):
                path.rename(path.with_name(f"{rename[1]}.parquet"))
        code, out, err = report(root)
        assert code == 0, err
        exports[name] = (files_of(root), json.loads(out))
    assert exports["A"][1] != exports["B"][1]  # two exports a reader can tell apart
    assert set(exports["A"][0]) != set(exports["B"][0])  # and each has files the other lacks
    return base, exports


class Exporter(threading.Thread):
    """Swaps the two exports in `target` until stopped; `operations` counts every rename and removal."""

    def __init__(self, target: Path, exports: dict[str, dict[str, bytes]], seed: int):
        super().__init__(name="exporter", daemon=True)
        self.target, self.exports, self.random = target, exports, random.Random(seed)
        self.stop = threading.Event()
        self.operations = 0
        self.swaps = 0
        self.failure: BaseException | None = None

    def pause(self, longest: float) -> None:
        time.sleep(self.random.uniform(0, longest))

    def put(self, files: dict[str, bytes]) -> None:
        names = list(files)
        self.random.shuffle(names)
        for name in names:
            final = self.target / name
            final.parent.mkdir(parents=True, exist_ok=True)
            writing = final.with_name("." + final.name)  # the data contract: a `.` name is not read
            writing.write_bytes(files[name])
            os.replace(writing, final)
            self.operations += 1
            self.pause(0.02)
        for path in sorted(self.target.rglob("*")):
            if path.is_file() and str(path.relative_to(self.target)) not in files:
                path.unlink()
                self.operations += 1
                self.pause(0.02)

    def run(self) -> None:
        try:
            order = ["B", "A"]
            while not self.stop.is_set():
                self.put(self.exports[order[self.swaps % 2]])
                self.swaps += 1
                self.pause(0.8)  # quiet spells between swaps, as between real exports (but much shorter)
        except BaseException as exc:  # surfaced by the test, not lost in the thread
            self.failure = exc


def test_reports_on_a_directory_being_swapped_are_one_export_or_the_refusal(two_exports, tmp_path):
    base, exports = two_exports
    target = tmp_path / "export"
    shutil.copytree(base / "A", target)
    exporter = Exporter(target, {name: files for name, (files, _) in exports.items()}, seed=1834)
    expected = {name: result for name, (_, result) in exports.items()}
    outcomes = {"A": 0, "B": 0, "refused": 0}
    raced = 0  # reports during which the exporter renamed or removed at least one file
    exporter.start()
    deadline = time.monotonic() + SOAK_SECONDS
    try:
        while time.monotonic() < deadline:
            operations_before = exporter.operations
            code, out, err = report(target)
            raced += exporter.operations != operations_before
            assert "Traceback" not in err and "internal error" not in err, err
            if code == 2:
                assert REFUSAL in err, err  # the only refusal a good export being replaced may give
                outcomes["refused"] += 1
                continue
            assert code == 0, err
            result = json.loads(out)
            matches = [name for name, wanted in expected.items() if result == wanted]
            assert matches, "a report mixed the two exports"
            outcomes[matches[0]] += 1
    finally:
        exporter.stop.set()
        exporter.join(timeout=30)
    assert exporter.failure is None, exporter.failure
    runs = sum(outcomes.values())
    print(f"soak: {runs} reports in {SOAK_SECONDS:.0f} s, {exporter.swaps} swaps, {raced} raced: {outcomes}")
    # not vacuous: the exporter was at work during many reports, and reports did get through
    assert exporter.swaps >= 5 and raced >= 5, (exporter.swaps, raced)
    assert outcomes["A"] + outcomes["B"] >= 1, outcomes
