"""Pure chart builders: data in, Plotly figure out. They never call Streamlit or the database."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from . import definitions as d
from . import signals
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


def add_releases(
    fig: go.Figure,
    releases: list[dict[str, Any]],
    *,
    dark: bool = False,
    verdicts: dict[str, dict[str, Any]] | None = None,
) -> go.Figure:
    """Every release as a labelled vertical line on a date axis. With `verdicts` (release_id -> its
    trend-adjusted judgement, metrics.release_verdicts) each line takes its verdict's colour and
    symbol, and its label's tooltip says what the release was judged on and how."""
    verdicts = verdicts or {}
    for i, r in enumerate(releases):
        judged = verdicts.get(r["release_id"])
        verdict = judged["verdict"] if judged else None
        fig.add_vline(
            x=r["deployed_at"],
            line_dash="dot" if verdict in (None, "no clear change", "too little data") else "solid",
            line_color=t.VERDICT_COLORS.get(verdict, t.RELEASE_COLOR),
            line_width=1 if verdict is None else 2,
            annotation_text=r["release_id"] + (f" {d.VERDICT_SYMBOLS[verdict]}" if verdict else ""),
            annotation_hovertext=d.verdict_text(r, judged) if judged else r.get("title"),
            annotation_position="top left" if i % 2 else "top right",
            annotation_font_size=14 if dark else 10,
            annotation_textangle=-90,
            annotation_font_color="#cccccc" if dark else t.VERDICT_COLORS.get(verdict, t.RELEASE_COLOR),
        )
    return fig


def control_chart(
    days: list[dict[str, Any]],
    releases: list[dict[str, Any]],
    *,
    metric: str,
    verdicts: dict[str, dict[str, Any]] | None = None,
    height: int = 380,
    dark: bool = False,
    title: str | None = None,
) -> go.Figure:
    """A Laney p' chart (metrics.control_chart): the daily rate, each phase's centre line and limits
    as a band, signals marked, immature days faded; the releases that open phases, with verdicts."""
    frame = pd.DataFrame(days)
    fig = go.Figure()
    if frame.empty:
        return _layout(fig, title=title, height=height, dark=dark, legend=False)
    mature = frame[frame["mature"]]
    unit = d.RELEASE_METRIC_UNITS[metric]
    colour = t.METRIC_COLORS[metric]
    # the band: lower limit, then the upper limit filled down to it (gaps where a day has no limits)
    fig.add_trace(
        go.Scatter(
            x=mature["date"],
            y=mature["lcl"],
            mode="lines",
            line=dict(width=0, shape="hvh"),
            hoverinfo="skip",
            showlegend=False,
            connectgaps=False,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=mature["date"],
            y=mature["ucl"],
            mode="lines",
            line=dict(width=0, shape="hvh"),
            fill="tonexty",
            fillcolor=t.LIMIT_BAND,
            name="control limits (normal day-to-day variation)",
            hoverinfo="skip",
            connectgaps=False,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=mature["date"],
            y=mature["centre"],
            mode="lines",
            name="centre line (the phase's rate)",
            line=dict(color=t.CENTRE_COLOR, width=1.5, shape="hvh"),
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=mature["date"],
            y=mature["rate"],
            mode="lines+markers",
            name=d.RELEASE_METRIC_LABELS[metric],
            line=dict(color=colour, width=4 if dark else 2),
            marker=dict(size=5),
            customdata=mature[["x", "n", "centre", "lcl", "ucl"]].to_numpy(),
            hovertemplate="%{y:.1%} (%{customdata[0]:,} of %{customdata[1]:,} " + unit + ")"
            "<br>centre %{customdata[2]:.1%}, limits %{customdata[3]:.1%} to %{customdata[4]:.1%}<extra></extra>",
        )
    )
    immature = frame[~frame["mature"]]
    if not immature.empty:
        fig.add_trace(
            go.Scatter(
                x=immature["date"],
                y=immature["rate"],
                mode="lines+markers",
                opacity=0.35,
                name="too recent to judge",
                line=dict(color=colour, width=2, dash="dot"),
                customdata=immature[["x", "n"]].to_numpy(),
                hovertemplate="%{y:.1%} (%{customdata[0]:,} of %{customdata[1]:,} " + unit + ") · "
                "too recent to judge<extra></extra>",
            )
        )
    for signal, label in d.SIGNAL_LABELS.items():
        symbol, signal_colour = t.SIGNAL_STYLES[signal]
        flagged = frame[frame["signal"] == signal]
        if flagged.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=flagged["date"],
                y=flagged["rate"],
                mode="markers",
                name=label,
                marker=dict(
                    symbol=symbol, size=12 if not dark else 16, color=signal_colour, line=dict(width=1, color="#ffffff")
                ),
                hovertemplate=label + "<extra></extra>",
            )
        )
    _layout(fig, title=title, height=height, dark=dark, y_title=d.RELEASE_METRIC_AXES[metric], percent=True)
    # a day with a handful of units swings from 0% to 100%: scale to the limits and the busy days
    busy = mature.loc[mature["n"] >= MIN_SENT_FOR_SCALE, ["rate", "ucl"]].max(numeric_only=True).max()
    if pd.notna(busy):
        fig.update_yaxes(range=[0, min(1.0, float(busy) * 1.15)])
    phase_ids = set(frame["phase"].dropna())
    return add_releases(fig, [r for r in releases if r["release_id"] in phase_ids], dark=dark, verdicts=verdicts)


def funnel_colour_key(flag: str, high_is_bad: bool) -> str:
    """'bad_99.8', 'good_95', 'within'...: the side a flag is on, for its colour."""
    if flag == "within":
        return flag
    side, level = flag.split("_")
    return ("bad_" if (side == "high") == high_is_bad else "good_") + level


def funnel_plot(
    comparison: dict[str, Any],
    names: dict[str, str],
    *,
    measure: str,
    height: int = 420,
) -> go.Figure:
    """A funnel plot (metrics.issuer_comparison part): each issuer's rate against its volume, the
    rate of all issuers in view and the 95% and 99.8% limits; issuers outside them named."""
    issuers = comparison["issuers"]
    volumes = [i["n"] for i in issuers]
    low, high = max(1, min(volumes)), max(volumes)
    grid = sorted({round(low * (high / low) ** (j / 80)) for j in range(81)} | {low, high})
    limits = pd.DataFrame(signals.funnel_limits(comparison["p0"], comparison["phi"], grid))
    fig = go.Figure()
    for level, dash in (("998", "solid"), ("95", "dash")):
        label = "99.8% limits" if level == "998" else "95% limits"
        for side in ("low", "high"):
            fig.add_trace(
                go.Scatter(
                    x=limits["n"],
                    y=limits[f"{side}_{level}"],
                    mode="lines",
                    name=label,
                    line=dict(color=t.CENTRE_COLOR, width=1, dash=dash),
                    hoverinfo="skip",
                    showlegend=side == "low",
                    legendgroup=label,
                )
            )
    fig.add_hline(
        y=comparison["p0"],
        line_color=t.CENTRE_COLOR,
        line_width=1.5,
        annotation_text=f"all issuers in view: {comparison['p0']:.1%}",
        annotation_position="top left",
    )
    high_is_bad = d.FUNNEL_MEASURES[measure]["high_is_bad"]
    for flag, label in d.FUNNEL_FLAG_LABELS.items():
        colour = t.FUNNEL_COLORS[funnel_colour_key(flag, high_is_bad)]
        rows = [i for i in issuers if i["flag"] == flag]
        if not rows:
            continue
        outside = flag != "within"
        fig.add_trace(
            go.Scatter(
                x=[i["n"] for i in rows],
                y=[i["rate"] for i in rows],
                mode="markers+text" if outside else "markers",
                name=label,
                text=[names.get(i["issuer_id"], i["issuer_id"]) for i in rows] if outside else None,
                textposition="top center",
                marker=dict(color=colour, size=11 if outside else 8, line=dict(width=1, color="#ffffff")),
                customdata=[[names.get(i["issuer_id"], i["issuer_id"]), i["x"]] for i in rows],
                hovertemplate="%{customdata[0]}: %{y:.1%} (%{customdata[1]:,} of %{x:,})<extra></extra>",
            )
        )
    _layout(fig, height=height, y_title=d.FUNNEL_MEASURES[measure]["axis"], percent=True)
    fig.update_xaxes(type="log", title=d.FUNNEL_MEASURES[measure]["volume"])
    fig.update_yaxes(rangemode="normal")
    fig.update_layout(hovermode="closest")
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
    verdicts: dict[str, dict[str, Any]] | None = None,
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
    return add_releases(fig, releases, dark=dark, verdicts=verdicts)


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
    trend: list[dict[str, Any]],
    releases: list[dict[str, Any]] | None = None,
    *,
    height: int = 360,
    verdicts: dict[str, dict[str, Any]] | None = None,
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
    return add_releases(fig, releases or [], verdicts=verdicts)


def never_sent_chart(
    trend: list[dict[str, Any]],
    releases: list[dict[str, Any]],
    *,
    height: int = 320,
    verdicts: dict[str, dict[str, Any]] | None = None,
) -> go.Figure:
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
    return add_releases(fig, releases, verdicts=verdicts)


def conversion_by_week_chart(
    weeks: list[dict[str, Any]],
    releases: list[dict[str, Any]],
    *,
    height: int = 360,
    verdicts: dict[str, dict[str, Any]] | None = None,
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
    return add_releases(fig, releases, verdicts=verdicts)


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
