"""Shared page furniture: the filters in force, export problems, empty states and CSV downloads."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from . import charts, metrics, serving, signals
from .definitions import (
    BACKLOG_LABELS,
    DEADLINE_LABELS,
    DEFINITIONS,
    FUNNEL_FLAG_LABELS,
    FUNNEL_MEASURES,
    MISSING,
    RECONCILIATION_LABELS,
    RELEASE_METRIC_LABELS,
    RELEASE_METRIC_UNITS,
    STAGE_LABELS,
    VERDICT_SYMBOLS,
    format_delta,
    format_value,
)
from .problems import Problem, as_seen_by
from .report import iso_utc
from .wording import (
    FUNNEL_COLUMNS,
    METHOD_LABELS,
    comparison_text,
    issuer_text,
    odds_text,
    p_value_text,
    plural,
    rates_text,
    signal_run_text,
    verdict_line,
)

ALL_TABLES = ("enrollments", "transactions_834", "payments", "issuers", "releases")


_MARKDOWN_SPECIAL = set("\\`*_{}[]()#+-.!|$<>~:")


def escape_markdown(text: str) -> str:
    """`text` shown as written by st.markdown: a value from an export (an id with `*`, a `$` that Streamlit
    would read as LaTeX, a `[link]`) is backslash-escaped, never formatted."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in text)


def describe_filters(view: serving.View) -> str:
    f = view.filters
    if view.as_of == view.latest:
        when = " (latest in the export)"
    elif view.as_of < view.latest:
        when = " (replaying an earlier day)"
    else:  # the app warns when this is further off than the staleness threshold
        when = f" (after the export's latest event, {iso_utc(view.latest)})"
    parts = [f"as of **{iso_utc(view.as_of)}**" + when]
    if f.date_from or f.date_to:
        parts.append(f"applications {f.date_from or '…'} to {f.date_to or '…'} (end excluded)")
    parts.append("states: " + (", ".join(f.states) if f.states else "all"))
    parts.append("issuers: " + escape_markdown(issuers_text(view)))  # names as issuers.csv spells them
    return " · ".join(parts)


def issuers_text(view: serving.View) -> str:
    """The issuers a view covers in words: those chosen; with none chosen, every issuer, or for a caller who
    may see only some (an account manager) those, said as such, never 'all' (as the briefing says it)."""
    names = serving.issuer_names(view)
    if view.filters.issuers:
        return ", ".join(names.get(i, i) for i in view.filters.issuers)
    if view.scope.issuers is not None:
        return ", ".join(names.get(i, i) for i in view.scope.issuers) + " (your access)"
    return "all"


def export_label(view: serving.View) -> str:
    """Which export a page or download comes from. The server's directory is for the marketplace's own
    readers; a caller who may see only some issuers gets the export's fingerprint alone, which names the same
    files without showing where the server keeps them."""
    export = view.export
    if view.scope.issuers is not None:
        return f"fingerprint {export.fingerprint}"
    return f"{export.export_dir} (fingerprint {export.fingerprint})"


def header(view: serving.View, title: str, question: str) -> None:
    st.title(title)
    st.caption(question)
    st.markdown(describe_filters(view))


def guard(export: serving.LoadedExport, tables: Iterable[str] = ALL_TABLES, *, title: str | None = None) -> bool:
    """Show the export problems a page's numbers depend on; False when the page cannot be drawn."""
    if title and (export.engine is None or export.table_errors(tuple(tables))):
        st.title(title)
    if export.engine is None:
        st.error("The export cannot be read:\n\n" + _problem_lines(export, export.problems))
        return False
    problems = export.table_errors(tuple(tables))
    if problems:
        st.error(
            "This page needs data the export does not provide correctly. Fix the export, or see "
            "**Data health** for every problem:\n\n" + _problem_lines(export, problems)
        )
        return False
    return True


def _problem_lines(export: serving.LoadedExport, problems: Iterable[Problem]) -> str:
    """Problems as a markdown list, as the caller may see them (problems.as_seen_by: a reader of some issuers
    gets a whole-export problem without its text, and none about another issuer), escaped: an export's
    values are never read as markdown."""
    access = st.session_state.get("access")  # app.py sets it before a page runs; without it, nothing withheld is shown
    issuers = access.scope.issuers if access is not None else ()
    seen = as_seen_by(list(problems), issuers)
    if not seen:  # every one is about another issuer's records
        return "- the problems concern other issuers' records, which your access does not show"
    shown = (p.located(export.export_dir, server_path=issuers is None) for p in seen)
    return "\n".join(f"- {escape_markdown(str(p))}" for p in shown)


def empty(message: str = "No enrollments match these filters.") -> None:
    st.info(message, icon=":material/filter_alt_off:")


# ------------------------------------------------------------------------- downloads (docs/pages.md)

# codes in a download read as the page's words (the chart's 'Awaiting binder payment', not awaiting_payment)
DOWNLOAD_CODE_LABELS = {
    "stage": BACKLOG_LABELS,
    "stage_entered": STAGE_LABELS,
    "category": RECONCILIATION_LABELS,
    "deadline": DEADLINE_LABELS,
}
# columns of days, rounded to 0.1 day in a download
DAY_COLUMNS = ("age_days", "days_waiting", "oldest_days")


def filter_rows(view: serving.View) -> list[tuple[str, str]]:
    """The filters in force and the as-of time, as (name, value) pairs: the xlsx's Filters sheet."""
    f = view.filters
    return [
        ("As of (UTC)", iso_utc(view.as_of) or ""),
        ("Applications from", str(f.date_from) if f.date_from else "any"),
        ("Applications to (excluded)", str(f.date_to) if f.date_to else "any"),
        ("States", ", ".join(f.states) if f.states else "all"),
        ("Issuers", issuers_text(view)),
        ("Export", export_label(view)),
    ]


def download_cell(column: str, value: Any) -> Any:
    """One value as a download holds it: timestamps ISO 8601 with Z, dates ISO, days to 0.1, codes as words."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if column in DAY_COLUMNS:
        return round(float(value), 1)
    if column in DOWNLOAD_CODE_LABELS:
        return DOWNLOAD_CODE_LABELS[column].get(value, value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def download_frame(rows: list[dict[str, Any]], names: dict[str, str]) -> pd.DataFrame:
    """A work list as its downloads hold it: every value through `download_cell`, ids as text, and the
    issuer's name in an `issuer_name` column beside every `issuer_id`."""
    out = []
    for row in rows:
        cells: dict[str, Any] = {}
        for column, value in row.items():
            if column == "name":  # ui.named's page column: the download has issuer_name beside the id
                continue
            cells[column] = download_cell(column, value)
            if column == "issuer_id":
                shown = names.get(value)  # 'Name (id)', or the id alone when issuers.csv has no name
                cells["issuer_name"] = shown.removesuffix(f" ({value})") if shown and shown != value else None
        out.append(cells)
    frame = pd.DataFrame(out)
    for column in frame.columns:
        if column.endswith("_id"):
            frame[column] = frame[column].astype("object")
    return frame


def download_csv(frame: pd.DataFrame) -> str:
    """A plain CSV: the header on the first line, no comment lines."""
    return frame.to_csv(index=False)


def download_xlsx(frame: pd.DataFrame, filters: list[tuple[str, str]], *, sheet: str = "Work list") -> bytes:
    """An xlsx workbook: the rows on one sheet (header frozen, ids as text cells, readable widths) and
    every filter in force with the as-of time on a 'Filters' sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    rows = book.active
    rows.title = sheet[:31]
    columns = list(frame.columns)
    rows.append(columns)
    for record in frame.itertuples(index=False):
        rows.append([None if v is None or (isinstance(v, float) and v != v) else v for v in record])
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        rows[f"{letter}1"].font = Font(bold=True)
        text = column.endswith("_id")
        longest = len(column)
        for (cell,) in rows.iter_rows(min_row=2, min_col=index, max_col=index):
            if text and cell.value is not None:
                cell.value = str(cell.value)
                cell.number_format = "@"
            elif column in DAY_COLUMNS and cell.value is not None:
                cell.number_format = "0.0"
            longest = max(longest, len(str(cell.value)) if cell.value is not None else 0)
        rows.column_dimensions[letter].width = min(60, longest + 2)
    rows.freeze_panes = "A2"
    sheet_filters = book.create_sheet("Filters")
    sheet_filters.append(["Filter", "Value"])
    for name, value in filters:
        sheet_filters.append([name, value])
    sheet_filters["A1"].font = sheet_filters["B1"].font = Font(bold=True)
    sheet_filters.column_dimensions["A"].width = max(len(n) for n, _ in filters) + 2
    sheet_filters.column_dimensions["B"].width = min(80, max(len(v) for _, v in filters) + 2)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def download_stem(view: serving.View, stem: str) -> str:
    """A file name that carries the as-of time: 'backlog_past_due_asof_2013-12-01T0000Z'."""
    return f"{stem}_asof_{view.as_of:%Y-%m-%dT%H%M}Z"


def csv_download(
    view: serving.View,
    fetch: Callable[[], list[dict[str, Any]]],
    label: str,
    file_name: str,
    key: str,
    *,
    available: bool = True,
) -> None:
    """Two buttons side by side: the rows `fetch()` returns as a spreadsheet (.xlsx, ids as text, the
    filters on their own sheet) and as a plain CSV whose first line is the header.

    The rows are fetched and the files built only when a button is clicked: a full work list can
    hold hundreds of thousands of rows, which the page itself never needs."""
    stem = download_stem(view, file_name.removesuffix(".csv"))
    names = serving.issuer_names(view)

    def frame() -> pd.DataFrame:
        return download_frame(fetch(), names)

    buttons = st.container(horizontal=True, gap="small")
    with buttons:
        st.download_button(
            label.replace("(CSV)", "(Excel)") if "(CSV)" in label else label + " (Excel)",
            lambda: download_xlsx(frame(), filter_rows(view)),
            file_name=f"{stem}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key=f"{key}_xlsx",
            on_click="ignore",
            icon=":material/table_view:",
            disabled=not available,
        )
        st.download_button(
            label,
            lambda: download_csv(frame()),
            file_name=f"{stem}.csv",
            mime="text/csv",
            key=key,
            on_click="ignore",
            icon=":material/download:",
            disabled=not available,
        )
    st.caption(
        "The Excel file lists the filters in force on its Filters sheet; the CSV holds the rows alone, its "
        "header first (its filters are those at the top of this page, its as-of time is in its file name)."
    )


# a tile's label and "vs a week earlier" wrap instead of ending in "…" (four tiles to a 1366 px row cut
# "Think they are covered, are not")
TILE_LABELS_WRAP = (
    '<style>[data-testid="stMetricLabel"] *, [data-testid="stMetricDeltaDescription"] '
    "{white-space: normal !important; text-overflow: clip !important;}</style>"
)
# ------------------------------------------------------------------ reconciliation work lists (issuer view)

RECONCILIATION_NOTES = {
    "matched": "The issuer's effectuation 834 agrees with the exchange on plan, coverage start and APTC.",
    "field_mismatch": "The issuer's earliest effectuation 834 differs from the exchange's record: each differing "
    "field with the exchange's value and the issuer's.",
    "exchange_only": "The exchange holds the enrollment but the issuer has sent no effectuation 834: chase the "
    "issuer with the plan, coverage start and when the exchange's 834 was sent and accepted. Days waiting count "
    "from the 834's sending (from the plan selection when none was sent).",
    "issuer_only": "The issuer's inbound 834s the exchange cannot place (unknown or cancelled enrollment, or none "
    "named), with the values they carry.",
}
# the columns each category's download holds (codes; download_frame adds issuer_name beside issuer_id)
RECONCILIATION_DOWNLOAD_COLUMNS = {
    "matched": ("record_id", "issuer_id", "state", "exchange_plan_id", "exchange_coverage_start",
                "exchange_aptc_amount", "transaction_id", "sent_at"),
    "field_mismatch": ("record_id", "issuer_id", "state", "differing_fields", "exchange_plan_id", "issuer_plan_id",
                       "exchange_coverage_start", "issuer_coverage_start", "exchange_aptc_amount",
                       "issuer_aptc_amount", "transaction_id", "sent_at"),
    "exchange_only": ("record_id", "issuer_id", "state", "exchange_plan_id", "exchange_coverage_start",
                      "exchange_aptc_amount", "sent_834_at", "accepted_834_at", "days_waiting"),
    "issuer_only": ("record_id", "issuer_id", "state", "issuer_plan_id", "issuer_coverage_start",
                    "issuer_aptc_amount", "transaction_id", "sent_at"),
}  # fmt: skip
# each compared field: its label and the (exchange, issuer) columns of reconciliation_work_list
RECONCILIATION_FIELDS = {
    "plan_id": ("Plan", "exchange_plan_id", "issuer_plan_id"),
    "coverage_start_date": ("Coverage start", "exchange_coverage_start", "issuer_coverage_start"),
    "aptc_amount": ("APTC", "exchange_aptc_amount", "issuer_aptc_amount"),
}
RECONCILIATION_TABLE_CONFIG = {
    "834 sent (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
    "834 accepted (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
    "Effectuation sent (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
    "Sent (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
    "Days waiting": st.column_config.NumberColumn(format="%.1f"),
    "Differences (exchange → issuer)": st.column_config.TextColumn(width="large"),
}


def field_value_text(value: Any) -> str:
    """A compared field's value in a difference: '(none)' for a missing one, money with two decimals."""
    if value is None:
        return "(none)"
    if isinstance(value, float | Decimal):
        return f"{value:,.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def differences_text(row: dict[str, Any]) -> str:
    """'APTC: 250.00 → 249.99; plan: P1 → P2': each differing field, the exchange's value then the issuer's."""
    parts = []
    for field in filter(None, (f.strip() for f in (row.get("differing_fields") or "").split(","))):
        label, exchange, issuer = RECONCILIATION_FIELDS[field]
        parts.append(f"{label}: {field_value_text(row[exchange])} → {field_value_text(row[issuer])}")
    return "; ".join(parts)


def reconciliation_table(rows: list[dict[str, Any]], category: str) -> pd.DataFrame:
    """A reconciliation work list as the issuer view shows it, in words, with the columns its category needs."""
    out = []
    for r in rows:
        base = {("834 on the issuer's side" if category == "issuer_only" else "Enrollment"): r["record_id"]}
        base["State"] = r["state"]
        if category == "field_mismatch":
            base["Differences (exchange → issuer)"] = differences_text(r)
        side = "issuer" if category == "issuer_only" else "exchange"
        if category != "field_mismatch":
            base["Plan"] = r[f"{side}_plan_id"]
            base["Coverage start"] = r[f"{side}_coverage_start"]
        if category == "exchange_only":
            base["834 sent (UTC)"] = r["sent_834_at"]
            base["834 accepted (UTC)"] = r["accepted_834_at"]
            base["Days waiting"] = r["days_waiting"]
        else:
            base["Effectuation 834" if category != "issuer_only" else "Transaction"] = r["transaction_id"]
            base["Effectuation sent (UTC)" if category != "issuer_only" else "Sent (UTC)"] = r["sent_at"]
        out.append(base)
    return pd.DataFrame(out)


def reconciliation_download(
    fetch: Callable[[], list[dict[str, Any]]], category: str
) -> Callable[[], list[dict[str, Any]]]:
    """`fetch` narrowed to the columns a category's download holds, the differing fields in words."""
    columns = RECONCILIATION_DOWNLOAD_COLUMNS[category]

    def rows() -> list[dict[str, Any]]:
        out = [{c: r[c] for c in columns} for r in fetch()]
        if category == "field_mismatch":
            for r in out:
                fields = (f.strip() for f in (r["differing_fields"] or "").split(","))
                r["differing_fields"] = ", ".join(RECONCILIATION_FIELDS[f][0] for f in fields if f)
        return out

    return rows


def kpi(
    column, name: str, value: Any, previous: Any = None, *, series: list | None = None, period: str = "week"
) -> None:
    d = DEFINITIONS[name]
    delta = metrics.change(value, previous)
    column.metric(
        d.label,
        format_value(d.fmt, value),
        delta=format_delta(d.fmt, delta),
        # no change is neither good nor bad: grey '±0', no arrow
        delta_color="off" if delta == 0 else "normal" if d.higher_is_better else "inverse",
        delta_arrow="off" if delta == 0 else "auto",
        help=d.description,
        border=True,
        chart_data=series if series else None,
        chart_type="line",
        delta_description=f"vs a {period} earlier" if delta is not None else None,
    )


def day_end_series(rows: list[dict[str, Any]], key: str, days: int = 30) -> list:
    """The last `days` values of a daily series, for a sparkline (a day with no rate drawn at 0)."""
    return [r[key] if r[key] is not None else 0 for r in rows[-days:]]


def named(view: serving.View, rows: list[dict[str, Any]], key: str = "issuer_id") -> list[dict[str, Any]]:
    names = serving.issuer_names(view)
    return [{**r, "name": names.get(r[key], r[key])} for r in rows]


# every rate in a table as the tiles write it: a percentage with one decimal ("99.5%", never "99.58%"
# beside "99.5%"); the table holds percentage points (0-100) for it, since a grid's format cannot scale
PERCENT_FORMAT = "%.1f%%"


def percent_points(value: float | None) -> float | None:
    """A rate (0-1) as percentage points for a table column formatted with PERCENT_FORMAT."""
    return None if value is None else 100 * value


def stage_table(stages: list[dict[str, Any]]) -> pd.DataFrame:
    stages = [
        {
            **s,
            "step_conversion": percent_points(s["step_conversion"]),
            "overall_conversion": percent_points(s["overall_conversion"]),
        }
        for s in stages
    ]
    frame = pd.DataFrame(stages)
    frame["stage"] = frame["stage"].map(STAGE_LABELS)
    return frame.rename(
        columns={
            "stage": "Stage",
            "count": "Enrollments",
            "step_conversion": "Step conversion",
            "overall_conversion": "Overall conversion",
            "drop_off": "Drop-off",
        }
    )


# short headers (the full name in each one's tooltip): the five columns fit half a 1366 px screen
STAGE_TABLE_CONFIG = {
    "Step conversion": st.column_config.NumberColumn(
        "Step", format=PERCENT_FORMAT, help="Step conversion: count ÷ count at the stage before"
    ),
    "Overall conversion": st.column_config.NumberColumn(
        "Overall", format=PERCENT_FORMAT, help="Overall conversion: count ÷ applications"
    ),
    "Enrollments": st.column_config.NumberColumn(format="localized"),
    "Drop-off": st.column_config.NumberColumn(format="localized"),
}


def as_of_text(value: datetime) -> str:
    return iso_utc(value) or ""


# ------------------------------------------------------------------------- signals (docs/signals.md)

CONTROL_CHART_HOW_TO_READ = (
    "How to read this: the line is the daily rate; the solid grey line is the current phase's average and the "
    "shaded band the range a day falls in by chance alone (wider on days with few units). A new phase starts at "
    "each release meant to fix this failure. Only marked days are real changes: outside the band, or 8+ days in a "
    "row on one side of the centre. Faded days at the right are too recent to judge."
)
FUNNEL_PLOT_HOW_TO_READ = (
    "How to read this: each dot is an issuer, its volume across (log scale) and its rate up. The horizontal line "
    "is the rate of all issuers in view; the funnel narrows as volume grows, because a big issuer's rate moves "
    "less by chance. Only an issuer outside the funnel is unusual: outside the dashed lines (95%) is worth a "
    "look, outside the solid lines (99.8%) is almost certainly real. By chance alone about 1 issuer in 20 falls "
    "outside the 95% limits, so among many issuers start with those outside the 99.8% limits."
)


def signal_list(chart: list[dict[str, Any]], *, columns: int = 2) -> None:
    """The signals under a control chart, in words; or that there is none, or nothing to judge yet.
    A long list is laid out in `columns` columns (1 where the chart itself sits in a narrow column)."""
    runs = metrics.signal_runs(chart)
    if runs:
        bullets = [
            f"- {':red[▲]' if run['kind'] in ('above', 'shift_up') else ':green[▼]'} {signal_run_text(run)}"
            for run in runs
        ]
        st.markdown("**Real changes on this chart** (lower is better):")
        if columns > 1 and len(bullets) > 4:
            per_column = -(-len(bullets) // columns)
            for column, start in zip(st.columns(columns), range(0, len(bullets), per_column), strict=False):
                column.markdown("\n".join(bullets[start : start + per_column]))
        else:
            st.markdown("\n".join(bullets))
    elif any(day["mature"] and day["n"] for day in chart):
        st.markdown(
            "**No real change on this chart**: every day judged is inside the limits, and no 8 days in a row "
            "sit on one side of the centre line."
        )
    else:
        st.markdown("**Nothing to judge yet**: every day with units is too recent.")


def release_markers(view: serving.View, fixes: list[dict[str, Any]] | None = None) -> tuple[list, dict]:
    """(releases, verdicts) for the release markers of a trend chart: every release the caller may see,
    each with its trend-adjusted verdict (`fix_impact`'s `its`)."""
    # without the page's fix impact, only the verdicts: the 7-day comparison is not computed for markers
    verdicts = serving.get(view, "release_its") if fixes is None else metrics.release_verdicts(fixes)
    return serving.get(view, "releases"), verdicts


def control_chart_panel(
    view: serving.View,
    metric: str,
    *,
    key: str,
    fixes: list[dict[str, Any]] | None = None,
    height: int = 380,
    how_to_read: bool = True,
    list_columns: int = 2,
) -> list[dict[str, Any]]:
    """A metric's Laney p' chart for the view, its releases with their verdicts, its signals in words
    and a line on how to read it; 'no data' when the view has no unit of that metric."""
    chart = serving.get(view, "control_chart", metric=metric)
    if not chart:
        empty(
            f"No data: no {RELEASE_METRIC_UNITS[metric]} in this view, so there is no "
            f"{RELEASE_METRIC_LABELS[metric].split(' (')[0].lower()} to chart."
        )
        return chart
    releases, verdicts = release_markers(view, fixes)
    st.plotly_chart(charts.control_chart(chart, releases, metric=metric, verdicts=verdicts, height=height), key=key)
    small = small_days_note(chart, metric)
    if small:
        st.caption(small)
    signal_list(chart, columns=list_columns)
    if how_to_read:
        st.caption(CONTROL_CHART_HOW_TO_READ)
    return chart


def small_days_note(chart: list[dict[str, Any]], metric: str) -> str | None:
    """Said under a control chart whose typical day has fewer than charts.MIN_SENT_FOR_SCALE units (a
    small issuer): its days swing between 0% and 100% and are too small to judge one by one."""
    sizes = sorted(day["n"] for day in chart if day["n"])
    if not sizes:
        return None
    median = sizes[len(sizes) // 2]
    if median >= charts.MIN_SENT_FOR_SCALE:
        return None
    units = RELEASE_METRIC_UNITS[metric]
    return (
        f"**Days too small to judge one by one**: a typical day here has {plural(median, units)}, so one failure "
        f"moves the day's rate by {1 / median:.0%} and single days swing between 0% and 100%. Read the centre "
        "line, the phases and the marked signals, not single days."
    )


def release_verdict_table(fixes: list[dict[str, Any]], names: dict[str, str], *, this_issuer: str | None = None):
    """Each release's trend-adjusted verdict on its own metric (fix_impact's `its`), one row each."""
    rows = []
    for f in fixes:
        judged = f["its"]
        issuer = f["issuer_id"]
        # key columns first (release, verdict, what it rests on): they fit 1366 px with the sidebar open;
        # the rest scroll into view, the release and verdict pinned beside them
        rows.append(
            {
                "Release": f["release_id"],
                "Verdict": VERDICT_SYMBOLS[judged["verdict"]],
                "Judged on": RELEASE_METRIC_LABELS[judged["metric"]].split(" (")[0],
                "Rate before → after": rates_text(judged),
                "Odds ratio (95% CI)": odds_text(judged),
                "p-value": p_value_text(judged["p_value"]),
                "For issuer": issuer_text(issuer, names, this_issuer) if issuer else "all",
                "Deployed (UTC)": f["deployed_at"],
                "Method": METHOD_LABELS[judged["method"]],
                "Other issuers, same model": comparison_text(judged["comparison"]) or MISSING,
                "Days before / after": f"{judged['periods_before']} / {judged['periods_after']}",
                "Units before / after": f"{judged['units_before']:,} / {judged['units_after']:,}",
            }
        )
    return pd.DataFrame(rows)


RELEASE_VERDICT_CONFIG = {
    "Release": st.column_config.TextColumn(pinned=True),
    "Verdict": st.column_config.TextColumn(
        pinned=True,
        help=f"○ too little data: a verdict needs {signals.MIN_PERIODS_PER_SIDE} days and "
        f"{signals.MIN_UNITS_PER_SIDE} units on each side of the release",
    ),
    "Deployed (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
    "Rate before → after": st.column_config.TextColumn(
        help="The modelled rate at the release without and with the change (trend-adjusted); for a release "
        "judged before/after, the rates of the two sides"
    ),
    "Other issuers, same model": st.column_config.TextColumn(
        help="For a release meant for one issuer: the same model on the other issuers' units; — for a release "
        "for all issuers"
    ),
    "Odds ratio (95% CI)": st.column_config.TextColumn(
        help="Below 1: the rate dropped at the release, beyond the trend already under way; — without a trend "
        "model (too little data, or judged before/after)"
    ),
}


def release_verdicts_section(
    fixes: list[dict[str, Any]], names: dict[str, str], *, key: str, this_issuer: str | None = None
):
    """The trend-adjusted verdicts: one line each in words, the odds ratios drawn with their intervals,
    and the table of their numbers."""
    if not fixes:
        empty("No data: no release was deployed by the as-of time.")
        return None
    st.markdown("\n".join(f"- {verdict_line(f, names, this_issuer=this_issuer)}" for f in fixes))
    if any(f["its"]["odds_ratio"] is not None for f in fixes):
        st.plotly_chart(charts.release_odds_chart(fixes), key=key)
    table = release_verdict_table(fixes, names, this_issuer=this_issuer)
    with st.expander("The verdicts' numbers, as a table"):
        st.dataframe(table, hide_index=True, column_config=RELEASE_VERDICT_CONFIG)
    return table


def flagged_issuers_table(view: serving.View, part: dict[str, Any], measure: str) -> pd.DataFrame:
    """The issuers outside the 95% limits of a funnel plot, the worst first (by z)."""
    names = serving.issuer_names(view)
    volume, count, rate_label = FUNNEL_COLUMNS[measure]
    high_is_bad = FUNNEL_MEASURES[measure]["high_is_bad"]
    outside = sorted(
        (i for i in part["issuers"] if i["flag"] != "within"), key=lambda i: -i["z"] if high_is_bad else i["z"]
    )
    return pd.DataFrame(
        [
            {
                "Issuer": names.get(i["issuer_id"], i["issuer_id"]),
                volume: i["n"],
                count: i["x"],
                rate_label: percent_points(i["rate"]),
                "Where": FUNNEL_FLAG_LABELS[i["flag"]],
            }
            for i in outside
        ],
        columns=["Issuer", volume, count, rate_label, "Where"],
    )


def funnel_plot_panel(view: serving.View, measure: str, *, key: str) -> dict[str, Any] | None:
    """A measure's funnel plot with the issuers outside its limits named and listed; said why not
    when the caller sees fewer than 3 issuers with units (an account manager never sees one)."""
    part = serving.get(view, "issuer_comparison")[measure]
    if part is None:
        units = RELEASE_METRIC_UNITS.get(measure, "plans selected")
        empty(
            f"Comparing issuers needs at least 3 issuers with {units} in this view"
            + (" in the last 28 days" if measure == "error_834" else "")
            + "; this view has fewer."
        )
        return None
    names = serving.issuer_names(view)
    # on the plot an issuer goes by its name alone ('Name (id)' crowds it); the table gives the id
    short = {key: shown.removesuffix(f" ({key})") for key, shown in names.items()}
    st.plotly_chart(charts.funnel_plot(part, short, measure=measure, height=460), key=key)
    table = flagged_issuers_table(view, part, measure)
    volume, count, rate_label = FUNNEL_COLUMNS[measure]
    if table.empty:
        st.markdown(f"**Every one of the {len(part['issuers'])} issuers is inside the 95% limits**: none is unusual.")
    else:
        st.markdown(
            f"**Outside the 95% limits: {len(table)} of {len(part['issuers'])} issuers**, the furthest above first"
            if FUNNEL_MEASURES[measure]["high_is_bad"]
            else f"**Outside the 95% limits: {len(table)} of {len(part['issuers'])} issuers**, the furthest below first"
        )
        st.dataframe(
            table,
            hide_index=True,
            column_config={
                "Issuer": st.column_config.TextColumn(width="large"),
                volume: st.column_config.NumberColumn(format="localized"),
                count: st.column_config.NumberColumn(format="localized"),
                rate_label: st.column_config.NumberColumn(format=PERCENT_FORMAT),
            },
        )
    st.caption(FUNNEL_PLOT_HOW_TO_READ)
    return part
