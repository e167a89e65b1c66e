"""The `report` command's JSON (docs/report.md), built from the shared metric layer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from . import metrics as m


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, at full precision (microseconds only when present)."""
    if value is None:
        return None
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _plain(value: Any) -> Any:
    """JSON-ready values: datetimes as ISO UTC, dates as YYYY-MM-DD."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def build_report(
    q: m.Request, window_days: int = m.DEFAULT_WINDOW_DAYS, its_days: int = m.DEFAULT_ITS_DAYS
) -> dict[str, Any]:
    funnel = m.funnel(q)
    cells = m.backlog_cells(q)  # the backlog and its payment deadlines, evaluated once
    risk = m.risk_from_cells(cells)
    canaries = [
        {
            "enrollment_id": r["enrollment_id"],
            "issuer_id": r["issuer_id"],
            "stage": r["stage"],
            "entered_at": r["entered_at"],
            "stuck": bool(r["stuck"]),
        }
        for r in m.canaries(q)
    ]
    report = {
        "as_of": iso_utc(q.as_of),
        "funnel": funnel.total,
        "funnel_by_issuer": funnel.by_issuer,
        "funnel_by_state": funnel.by_state,
        "cancelled": funnel.cancelled,
        "time_to_convert_hours": m.time_to_convert(q),
        "errors": m.errors(q),
        "errors_daily": m.errors_daily(q),
        "never_sent": m.never_sent(q),
        "fix_impact": m.fix_impact(q, window_days, its_days),
        "backlog": [{k: r[k] for k in ("stage", "bucket", "count")} for r in m.backlog_from_cells(cells)],
        "backlog_trend": m.backlog_trend(q, funnel, cells),
        "at_risk": risk["at_risk"],
        "past_due": risk["past_due"],
        "canaries": canaries,
        "reconciliation": m.reconciliation(q),
        "age_bands": m.age_bands(q),
        # signals.md
        "errors_recent": m.errors_recent(q),
        "control_charts": m.control_charts(q),
        "issuer_comparison": m.issuer_comparison(q, funnel),
        "coverage_deadlines": m.coverage_deadlines(q),
    }
    return _plain(report)
