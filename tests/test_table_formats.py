"""Rates in tables read as the tiles write them: one decimal, percentage points (issue 14)."""

from __future__ import annotations

import math

from dashboard import ui
from dashboard.definitions import format_value


def test_percent_format_writes_one_decimal_like_the_tiles():
    # the grid applies the printf format to the column's value: 99.58 percentage points -> "99.6%"
    assert ui.PERCENT_FORMAT % 99.58 == "99.6%"
    assert ui.PERCENT_FORMAT % ui.percent_points(0.995) == "99.5%"
    assert format_value("rate", 0.995) == "99.5%"  # the tile beside it


def test_percent_points_keeps_a_missing_rate_missing():
    assert ui.percent_points(None) is None
    assert math.isclose(ui.percent_points(0.25), 25.0)


def test_stage_table_holds_percentage_points():
    stages = [
        {"stage": "applied", "count": 200, "step_conversion": None, "overall_conversion": 1.0, "drop_off": 0},
        {"stage": "plan_selected", "count": 150, "step_conversion": 0.75, "overall_conversion": 0.75, "drop_off": 50},
    ]
    frame = ui.stage_table(stages)
    assert frame["Step conversion"].tolist()[1] == 75.0
    assert math.isnan(frame["Step conversion"].tolist()[0])
    assert frame["Overall conversion"].tolist() == [100.0, 75.0]
    assert frame["Stage"].tolist()[1] == "Plan selected"


def test_a_value_escaped_for_markdown_renders_as_written():
    """Checked with a CommonMark renderer (markdown-it-py): no emphasis, link, code, heading or list made of
    an export's values, and every character shown as it was."""
    import html

    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark")
    for text in [
        "Error in table enrollments, column enrollment_id: e.g. '*E_1*' in a_b.parquet",
        "issuer '[x](http://evil.example)' appears in payments",
        "# not a heading",
        "- not a list",
        "1. not a list either",
        "`code` <b>bold</b> ~~gone~~ | pipe $5 and $6 :red[alert] \\ back",
    ]:
        rendered = md.render(ui.escape_markdown(text)).strip()
        assert rendered.startswith("<p>") and rendered.endswith("</p>"), rendered
        inner = rendered[3:-4]
        assert "<" not in inner.replace("&lt;", ""), rendered  # no element made of the text
        assert html.unescape(inner) == text
