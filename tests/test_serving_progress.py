"""The page's progress bar while an export is prepared (issue 15): a waiting page hears each step of
the preparation, in words with "i/n", and then gets the export (the steps' words: test_cli_progress.py)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from dashboard import serving


def test_a_waiting_page_hears_each_step_then_gets_the_export(monkeypatch):
    """A stand-in preparation that announces three steps and waits at each until the test lets it go:
    the page's callback hears every step (none skipped, in order), and `get` returns the export."""
    go = [threading.Event() for _ in range(3)]
    heard_step = [threading.Event() for _ in range(3)]
    steps = [("Reading enrollments", 1, 3), ("Reading 834 transactions", 2, 3), ("Checking the export", 3, 3)]

    def prepare(export_dir, fingerprint, progress=None):
        for k, step in enumerate(steps):
            progress(*step)
            assert go[k].wait(10)
        return serving.LoadedExport(export_dir, fingerprint, None, (), datetime(2013, 12, 1, tzinfo=UTC))

    monkeypatch.setattr(serving, "_prepare", prepare)
    exports = serving._Exports()
    seen: list[tuple[str, int, int]] = []

    def on_wait(step):
        if step is not None and (not seen or seen[-1] != step):
            seen.append(step)
            heard_step[len(seen) - 1].set()

    result: list[serving.LoadedExport] = []
    page = threading.Thread(target=lambda: result.append(exports.get("/exports/x", "fp1", on_wait=on_wait)))
    page.start()
    for k in range(3):
        assert heard_step[k].wait(10), f"the page never heard step {k + 1}"
        go[k].set()
    page.join(10)
    assert seen == steps
    assert result and result[0].fingerprint == "fp1"
    assert exports._steps == {}  # nothing left over for the next export
