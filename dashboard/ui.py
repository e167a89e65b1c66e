"""Shared page furniture: the filters in force, export problems, empty states and CSV downloads."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from . import metrics, serving
from .definitions import DEFINITIONS, STAGE_LABELS, format_delta, format_value
from .report import iso_utc

ALL_TABLES = ("enrollments", "transactions_834", "payments", "issuers", "releases")


def describe_filters(view: serving.View) -> str:
    f = view.filters
    names = serving.issuer_names(view)
    parts = [
        f"as of **{iso_utc(view.as_of)}**"
        + (" (latest in the export)" if view.as_of == view.latest else " (replaying an earlier day)")
    ]
    if f.date_from or f.date_to:
        parts.append(f"applications {f.date_from or '…'} to {f.date_to or '…'} (end excluded)")
    parts.append("states: " + (", ".join(f.states) if f.states else "all"))
    parts.append("issuers: " + (", ".join(names.get(i, i) for i in f.issuers) if f.issuers else "all"))
    return " · ".join(parts)


def filter_lines(view: serving.View) -> list[str]:
    """The filters in force, for the top of a downloaded file."""
    f = view.filters
    return [
        f"# as_of: {iso_utc(view.as_of)}",
        f"# export: {view.export.export_dir}",
        f"# applications from: {f.date_from or 'any'}",
        f"# applications to (excluded): {f.date_to or 'any'}",
        f"# states: {' '.join(f.states) if f.states else 'all'}",
        f"# issuers: {' '.join(f.issuers) if f.issuers else 'all'}",
    ]


def header(view: serving.View, title: str, question: str) -> None:
    st.title(title)
    st.caption(question)
    st.markdown(describe_filters(view))


def guard(export: serving.LoadedExport, tables: Iterable[str] = ALL_TABLES, *, title: str | None = None) -> bool:
    """Show the export problems a page's numbers depend on; False when the page cannot be drawn."""
    if title and (export.engine is None or export.table_errors(tuple(tables))):
        st.title(title)
    if export.engine is None:
        st.error("The export cannot be read: " + " ".join(str(p) for p in export.problems))
        return False
    problems = export.table_errors(tuple(tables))
    if problems:
        st.error(
            "This page needs data the export does not provide correctly. Fix the export, or see "
            "**Data health** for every problem:\n\n" + "\n".join(f"- {p}" for p in problems)
        )
        return False
    return True


def empty(message: str = "No enrollments match these filters.") -> None:
    st.info(message, icon=":material/filter_alt_off:")


def csv_download(
    view: serving.View,
    fetch: Callable[[], list[dict[str, Any]]],
    label: str,
    file_name: str,
    key: str,
    *,
    available: bool = True,
) -> None:
    """A CSV of the rows `fetch()` returns, with the filters in force written at its top.

    The rows are fetched and the file built only when the button is clicked: a full work list can
    hold hundreds of thousands of rows, which the page itself never needs."""

    def build() -> str:
        buffer = io.StringIO()
        buffer.write("\n".join(filter_lines(view)) + "\n")
        pd.DataFrame(fetch()).to_csv(buffer, index=False)
        return buffer.getvalue()

    st.download_button(
        label,
        build,
        file_name=file_name,
        mime="text/csv",
        key=key,
        on_click="ignore",
        icon=":material/download:",
        disabled=not available,
    )


def kpi(
    column, name: str, value: Any, previous: Any = None, *, series: list | None = None, period: str = "week"
) -> None:
    d = DEFINITIONS[name]
    delta = metrics.change(value, previous)
    column.metric(
        d.label,
        format_value(d.fmt, value),
        delta=format_delta(d.fmt, delta),
        delta_color="normal" if d.higher_is_better else "inverse",
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


def stage_table(stages: list[dict[str, Any]]) -> pd.DataFrame:
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


STAGE_TABLE_CONFIG = {
    "Step conversion": st.column_config.NumberColumn(format="percent"),
    "Overall conversion": st.column_config.NumberColumn(format="percent"),
    "Enrollments": st.column_config.NumberColumn(format="localized"),
    "Drop-off": st.column_config.NumberColumn(format="localized"),
}


def as_of_text(value: datetime) -> str:
    return iso_utc(value) or ""
