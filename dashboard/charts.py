"""Pure chart builders: data in, Plotly figure out. They never call Streamlit or the database."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.colors as pc
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
    else:
        fig.update_yaxes(tickformat=",~f")  # 2,500 as in every table, not 2500
    return fig


def _x_span(fig: go.Figure) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The first and last date the figure's traces draw (None without dates)."""
    xs = []
    for trace in fig.data:
        values = getattr(trace, "x", None)
        if values is None:
            continue
        xs.extend(v for v in values if v is not None)
    try:
        stamps = pd.to_datetime(pd.Series(xs), errors="coerce", utc=True).dropna().dt.tz_localize(None)
    except (TypeError, ValueError):
        return None
    return (stamps.min(), stamps.max()) if len(stamps) else None


def release_label_rows(
    dates: list, labels: list[str], span: tuple | None, *, char_px: float, plot_px: float = 760
) -> list[tuple[int, bool]]:
    """(row, anchored right) for each release label, drawn level: a label starts at its line and runs
    right (left near the end of the axis), and takes the first row where it overlaps no label placed
    before it (on a plot of about `plot_px` pixels; Plotly does not move annotations apart)."""
    if span is None or span[1] <= span[0]:
        return [(i, False) for i in range(len(dates))]
    start, end = span
    px_per_day = plot_px / ((end - start) / pd.Timedelta(days=1))
    rows_end: list[float] = []  # per row, where its last label ends (px)
    out: list[tuple[int, bool]] = [(0, False)] * len(dates)
    for i in sorted(range(len(dates)), key=lambda i: pd.Timestamp(dates[i]).tz_localize(None)):
        when, text = dates[i], labels[i]
        x = (pd.Timestamp(when).tz_localize(None) - start.tz_localize(None)) / pd.Timedelta(days=1) * px_per_day
        width = char_px * len(text) + 8
        right = x + width > plot_px
        left_edge, right_edge = (x - width, x) if right else (x, x + width)
        row = next((i for i, e in enumerate(rows_end) if e < left_edge), None)
        if row is None:
            rows_end.append(right_edge)
            row = len(rows_end) - 1
        else:
            rows_end[row] = right_edge
        out[i] = (row, right)
    return out


def add_releases(
    fig: go.Figure,
    releases: list[dict[str, Any]],
    *,
    dark: bool = False,
    verdicts: dict[str, dict[str, Any]] | None = None,
) -> go.Figure:
    """Every release as a vertical line on a date axis with a level label at the top of the plot,
    labels that would overlap set one row lower. With `verdicts` (release_id -> its trend-adjusted
    judgement, metrics.release_verdicts) each line takes its verdict's colour and symbol, and its
    label's tooltip says what the release was judged on and how."""
    verdicts = verdicts or {}
    labels = []
    for r in releases:
        judged = verdicts.get(r["release_id"])
        labels.append(r["release_id"] + (f" {d.VERDICT_SYMBOLS[judged['verdict']]}" if judged else ""))
    font = 15 if dark else 11
    # the plot's width is not known here: assume a narrow one (a chart in half a 1366 px page), so that
    # labels rather stack one row too many than overlap
    rows = release_label_rows(
        [r["deployed_at"] for r in releases], labels, _x_span(fig), char_px=font * 0.6, plot_px=900 if dark else 360
    )
    # headroom for the label rows above the data, on an axis whose range is set (a share: below 100%)
    used = (max((row for row, _ in rows), default=-1) + 1) * (font + 7)
    y_range = fig.layout.yaxis.range
    is_share = (fig.layout.yaxis.tickformat or "").endswith("%")
    if used and y_range is not None and (not is_share or y_range[1] < 1):
        share = min(0.45, used / max(120, (fig.layout.height or 360) - 90))
        top = y_range[1] / (1 - share)
        fig.update_yaxes(range=[y_range[0], min(1.0, top) if is_share else top])
    for r, text, (row, right) in zip(releases, labels, rows, strict=True):
        judged = verdicts.get(r["release_id"])
        verdict = judged["verdict"] if judged else None
        colour = t.VERDICT_COLORS.get(verdict, t.RELEASE_COLOR)
        fig.add_vline(
            x=r["deployed_at"],
            line_dash="dot" if verdict in (None, "no clear change", "too little data") else "solid",
            line_color=colour,
            line_width=1 if verdict is None else 2,
        )
        fig.add_annotation(
            x=r["deployed_at"],
            xref="x",
            y=1,
            yref="paper",
            yshift=-row * (font + 7),
            yanchor="top",
            xanchor="right" if right else "left",
            xshift=-3 if right else 3,
            text=text,
            hovertext=d.verdict_text(r, judged) if judged else r.get("title"),
            showarrow=False,
            font=dict(size=font, color="#dddddd" if dark else colour),
            bgcolor="rgba(14, 17, 23, 0.75)" if dark else "rgba(255, 255, 255, 0.8)",
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
    # the band: each day's limits as a box a day wide, days in a row joined into one shape, broken
    # where a day has no limits (a filled line across such a gap would draw a band where there is none)
    band_x, band_y = limit_band(mature.to_dict("records"))
    fig.add_trace(
        go.Scatter(
            x=band_x,
            y=band_y,
            mode="lines",
            line=dict(width=0),
            fill="toself",
            fillcolor=t.LIMIT_BAND,
            name="control limits (normal day-to-day variation)",
            legendrank=3,
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=mature["date"],
            y=mature["centre"],
            mode="lines",
            name="centre line (the phase's rate)",
            legendrank=2,
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
            legendrank=1,
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
                legendrank=4,
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
                legendrank=5,
                marker=dict(
                    symbol=symbol, size=12 if not dark else 16, color=signal_colour, line=dict(width=1, color="#ffffff")
                ),
                hovertemplate=label + "<extra></extra>",
            )
        )
    _layout(fig, title=title, height=height, dark=dark, y_title=d.RELEASE_METRIC_AXES[metric], percent=True)
    fig.update_layout(legend_traceorder="normal")  # a filled band would reverse it
    # a day with a handful of units swings from 0% to 100%: scale to the limits and the busy days
    busy = mature.loc[mature["n"] >= MIN_SENT_FOR_SCALE, ["rate", "ucl"]].max(numeric_only=True).max()
    if pd.notna(busy):
        fig.update_yaxes(range=[0, min(1.0, float(busy) * 1.15)])
    phase_ids = set(frame["phase"].dropna())
    return add_releases(fig, [r for r in releases if r["release_id"] in phase_ids], dark=dark, verdicts=verdicts)


def label_positions(
    points: list[tuple[float, float, str]],
    *,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    height: int,
    width: int = 800,
) -> list[str]:
    """A text position for each labelled point (x, y in axis units, label), chosen greedily so that a
    label does not overlap the labels placed before it, on a plot of about width x height pixels
    (Plotly does not move labels out of each other's way)."""
    x_span = (x_range[1] - x_range[0]) or 1.0
    y_span = (y_range[1] - y_range[0]) or 1.0
    plot_w, plot_h = width - 80, height - 140  # less the axes, their titles and the legend
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for x, y, text in points:
        px, py = (x - x_range[0]) / x_span * plot_w, (y - y_range[0]) / y_span * plot_h
        w, h = 6.2 * len(text), 14.0
        candidates = {
            "top center": (px - w / 2, py + 7, px + w / 2, py + 7 + h),
            "bottom center": (px - w / 2, py - 7 - h, px + w / 2, py - 7),
            "middle right": (px + 8, py - h / 2, px + 8 + w, py + h / 2),
            "middle left": (px - 8 - w, py - h / 2, px - 8, py + h / 2),
            "top right": (px + 4, py + 5, px + 4 + w, py + 5 + h),
            "top left": (px - 4 - w, py + 5, px - 4, py + 5 + h),
            "bottom right": (px + 4, py - 5 - h, px + 4 + w, py - 5),
            "bottom left": (px - 4 - w, py - 5 - h, px - 4, py - 5),
        }

        def clashes(box, others=placed):
            return sum(
                max(0.0, min(box[2], o[2]) - max(box[0], o[0])) * max(0.0, min(box[3], o[3]) - max(box[1], o[1]))
                for o in others
            )

        def outside_plot(box):
            return max(0.0, -box[0]) + max(0.0, box[2] - plot_w) + max(0.0, -box[1]) + max(0.0, box[3] - plot_h)

        where = min(candidates, key=lambda k: clashes(candidates[k]) + 50 * outside_plot(candidates[k]))
        placed.append(candidates[where])
        out.append(where)
    return out


VOLUME_TICKS = tuple(m * 10**e for e in range(8) for m in (1, 2, 5))


def limit_band(days: list[dict[str, Any]]) -> tuple[list, list]:
    """The x and y of the limits' band: for each run of successive days with limits, a closed step
    shape (upper limits left to right, lower limits back), each day a day wide around its point;
    runs separated by None."""
    xs: list = []
    ys: list = []
    run: list[dict[str, Any]] = []

    def close(run):
        if not run:
            return
        upper_x, upper_y, lower_x, lower_y = [], [], [], []
        for day in run:
            start = pd.Timestamp(day["date"]) - pd.Timedelta(hours=12)  # a day wide, centred on its point
            end = start + pd.Timedelta(days=1)
            upper_x += [start, end]
            upper_y += [day["ucl"], day["ucl"]]
            lower_x += [start, end]
            lower_y += [day["lcl"], day["lcl"]]
        xs.extend([*upper_x, *reversed(lower_x), upper_x[0], None])
        ys.extend([*upper_y, *reversed(lower_y), upper_y[0], None])

    previous = None
    for day in days:
        has_limits = day.get("ucl") is not None and not pd.isna(day["ucl"])
        follows = previous is not None and pd.Timestamp(day["date"]) - pd.Timestamp(previous) == pd.Timedelta(days=1)
        if not has_limits or not follows:
            close(run)
            run = []
        if has_limits:
            run.append(day)
        previous = day["date"]
    close(run)
    return xs, ys


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
                    legendrank=3 if level == "998" else 2,
                )
            )
    fig.add_trace(
        go.Scatter(
            x=[low, high],
            y=[comparison["p0"], comparison["p0"]],
            mode="lines",
            name=f"all issuers in view: {comparison['p0']:.1%}",
            line=dict(color=t.CENTRE_COLOR, width=2),
            hoverinfo="skip",
            legendrank=1,
        )
    )
    high_is_bad = d.FUNNEL_MEASURES[measure]["high_is_bad"]
    # the issuers outside the limits are named; neighbours along the volume axis take turns above and
    # below their dot, and they are drawn after the others so that no dot covers a name
    outside = sorted((i for i in issuers if i["flag"] != "within"), key=lambda i: i["n"])
    top = max([*limits["high_998"], *(i["rate"] for i in issuers)])
    position = label_positions(
        [(math.log10(i["n"]), i["rate"], names.get(i["issuer_id"], i["issuer_id"])) for i in outside],
        x_range=(math.log10(low), math.log10(high)),
        y_range=(0.0, top),
        height=height,
    )
    position = {i["issuer_id"]: where for i, where in zip(outside, position, strict=True)}
    for flag, label in sorted(d.FUNNEL_FLAG_LABELS.items(), key=lambda item: item[0] != "within"):
        colour = t.FUNNEL_COLORS[funnel_colour_key(flag, high_is_bad)]
        named = flag != "within"
        rows = [i for i in (outside if named else issuers) if i["flag"] == flag]
        if not rows:
            continue
        fig.add_trace(
            go.Scatter(
                x=[i["n"] for i in rows],
                y=[i["rate"] for i in rows],
                mode="markers+text" if named else "markers",
                name=label,
                legendrank=list(d.FUNNEL_FLAG_LABELS).index(flag) + 4,
                text=[names.get(i["issuer_id"], i["issuer_id"]) for i in rows] if named else None,
                textposition=[position[i["issuer_id"]] for i in rows] if named else None,
                textfont=dict(size=11, color="#222222", shadow="auto"),
                marker=dict(color=colour, size=11 if named else 8, line=dict(width=1, color="#ffffff")),
                customdata=[[names.get(i["issuer_id"], i["issuer_id"]), i["x"]] for i in rows],
                hovertemplate="%{customdata[0]}: %{y:.1%} (%{customdata[1]:,} of %{x:,})<extra></extra>",
            )
        )
    _layout(fig, height=height, y_title=d.FUNNEL_MEASURES[measure]["axis"], percent=True)
    ticks = [v for v in VOLUME_TICKS if low <= v <= high * 1.5]
    fig.update_xaxes(
        type="log", title=d.FUNNEL_MEASURES[measure]["volume"], tickvals=ticks, ticktext=[f"{v:,}" for v in ticks]
    )
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
        top = min(1.0, float(busy.max()) * 1.15)
        # whole percents repeat on a low axis ('4%, 4%, 3%'): one decimal below 10%
        fig.update_yaxes(range=[0, top], tickformat=".1%" if top < 0.1 else ".0%")
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


def release_odds_chart(fixes: list[dict[str, Any]], *, height: int | None = None) -> go.Figure:
    """Each release's trend-adjusted odds ratio (fix_impact's `its`) with its 95% interval on a log axis,
    coloured by verdict; an issuer-specific release's comparison group (other issuers) on the row below.
    Releases without an odds ratio (too little data, judged before/after) are left out."""
    judged = [f for f in fixes if f["its"]["odds_ratio"] is not None]
    rows: list[tuple[str, dict[str, Any], str]] = []  # (row label, judgement, legend entry)
    for f in judged:
        rows.append((f["release_id"], f["its"], f["its"]["verdict"]))
        comparison = f["its"]["comparison"]
        if comparison is not None and comparison["odds_ratio"] is not None:
            rows.append((f"{f['release_id']}: other issuers", comparison, "comparison"))
    fig = go.Figure()
    styles = {v: (d.VERDICT_SYMBOLS[v], colour, "circle", 12) for v, colour in t.VERDICT_COLORS.items()}
    styles["comparison"] = ("other issuers (same model, no verdict)", t.RELEASE_COLOR, "diamond-open", 10)
    for group, (name, colour, symbol, size) in styles.items():
        members = [(label, j) for label, j, g in rows if g == group]
        if not members:
            continue
        fig.add_trace(
            go.Scatter(
                x=[j["odds_ratio"] for _, j in members],
                y=[label for label, _ in members],
                mode="markers",
                name=name,
                marker=dict(color=colour, size=size, symbol=symbol, line=dict(width=1.5, color=colour)),
                error_x=dict(
                    type="data",
                    symmetric=False,
                    array=[j["ci_high"] - j["odds_ratio"] for _, j in members],
                    arrayminus=[j["odds_ratio"] - j["ci_low"] for _, j in members],
                    color=colour,
                    thickness=2,
                    width=5,
                ),
                customdata=[
                    [d.RELEASE_METRIC_LABELS[j["metric"]], j["rate_before"], j["rate_after"], j["ci_low"], j["ci_high"]]
                    for _, j in members
                ],
                hovertemplate="%{y}<br>%{customdata[0]}: modelled %{customdata[1]:.1%} → %{customdata[2]:.1%}"
                "<br>odds ratio %{x:.2g} (95% CI %{customdata[3]:.2g}–%{customdata[4]:.2g})<extra></extra>",
            )
        )
    fig.add_vline(x=1, line_color="#888", line_width=1)
    _layout(fig, height=height or 110 + 44 * len(rows), legend=True)
    # a log axis over every interval drawn (Plotly's autorange leaves out error bars on a log axis)
    ends = [v for _, j, _ in rows for v in (j["ci_low"], j["ci_high"]) if v is not None and v > 0] + [1.0]
    low, high = math.log10(min(ends)) - 0.15, math.log10(max(ends)) + 0.15
    ticks = [v for v in ODDS_TICKS if low <= math.log10(v) <= high]
    fig.update_xaxes(
        type="log",
        range=[low, high],
        tickvals=ticks,
        ticktext=[f"{v:g}" for v in ticks],
        title="odds ratio at the release, trend-adjusted (below 1: the rate dropped)",
    )
    fig.update_yaxes(
        autorange="reversed", type="category", categoryorder="array", categoryarray=[label for label, _, _ in rows]
    )
    fig.update_layout(hovermode="closest")
    return fig


ODDS_TICKS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)


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
    fig.update_xaxes(range=[0, max(totals.values() or [0]) * 1.2 or 1], tickformat=",~f")
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
                fillcolor=t.BACKLOG_COLORS[stage],  # the stage's own colour, not Plotly's washed-out default
                hovertemplate=f"{label}: %{{y:,}}<extra></extra>",
            )
        )
    _layout(fig, height=height, y_title="enrollments waiting at the end of the day")
    if not frame.empty:  # a set range, so that the release labels get room above the stack
        fig.update_yaxes(range=[0, float(frame.groupby("date")["count"].sum().max() or 1) * 1.05])
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
            text=[f"{r[value]:.1%}" if r[value] is not None else d.MISSING for r in rows],
            textposition="auto",
            hovertemplate="%{y}: %{x:.1%}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickformat=".0%", title=label)
    _layout(fig, height=height, legend=False)
    fig.update_layout(hovermode="closest")
    return fig


# The square tile grid map of the 50 states and DC published by NPR Visuals (Danny DeBelius, "Let's
# Tesselate: Hexagons For Tile Grid Maps", 2015, which shows it beside the hexagon grid): 12 columns by
# 8 rows, one tile per state roughly where it lies; "." is an empty place. PR is not in the published grid: it is put south-east
# of FL, and drawn only when the data has it. Nothing is downloaded: no map tiles, no topojson.
TILE_GRID = (
    "AK .  .  .  .  .  .  .  .  .  .  ME",
    ".  .  .  .  .  .  .  .  .  .  VT NH",
    "WA ID MT ND MN IL WI MI NY RI MA .",
    "OR NV WY SD IA IN OH PA NJ CT .  .",
    "CA UT CO NE MO KY WV VA MD DE .  .",
    ".  AZ NM KS AR TN NC SC DC .  .  .",
    ".  .  .  OK LA MS AL GA .  .  .  .",
    "HI .  .  TX .  .  .  .  FL .  PR .",
)
STATE_TILES = {
    code: (row, col) for row, line in enumerate(TILE_GRID) for col, code in enumerate(line.split()) if code != "."
}
ONLY_WITH_DATA = ("PR",)  # drawn only when the view has enrollments there
STATE_MAP_MIN_SPAN = 0.10  # the colour scale spans at least 10 percentage points


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _ink(background: str) -> str:
    """Dark or white text, whichever reads better on a tile of this colour."""
    r, g, b = (int(background.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))
    return t.STATE_MAP_TEXT_DARK if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#ffffff"


def state_tile_map(
    rates: dict[str, dict[str, Any]],
    *,
    measure_label: str,
    denominator_unit: str,
    min_denominator: int,
    states_filter: tuple[str, ...] | None = None,
    height: int = 470,
) -> go.Figure:
    """The states of the view as a tile grid map (STATE_TILES), coloured by one rate per state.

    `rates` is metrics.state_rates: state -> value, numerator, denominator, judged. Each tile shows its
    code and value ("NC 41%"). A state with enough enrollments is coloured on a scale spanning the judged
    states' values (at least STATE_MAP_MIN_SPAN wide); one with too few is hatched and not coloured; a
    state with no enrollments in the view is grey. Every tile's customdata is [code, hover text], so a
    click names its state. With `states_filter` (the sidebar's States) a state it leaves out says so.
    States not on the grid are not drawn (state_map_off_grid names them)."""
    judged = {s: r for s, r in rates.items() if s in STATE_TILES and r["judged"] and r["value"] is not None}
    too_few = {s: r for s, r in rates.items() if s in STATE_TILES and s not in judged}
    empty = [s for s in STATE_TILES if s not in rates and s not in ONLY_WITH_DATA]
    low = min((r["value"] for r in judged.values()), default=0.0)
    high = max((r["value"] for r in judged.values()), default=1.0)
    if high - low < STATE_MAP_MIN_SPAN:
        middle = (high + low) / 2
        low = max(0.0, min(middle - STATE_MAP_MIN_SPAN / 2, 1.0 - STATE_MAP_MIN_SPAN))
        high = low + STATE_MAP_MIN_SPAN

    def hover(code: str, r: dict[str, Any] | None) -> str:
        if r is None and states_filter and code not in states_filter:
            return f"<b>{code}</b>: left out by the States filter"
        if r is None:
            return f"<b>{code}</b>: no enrollments in this view"
        of = f"{r['numerator']:,} of {r['denominator']:,} {denominator_unit}"
        if code in judged:
            return f"<b>{code}</b>: {r['value']:.1%} ({of})<br>Click to filter the page to {code}"
        if r["value"] is None:
            return f"<b>{code}</b>: no {denominator_unit}, so no rate<br>Click to filter the page to {code}"
        return (
            f"<b>{code}</b>: too few to judge, {r['denominator']:,} {denominator_unit} (fewer than "
            f"{min_denominator}); {r['value']:.1%} ({of})<br>Click to filter the page to {code}"
        )

    def tiles(codes, **bar) -> go.Bar:
        return go.Bar(
            orientation="h",
            y=[STATE_TILES[c][0] for c in codes],
            base=[STATE_TILES[c][1] + 0.04 for c in codes],
            x=[0.92] * len(codes),
            width=0.92,
            customdata=[[c, hover(c, rates.get(c))] for c in codes],
            hovertemplate="%{customdata[1]}<extra></extra>",
            textposition="inside",
            insidetextanchor="middle",
            textangle=0,
            constraintext="none",
            selected=dict(marker=dict(opacity=1)),
            unselected=dict(marker=dict(opacity=1)),
            **bar,
        )

    fig = go.Figure()
    codes = sorted(judged)
    values = [judged[c]["value"] for c in codes]
    colours = pc.sample_colorscale(t.STATE_MAP_SCALE, [(v - low) / (high - low) for v in values], colortype="rgb")
    fig.add_trace(
        tiles(
            codes,
            name=measure_label,
            showlegend=False,
            text=[f"<b>{c}</b><br>{_percent(judged[c]['value'])}" for c in codes],
            textfont=dict(color=[_ink(_rgb_hex(x)) for x in colours], size=12),
            marker=dict(
                color=values,
                colorscale=t.STATE_MAP_SCALE,
                cmin=low,
                cmax=high,
                showscale=bool(codes),
                colorbar=dict(title=dict(text=_wrap(measure_label, 18), side="top"), tickformat=".0%", len=0.8),
                line=dict(width=0),
            ),
        )
    )
    codes = sorted(too_few)
    fig.add_trace(
        tiles(
            codes,
            name=f"too few to judge (fewer than {min_denominator} {denominator_unit})",
            text=[f"<b>{c}</b><br>{_percent(too_few[c]['value'])}" for c in codes],
            textfont=dict(color=t.CENTRE_COLOR, size=12),
            marker=dict(
                color="#ffffff",
                line=dict(color=t.STATE_MAP_OUTLINE, width=1),
                pattern=dict(shape="/", fgcolor=t.STATE_MAP_HATCH),
            ),
        )
    )
    fig.add_trace(
        tiles(
            empty,
            name="no enrollments in this view" + (", or left out by the States filter" if states_filter else ""),
            text=empty,
            textfont=dict(color=t.STATE_MAP_EMPTY_TEXT, size=12),
            marker=dict(color=t.STATE_MAP_EMPTY, line=dict(width=0)),
        )
    )
    _layout(fig, height=height, legend=True)
    fig.update_layout(
        hovermode="closest",
        barmode="overlay",
        dragmode=False,
        margin=dict(l=10, r=10, t=10, b=40),
        legend=dict(orientation="h", yanchor="top", y=-0.01, xanchor="left", x=0),
        plot_bgcolor="rgba(0,0,0,0)",
    )
    fig.update_xaxes(range=[-0.1, 12.1], visible=False, fixedrange=True)
    fig.update_yaxes(range=[len(TILE_GRID) - 0.4, -0.6], visible=False, fixedrange=True, scaleanchor="x", scaleratio=1)
    return fig


def state_map_off_grid(states) -> list[str]:
    """The view's states the tile grid has no place for (not a USPS code of a state, DC or PR)."""
    return sorted(s if s is not None else "(none)" for s in states if s not in STATE_TILES)


def _rgb_hex(colour: str) -> str:
    """'rgb(12, 34, 56)' -> '#0c2238'."""
    parts = colour[colour.index("(") + 1 : colour.index(")")].split(",")
    return "#" + "".join(f"{round(float(p)):02x}" for p in parts[:3])


def _wrap(text: str, width: int) -> str:
    """Break a label into lines of about `width` characters for Plotly (<br>)."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "<br>".join([*lines, line])
