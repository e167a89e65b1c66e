"""The morning briefing (docs/briefing.md): a PDF whose numbers are `report`'s for the same arguments,
in the order the issue gives, holding only the reader's issuers; read back with pypdf, as a reader's
PDF viewer would, not through our own code."""

import json
import math
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from datetime import datetime, timedelta

import pyarrow.parquet as pq
import pytest
from helpers import REPO
from pypdf import PdfReader

from dashboard import demo
from dashboard import metrics as m
from dashboard.engine import Engine

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None and not os.environ.get("CI"), reason="the briefing needs Debian's chromium"
)

AS_OF = "2013-12-10T12:00:00Z"  # nine days after the 834 fix of Dec 1: releases in the last 14 days


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dashboard", *args], cwd=REPO, capture_output=True, text=True, env=env, timeout=300
    )


def pdf_text(path) -> tuple[str, int]:
    """The PDF's text as pypdf extracts it, ligatures undone (NFKC), one line per line; and its page count."""
    reader = PdfReader(path)
    text = "\n".join(page.extract_text() for page in reader.pages)
    return unicodedata.normalize("NFKC", text), len(reader.pages)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("briefing")
    export = root / "export"
    demo.generate(export, 3000, progress=False)
    directory = m.issuer_directory(Engine(export))
    nc = demo.nc_payment_link_issuer(demo.build_issuers(demo.DEFAULT_SEED))
    mine = next(r for r in directory if r["issuer_id"] == nc.issuer_id)
    others = [r for r in directory if r["issuer_id"] != mine["issuer_id"]]
    roles = root / "roles.toml"
    roles.write_text(
        f'[[users]]\nemail = "am@issuer.example"\nrole = "account_manager"\nissuers = ["{mine["issuer_id"]}"]\n'
    )
    return root, export, roles, mine, others


@pytest.fixture(scope="module")
def national(world):
    """The report and the briefing of the same view, with no scope."""
    root, export, _, _, _ = world
    done = run("report", "--data", str(export), "--as-of", AS_OF)
    assert done.returncode == 0, done.stderr
    out = root / "briefing.pdf"
    made = run("briefing", "--data", str(export), "--as-of", AS_OF, "--out", str(out))
    assert made.returncode == 0, made.stderr
    text, pages = pdf_text(out)
    return json.loads(done.stdout), text, pages


def lines(text: str) -> list[str]:
    return [re.sub(r"\s+", " ", line).strip() for line in text.splitlines()]


def count(n: int) -> str:
    return f"{n:,}"


def test_the_sections_come_in_the_issues_order_on_2_to_4_pages(national):
    _, text, pages = national
    headings = [
        "1. Coverage deadline",
        "2. Current numbers, and their change in a week",
        "3. What changed",
        "4. Issuers outside the funnel-plot limits",
        "5. Backlog aging and the oldest waits",
        "6. Canaries",
        "7. Data freshness and validation",
    ]
    positions = [text.index(h) for h in headings]
    assert positions == sorted(positions)
    assert 2 <= pages <= 4


def test_every_page_carries_the_as_of_time_and_the_filters(national, world):
    root = world[0]
    reader = PdfReader(root / "briefing.pdf")
    for page in reader.pages:
        first = page.extract_text().splitlines()[0]
        assert "as of 2013-12-10T12:00:00Z" in first and "states: all" in first and "issuers: all" in first


def test_the_coverage_deadlines_are_the_reports(national):
    report, text, _ = national
    rows = lines(text)
    assert report["coverage_deadlines"]
    for r in report["coverage_deadlines"]:
        # the table's row: dates, days left, counts with thousands separators, pace to 0.1, projection rounded
        projected = math.floor(r["projected_unpaid"] + 0.5)
        expected = (
            f"{r['coverage_start']} {r['due_date']} {r['days_left']} {count(r['selected'])} {count(r['paid'])} "
            f"{count(r['effectuated'])} {count(r['unpaid'])} {r['pace']:,.1f} {count(projected)}"
        )
        assert expected in rows, expected


def test_the_current_numbers_are_the_reports(national):
    report, text, _ = national
    rows = lines(text)
    funnel = {s["stage"]: s["count"] for s in report["funnel"]}

    def row(label: str, value: str) -> bool:
        return any(line.startswith(f"{label} {value} ") for line in rows)

    assert row("Applications", count(funnel["applied"]))
    assert row("Plans selected", count(funnel["plan_selected"]))
    assert row("Effectuated", count(funnel["effectuated"]))
    assert row("Effectuation rate", f"{funnel['effectuated'] / funnel['plan_selected']:.1%}")
    assert row("834 error rate, last 7 days", f"{report['errors_recent']['rate']:.1%}")
    assert row("Never sent", count(report["never_sent"]["count"]))
    assert row("Backlog", count(sum(b["count"] for b in report["backlog"])))
    assert row("At risk", count(report["at_risk"]))
    assert row("Think they are covered, are not", count(report["past_due"]))


def test_the_week_earlier_column_is_the_report_a_week_earlier(national, world):
    _, export, _, _, _ = world
    before = run("report", "--data", str(export), "--as-of", "2013-12-03T12:00:00Z")
    earlier = json.loads(before.stdout)
    report, text, _ = national
    rows = lines(text)
    now, then = report["at_risk"], earlier["at_risk"]
    change = "±0" if now == then else f"{now - then:+,}"  # no change is neither up nor down
    assert f"At risk {count(now)} {count(then)} {change}" in rows


def test_the_backlog_table_is_the_reports(national):
    report, text, _ = national
    rows = lines(text)
    labels = {
        "awaiting_834": "Awaiting 834",
        "awaiting_ack": "Awaiting acknowledgement",
        "awaiting_payment_page": "Awaiting payment page",
        "awaiting_payment": "Awaiting binder payment",
        "awaiting_effectuation": "Awaiting effectuation",
    }
    for stage, label in labels.items():
        cells = [b["count"] for b in report["backlog"] if b["stage"] == stage]  # buckets ascending
        expected = f"{label} " + " ".join(count(c) for c in cells) + f" {count(sum(cells))} "
        assert any(line.startswith(expected) for line in rows), expected


def test_the_releases_of_the_last_14_days_with_their_verdicts(national):
    report, text, _ = national
    as_of = datetime.fromisoformat(AS_OF)
    recent = [f for f in report["fix_impact"] if datetime.fromisoformat(f["deployed_at"]) > as_of - timedelta(days=14)]
    older = [f for f in report["fix_impact"] if f not in recent]
    assert recent and older
    flat = re.sub(r"\s+", " ", text)
    for f in recent:
        assert re.search(rf"{re.escape(f['release_id'])} \(deployed .*? on the [^:]*: {f['its']['verdict']}", flat)
    section = flat[flat.index("3. What changed") : flat.index("4. Issuers outside")]
    for f in older:  # an older release is on the chart's markers, but not among the recent verdicts
        assert f"{f['release_id']} (deployed" not in section


def test_the_issuers_outside_the_limits_are_the_reports(national):
    report, text, _ = national
    section = text[text.index("4. Issuers outside") : text.index("5. Backlog aging")]
    flagged = {
        i["issuer_id"]
        for measure in ("effectuation", "error_834")
        for i in report["issuer_comparison"][measure]["issuers"]
        if i["flag"] != "within"
    }
    assert flagged
    listed = set(re.findall(r"\((\d{5})\)", section))  # 'Name (id)' in the tables
    assert listed == flagged


def test_the_canaries_are_the_reports(national):
    report, text, _ = national
    stuck = [c for c in report["canaries"] if c["stuck"]]
    assert f"{len(stuck)} of {len(report['canaries'])} canaries stuck" in text
    longest = sorted(stuck, key=lambda c: (c["entered_at"], c["enrollment_id"]))[:10]
    for c in longest:
        assert c["enrollment_id"] in text


def test_an_account_managers_briefing_holds_only_their_issuers(world):
    root, export, roles, mine, others = world
    env = dict(os.environ, DASHBOARD_ROLES_FILE=str(roles))
    out = root / "am.pdf"
    done = run(
        "briefing",
        "--data",
        str(export),
        "--as-of",
        AS_OF,
        "--as-user",
        "am@issuer.example",
        "--out",
        str(out),
        env=env,
    )
    assert done.returncode == 0, done.stderr
    text, _ = pdf_text(out)
    assert mine["issuer_id"] in text
    found = []
    for r in others:
        if re.search(rf"(?<![0-9]){re.escape(r['issuer_id'])}(?![0-9])", text):
            found.append(r["issuer_id"])
        if r["issuer_name"] and r["issuer_name"] in text:
            found.append(r["issuer_name"])
    assert found == []
    assert "your access does not cover" in text  # the funnel plots compare issuers: not for them
    # and their numbers are their report's
    report = json.loads(
        run("report", "--data", str(export), "--as-of", AS_OF, "--as-user", "am@issuer.example", env=env).stdout
    )
    assert any(line.startswith(f"At risk {report['at_risk']:,} ") for line in lines(text))


def test_an_html_briefing_is_one_self_contained_file(world):
    root, export, _, _, _ = world
    out = root / "briefing.html"
    done = run("briefing", "--data", str(export), "--as-of", AS_OF, "--out", str(out))
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    assert page.startswith("<!doctype html>") and "1. Coverage deadline" in page
    assert "data:image/svg+xml;base64," in page
    assert not re.search(r"""(src|href)=["'](?!data:)""", page)  # nothing to fetch: it can be mailed as is


def test_an_account_managers_briefing_gives_no_whole_export_row_counts(world):
    """The freshness table's row counts count every issuer's records (the Health page hides them too)."""
    root, export, roles, _, _ = world
    env = dict(os.environ, DASHBOARD_ROLES_FILE=str(roles))
    sections = {}
    for who in ("all", "am@issuer.example"):  # the whole view (no --as-user), and an account manager
        out = root / f"fresh-{who.split('@')[0]}.html"
        args = ("briefing", "--data", str(export), "--as-of", AS_OF, "--out", str(out))
        done = run(*args, *(("--as-user", who) if who != "all" else ()), env=env)
        assert done.returncode == 0, done.stderr
        sections[who] = out.read_text().split("<h2>7. Data freshness and validation</h2>")[1]
    enrollments = sum(pq.read_metadata(f).num_rows for f in (export / "enrollments").glob("*.parquet"))
    assert ">Rows<" in sections["all"] and f"{enrollments:,}" in sections["all"]
    assert ">Rows<" not in sections["am@issuer.example"] and f"{enrollments:,}" not in sections["am@issuer.example"]
    assert ">Newest event<" in sections["am@issuer.example"]  # the freshness itself is still there


@pytest.mark.parametrize(
    ("out", "env", "needle"),
    [
        ("briefing.docx", {}, "a briefing is written as a .pdf or .html file"),
        ("no-such-dir/briefing.pdf", {}, "does not exist"),
        ("briefing.pdf", {"DASHBOARD_CHROMIUM": "/nonexistent/chromium"}, "DASHBOARD_CHROMIUM=/nonexistent/chromium"),
    ],
)
def test_bad_input_is_named_with_exit_2(world, out, env, needle):
    root, export, _, _, _ = world
    target = root / "bad" / out
    (root / "bad").mkdir(exist_ok=True)
    done = run("briefing", "--data", str(export), "--out", str(target), env=dict(os.environ, **env))
    assert done.returncode == 2
    assert needle in done.stderr and "Traceback" not in done.stderr
    assert not target.exists()


def test_an_emailed_briefing_gives_each_recipient_their_own_scope(world):
    """--email-to role:account_manager and a leader: a real SMTP server (aiosmtpd) receives one message each,
    with the PDF attached; the account manager's PDF holds only their issuer, the leader's every issuer."""
    from alertkit import Inbox, LocalSmtp

    root, export, _, mine, others = world
    roles = root / "mail-roles.toml"
    roles.write_text(
        f'[[users]]\nemail = "am@issuer.example"\nrole = "account_manager"\nissuers = ["{mine["issuer_id"]}"]\n\n'
        '[[users]]\nemail = "lead@cms.example"\nrole = "leadership"\n\n'
        '[[users]]\nemail = "tv@ops.example"\nrole = "standup"\n'
    )
    inbox = Inbox()
    smtp = LocalSmtp(inbox)
    smtp.start()
    try:
        env = dict(
            os.environ,
            DASHBOARD_ROLES_FILE=str(roles),
            DASHBOARD_SMTP_HOST="127.0.0.1",
            DASHBOARD_SMTP_PORT=str(smtp.port),
            DASHBOARD_SMTP_STARTTLS="0",
            DASHBOARD_SMTP_FROM="dashboard@ops.example",
        )
        done = run(
            "briefing", "--data", str(export), "--as-of", AS_OF, "--email-to", "role:account_manager",
            "lead@cms.example", env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        texts = {}
        for address in ("am@issuer.example", "lead@cms.example"):
            [message] = inbox.to(address)
            assert message["Subject"] == "Enrollment back end: the briefing as of 2013-12-10 12:00 UTC"
            [attachment] = list(message.iter_attachments())
            assert attachment.get_content_type() == "application/pdf"
            path = root / f"mailed-{address}.pdf"
            path.write_bytes(attachment.get_content())
            texts[address], _ = pdf_text(path)
        assert "for am@issuer.example (your issuers only)" in texts["am@issuer.example"]
        leaked = [r["issuer_id"] for r in others if f"({r['issuer_id']})" in texts["am@issuer.example"]]
        assert leaked == [] and f"({mine['issuer_id']})" in texts["am@issuer.example"]
        assert any(f"({r['issuer_id']})" in texts["lead@cms.example"] for r in others)
        # the stand-up account and an address the roles file does not list are refused before anything is sent
        before = len(inbox.messages)
        for who, needle in (("tv@ops.example", "stand-up screen only"), ("x@else.example", "no entry in the roles")):
            refused = run("briefing", "--data", str(export), "--email-to", "lead@cms.example", who, env=env)
            assert refused.returncode == 2 and needle in refused.stderr
        assert len(inbox.messages) == before
    finally:
        smtp.stop()
