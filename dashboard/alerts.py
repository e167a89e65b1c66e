"""Alerts: `python -m dashboard alerts --rules alerts.toml`, run by cron or a systemd timer (docs/alerts.md).

A rules file names what to watch (a control-chart signal, never-sent above a count, past due rising, a
stuck canary, a release judged worse, a stale or broken export), who hears of it and how (e-mail, or a
webhook's JSON POST). Each run evaluates every rule within each recipient's scope, sends what is new, and
records it in a state file keyed by (rule, subject, day fired, recipient), so a run every 15 minutes sends
nothing twice. A delivery that fails is not recorded: it is reported, the run exits 1, and the next run
tries it again.

The numbers are the metric layer's (`dashboard/metrics.py`), the same functions `report` and the pages
call. Evaluation (`evaluate`) is separate from delivery, so each rule type is tested on literal rows.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from . import definitions as d
from . import metrics as m
from . import wording
from .problems import as_seen_by
from .report import iso_utc

WEBHOOK_TIMEOUT_SECONDS = 10
STATE_KEEP_DAYS = 35  # sent entries older than this are dropped from the state file
WORSE_SIGNALS = ("above", "shift_up")  # the release metrics are failure rates: up is worse

CHANNELS = ("email", "webhook")
COMMON_KEYS = {"name", "type", "channel", "recipients", "webhook_url", "webhook_url_env", "scope"}
RULE_KEYS = {
    "control_chart_signal": {"metrics", "per", "issuers", "kinds", "within_days", "min_units"},
    "never_sent_above": {"count"},
    "past_due_rising": {"min_increase"},
    "canary_stuck": set(),
    "release_worse": {"within_days"},
    "stale_export": set(),
}
RULE_TITLES = {
    "control_chart_signal": "a control-chart signal",
    "never_sent_above": "never-sent above a count",
    "past_due_rising": "past due rising day over day",
    "canary_stuck": "a canary stuck",
    "release_worse": "a release judged worse",
    "stale_export": "a stale or broken export",
}


class RulesError(ValueError):
    """The rules file cannot be used; the message names the file, the rule and the key."""


class StateError(ValueError):
    """The state file cannot be read or written; the message names it."""


# ------------------------------------------------------------------------------------------ rules


@dataclass(frozen=True)
class Rule:
    name: str
    type: str
    channel: str
    recipients: tuple[tuple[str, m.Scope], ...] = ()  # e-mail: (address, scope) each
    webhook_url: str | None = None  # webhook: where to POST
    webhook_scope: tuple[str, m.Scope] | None = None  # webhook: ("all" or an address, its scope)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def audiences(self) -> list[tuple[str, m.Scope]]:
        """(who, scope) for every delivery of this rule: each e-mail recipient, or the webhook once."""
        if self.channel == "webhook":
            return [self.webhook_scope]
        return list(self.recipients)


def load_rules(path: Path, roles, environ: dict[str, str] | None = None) -> list[Rule]:
    """Every rule of the file, checked whole before anything runs: any problem is a RulesError naming the
    rule and the key. `roles`: the roles file (access.load_roles()), for the recipients' scopes."""
    from . import access

    environ = os.environ if environ is None else environ
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RulesError(f"{path}: no such rules file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: not valid TOML ({exc})") from None
    unknown_top = sorted(set(data) - {"rule"})
    if unknown_top:
        raise RulesError(f"{path}: unknown top-level key {unknown_top[0]!r}: rules are [[rule]] tables")
    entries = data.get("rule", [])
    if not isinstance(entries, list) or not entries:
        raise RulesError(f"{path}: no rules: give at least one [[rule]] table")
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise RulesError(f"{path}: rule {i} is not a table")
        name = entry.get("name")
        where = f"{path}: rule {name!r}" if isinstance(name, str) and name.strip() else f"{path}: rule {i}"
        if not isinstance(name, str) or not name.strip():
            raise RulesError(f"{where}: key 'name' is missing: every rule needs a name (it keys what was sent)")
        name = name.strip()
        if not name.isprintable():
            raise RulesError(f"{where}: key 'name' holds a line break or control character")
        if name in seen:
            raise RulesError(f"{where}: key 'name': another rule has the same name")
        seen.add(name)
        kind = entry.get("type")
        if not isinstance(kind, str) or kind not in RULE_KEYS:
            raise RulesError(f"{where}: key 'type' is {kind!r}; give one of {', '.join(RULE_KEYS)}")
        unknown = sorted(set(entry) - COMMON_KEYS - RULE_KEYS[kind])
        if unknown:
            allowed = ", ".join(sorted(COMMON_KEYS | RULE_KEYS[kind]))
            raise RulesError(f"{where}: unknown key {unknown[0]!r} for type {kind} (keys: {allowed})")
        channel = entry.get("channel", "email")
        if not isinstance(channel, str) or channel not in CHANNELS:
            raise RulesError(f"{where}: key 'channel' is {channel!r}; give 'email' or 'webhook'")
        options = _options(kind, entry, where)
        if channel == "email":
            for key in ("webhook_url", "webhook_url_env", "scope"):
                if key in entry:
                    raise RulesError(f"{where}: key {key!r} is for channel = 'webhook'; this rule e-mails")
            recipients = entry.get("recipients")
            if not isinstance(recipients, list) or not recipients or not all(isinstance(r, str) for r in recipients):
                raise RulesError(
                    f"{where}: key 'recipients' must be a list of e-mail addresses or role:<role>, "
                    'e.g. ["ops@example.gov", "role:account_manager"]'
                )
            try:
                scoped = access.recipient_scopes(recipients, roles)
            except access.RecipientError as exc:
                raise RulesError(f"{where}: key 'recipients': {exc}") from None
            rules.append(Rule(name, kind, channel, recipients=tuple(scoped), options=options))
            continue
        if "recipients" in entry:
            raise RulesError(f"{where}: key 'recipients' is for e-mail; a webhook rule names its 'scope'")
        url = _webhook_url(entry, where, environ)
        scope_name = entry.get("scope")
        if not isinstance(scope_name, str) or not scope_name.strip():
            raise RulesError(
                f"{where}: key 'scope' is missing: a webhook's channel sees what 'scope' allows, "
                '"all" (every issuer) or an address of the roles file (that user\'s issuers)'
            )
        if scope_name.strip().startswith("role:"):
            raise RulesError(f"{where}: key 'scope': give \"all\" or one address of the roles file, not a role")
        if scope_name.strip() == "all":
            webhook_scope = ("all", m.Scope())
        else:
            try:
                [webhook_scope] = access.recipient_scopes([scope_name], roles)
            except access.RecipientError as exc:
                raise RulesError(f"{where}: key 'scope': {exc}") from None
        rules.append(Rule(name, kind, channel, webhook_url=url, webhook_scope=webhook_scope, options=options))
    return rules


def _webhook_url(entry: dict[str, Any], where: str, environ) -> str:
    if ("webhook_url" in entry) == ("webhook_url_env" in entry):
        raise RulesError(
            f"{where}: give one of key 'webhook_url' or key 'webhook_url_env' (the name of an environment "
            "variable holding the URL, for a URL that is a secret)"
        )
    if "webhook_url_env" in entry:
        var = entry["webhook_url_env"]
        url = environ.get(var) if isinstance(var, str) else None
        if not url:
            raise RulesError(f"{where}: key 'webhook_url_env': the environment variable {var!r} is not set")
    else:
        url = entry["webhook_url"]
    key = "webhook_url_env" if "webhook_url_env" in entry else "webhook_url"
    shown = repr(url) if key == "webhook_url" else f"the value of {entry['webhook_url_env']}"
    try:
        parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
        port = parts.port if parts is not None else None  # raises on a port that is not a number in range
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or not url.isprintable()
        or " " in url
        or (port is not None and port == 0)
    ):
        raise RulesError(f"{where}: key {key!r}: {shown} is not an http(s) URL")
    return url


MAX_DAYS = 3650  # a day option beyond ten years is a typo


def _int_option(
    entry: dict[str, Any], key: str, default: int | None, where: str, minimum: int, maximum: int | None = None
) -> int:
    value = entry.get(key, default)
    if value is None:
        raise RulesError(f"{where}: key {key!r} is missing: give a whole number")
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RulesError(f"{where}: key {key!r} is {value!r}, not a whole number of at least {minimum}")
    if maximum is not None and value > maximum:
        raise RulesError(f"{where}: key {key!r} is {value!r}, more than {maximum}")
    return value


def _names(value: Any, allowed) -> bool:
    """A non-empty list of strings, each one of `allowed`."""
    return isinstance(value, list) and bool(value) and all(isinstance(x, str) and x in allowed for x in value)


def _options(kind: str, entry: dict[str, Any], where: str) -> dict[str, Any]:
    if kind == "control_chart_signal":
        metrics = entry.get("metrics", list(d.RELEASE_METRIC_LABELS))
        if not _names(metrics, d.RELEASE_METRIC_LABELS):
            raise RulesError(f"{where}: key 'metrics' must be a list of {', '.join(d.RELEASE_METRIC_LABELS)}")
        per = entry.get("per", "overall")
        if not isinstance(per, str) or per not in ("overall", "issuer"):
            raise RulesError(f"{where}: key 'per' is {per!r}; give 'overall' or 'issuer'")
        issuers = entry.get("issuers")
        if issuers is not None:
            if per != "issuer":
                raise RulesError(f"{where}: key 'issuers' goes with per = 'issuer'")
            if not isinstance(issuers, list) or not issuers or not all(isinstance(i, str) and i for i in issuers):
                raise RulesError(f"{where}: key 'issuers' must be a list of issuer ids as strings, e.g. [\"10001\"]")
        kinds = entry.get("kinds", list(WORSE_SIGNALS))
        if not _names(kinds, d.SIGNAL_LABELS):
            raise RulesError(f"{where}: key 'kinds' must be a list of {', '.join(d.SIGNAL_LABELS)}")
        return {
            "metrics": tuple(metrics),
            "per": per,
            "issuers": tuple(issuers) if issuers else None,
            "kinds": tuple(kinds),
            "within_days": _int_option(entry, "within_days", 3, where, 1, MAX_DAYS),
            "min_units": _int_option(entry, "min_units", 1, where, 1),
        }
    if kind == "never_sent_above":
        return {"count": _int_option(entry, "count", None, where, 0)}
    if kind == "past_due_rising":
        return {"min_increase": _int_option(entry, "min_increase", 1, where, 1)}
    if kind == "release_worse":
        return {"within_days": _int_option(entry, "within_days", 14, where, 1, MAX_DAYS)}
    return {}


# ------------------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Firing:
    """One thing a rule found: `subject` keys it in the state file; `text` says it with its numbers;
    `page` and `params` make the link to the dashboard view that shows it."""

    subject: str
    text: str
    page: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass
class Context:
    """What one scope's evaluation reads: the request (None when the export cannot be read), the time
    freshness is judged at, the export's problems, and a memo so rules sharing a metric compute it once."""

    request: m.Request | None
    now: datetime
    stale_after_hours: float
    problems: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    memo: dict[Any, Any] = field(default_factory=dict)

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    def name(self, issuer: str) -> str:
        return self.names.get(issuer, issuer)


class NotEvaluated(Exception):
    """A rule cannot be evaluated (the export cannot be read); the message says why."""


def evaluate(rule: Rule, ctx: Context) -> list[Firing]:
    if rule.type == "stale_export":
        return stale_export(ctx)
    if ctx.request is None:
        raise NotEvaluated("the export cannot be read (see the stale_export rule's problems)")
    return EVALUATORS[rule.type](rule.options, ctx)


def minute(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


def _pct(value: float | None) -> str:
    return d.format_value("rate", value)


def control_chart_signal(options: dict[str, Any], ctx: Context) -> list[Firing]:
    """A run of control-chart signals of the chosen kinds (default: above the upper limit, or 8+ days above
    the centre line) on a release metric, overall or per issuer, whose last day is within `within_days`
    days of the as-of date, and whose last day has at least `min_units` units (834s, redirects, plans)."""
    q = ctx.request
    since = q.as_of.date() - timedelta(days=options["within_days"])
    if options["per"] == "overall":
        subjects = [(None, q)]
    else:
        visible = list(ctx.names) if options["issuers"] is None else list(options["issuers"])
        wanted = q.effective_filters.issuers
        subjects = [
            (
                i,
                m.Request(
                    q.engine,
                    q.as_of,
                    m.Filters(q.filters.date_from, q.filters.date_to, q.filters.states, (i,)),
                    q.scope,
                ),
            )
            for i in visible
            if i in ctx.names and (wanted is None or i in wanted)
        ]
    out = []
    for issuer, request in subjects:
        charts = ctx.get(("control_charts", issuer), lambda r=request: m.control_charts(r))
        for metric in options["metrics"]:
            chart = charts.get(metric, [])
            for run in m.signal_runs(chart):
                if run["kind"] not in options["kinds"] or run["last"] < since:
                    continue
                last = next(day for day in chart if day["date"] == run["last"])
                if last["n"] < options["min_units"]:
                    continue
                label = d.RELEASE_METRIC_LABELS[metric].split(" (")[0]
                who = f" for {ctx.name(issuer)}" if issuer else ""
                text = (
                    f"{label}{who}: {wording.signal_run_text(run)}. On {run['last']:%b} {run['last'].day}: "
                    f"{_pct(last['rate'])} of {last['n']:,} {d.RELEASE_METRIC_UNITS[metric]} "
                    f"(centre line {_pct(last['centre'])}, upper limit {_pct(last['ucl'])})."
                )
                params = (("issuer", issuer),) if issuer else ()
                out.append(
                    Firing(
                        f"{metric}|{issuer or 'all'}|{run['kind']}|{run['first'].isoformat()}", text, "errors", params
                    )
                )
    return out


def never_sent_above(options: dict[str, Any], ctx: Context) -> list[Firing]:
    """Plans selected with no 834 sent: fires when the count is above `count`."""
    row = ctx.get("never_sent", lambda: m.never_sent(ctx.request))
    if row["count"] <= options["count"]:
        return []
    text = (
        f"{row['count']:,} plan selections have no 834 sent (never sent), above the rule's {options['count']:,}; "
        f"{_pct(row['share'])} of {row['eligible']:,} that should have one."
    )
    return [Firing("never_sent", text, "errors")]


def past_due_rising(options: dict[str, Any], ctx: Context) -> list[Firing]:
    """People past their binder-payment due date and still unpaid: fires when the count rose by at least
    `min_increase` against the same time the day before."""
    q = ctx.request
    today = ctx.get("past_due", lambda: m.payment_deadline_risk(q))["past_due"]
    yesterday = ctx.get("past_due_yesterday", lambda: m.payment_deadline_risk(q.at(q.as_of - timedelta(days=1))))[
        "past_due"
    ]
    if today - yesterday < options["min_increase"]:
        return []
    text = (
        f"Past due (binder payment due date passed, not paid) rose from {yesterday:,} to {today:,} "
        f"(+{today - yesterday:,}) since the same time a day earlier."
    )
    return [Firing("past_due", text, "backlog")]


def canary_stuck(options: dict[str, Any], ctx: Context) -> list[Firing]:
    """Each canary (test enrollment) stuck in its stage, one firing per canary."""
    out = []
    for row in ctx.get("canaries", lambda: m.canaries(ctx.request)):
        if not row["stuck"]:
            continue
        text = (
            f"Canary {row['enrollment_id']} ({ctx.name(row['issuer_id'])}) is stuck at {row['stage']} since "
            f"{minute(row['entered_at'])}."
        )
        out.append(Firing(f"canary|{row['enrollment_id']}", text, "health"))
    return out


def release_worse(options: dict[str, Any], ctx: Context) -> list[Firing]:
    """Each release deployed in the last `within_days` days whose trend-adjusted verdict is 'worse'."""
    q = ctx.request
    since = q.as_of - timedelta(days=options["within_days"])
    out = []
    for fix in ctx.get("fix_impact", lambda: m.fix_impact(q)):
        if fix["its"].get("verdict") != "worse" or fix["deployed_at"] <= since:
            continue
        text = plain(wording.verdict_line(fix, ctx.names))
        params = (("issuer", fix["issuer_id"]),) if fix["issuer_id"] else ()
        out.append(Firing(f"release|{fix['release_id']}", text, "errors", params))
    return out


def stale_export(ctx: Context) -> list[Firing]:
    """The export cannot be read (each problem), or a table's newest event is older than the stale limit."""
    out = (
        [Firing("export|problems", "The export cannot be read: " + "; ".join(ctx.problems), "health")]
        if (ctx.problems)
        else []
    )
    if ctx.request is None:
        return out
    for row in ctx.get("freshness", lambda: m.table_freshness(ctx.request.engine, ctx.now)):
        age, stale = m.freshness(row["latest_event_at"], ctx.now, ctx.stale_after_hours)
        if not stale:
            continue
        if age is None:
            # the row count is the whole export's, every issuer's: only for a reader of every issuer
            size = f" ({row['row_count']:,} rows)" if ctx.request.scope.issuers is None else ""
            text = f"Table {row['table_name']} has no event at all{size}."
        else:
            text = (
                f"Table {row['table_name']}'s newest event is {minute(row['latest_event_at'])}, "
                f"{age * 24:,.0f} hours old (stale after {ctx.stale_after_hours:g} hours)."
            )
        out.append(Firing(f"stale|{row['table_name']}", text, "health"))
    return out


EVALUATORS = {
    "control_chart_signal": control_chart_signal,
    "never_sent_above": never_sent_above,
    "past_due_rising": past_due_rising,
    "canary_stuck": canary_stuck,
    "release_worse": release_worse,
}


def problem_texts(problems, scope: m.Scope, export_dir: Path | str) -> list[str]:
    """The export's problems as a reader may see them (`problems.as_seen_by`, as on the Health page): whole for
    a reader of every issuer; for an account manager, those about another issuer left out and those about the
    whole export by where they are, since their text can quote other issuers' values, and files named from
    the export folder, not the server's path."""
    everyone = scope.issuers is None
    return [str(p.located(export_dir, server_path=everyone)) for p in as_seen_by(problems, scope.issuers)]


def plain(markdown: str) -> str:
    """The pages' markdown as plain text: ':red[▲]' -> '▲', '**x**' -> 'x'."""
    return re.sub(r":(?:red|green|gray)\[(.+?)\]", r"\1", markdown).replace("**", "")


# -------------------------------------------------------------------------------------- the state


class State:
    """What was sent, and what is waiting to be sent again. `sent`: key (rule, subject, day, recipient) ->
    when. `pending`: deliveries that failed, kept with their message so that the next run sends exactly
    them even if what fired no longer holds (a failed alert is never dropped). A JSON file written whole
    through a temporary file, so a run that dies leaves the previous state, never half of one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sent: dict[str, dict[str, str]] = {}
        self.pending: dict[str, dict[str, Any]] = {}
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                sent, pending = data["sent"], data.get("pending", {})
                if not isinstance(sent, dict) or not isinstance(pending, dict):
                    raise TypeError
            except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
                raise StateError(
                    f"the state file {path} cannot be read ({type(exc).__name__}); it is left as it is: move it "
                    "away to start afresh (alerts already sent today would then be sent again)"
                ) from None
            for key, entry in sent.items():
                if not _is_key(key) or not isinstance(entry, dict):
                    raise StateError(f"the state file {path} has a sent entry that is not this program's: {key!r}")
            for key, entry in pending.items():
                needed = {"rule", "channel", "recipient", "to", "subject", "text", "keys", "failed_at"}
                if not isinstance(entry, dict) or needed - set(entry) or not all(_is_key(k) for k in entry["keys"]):
                    raise StateError(f"the state file {path} has a pending entry that is not this program's: {key!r}")
            self.sent, self.pending = sent, pending

    @staticmethod
    def key(rule: str, subject: str, day: date, recipient: str) -> str:
        return json.dumps([rule, subject, day.isoformat(), recipient])

    def was_sent(self, key: str) -> bool:
        return key in self.sent

    def is_pending(self, key: str) -> bool:
        """Whether a delivery kept for retry already holds this (rule, subject, recipient), on any day: an
        alert that still holds the next day is not queued a second time while the first waits."""
        rule, subject, _, recipient = json.loads(key)
        return any(
            [k[0], k[1], k[3]] == [rule, subject, recipient]
            for entry in self.pending.values()
            for k in map(json.loads, entry["keys"])
        )

    def record(self, keys: list[str], at: datetime) -> None:
        for key in keys:
            self.sent[key] = {"sent_at": iso_utc(at)}
        self.save()

    def hold(self, delivery: dict[str, Any]) -> None:
        """Keep a failed delivery (rule, recipient, subject line, text, payload, keys) for the next run."""
        self.pending[json.dumps([delivery["rule"], delivery["recipient"], delivery["keys"]])] = delivery
        self.save()

    def delivered(self, pending_key: str, at: datetime) -> None:
        entry = self.pending.pop(pending_key)
        self.record(entry["keys"], at)

    def prune(self, today: date) -> list[dict[str, Any]]:
        """Drop sent entries older than STATE_KEEP_DAYS days, and deliveries that have failed for that
        long (returned, so the caller says so loudly)."""
        keep = (today - timedelta(days=STATE_KEEP_DAYS)).isoformat()
        self.sent = {k: v for k, v in self.sent.items() if json.loads(k)[2] >= keep}
        expired = {k: e for k, e in self.pending.items() if e["failed_at"][:10] < keep}
        for k in expired:
            del self.pending[k]
        return list(expired.values())

    def save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            tmp.write_text(
                json.dumps({"version": 1, "sent": self.sent, "pending": self.pending}, indent=1, sort_keys=True),
                encoding="utf-8",
            )
            os.replace(tmp, self.path)
        except OSError as exc:
            raise StateError(f"the state file {self.path} cannot be written ({exc.strerror or exc})") from None


def _is_key(key: Any) -> bool:
    try:
        parts = json.loads(key)
    except (TypeError, ValueError):
        return False
    return isinstance(parts, list) and len(parts) == 4 and all(isinstance(p, str) for p in parts)


class Lock:
    """One run at a time per state file (cron may start a run while a slow one is still going)."""

    def __init__(self, state_path: Path) -> None:
        self.path = state_path.with_name(state_path.name + ".lock")
        self.handle = None

    def __enter__(self) -> Lock:
        try:
            self.handle = open(self.path, "a")  # noqa: SIM115 (held for the run)
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateError(f"another alerts run holds {self.path}; this one sends nothing") from None
        except OSError as exc:
            raise StateError(f"the lock file {self.path} cannot be opened ({exc.strerror})") from None
        return self

    def __exit__(self, *exc) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()


# ------------------------------------------------------------------------------------- messages


def link(base_url: str | None, firing: Firing, as_of: datetime, as_of_given: bool) -> str | None:
    """The dashboard view that shows a firing: its page, its issuer, and the as-of time when one was given."""
    if not base_url:
        return None
    params = list(firing.params)
    if as_of_given:
        params.append(("as_of", iso_utc(as_of)))
    query = urllib.parse.urlencode(params)
    return f"{base_url.rstrip('/')}/{firing.page}" + (f"?{query}" if query else "")


def message(
    rule: Rule, who: str, scope: m.Scope, firings: list[tuple[Firing, str | None]], as_of: datetime
) -> tuple[str, str]:
    """(subject line, plain text) of one delivery: what fired, the numbers, the links."""
    first = firings[0][0].text
    subject = f"Alert: {rule.name}: " + (
        first if len(firings) == 1 else f"{len(firings)} new ({RULE_TITLES[rule.type]})"
    )
    subject = "".join(ch if ch.isprintable() else " " for ch in subject)  # a name from the export may hold a CR
    if len(subject) > 150:
        subject = subject[:149] + "…"
    whose = "all issuers" if scope.issuers is None else "issuers " + ", ".join(scope.issuers) + " (your access)"
    lines = [f"{rule.name} ({RULE_TITLES[rule.type]}) as of {minute(as_of)}, for {whose}:", ""]
    for firing, url in firings:
        lines.append(f"- {firing.text}")
        if url:
            lines.append(f"  Open: {url}")
    lines += [
        "",
        "Sent by the enrollment back-end dashboard's alerts; each alert is sent once a day while it holds.",
    ]
    return subject, "\n".join(lines)


def post_webhook(url: str, payload: dict[str, Any]) -> None:
    """POST the JSON payload; a network error, a timeout or a status other than 2xx is a DeliveryError."""
    from .delivery import DeliveryError

    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    where = urllib.parse.urlsplit(url)
    shown = f"{where.scheme}://{where.hostname}"  # a webhook's path is often its secret: never printed
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"webhook {shown}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"webhook {shown}: {type(reason).__name__ if url in str(reason) else reason}") from None
    except Exception as exc:  # e.g. http.client.InvalidURL, whose text holds the URL: named by its kind only
        raise DeliveryError(f"webhook {shown}: {type(exc).__name__}") from None


# ------------------------------------------------------------------------------------------ a run


@dataclass
class Outcome:
    sent: int = 0  # deliveries made
    already: int = 0  # firings skipped because the state file has them
    failed: int = 0  # deliveries that failed (retried next run)
    waiting: int = 0  # firings already held in a failed delivery that is retried (not sent yet)
    unevaluated: set[str] = field(default_factory=set)  # rules that could not be evaluated (for someone)
    would_send: int = 0  # --dry-run: deliveries printed instead of made
    lines: list[str] = field(default_factory=list)

    @property
    def not_evaluated(self) -> int:
        return len(self.unevaluated)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.not_evaluated else 0


def _scope_key(scope: m.Scope) -> list[str] | None:
    return None if scope.issuers is None else sorted(scope.issuers)


def send(rule: Rule, to: str, subject: str, text: str, payload: dict[str, Any] | None, smtp) -> str | None:
    """One delivery; None when it went, else what went wrong (any failure: the caller keeps it for later)."""
    from .delivery import send_mail

    try:
        if rule.channel == "email":
            send_mail(smtp, to, subject, text)
        else:
            post_webhook(rule.webhook_url, payload)
    except Exception as exc:  # noqa: BLE001 (a DeliveryError, or anything else: never lose the message)
        return str(exc) if type(exc).__name__ == "DeliveryError" else f"{type(exc).__name__}: {exc}"
    return None


def run(
    rules: list[Rule],
    contexts: Callable[[m.Scope], Context],
    state: State | None,
    *,
    as_of: datetime,
    as_of_given: bool,
    base_url: str | None,
    day: date | None = None,
    smtp=None,
    now: datetime,
    dry_run: bool = False,
    say: Callable[[str], None] = print,
) -> Outcome:
    """Deliveries that failed before are sent first, as they were; then every rule is evaluated for each
    of its audiences and what the state file has neither sent nor waiting is sent. Each delivery is
    recorded as it succeeds, and kept as pending when it fails. `day`: the day an alert fires (keys the
    state; default the as-of date). A dry run reads the state and changes nothing."""
    outcome = Outcome()
    day = day or as_of.date()
    by_name = {r.name: r for r in rules}
    for pending_key, entry in list(state.pending.items()) if state is not None else []:
        rule = by_name.get(entry["rule"])
        audiences = [(who, _scope_key(scope)) for who, scope in rule.audiences] if rule is not None else []
        if rule is None or rule.channel != entry["channel"] or (entry["to"], entry.get("scope")) not in audiences:
            # what the message says was computed for that recipient and access: not for anyone else
            say(
                f"warning: an earlier failed delivery of rule {entry['rule']!r} to {entry['recipient']} "
                + ("would be" if dry_run else "is")
                + " dropped: the rules file no longer has that rule with that channel, recipient and access"
            )
            if not dry_run:
                state.pending.pop(pending_key)
                state.save()
            continue
        if dry_run:
            outcome.would_send += 1
            say(f"would retry, to {entry['recipient']}:\n  {entry['subject']}")
            continue
        error = send(rule, entry["to"], entry["subject"], entry["text"], entry.get("payload"), smtp)
        if error:
            outcome.failed += 1
            say(f"error: rule {rule.name!r}: still not delivered to {entry['recipient']}, retried next run: {error}")
            continue
        state.delivered(pending_key, now)
        outcome.sent += 1
        say(
            f"Sent rule {rule.name!r} to {entry['recipient']}: a delivery that had failed ({len(entry['keys'])} alert(s))"
        )
    for rule in rules:
        for who, scope in rule.audiences:
            try:
                firings = evaluate(rule, contexts(scope))
            except NotEvaluated as exc:
                outcome.unevaluated.add(rule.name)
                say(f"error: rule {rule.name!r} was not evaluated for {who}: {exc}")
                break
            except Exception as exc:  # a defect of ours: named, and the other rules still run
                if os.environ.get("DASHBOARD_DEBUG"):
                    raise
                outcome.unevaluated.add(rule.name)
                say(
                    f"error: rule {rule.name!r} was not evaluated for {who}: internal error ({type(exc).__name__}: "
                    f"{exc}); a defect of the dashboard, run with DASHBOARD_DEBUG=1 for the traceback and report it"
                )
                continue
            recipient = who if rule.channel == "email" else f"webhook:{who}"
            keyed = [(f, State.key(rule.name, f.subject, day, recipient)) for f in firings]
            sent_before = [key for _, key in keyed if state is not None and state.was_sent(key)]
            held = [key for _, key in keyed if state is not None and key not in sent_before and state.is_pending(key)]
            new = [(f, key) for f, key in keyed if key not in sent_before and key not in held]
            outcome.already += len(sent_before)
            outcome.waiting += len(held)
            if not new:
                continue
            linked = [(f, link(base_url, f, as_of, as_of_given)) for f, _ in new]
            subject, text = message(rule, who, scope, linked, as_of)
            payload = (
                {
                    "text": f"{subject}\n{text}",
                    "alerts": [
                        {"rule": rule.name, "subject": f.subject, "text": f.text, "link": url} for f, url in linked
                    ],
                }
                if rule.channel == "webhook"
                else None
            )
            if dry_run:
                outcome.would_send += 1
                say(f"would send to {recipient}:\n  {subject}\n" + "\n".join(f"  {t}" for t in text.splitlines()))
                continue
            keys = [key for _, key in new]
            error = send(rule, who, subject, text, payload, smtp)
            if error:
                outcome.failed += 1
                say(
                    f"error: rule {rule.name!r}: not delivered to {recipient} ({len(new)} alert(s)), retried next run: {error}"
                )
                if state is not None:
                    state.hold(
                        {
                            "rule": rule.name,
                            "channel": rule.channel,
                            "recipient": recipient,
                            "to": who,
                            "scope": _scope_key(scope),
                            "subject": subject,
                            "text": text,
                            "payload": payload,
                            "keys": keys,
                            "failed_at": iso_utc(now),
                        }
                    )
                continue
            outcome.sent += 1
            say(f"Sent rule {rule.name!r} to {recipient}: {len(new)} alert(s)")
            if state is not None:
                state.record(keys, now)
    return outcome
