"""Pure chart builders: data in, Plotly figure out. They never call Streamlit or the database."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from . import definitions as d
from . import theme as t

MIN_SENT_FOR_SCALE = 20


def _layout(
    fig: go.Figure,
    *,
    title: str | None = None,
    height: int = 360,
    dark: bool = False,
    y_title: str | None = None,
    percent: bool = False,
    legend: bool = True,
) -> go.Figure:
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=10, r=10, t=50 if title else 20, b=10),
        font=dict(family=t.FONT, size=20 if dark else 13, color="#f2f2f2" if dark else None),
        template="plotly_dark" if dark else "plotly_white",
        showlegend=legend,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        hovermode="x unified",
    )
    if dark:
        fig.update_layout(paper_bgcolor="#0e1117", plot_bgcolor="#0e1117")
    if y_title:
        fig.update_yaxes(title=y_title)
    if percent:
        fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


def add_releases(fig: go.Figure, releases: list[dict[str, Any]], *, dark: bool = False) -> go.Figure:
    """Every release as a labelled vertical line on a date axis."""
    for i, r in enumerate(releases):
        fig.add_vline(
            x=r["deployed_at"],
            line_dash="dot",
            line_color=t.RELEASE_COLOR,
            line_width=1,
            annotation_text=r["release_id"],
            annotation_position="top left" if i % 2 else "top right",
            annotation_font_size=14 if dark else 10,
            annotation_textangle=-90,
            annotation_font_color="#cccccc" if dark else t.RELEASE_COLOR,
        )
    return fig


def funnel_chart(stages: list[dict[str, Any]], *, title: str | None = None, height: int = 380) -> go.Figure:
    fig = go.Figure(
        go.Funnel(
            y=[d.STAGE_LABELS[s["stage"]] for s in stages],
            x=[s["count"] for s in stages],
            marker=dict(color=[t.STAGE_COLORS[s["stage"]] for s in stages]),
            texttemplate="%{value:,} (%{percentInitial:.1%})",
            textposition="inside",
            hovertemplate="%{y}: %{x:,}<br>of previous stage: %{percentPrevious:.1%}"
            "<br>of applications: %{percentInitial:.1%}<extra></extra>",
        )
    )
    return _layout(fig, title=title, height=height, legend=False)


def error_rate_chart(
    daily: list[dict[str, Any]],
    releases: list[dict[str, Any]],
    *,
    categories: bool = False,
    dark: bool = False,
    height: int = 380,
    title: str | None = None,
) -> go.Figure:
    frame = pd.DataFrame(daily)
    fig = go.Figure()
    keys = (
        ["errored", "rejected", "unacknowledged", "duplicate", "mismatch", "unmatched"] if categories else ["errored"]
    )
    for key in keys:
        rate_col = "rate" if key == "errored" else f"{key}_rate"
        fig.add_trace(
            go.Scatter(
                x=frame["date"],
                y=frame[rate_col],
                mode="lines",
                name=d.CATEGORY_LABELS[key],
                line=dict(color=t.CATEGORY_COLORS[key], width=4 if dark else (2.5 if key == "errored" else 1.5)),
                customdata=frame[["sent", key]].to_numpy(),
                hovertemplate=f"{d.CATEGORY_LABELS[key]}: %{{y:.1%}} (%{{customdata[1]:,}} of %{{customdata[0]:,}})"
                "<extra></extra>",
            )
        )
    _layout(
        fig,
        title=title,
        height=height,
        dark=dark,
        y_title="share of 834s sent that day",
        percent=True,
        legend=categories,
    )
    # days with a handful of 834s swing between 0% and 100%: scale the axis to the days with volume
    busy = frame.loc[frame["sent"] >= MIN_SENT_FOR_SCALE, "rate"].dropna()
    if not busy.empty:
        fig.update_yaxes(range=[0, min(1.0, float(busy.max()) * 1.15)])
    return add_releases(fig, releases, dark=dark)


def fix_impact_chart(fixes: list[dict[str, Any]], *, height: int = 360) -> go.Figure:
    judged = [f for f in fixes if f["change"] is not None]
    fig = go.Figure()
    for verdict, color in t.VERDICT_COLORS.items():
        rows = [f for f in judged if f["verdict"] == verdict]
        if not rows:
            continue
        fig.add_trace(
            go.Scatter(
                x=[f["change"] for f in rows],
                y=[f["release_id"] for f in rows],
                mode="markers",
                name=verdict,
                marker=dict(color=color, size=12),
                error_x=dict(
                    type="data",
                    symmetric=False,
                    array=[f["ci_high"] - f["change"] for f in rows],
                    arrayminus=[f["change"] - f["ci_low"] for f in rows],
                    color=color,
                    thickness=2,
                ),
                customdata=[
                    [f["before"]["rate"], f["after"]["rate"], f["ci_low"], f["ci_high"], f["p_value"]] for f in rows
                ],
                hovertemplate="%{y}<br>before %{customdata[0]:.1%} → after %{customdata[1]:.1%}"
                "<br>change %{x:+.1%} (95% CI %{customdata[2]:+.1%} to %{customdata[3]:+.1%})"
                "<br>p = %{customdata[4]:.2g}<extra></extra>",
            )
        )
    fig.add_vline(x=0, line_color="#888", line_width=1)
    _layout(fig, height=height, legend=True)
    fig.update_xaxes(tickformat="+.0%", title="change in 834 error rate (after − before), with 95% interval")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(hovermode="closest")
    return fig


def backlog_aging_chart(backlog: list[dict[str, Any]], *, height: int = 360, dark: bool = False) -> go.Figure:
    frame = pd.DataFrame(backlog)
    fig = go.Figure()
    for stage, label in d.BACKLOG_LABELS.items():
        rows = frame[frame["stage"] == stage]
        fig.add_trace(
            go.Bar(
                x=rows["bucket"],
                y=rows["count"],
                name=label,
                marker_color=t.BACKLOG_COLORS[stage],
                hovertemplate=f"{label}, %{{x}} days: %{{y:,}}<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title="days waiting", type="category")
    return _layout(fig, height=height, dark=dark, y_title="enrollments")


def backlog_by_stage_chart(
    backlog: list[dict[str, Any]], *, height: int = 360, dark: bool = False, title: str | None = None
) -> go.Figure:
    totals = {s: 0 for s in d.BACKLOG_LABELS}
    for row in backlog:
        totals[row["stage"]] += row["count"]
    fig = go.Figure(
        go.Bar(
            y=[d.BACKLOG_LABELS[s] for s in totals],
            x=list(totals.values()),
            orientation="h",
            marker_color=[t.BACKLOG_COLORS[s] for s in totals],
            text=[f"{v:,}" for v in totals.values()],
            textposition="outside",
            textangle=0,
            cliponaxis=False,
            hovertemplate="%{y}: %{x:,}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(range=[0, max(totals.values() or [0]) * 1.2 or 1])
    _layout(fig, height=height, dark=dark, legend=False, title=title)
    fig.update_layout(hovermode="closest")
    return fig


def backlog_trend_chart(
    trend: list[dict[str, Any]], releases: list[dict[str, Any]] | None = None, *, height: int = 360
) -> go.Figure:
    frame = pd.DataFrame(trend)
    fig = go.Figure()
    for stage, label in d.BACKLOG_LABELS.items():
        rows = frame[frame["stage"] == stage]
        fig.add_trace(
            go.Scatter(
                x=rows["date"],
                y=rows["count"],
                name=label,
                stackgroup="backlog",
                mode="lines",
                line=dict(color=t.BACKLOG_COLORS[stage], width=0.5),
                hovertemplate=f"{label}: %{{y:,}}<extra></extra>",
            )
        )
    _layout(fig, height=height, y_title="enrollments waiting at the end of the day")
    return add_releases(fig, releases or [])


def never_sent_chart(trend: list[dict[str, Any]], releases: list[dict[str, Any]], *, height: int = 320) -> go.Figure:
    frame = pd.DataFrame(trend)
    fig = go.Figure(
        go.Scatter(
            x=frame["date"],
            y=frame["never_sent"],
            mode="lines",
            name="Never sent",
            line=dict(color=t.CATEGORY_COLORS["errored"], width=2.5),
            hovertemplate="never sent: %{y:,}<extra></extra>",
        )
    )
    _layout(fig, height=height, y_title="enrollments with no 834, end of day", legend=False)
    return add_releases(fig, releases)


def conversion_by_week_chart(
    weeks: list[dict[str, Any]], releases: list[dict[str, Any]], *, height: int = 360
) -> go.Figure:
    frame = pd.DataFrame(weeks)
    fig = go.Figure()
    for stage in ("plan_selected", "accepted_834", "paid", "effectuated"):
        share = frame[stage] / frame["applied"].where(frame["applied"] > 0)
        fig.add_trace(
            go.Scatter(
                x=frame["week"],
                y=share,
                mode="lines+markers",
                name=d.STAGE_LABELS[stage],
                line=dict(color=t.STAGE_COLORS[stage]),
                customdata=frame[["applied", stage]].to_numpy(),
                hovertemplate=f"{d.STAGE_LABELS[stage]}: %{{y:.1%}} "
                "(%{customdata[1]:,} of %{customdata[0]:,})<extra></extra>",
            )
        )
    _layout(fig, height=height, y_title="share of the week's applications", percent=True)
    fig.update_xaxes(title="week of application (Monday, UTC)")
    return add_releases(fig, releases)


def histogram_chart(bins: list[dict[str, Any]], *, color: str, height: int = 320) -> go.Figure:
    fig = go.Figure(
        go.Bar(
            x=[b["label"] for b in bins],
            y=[b["enrollments"] for b in bins],
            marker_color=color,
            hovertemplate="%{x}: %{y:,}<extra></extra>",
        )
    )
    fig.update_xaxes(type="category")
    return _layout(fig, height=height, y_title="enrollments", legend=False)


def issuer_bar_chart(rows: list[dict[str, Any]], value: str, label: str, *, color: str, height: int = 300) -> go.Figure:
    fig = go.Figure(
        go.Bar(
            y=[r["name"] for r in rows],
            x=[r[value] for r in rows],
            orientation="h",
            marker_color=color,
            text=[f"{r[value]:.1%}" if r[value] is not None else "–" for r in rows],
            textposition="auto",
            hovertemplate="%{y}: %{x:.1%}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickformat=".0%", title=label)
    _layout(fig, height=height, legend=False)
    fig.update_layout(hovermode="closest")
    return fig
