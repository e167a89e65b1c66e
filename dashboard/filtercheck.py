"""Filter values and as-of times as users type them: normalised, and every one that matches nothing named.

Shared by `report` (flags) and the dashboard (the page's address), so that both accept the same spellings
and say the same thing about a value they cannot match (metrics.md, Filters; decisions.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from .report import iso_utc

_LABEL_ID = re.compile(r"\(([^()]*)\)\s*$")  # the id at the end of a shown label, 'Name (id)'


def match_state(text: str, known: list[str]) -> str | None:
    """The known state code `text` names, case-insensitively ('nc' is 'NC'); None when it names none."""
    wanted = text.strip().upper()
    return next((s for s in known if s.strip().upper() == wanted), None)


def match_issuer(text: str, names: dict[str, str]) -> str | None:
    """The known issuer id `text` names: the id itself, or the shown label 'Name (id)'; None when none."""
    value = text.strip()
    if value in names:
        return value
    label = _LABEL_ID.search(value)
    if label and label.group(1).strip() in names:
        return label.group(1).strip()
    return None


@dataclass(frozen=True)
class Resolved:
    """The values of one filter kind after matching: known ones by their canonical spelling, unknown ones
    kept (upper-cased for states) so that they count nothing, as metrics.md says, and are named."""

    values: tuple[str, ...]
    unknown: tuple[str, ...]


def _dedupe(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def resolve_states(given: list[str], known: list[str]) -> Resolved:
    values, unknown = [], []
    for text in given:
        if not text.strip():
            continue
        match = match_state(text, known)
        values.append(match or text.strip().upper())
        if match is None:
            unknown.append(text.strip().upper())
    return Resolved(_dedupe(values), _dedupe(unknown))


def resolve_issuers(given: list[str], names: dict[str, str]) -> Resolved:
    values, unknown = [], []
    for text in given:
        if not text.strip():
            continue
        match = match_issuer(text, names)
        values.append(match or text.strip())
        if match is None:
            unknown.append(text.strip())
    return Resolved(_dedupe(values), _dedupe(unknown))


def _listing(values: list[str], most: int = 12) -> str:
    if not values:
        return "none"
    shown = ", ".join(values[:most])
    return shown + (f" and {len(values) - most} more" if len(values) > most else "")


def unknown_states_text(unknown: tuple[str, ...], chosen: tuple[str, ...], known: list[str], source: str) -> str:
    """One sentence naming the state values that match nothing. `source`: '--state' or 'The state filter'."""
    one = len(unknown) == 1
    whole = "every number is zero" if set(unknown) >= set(chosen) else "only the other states are counted"
    return (
        f"{source} {', '.join(unknown)} {'matches' if one else 'match'} no state in the export (no enrollment and "
        f"no row of issuers.csv has {'it' if one else 'them'}): nothing is counted for {'it' if one else 'them'}, "
        f"so {whole}. The export's states: {_listing(known)}."
    )


NOT_IN_SCOPE = "an issuer you may not see"  # how a scoped caller's unknown issuer is shown: never echoed


def unknown_issuers_text(unknown: tuple[str, ...], chosen: tuple[str, ...], source: str) -> str:
    """One sentence naming the issuer values that match nothing (the caller's scope is all it may see)."""
    one = len(unknown) == 1
    whole = "every number is zero" if set(unknown) >= set(chosen) else "only the other issuers are counted"
    if unknown == (NOT_IN_SCOPE,):  # a caller with a scope is not told what it cannot see, not even echoed
        return (
            f"{source} holds a value that matches no issuer id you may see: nothing is counted for it, so "
            f"{whole}. An issuer is given by its HIOS id, e.g. 12345."
        )
    return (
        f"{source} {', '.join(unknown)} {'matches' if one else 'match'} no issuer id in the export that you may "
        f"see: nothing is counted for {'it' if one else 'them'}, so {whole}. An issuer is given by its HIOS id, "
        "e.g. 12345."
    )


@dataclass(frozen=True)
class AsOfCheck:
    error: str | None = None  # the time cannot be used: refuse (exit 2, or an error instead of the page)
    warning: str | None = None  # usable, but the numbers will mislead unless this is said


def check_as_of(
    as_of: datetime, latest: datetime | None, now: datetime, stale_after_hours: float, source: str
) -> AsOfCheck:
    """A time after the wall clock is refused; one after the export's latest event by more than the
    staleness threshold is warned about (every wait would run on to a time the export knows nothing of)."""
    if as_of > now:
        return AsOfCheck(
            error=f"{source} {iso_utc(as_of)} is after the current time ({iso_utc(now.replace(microsecond=0))}): "
            "the dashboard cannot report on a moment that has not happened. Give a time up to now, or none for "
            "the latest event in the export"
            + (f" ({iso_utc(latest)})." if latest is not None else " (it holds no event yet).")
        )
    if latest is not None and as_of - latest > timedelta(hours=stale_after_hours):
        gap = as_of - latest
        age = f"{gap.days:,} days" if gap.days >= 2 else f"{gap.total_seconds() / 3600:.0f} hours"
        return AsOfCheck(
            warning=f"{source} {iso_utc(as_of)} is {age} after the export's latest event ({iso_utc(latest)}), "
            f"more than the staleness threshold ({stale_after_hours:g} hours, DASHBOARD_STALE_AFTER_HOURS): "
            "the export says nothing of that time, so every wait and age runs on as if nothing had happened "
            "since its latest event."
        )
    return AsOfCheck()
