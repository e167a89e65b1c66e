"""The page furniture of issue 14's layout: release labels that do not overlap, the small-days note."""

from __future__ import annotations

import pandas as pd

from dashboard import charts, ui


def test_release_labels_close_together_go_to_separate_rows():
    # a 60-day axis on a 360 px plot: 6 px a day; each 10-character label at 6 px a character is 68 px wide
    span = (pd.Timestamp("2013-10-01"), pd.Timestamp("2013-11-30"))
    dates = [pd.Timestamp("2013-10-10"), pd.Timestamp("2013-10-11"), pd.Timestamp("2013-10-30")]
    rows = charts.release_label_rows(dates, ["R-12345678"] * 3, span, char_px=6, plot_px=360)
    # Oct 10 at 54 px ends at 122 px; Oct 11 (60 px) overlaps it: row 1; Oct 30 (174 px) fits row 0 again
    assert rows == [(0, False), (1, False), (0, False)]


def test_a_release_label_near_the_end_runs_left():
    span = (pd.Timestamp("2013-10-01"), pd.Timestamp("2013-11-30"))
    rows = charts.release_label_rows([pd.Timestamp("2013-11-29")], ["R-12345678"], span, char_px=6, plot_px=360)
    assert rows == [(0, True)]


def test_small_days_are_said_to_be_too_small():
    day = {"mature": True}
    assert ui.small_days_note([{**day, "n": 1}, {**day, "n": 2}, {**day, "n": 0}, {**day, "n": 4}], "error_834") == (
        "**Days too small to judge one by one**: a typical day here has 2 834s, so one failure moves the day's "
        "rate by 50% and single days swing between 0% and 100%. Read the centre line, the phases and the marked "
        "signals, not single days."
    )
    assert ui.small_days_note([{**day, "n": 20}, {**day, "n": 25}], "error_834") is None
    assert ui.small_days_note([{**day, "n": 0}], "error_834") is None
