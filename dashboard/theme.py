"""One colour per funnel stage, backlog stage and error category, the same on every chart (their words: definitions.py)."""

from __future__ import annotations

# one hue per stage (no two blues or two greens: the backlog's five stages are told apart by colour)
STAGE_COLORS = {
    "applied": "#9aa5b1",  # grey
    "plan_selected": "#4a5a6a",  # slate
    "sent_834": "#3a6fd8",  # blue
    "accepted_834": "#17a2b8",  # teal
    "reached_payment": "#7b5cd6",  # violet
    "paid": "#e0a100",  # amber
    "effectuated": "#2e9e6a",  # green
}
# a backlog stage takes the colour of the stage it waits for
BACKLOG_COLORS = {
    "awaiting_834": STAGE_COLORS["sent_834"],
    "awaiting_ack": STAGE_COLORS["accepted_834"],
    "awaiting_payment_page": STAGE_COLORS["reached_payment"],
    "awaiting_payment": STAGE_COLORS["paid"],
    "awaiting_effectuation": STAGE_COLORS["effectuated"],
}
CATEGORY_COLORS = {
    "errored": "#c0392b",
    "rejected": "#e67e22",
    "unacknowledged": "#8e44ad",
    "duplicate": "#16a085",
    "mismatch": "#d35400",
    "unmatched": "#7f8c8d",
}
VERDICT_COLORS = {"improved": "#2e9e6a", "worse": "#c0392b", "no clear change": "#7f8c8d", "too little data": "#bdc3c7"}
RELEASE_COLOR = "#6c757d"
FONT = "Source Sans Pro, Arial, sans-serif"
# signals: one colour per release metric; the control limits' band and centre line
METRIC_COLORS = {"error_834": CATEGORY_COLORS["errored"], "redirect_failure": "#7b5cd6", "late_834": "#3a6fd8"}
LIMIT_BAND = "rgba(120, 130, 140, 0.16)"
CENTRE_COLOR = "#55606b"
SIGNAL_STYLES = {  # plotly marker symbol, colour
    "above": ("triangle-up", "#c0392b"),
    "below": ("triangle-down", "#2e9e6a"),
    "shift_up": ("diamond", "#e67e22"),
    "shift_down": ("diamond", "#16a085"),
}
# funnel plots: outside the limits on the bad side is red, on the good side green
FUNNEL_COLORS = {
    "bad_99.8": "#c0392b",
    "bad_95": "#e67e22",
    "within": "#9aa5b1",
    "good_95": "#7fc8a0",
    "good_99.8": "#2e9e6a",
}
# the funnel page's state map: a higher rate is a darker blue; grey (no enrollments) and the hatch (too
# few to judge) are never on the scale
STATE_MAP_SCALE = [[0.0, "#d6e6f4"], [0.35, "#8fbde0"], [0.7, "#3b85c2"], [1.0, "#0b3c78"]]
STATE_MAP_EMPTY = "#e6e8eb"
STATE_MAP_EMPTY_TEXT = "#8a949e"
STATE_MAP_HATCH = "#c9cfd6"
STATE_MAP_OUTLINE = "#9aa5b1"
STATE_MAP_TEXT_DARK = "#1f2a36"
