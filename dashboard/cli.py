"""Command line: `python -m dashboard report ...`, `briefing ...`, `alerts ...`, `generate ...`, `ingest-x12 ...`.

The argument definitions import nothing heavy (dashboard.config and dashboard.defaults only): each
command imports what it needs when it runs, so `--help` and a mistyped flag answer at once and
`report` never loads the dashboard's page libraries or pyx12.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from . import config
from . import defaults as d

if TYPE_CHECKING:
    from . import metrics as m
    from .engine import Engine

EXIT_BAD_INPUT = 2


class BadInput(Exception):
    """Something the user gave (a flag, an export) cannot be used; the message says what."""


def parse_timestamp(text: str) -> datetime:
    """ISO 8601; UTC when no offset is given; a bare date means 00:00:00 UTC of that date."""
    try:
        return d.parse_as_of(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--as-of {text!r} is not an ISO 8601 timestamp or date") from None


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days of at least 1")
    return value


def add_view_arguments(parser: argparse.ArgumentParser) -> None:
    """The view's flags, the same for `report` and `briefing`: export, as-of time, filters, windows, reader."""
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help=f"export directory (default: $DASHBOARD_DATA_DIR or {config.DEFAULT_DATA_DIR})",
    )
    parser.add_argument(
        "--as-of",
        type=parse_timestamp,
        default=None,
        help="ISO 8601 timestamp, UTC when no offset (default: the latest event in the export)",
    )
    parser.add_argument(
        "--from", dest="date_from", type=parse_date, default=None, help="cohort window start date (inclusive)"
    )
    parser.add_argument(
        "--to", dest="date_to", type=parse_date, default=None, help="cohort window end date (exclusive)"
    )
    parser.add_argument(
        "--state", dest="states", nargs="+", action="extend", default=None, help="two-letter state code(s)"
    )
    parser.add_argument("--issuer", dest="issuers", nargs="+", action="extend", default=None, help="HIOS issuer id(s)")
    parser.add_argument(
        "--window-days",
        type=positive_int,
        default=d.DEFAULT_WINDOW_DAYS,
        help="fix-impact window in days on each side of a release (default 7)",
    )
    parser.add_argument(
        "--its-days",
        type=positive_int,
        default=d.DEFAULT_ITS_DAYS,
        help="trend-adjusted (interrupted time series) window W in days on each side of a release (default 14)",
    )
    parser.add_argument(
        "--as-user",
        default=None,
        metavar="EMAIL",
        help="compute as this user sees it: the roles file's scope applies before any filter",
    )
    parser.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no progress bar on standard error while the export is prepared "
        "(shown by default on a terminal after 2 s; DASHBOARD_PROGRESS=always|never)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description="Enrollment back-end operations metrics.")
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="print every metric as one JSON object")
    add_view_arguments(report)
    briefing = commands.add_parser(
        "briefing", help="write the morning briefing (PDF or HTML): the Overview's questions for the review meeting"
    )
    briefing.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="the file to write: FILE.pdf or FILE.html (self-contained, charts included); "
        "required unless --email-to is given",
    )
    briefing.add_argument(
        "--email-to",
        dest="email_to",
        nargs="+",
        action="extend",
        default=None,
        metavar="RECIPIENT",
        help="e-mail the briefing as a PDF: an address listed in the roles file, or role:<role> for every user "
        "with that role; each recipient gets a briefing of what they may see (SMTP: docs/briefing.md)",
    )
    add_view_arguments(briefing)
    alerts = commands.add_parser(
        "alerts",
        help="send the alerts a rules file asks for (e-mail or webhook), each once; run it from cron or a timer",
    )
    alerts.add_argument("--rules", type=Path, required=True, metavar="FILE.toml", help="the rules (docs/alerts.md)")
    alerts.add_argument(
        "--data",
        type=Path,
        default=None,
        help=f"export directory (default: $DASHBOARD_DATA_DIR or {config.DEFAULT_DATA_DIR})",
    )
    alerts.add_argument(
        "--as-of",
        type=parse_timestamp,
        default=None,
        help="evaluate as of this time, freshness included (default: the latest event; freshness judged now)",
    )
    alerts.add_argument(
        "--state",
        dest="state_file",
        type=Path,
        default=None,
        metavar="FILE.json",
        help="what was sent, so nothing is sent twice (default: the rules file's name with .state.json)",
    )
    alerts.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help="the dashboard's address, e.g. https://dash.example.gov, for a link to the view in each alert",
    )
    alerts.add_argument("--dry-run", action="store_true", help="print what would be sent; send nothing, record nothing")
    generate = commands.add_parser("generate", help="write a demo export shaped like autumn 2013")
    generate.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"export directory to write (default: $DASHBOARD_DATA_DIR or {config.DEFAULT_DATA_DIR})",
    )
    generate.add_argument(
        "--enrollments",
        type=positive_int,
        default=None,
        help=f"public enrollments to generate, canaries not counted (default {d.DEMO_ENROLLMENTS:,})",
    )
    generate.add_argument("--seed", type=int, default=d.DEFAULT_SEED, help="random seed (default 2013)")
    generate.add_argument(
        "--force", action="store_true", help="replace the tables and CSV files of an export already in --out"
    )
    generate.add_argument(
        "--x12",
        type=Path,
        default=None,
        metavar="DIR",
        help="also write the 834s as X12 834 files with their 999 acknowledgements into DIR "
        "(for small exports: ingest-x12 reads them back into the same rows)",
    )
    ingest_x12 = commands.add_parser("ingest-x12", help="read X12 834 and 999 files into an export's 834 table")
    ingest_x12.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        metavar="FILE_OR_DIR",
        help="X12 files, or directories read recursively (names starting with . or _ skipped)",
    )
    ingest_x12.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="EXPORT_DIR",
        help=f"export directory: writes {d.X12_TABLE_DIR}/{d.X12_TABLE_FILE}, keeps its state in {d.X12_STATE_DIR}/",
    )
    ingest_x12.add_argument(
        "--exchange-id",
        type=exchange_id,
        default=d.DEFAULT_EXCHANGE_ID,
        help="the exchange's interchange id (ISA06/ISA08), which decides each 834's "
        f"direction (default {d.DEFAULT_EXCHANGE_ID})",
    )
    return parser


def exchange_id(text: str) -> str:
    value = text.strip()
    if not value or len(value) > 15:
        raise argparse.ArgumentTypeError(f"{text!r} is not an interchange id (1 to 15 characters)")
    return value


def run_ingest_x12(args: argparse.Namespace) -> int:
    from .x12 import ingest

    try:
        summary = ingest.ingest(args.inputs, args.out, args.exchange_id)
    except ingest.IngestError as exc:
        raise BadInput(str(exc)) from None
    for outcome in summary.files:
        if outcome.status == "rejected":
            print(f"error: {outcome.summary()}; nothing of it was stored:", file=sys.stderr)
            for line in ingest.format_findings(outcome.findings):
                print(line, file=sys.stderr)
        else:
            print(outcome.summary())
    if summary.table is not None:
        print(
            f"Wrote {summary.table}: {summary.table_rows:,} rows, {summary.acknowledged_rows:,} acknowledged"
            + (f"; {summary.waiting_acks:,} ack(s) wait for their 834" if summary.waiting_acks else "")
        )
    return EXIT_BAD_INPUT if summary.rejected else 0


def run_generate(args: argparse.Namespace) -> int:
    from . import demo

    out = args.out or config.data_dir()
    enrollments = demo.DEMO_ENROLLMENTS if args.enrollments is None else args.enrollments
    try:
        counts = demo.generate(out, enrollments, args.seed, force=args.force, x12_dir=args.x12)
    except demo.GenerateError as exc:
        raise BadInput(str(exc)) from None
    files = counts.pop("x12_files", None)
    print(
        f"Wrote a demo export to {out}: "
        + ", ".join(f"{n:,} {t} rows" for t, n in counts.items())
        + (f"; and {files:,} X12 files in {args.x12}" if files is not None else ""),
        file=sys.stderr,
    )
    return 0


def resolve_data_dir(named: Path | None) -> Path:
    """The export to read. Only the default directory is ever filled with demo data, and only when empty."""
    if named is not None or "DASHBOARD_DATA_DIR" in os.environ:
        return named or config.data_dir()
    from . import demo

    default = config.DEFAULT_DATA_DIR
    demo.ensure_default_export(default, lambda text: print(text, file=sys.stderr))
    return default


def scope_for(email: str | None) -> m.Scope:
    """The scope of --as-user from the roles file; without --as-user, every issuer."""
    from . import access
    from . import metrics as m

    if email is None:
        return m.Scope()
    try:
        roles = access.load_roles()
    except access.RolesError as exc:
        raise BadInput(str(exc)) from None
    granted = access.resolve({"email": email}, roles, auth_configured=True)
    if not granted.allowed:
        raise BadInput(f"--as-user {email}: no access ({granted.reason}); roles file {access.roles_path()}")
    if not granted.may_see_records:
        raise BadInput(f"--as-user {email}: the {granted.role} role sees the stand-up screen only, not the report")
    return granted.scope


def checked_filters(engine: Engine, filters: m.Filters, scope: m.Scope) -> m.Filters:
    """--state and --issuer as the export spells them ('nc' is NC); each value matching nothing is named on
    standard error and kept, so that it counts nothing (metrics.md, Filters), never dropped in silence."""
    from . import filtercheck as fc
    from . import metrics as m

    states, issuers = filters.states, filters.issuers
    if states:
        known = m.known_states(engine, scope)
        found = fc.resolve_states(list(states), known)
        if found.unknown:
            print("warning: " + fc.unknown_states_text(found.unknown, found.values, known, "--state"), file=sys.stderr)
        states = found.values
    if issuers:
        directory = m.issuer_directory(engine)
        names = {
            r["issuer_id"]: r["issuer_id"]
            for r in directory
            if scope.issuers is None or r["issuer_id"] in scope.issuers
        }
        found = fc.resolve_issuers(list(issuers), names)
        if found.unknown:
            print("warning: " + fc.unknown_issuers_text(found.unknown, found.values, "--issuer"), file=sys.stderr)
        issuers = found.values
    return m.Filters(filters.date_from, filters.date_to, states, issuers)


def check_as_of_option(as_of: datetime | None, latest: datetime | None, now: datetime) -> None:
    """`--as-of` checked as the pages check `?as_of=`: an error (a time in the future, or one the export cannot
    answer) stops the command with exit 2; a warning is printed and the command goes on."""
    from . import filtercheck as fc

    if as_of is None:
        return
    verdict = fc.check_as_of(as_of, latest, now, config.stale_after_hours(), "--as-of")
    if verdict.error:
        raise BadInput(verdict.error)
    if verdict.warning:
        print(f"warning: {verdict.warning}", file=sys.stderr)


def open_request(args: argparse.Namespace) -> m.Request:
    """The view the flags name, on a prepared export: problems and warnings said on standard error, bad
    input raised as BadInput (exit 2). `report` and `briefing` share it, so they compute the same view."""
    from . import metrics as m
    from . import progress
    from .engine import Engine
    from .problems import ExportError

    data_dir = resolve_data_dir(args.data)
    try:
        filters = m.Filters(
            args.date_from,
            args.date_to,
            tuple(args.states) if args.states else None,
            tuple(args.issuers) if args.issuers else None,
        )
    except m.FilterError as exc:
        raise BadInput(str(exc)) from None
    try:
        bar = progress.step_bar(args.progress)
    except progress.ProgressSettingError as exc:
        raise BadInput(str(exc)) from None
    try:
        engine = Engine.configured(data_dir, progress=bar)
    except (ExportError, config.SettingError) as exc:
        raise BadInput(str(exc)) from None
    finally:
        if bar is not None:
            bar.close()
    if engine.errors:
        raise BadInput(
            f"the export in {data_dir} cannot be reported on ({len(engine.errors)} problem(s)):\n"
            + "\n".join(f"- {p.located(data_dir)}" for p in engine.errors)
        )
    for problem in engine.warnings:
        print(str(problem.located(data_dir)), file=sys.stderr)
    for row in m.future_timestamps(engine):
        print(
            f"Warning in table {row['table_name']}, column {row['column_name']}: {row['row_count']} row(s) carry "
            f"timestamps later than now (latest {row['latest']}); the default as-of time ignores them.",
            file=sys.stderr,
        )
    scope = scope_for(args.as_user)
    filters = checked_filters(engine, filters, scope)
    now = m.utc_now()
    latest = m.latest_event(engine, now)
    check_as_of_option(args.as_of, latest, now)
    as_of = args.as_of or (latest if latest is not None else now)
    return m.Request(engine, as_of, filters, scope)


def run_report(args: argparse.Namespace) -> int:
    from .report import build_report

    query = open_request(args)
    json.dump(build_report(query, args.window_days, args.its_days), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def run_briefing(args: argparse.Namespace) -> int:
    from . import briefing

    if args.out is None and not args.email_to:
        raise BadInput("give --out FILE.pdf (or .html), --email-to RECIPIENT, or both")
    if args.email_to and args.as_user:
        raise BadInput("--as-user and --email-to do not go together: each recipient gets a briefing of their own scope")
    fmt = args.out.suffix.lower().lstrip(".") if args.out is not None else "pdf"
    if args.out is not None:
        if fmt not in ("pdf", "html"):
            raise BadInput(f"--out {args.out}: a briefing is written as a .pdf or .html file")
        if not args.out.parent.is_dir():
            raise BadInput(f"--out {args.out}: the directory {args.out.parent} does not exist")
    mail = mail_plan(args.email_to) if args.email_to else None  # every recipient checked before any work
    try:
        briefing.chromium_path()
    except briefing.BriefingError as exc:
        raise BadInput(str(exc)) from None
    query = open_request(args)

    def made(q: m.Request, reader: str | None, kind: str) -> bytes:
        try:
            return briefing.render(
                briefing.gather(q, window_days=args.window_days, its_days=args.its_days, reader=reader), kind
            )
        except briefing.BriefingError as exc:
            raise BadInput(str(exc)) from None

    if args.out is not None:
        content = made(query, args.as_user, fmt)
        try:
            args.out.write_bytes(content)
        except OSError as exc:
            raise BadInput(f"--out {args.out}: cannot be written ({exc.strerror})") from None
        print(f"Wrote the briefing as of {query.as_of:%Y-%m-%d %H:%M} UTC to {args.out}", file=sys.stderr)
    if mail is None:
        return 0
    from . import delivery
    from . import metrics as m

    settings, recipients = mail
    failed = 0
    for email, scope in recipients:
        theirs = m.Request(query.engine, query.as_of, query.filters, scope)
        pdf = made(theirs, email, "pdf")
        subject, text = briefing.mail_text(theirs, email)
        try:
            delivery.send_mail(
                settings,
                email,
                subject,
                text,
                [(f"briefing_asof_{query.as_of:%Y-%m-%dT%H%M}Z.pdf", pdf, "application/pdf")],
            )
        except delivery.DeliveryError as exc:
            failed += 1
            print(f"error: the briefing was not e-mailed to {email}: {exc}", file=sys.stderr)
            continue
        print(f"E-mailed the briefing to {email}", file=sys.stderr)
    return 1 if failed else 0


def run_alerts(args: argparse.Namespace) -> int:
    """Rules, roles, SMTP settings and the state file all checked before the export is read or anything is
    sent (exit 2 naming what is wrong); then every rule within each audience's scope (dashboard/alerts.py)."""
    from urllib.parse import urlsplit

    from . import access, alerts, delivery
    from . import metrics as m
    from .briefing import issuer_names
    from .engine import Engine
    from .problems import ExportError

    try:
        roles = access.load_roles()
    except access.RolesError as exc:
        raise BadInput(str(exc)) from None
    try:
        rules = alerts.load_rules(args.rules, roles)
    except alerts.RulesError as exc:
        raise BadInput(str(exc)) from None
    if args.base_url is not None:
        parts = urlsplit(args.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise BadInput(f"--base-url {args.base_url!r} is not an http(s) address of the dashboard")
    smtp = None
    if not args.dry_run and any(r.channel == "email" for r in rules):
        try:
            smtp = delivery.smtp_settings()
        except delivery.DeliverySettingError as exc:
            raise BadInput(f"the rules e-mail, but {exc}") from None
    state_path = args.state_file or args.rules.with_name(args.rules.stem + ".state.json")
    if not state_path.parent.is_dir():
        raise BadInput(f"--state {state_path}: the directory {state_path.parent} does not exist")
    lock = alerts.Lock(state_path)
    try:
        if not args.dry_run:  # a dry run only reads the state: it never holds up the scheduled run
            lock.__enter__()
    except alerts.StateError as exc:
        raise BadInput(str(exc)) from None
    try:
        try:
            state = alerts.State(state_path)
        except alerts.StateError as exc:
            raise BadInput(str(exc)) from None
        data_dir = resolve_data_dir(args.data)
        problems, engine = [], None
        try:
            engine = Engine.configured(data_dir)
        except ExportError as exc:
            problems = list(exc.problems)
        except config.SettingError as exc:
            raise BadInput(str(exc)) from None
        if engine is not None and engine.errors:
            problems = list(engine.errors)
            engine = None
        now = m.utc_now()
        latest = m.latest_event(engine, now) if engine is not None else None
        check_as_of_option(args.as_of, latest, now)
        as_of = args.as_of or latest or now
        judged_at = args.as_of or now
        day = (args.as_of or now).date()  # the day an alert fires: the clock's, or the replayed day's
        contexts: dict[tuple[str, ...] | None, alerts.Context] = {}

        def context(scope: m.Scope) -> alerts.Context:
            if scope.issuers not in contexts:
                request = m.Request(engine, as_of, m.Filters(), scope) if engine is not None else None
                mine = alerts.problem_texts(problems, scope, data_dir)
                contexts[scope.issuers] = alerts.Context(
                    request,
                    judged_at,
                    config.stale_after_hours(),
                    problems=mine,
                    names=issuer_names(request) if request is not None else {},
                )
            return contexts[scope.issuers]

        gave_up = [] if args.dry_run else state.prune(day)
        if not args.dry_run:
            for entry in gave_up:
                print(
                    f"error: a delivery of rule {entry['rule']!r} to {entry['recipient']} has failed since "
                    f"{entry['failed_at']} and is given up after {alerts.STATE_KEEP_DAYS} days: {entry['subject']}",
                    file=sys.stderr,
                )
            try:
                state.save()  # writable before anything is sent, or nothing is
            except alerts.StateError as exc:
                raise BadInput(str(exc)) from None
        try:
            outcome = alerts.run(
                rules,
                context,
                state,
                as_of=as_of,
                as_of_given=args.as_of is not None,
                base_url=args.base_url,
                day=day,
                smtp=smtp,
                now=now,
                dry_run=args.dry_run,
                say=lambda text: print(text, file=sys.stdout if args.dry_run else sys.stderr),
            )
        except alerts.StateError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    finally:
        if not args.dry_run:
            lock.__exit__(None, None, None)
    if args.dry_run:
        print(
            f"Alerts as of {as_of:%Y-%m-%d %H:%M} UTC (dry run, nothing sent or recorded): "
            f"{outcome.would_send} message(s) would be sent",
            file=sys.stderr,
        )
        return outcome.exit_code
    print(
        f"Alerts as of {as_of:%Y-%m-%d %H:%M} UTC: {outcome.sent} sent, {outcome.already} already sent, "
        f"{outcome.failed} failed (retried next run)"
        + (f", {outcome.waiting} waiting in a failed delivery" if outcome.waiting else "")
        + (f", {outcome.not_evaluated} rule(s) not evaluated" if outcome.not_evaluated else ""),
        file=sys.stderr,
    )
    return 1 if gave_up else outcome.exit_code


def mail_plan(entries: list[str]) -> tuple[object, list[tuple[str, m.Scope]]]:
    """(SMTP settings, [(address, scope)]) for --email-to: role:<role> expanded to the roles file's users with
    that role; every address must be in the roles file with a role that may read records. Any problem is
    BadInput before anything is computed or sent."""
    from . import access, delivery

    try:
        settings = delivery.smtp_settings()
    except delivery.DeliverySettingError as exc:
        raise BadInput(f"--email-to: {exc}") from None
    try:
        roles = access.load_roles()
    except access.RolesError as exc:
        raise BadInput(str(exc)) from None
    try:
        plan = access.recipient_scopes(entries, roles)
    except access.RecipientError as exc:
        raise BadInput(f"--email-to {exc}") from None
    return settings, plan


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "report":
            return run_report(args)
        if args.command == "briefing":
            return run_briefing(args)
        if args.command == "alerts":
            return run_alerts(args)
        if args.command == "generate":
            return run_generate(args)
        if args.command == "ingest-x12":
            return run_ingest_x12(args)
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # a defect of ours: say so in one paragraph, traceback on request
        if os.environ.get("DASHBOARD_DEBUG"):
            raise
        print(
            f"internal error ({type(exc).__name__}: {exc}). This is a defect of the dashboard, not of "
            "the export; run again with DASHBOARD_DEBUG=1 for the traceback and report it.",
            file=sys.stderr,
        )
        return 1
    return 1
