"""The morning briefing: the Overview's questions as a 2–4 page document for the review meeting.

`python -m dashboard briefing --out FILE.pdf` (or `.html`) and the Overview's "Download briefing (PDF)"
button both call `render`. Every number comes from the metric layer (`dashboard/metrics.py`), the same
functions `report` calls with the same arguments, so the briefing and the report never disagree; the
words are the pages' own (`dashboard/wording.py`, `dashboard/definitions.py`). The scope of the caller
(an account manager's issuers) is in the request, so a briefing holds only what its reader may see,
issuer names included.

Charts are Plotly figures drawn to SVG by Kaleido, and the PDF is the HTML printed by the same system
Chromium that Kaleido uses (docs/briefing.md).
"""

from __future__ import annotations

import base64
import html
import os
import re
import shutil
import subprocess
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from . import config, wording
from . import definitions as d
from . import metrics as m
from .problems import Problem, as_seen_by
from .report import iso_utc

SIGNAL_DAYS = 7  # "what changed": control-chart signals whose run reaches into the last 7 days
RELEASE_DAYS = 14  # ... and the releases deployed in the last 14 days, with their verdicts
OLDEST_WAITS = 10  # the longest waits listed, longest first
CANARIES_LISTED = 10  # the stuck canaries listed, stuck longest first
CHART_METRICS = ("error_834", "redirect_failure", "late_834")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PRINT_TIMEOUT_SECONDS = 120


class BriefingError(Exception):
    """The briefing cannot be written (no Chromium, an output that cannot be written); the message says why."""


# ------------------------------------------------------------------------------------------- numbers


@dataclass
class Briefing:
    """Every number and list the briefing prints, computed once (`gather`), rendered by `html_document`."""

    as_of: datetime
    latest: datetime | None
    filters: m.Filters
    scope: m.Scope
    names: dict[str, str]  # issuer id -> 'Name (id)', only issuers in scope
    reader: str | None  # --as-user, when given
    generated_at: datetime
    deadlines: list[dict[str, Any]]
    now: dict[str, Any]
    week_ago: dict[str, Any]
    charts: dict[str, list[dict[str, Any]]]
    releases: list[dict[str, Any]]
    fixes: list[dict[str, Any]]
    comparison: dict[str, Any]
    backlog: list[dict[str, Any]]
    oldest: list[dict[str, Any]]
    canaries: list[dict[str, Any]]
    freshness: list[dict[str, Any]]
    stale_after_hours: float
    problems: list[Problem] = field(default_factory=list)
    future: list[dict[str, Any]] = field(default_factory=list)

    @property
    def recent_signals(self) -> list[tuple[str, dict[str, Any]]]:
        """(metric, run) for every control-chart signal run that reaches into the last SIGNAL_DAYS days."""
        since = self.as_of.date() - timedelta(days=SIGNAL_DAYS - 1)
        return [
            (metric, run)
            for metric in CHART_METRICS
            for run in m.signal_runs(self.charts.get(metric, []))
            if run["last"] >= since
        ]

    @property
    def recent_fixes(self) -> list[dict[str, Any]]:
        since = self.as_of - timedelta(days=RELEASE_DAYS)
        return [f for f in self.fixes if f["deployed_at"] > since]


def issuer_names(q: m.Request) -> dict[str, str]:
    """issuer id -> 'Name (id)' (the id alone when issuers.csv does not list it), only issuers in scope."""
    return {
        r["issuer_id"]: (f"{r['issuer_name']} ({r['issuer_id']})" if r["issuer_name"] else r["issuer_id"])
        for r in m.issuer_directory(q.engine)
        if q.scope.issuers is None or r["issuer_id"] in q.scope.issuers
    }


def visible_problems(problems: list[Problem], scope: m.Scope) -> list[Problem]:
    """The export's problems as the reader may see them (`problems.as_seen_by`, as on the Health page)."""
    return as_seen_by(problems, scope.issuers)


def gather(
    q: m.Request,
    *,
    window_days: int = m.DEFAULT_WINDOW_DAYS,
    its_days: int = m.DEFAULT_ITS_DAYS,
    reader: str | None = None,
    now: datetime | None = None,
) -> Briefing:
    """The briefing's numbers for one request, from the metric functions `report` uses."""
    now = now or m.utc_now()
    funnel = m.funnel(q)
    week = m.Request(q.engine, q.as_of - timedelta(days=7), q.filters, q.scope)
    cells, week_cells = m.backlog_cells_back(q, (0, 7))  # both backlogs in one query
    backlog = m.backlog_from_cells(cells)
    headline = m.headline(funnel, m.errors(q), m.never_sent(q), backlog, m.risk_from_cells(cells), m.errors_recent(q))
    before = m.headline(
        m.funnel(week),
        m.errors(week),
        m.never_sent(week),
        m.backlog_from_cells(week_cells),
        m.risk_from_cells(week_cells),
        m.errors_recent(week),
    )
    return Briefing(
        as_of=q.as_of,
        latest=m.latest_event(q.engine, now),
        filters=q.filters,
        scope=q.scope,
        names=issuer_names(q),
        reader=reader,
        generated_at=now,
        deadlines=m.coverage_deadlines(q),
        now=headline,
        week_ago=before,
        charts=m.control_charts(q),
        releases=m.releases(q),
        fixes=m.fix_impact(q, window_days, its_days),
        comparison=m.issuer_comparison(q, funnel),
        backlog=backlog,
        oldest=m.backlog_work_list(q, None, OLDEST_WAITS),
        canaries=m.canaries(q),
        freshness=m.table_freshness(q.engine, now),
        stale_after_hours=config.stale_after_hours(),
        problems=visible_problems(
            [p.located(q.engine.export_dir, server_path=q.scope.issuers is None) for p in q.engine.problems], q.scope
        ),
        future=m.future_timestamps(q.engine, now),
    )


# ------------------------------------------------------------------------------------------ words


def inline(text: str) -> str:
    """The pages' markdown emphasis as HTML: `**bold**`, `:red[▲]`; everything else escaped."""
    out = html.escape(text, quote=False)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r":(red|green|gray)\[(.+?)\]", r'<span class="\1">\2</span>', out)


def filters_text(b: Briefing) -> str:
    """As of, window, states, issuers: what the page header says, in plain text (every printed page)."""
    f = b.filters
    if b.latest is None or b.as_of == b.latest:
        when = " (latest in the export)"
    elif b.as_of < b.latest:
        when = " (replaying an earlier day)"
    else:
        when = f" (after the export's latest event, {iso_utc(b.latest)})"
    parts = [f"as of {iso_utc(b.as_of)}{when}"]
    if f.date_from or f.date_to:
        parts.append(f"applications {f.date_from or '…'} to {f.date_to or '…'} (end excluded)")
    parts.append("states: " + (", ".join(f.states) if f.states else "all"))
    if f.issuers:
        parts.append("issuers: " + ", ".join(b.names.get(i, i) for i in f.issuers))
    elif b.scope.issuers is not None:
        parts.append("issuers: " + ", ".join(b.names.get(i, i) for i in b.scope.issuers) + " (your access)")
    else:
        parts.append("issuers: all")
    return " · ".join(parts)


def table(
    headers: list[str], rows: list[list[str]], *, numbers: range | set[int] | None = None, klass: str = ""
) -> str:
    """An HTML table; the columns in `numbers` (default: all but the first) are right-aligned numbers."""
    numbers = range(1, len(headers)) if numbers is None else numbers

    def cls(i: int) -> str:
        return "num" if i in numbers else "nowrap" if i == 0 else ""

    head = "".join(f'<th class="{cls(i)}">{html.escape(h)}</th>' for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f'<td class="{cls(i)}">{inline(str(c))}</td>' for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f'<table class="{klass}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def para(text: str, klass: str = "") -> str:
    return f'<p class="{klass}">{inline(text)}</p>'


def bullets(lines: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{inline(line)}</li>" for line in lines) + "</ul>"


def count(value: Any) -> str:
    return d.format_value("count", value)


# ---------------------------------------------------------------------------------------- sections


def deadline_section(b: Briefing) -> str:
    out = ["<h2>1. Coverage deadline</h2>"]
    nearest = m.nearest_coverage_deadline(b.deadlines)
    if nearest is None:
        out.append(
            para(
                f"No data: nobody in this view has a plan selected for a coverage start date as of {iso_utc(b.as_of)}."
            )
        )
        return "".join(out)
    out.append(para(wording.deadline_sentence(nearest), "lead"))
    if nearest["days_left"] >= 0:
        passed = m.nearest_coverage_deadline([r for r in b.deadlines if r["days_left"] < 0])
        if passed is not None and passed["unpaid"]:
            out.append(para(wording.past_due_sentence(passed)))
    out.append(
        table(
            [
                "Coverage start",
                "Due date",
                "Days left",
                "Selected",
                "Paid",
                "Effectuated",
                "Unpaid",
                "Pace / day",
                "Projected unpaid",
            ],
            [
                [
                    r["coverage_start"].isoformat(),
                    r["due_date"].isoformat(),
                    f"{r['days_left']:d}",
                    count(r["selected"]),
                    count(r["paid"]),
                    count(r["effectuated"]),
                    count(r["unpaid"]),
                    f"{r['pace']:,.1f}",
                    wording.about(r["projected_unpaid"]),
                ]
                for r in b.deadlines
            ],
            numbers=set(range(2, 9)) | {0, 1},
        )
    )
    out.append(
        para(
            "The binder payment is due the day before coverage starts. Pace: how many of them paid in the last 7 days, "
            "per day; projected unpaid: the unpaid less that pace until the due date. Past due: people who chose a plan "
            "and believe they are covered, and are not.",
            "note",
        )
    )
    return "".join(out)


def rates_section(b: Briefing) -> str:
    rows = []
    for key in m.HEADLINE:
        value, previous = b.now[key], b.week_ago[key]
        rows.append(
            [
                d.label(key),
                d.shown(key, value),
                d.shown(key, previous),
                d.shown_change(key, m.change(value, previous)) or d.MISSING,
            ]
        )
    return (
        "<h2>2. Current numbers, and their change in a week</h2>"
        + table(["", "Now", "A week earlier", "Change"], rows)
        + para(
            "The 834 error rate is the last 7 days' (outbound 834s sent in the 7 days to the as-of time) against the 7 "
            "days before; the since-launch rate hides a fix. Every other change is against the same number as of seven "
            "days earlier.",
            "note",
        )
    )


def changes_section(b: Briefing, images: dict[str, str]) -> str:
    out = [f"<h2>3. What changed</h2><h3>Real changes on the control charts, last {SIGNAL_DAYS} days</h3>"]
    recent = b.recent_signals
    if recent:
        out.append(
            bullets(
                [
                    f"{':red[▲]' if run['kind'] in ('above', 'shift_up') else ':green[▼]'} "
                    f"**{d.RELEASE_METRIC_LABELS[metric].split(' (')[0]}**: {wording.signal_run_text(run)}"
                    for metric, run in recent
                ]
            )
        )
    else:
        judged = any(day["mature"] and day["n"] for chart in b.charts.values() for day in chart)
        out.append(
            para(
                f"**No real change in the last {SIGNAL_DAYS} days** on the 834 error, payment redirect failure or late "
                "834 charts: every day judged is inside the limits and no 8 days in a row sit on one side of the centre."
                if judged
                else "**Nothing to judge yet**: every day with units is too recent."
            )
        )
    out.append(
        para(
            "A signal is a day outside the chart's limits (the range a day falls in by chance alone) or 8+ days in a row "
            "on one side of its centre line; lower is better on all three charts.",
            "note",
        )
    )
    if "control_error_834" in images:
        out.append(figure(images["control_error_834"], "Daily 834 error rate (control chart), with every release"))
    out.append(f"<h3>Releases of the last {RELEASE_DAYS} days, judged trend-adjusted</h3>")
    if b.recent_fixes:
        out.append(bullets([wording.verdict_line(f, b.names) for f in b.recent_fixes]))
    else:
        out.append(para(f"No release was deployed in the {RELEASE_DAYS} days to the as-of time."))
    return "".join(out)


def comparison_section(b: Briefing, images: dict[str, str]) -> str:
    out = ["<h2>4. Issuers outside the funnel-plot limits</h2>"]
    for measure in ("effectuation", "error_834"):
        out.append(f"<h3>{html.escape(d.FUNNEL_MEASURES[measure]['title'])}</h3>")
        part = b.comparison.get(measure)
        if part is None:
            if b.scope.issuers is not None:
                out.append(
                    para(
                        "Not shown: a comparison of issuers includes other issuers' numbers, which your access does not cover."
                    )
                )
            else:
                units = d.RELEASE_METRIC_UNITS.get(measure, "plans selected")
                out.append(
                    para(
                        f"Comparing issuers needs at least 3 issuers with {units} in this view"
                        + (" in the last 28 days" if measure == "error_834" else "")
                        + "; this view has fewer."
                    )
                )
            continue
        high_is_bad = d.FUNNEL_MEASURES[measure]["high_is_bad"]
        outside = sorted(
            (i for i in part["issuers"] if i["flag"] != "within"), key=lambda i: -i["z"] if high_is_bad else i["z"]
        )
        if not outside:
            out.append(
                para(f"**Every one of the {len(part['issuers'])} issuers is inside the 95% limits**: none is unusual.")
            )
        else:
            volume, failures, rate_label = wording.FUNNEL_COLUMNS[measure]
            out.append(
                para(
                    f"**Outside the 95% limits: {len(outside)} of {len(part['issuers'])} issuers**, the furthest "
                    + ("above" if high_is_bad else "below")
                    + f" first (rate of all issuers in view {d.format_value('rate', part['p0'])})."
                )
            )
            out.append(
                table(
                    ["Issuer", volume, failures, rate_label, "Where"],
                    [
                        [
                            b.names.get(i["issuer_id"], i["issuer_id"]),
                            count(i["n"]),
                            count(i["x"]),
                            d.format_value("rate", i["rate"]),
                            d.FUNNEL_FLAG_LABELS[i["flag"]],
                        ]
                        for i in outside
                    ],
                    numbers={1, 2, 3},
                )
            )
        if f"funnel_{measure}" in images:
            out.append(figure(images[f"funnel_{measure}"], f"{d.FUNNEL_MEASURES[measure]['title']}: funnel plot"))
    out.append(
        para(
            "A funnel plot judges each issuer against the limits its own volume allows, so a small issuer's high rate by "
            "chance is not flagged; outside the 99.8% limits is almost certainly real.",
            "note",
        )
    )
    return "".join(out)


def backlog_section(b: Briefing, images: dict[str, str]) -> str:
    out = ["<h2>5. Backlog aging and the oldest waits</h2>"]
    by_stage = m.backlog_by_stage(b.backlog)
    cells = {(r["stage"], r["bucket"]): r["count"] for r in b.backlog}
    out.append(
        table(
            ["Waiting at", *[f"{bucket} d" for bucket in d.AGE_BUCKETS], "All", "Oldest"],
            [
                [
                    d.BACKLOG_LABELS[stage],
                    *[count(cells.get((stage, bucket), 0)) for bucket in d.AGE_BUCKETS],
                    count(by_stage[stage]["count"]),
                    d.format_value("days", by_stage[stage]["oldest_days"]),
                ]
                for stage in d.BACKLOG_STAGES
            ]
            + [
                [
                    "**All stages**",
                    *[count(sum(cells.get((s, bucket), 0) for s in d.BACKLOG_STAGES)) for bucket in d.AGE_BUCKETS],
                    count(m.backlog_total(b.backlog)),
                    d.format_value("days", m.oldest_wait(b.backlog)),
                ]
            ],
        )
    )
    if "backlog_aging" in images:
        out.append(figure(images["backlog_aging"], "The backlog by stage and days waiting", klass="half"))
    if b.oldest:
        out.append(f"<h3>The {len(b.oldest)} longest waits</h3>")
        out.append(
            table(
                ["Enrollment", "Issuer", "State", "Waiting at", "Since (UTC)", "Days", "Binder due", "Deadline"],
                [
                    [
                        r["enrollment_id"],
                        b.names.get(r["issuer_id"], r["issuer_id"]),
                        r["state"] or d.MISSING,
                        d.BACKLOG_LABELS[r["stage"]],
                        f"{r['waiting_since']:%Y-%m-%d %H:%M}",
                        f"{r['age_days']:,.1f}",
                        r["payment_due_date"].isoformat() if r["payment_due_date"] else d.MISSING,
                        d.DEADLINE_LABELS.get(r["deadline"], "") if r["deadline"] else "",
                    ]
                    for r in b.oldest
                ],
                numbers={5},
                klass="small",
            )
        )
    else:
        out.append(para("Nobody in this view waits in the backlog."))
    return "".join(out)


def canaries_section(b: Briefing) -> str:
    out = ["<h2>6. Canaries</h2>"]
    if not b.canaries:
        out.append(para("No test (canary) enrollment in this view."))
        return "".join(out)
    stuck = [r for r in b.canaries if r["stuck"]]
    out.append(
        para(
            f"**{len(stuck)} of {len(b.canaries)} canaries stuck** (not effectuated, in one stage over 48 hours)."
            if stuck
            else f"**None of the {len(b.canaries)} canaries is stuck.**"
        )
    )
    if not stuck:
        return "".join(out)
    listed = sorted(stuck, key=lambda r: (r["entered_at"] is None, r["entered_at"], r["enrollment_id"]))[
        :CANARIES_LISTED
    ]
    out.append(
        table(
            ["Stuck canary", "Issuer", "Furthest stage", "Since (UTC)"],
            [
                [
                    r["enrollment_id"],
                    b.names.get(r["issuer_id"], r["issuer_id"]),
                    d.STAGE_LABELS.get(r["stage"], r["stage"]) if r["stage"] else d.MISSING,
                    f"{r['entered_at']:%Y-%m-%d %H:%M}" if r["entered_at"] else d.MISSING,
                ]
                for r in listed
            ],
            numbers=set(),
            klass="small",
        )
    )
    if len(stuck) > len(listed):
        out.append(
            para(
                f"The {len(listed)} stuck longest are listed; the other {len(stuck) - len(listed)} are on the Health page.",
                "note",
            )
        )
    return "".join(out)


def freshness_section(b: Briefing) -> str:
    out = ["<h2>7. Data freshness and validation</h2>"]
    rows, stale = [], []
    for r in b.freshness:
        age_days, is_stale = m.freshness(r["latest_event_at"], b.generated_at, b.stale_after_hours)
        if is_stale:
            stale.append(r["table_name"])
        rows.append(
            [
                r["table_name"],
                count(r["row_count"]),
                iso_utc(r["latest_event_at"]) or d.MISSING,
                d.format_value("days", age_days),
                ":red[stale]" if is_stale else "fresh",
            ]
        )
    if stale:
        out.append(
            para(
                f"**Stale export**: the newest event in {', '.join(stale)} is more than {b.stale_after_hours:.0f} hours "
                f"old at {iso_utc(b.generated_at)}."
            )
        )
    # whole-export sizes count every issuer's records: not for a reader who sees only some issuers (as on the
    # Health page)
    whole = b.scope.issuers is None
    if whole:
        out.append(table(["Table", "Rows", "Newest event", "Age", ""], rows, numbers={1, 3}, klass="small"))
    else:
        out.append(
            table(["Table", "Newest event", "Age", ""], [r[:1] + r[2:] for r in rows], numbers={2}, klass="small")
        )
    lines = [str(p) for p in b.problems] + [
        f"Warning in table {r['table_name']}, column {r['column_name']}: "
        + (f"{r['row_count']} row(s) carry" if whole else "rows carry")
        + f" timestamps later than now (latest {iso_utc(r['latest'])}); the default as-of time ignores them."
        for r in b.future
    ]
    if lines:
        out.append(para(f"**{len(lines)} problem(s) found in the export:**"))
        out.append(bullets(lines))
    else:
        out.append(para("The export passed every check of the data contract."))
    return "".join(out)


def figure(svg_uri: str, caption: str, *, klass: str = "") -> str:
    return f'<figure class="{klass}"><img src="{svg_uri}" alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption></figure>'


STYLE = """
@page { size: Letter; margin: 0.45in 0.55in 0.5in 0.55in; }
* { box-sizing: border-box; }
body { font-family: "Source Sans Pro", "Noto Sans", "DejaVu Sans", Arial, sans-serif; font-size: 10pt; color: #1f2328;
       margin: 0; }
/* the as-of time and filters head every printed page: a table's header row repeats on each page */
table.page, table.page > * > tr > td { border: 0; padding: 0; margin: 0; background: none; }
table.page > thead { display: table-header-group; }
.running { font-size: 8pt; color: #57606a; border-bottom: 1px solid #d0d7de; padding-bottom: 3pt;
           margin-bottom: 8pt; }
.nowrap { white-space: nowrap; }
h1 { font-size: 18pt; margin: 0 0 4pt 0; }
h2 { font-size: 13pt; margin: 14pt 0 4pt 0; border-bottom: 2px solid #1f2328; padding-bottom: 2pt;
     break-after: avoid; }
h3 { font-size: 10.5pt; margin: 8pt 0 3pt 0; break-after: avoid; }
p { margin: 3pt 0; line-height: 1.35; }
p.lead { font-size: 12.5pt; line-height: 1.4; }
p.note, figcaption { font-size: 8.5pt; color: #57606a; }
ul { margin: 3pt 0; padding-left: 16pt; } li { margin: 2pt 0; line-height: 1.3; }
table { border-collapse: collapse; margin: 4pt 0; width: 100%; break-inside: auto; }
th, td { border-bottom: 1px solid #d0d7de; padding: 2pt 5pt; text-align: left; vertical-align: top; }
th { background: #f3f4f6; font-weight: 600; }
tr { break-inside: avoid; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.small { font-size: 8.5pt; }
figure { margin: 6pt 0; break-inside: avoid; }
figure img { width: 100%; }
figure.half img { width: 75%; }
.red { color: #c0392b; font-weight: 600; } .green { color: #1e7e4f; font-weight: 600; } .gray { color: #6e7781; }
.meta { color: #57606a; margin-bottom: 8pt; }
section { break-inside: auto; }
"""


def html_document(b: Briefing, images: dict[str, str]) -> str:
    where = filters_text(b)
    reader = ""
    if b.reader:
        reader = f" · for {b.reader}" + (" (your issuers only)" if b.scope.issuers is not None else "")
    sections = [
        deadline_section(b),
        rates_section(b),
        changes_section(b, images),
        comparison_section(b, images),
        backlog_section(b, images),
        canaries_section(b),
        freshness_section(b),
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Enrollment back end: briefing as of {html.escape(iso_utc(b.as_of) or '')}</title>"
        f"<style>{STYLE}</style></head><body>"
        '<table class="page"><thead><tr><td>'
        f'<div class="running">Enrollment back end · briefing · {html.escape(where)}</div>'
        "</td></tr></thead><tbody><tr><td>"
        "<h1>Enrollment back end: the morning briefing</h1>"
        f'<p class="meta">{html.escape(where)}{html.escape(reader)} · generated {html.escape(iso_utc(b.generated_at.replace(microsecond=0)) or "")}</p>'
        + "".join(f"<section>{s}</section>" for s in sections)
        + "</td></tr></tbody></table></body></html>"
    )


# ------------------------------------------------------------------------------------------- charts


def chart_figures(b: Briefing) -> dict[str, Any]:
    """The charts the briefing prints, as Plotly figures (the pages' own chart builders)."""
    from . import charts

    figures: dict[str, Any] = {}
    verdicts = m.release_verdicts(b.fixes)
    if b.charts.get("error_834"):
        figures["control_error_834"] = charts.control_chart(
            b.charts["error_834"], b.releases, metric="error_834", verdicts=verdicts, height=340
        )
    part = b.comparison.get("effectuation")
    if part is not None:
        short = {key: shown.removesuffix(f" ({key})") for key, shown in b.names.items()}
        figures["funnel_effectuation"] = charts.funnel_plot(part, short, measure="effectuation", height=360)
    if m.backlog_total(b.backlog):
        figures["backlog_aging"] = charts.backlog_aging_chart(b.backlog, height=300)
    for fig in figures.values():
        fig.update_layout(width=900, hovermode=False)
    return figures


_KALEIDO = threading.Lock()  # one Kaleido browser at a time (two sessions may download at once)


def chromium_path() -> str:
    """The Chromium that draws the charts (Kaleido) and prints the PDF: $DASHBOARD_CHROMIUM, else on PATH."""
    named = os.environ.get("DASHBOARD_CHROMIUM")
    if named:
        if not Path(named).exists():
            raise BriefingError(f"DASHBOARD_CHROMIUM={named}: no such file")
        return named
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise BriefingError(
        "the briefing needs Chromium to draw its charts and print the PDF, and none was found "
        f"({', '.join(CHROMIUM_NAMES)} on PATH): install Debian's chromium package, or set DASHBOARD_CHROMIUM"
    )


def svg_images(figures: dict[str, Any], browser: str) -> dict[str, str]:
    """Each figure drawn to SVG by Kaleido, as a data URI (text in an SVG stays text in the PDF)."""
    if not figures:
        return {}
    import kaleido

    os.environ.setdefault("BROWSER_PATH", browser)  # Kaleido (choreographer) looks there first
    out = {}
    with _KALEIDO, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Kaleido's notes on its own options, not the user's concern
        kaleido.start_sync_server(silence_warnings=True)
        try:
            for key, fig in figures.items():
                svg = fig.to_image(format="svg", width=900, height=fig.layout.height or 360)
                out[key] = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
        finally:
            kaleido.stop_sync_server(silence_warnings=True)
    return out


def print_pdf(document: str, browser: str) -> bytes:
    """The HTML printed to PDF by headless Chromium (Letter, the page's own margins, no browser header)."""
    with tempfile.TemporaryDirectory(prefix="briefing-") as tmp:
        source, target = Path(tmp) / "briefing.html", Path(tmp) / "briefing.pdf"
        source.write_text(document, encoding="utf-8")
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--user-data-dir={tmp}/profile",
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=PRINT_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            raise BriefingError(
                f"Chromium ({browser}) did not print the PDF within {PRINT_TIMEOUT_SECONDS} s"
            ) from None
        if not target.exists() or target.stat().st_size == 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-3:])
            raise BriefingError(f"Chromium ({browser}) printed no PDF (exit {done.returncode}): {tail}")
        return target.read_bytes()


def mail_text(q: m.Request, reader: str) -> tuple[str, str]:
    """The subject and plain-text body of an e-mailed briefing (the PDF is attached): the as-of time, the
    reader's scope and the coverage deadline's sentence, so the message says something on its own."""
    nearest = m.nearest_coverage_deadline(m.coverage_deadlines(q))
    lead = (
        re.sub(r"\*\*(.+?)\*\*", r"\1", wording.deadline_sentence(nearest))
        if nearest
        else "No coverage deadline in view."
    )
    scope = "every issuer" if q.scope.issuers is None else "your issuers only (" + ", ".join(q.scope.issuers) + ")"
    subject = f"Enrollment back end: the briefing as of {q.as_of:%Y-%m-%d %H:%M} UTC"
    text = (
        f"The morning briefing as of {iso_utc(q.as_of)}, for {reader}: {scope}.\n\n{lead}\n\n"
        "The whole briefing is attached (PDF): the coverage deadline, current numbers and their change in a week, "
        "what changed, issuers outside the funnel-plot limits, the backlog, canaries and data freshness.\n"
    )
    return subject, text


def render(b: Briefing, fmt: str) -> bytes:
    """The briefing as `pdf` or `html` bytes (self-contained: the charts are inside the file)."""
    if fmt not in ("pdf", "html"):
        raise BriefingError(f"a briefing is a .pdf or .html file, not .{fmt}")
    browser = chromium_path()
    document = html_document(b, svg_images(chart_figures(b), browser))
    if fmt == "html":
        return document.encode("utf-8")
    return print_pdf(document, browser)
