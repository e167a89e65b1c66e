"""Alerts (docs/alerts.md): each rule type on literal rows with hand-computed answers; then the command on
a literal export with a real SMTP server (aiosmtpd) and a real HTTP server for the webhooks: sent once,
a failed delivery retried, an account manager's scope, a malformed rules file refused whole."""

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest
from alertkit import Inbox, LocalSmtp, Webhook, free_port
from exportkit import enrollment, outbound, ts, write_export
from helpers import REPO

from dashboard import alerts, delivery
from dashboard import metrics as m

AS_OF = datetime(2013, 12, 10, 12, 0)
EVERYONE = m.Scope()


def rule(kind: str, **options) -> alerts.Rule:
    """A rule as load_rules makes it, its options defaulted as the rules file's would be."""
    defaults = {
        "control_chart_signal": {
            "metrics": ("error_834",),
            "per": "overall",
            "issuers": None,
            "kinds": alerts.WORSE_SIGNALS,
            "within_days": 3,
            "min_units": 1,
        },
        "never_sent_above": {},
        "past_due_rising": {"min_increase": 1},
        "canary_stuck": {},
        "release_worse": {"within_days": 14},
        "stale_export": {},
    }[kind]
    return alerts.Rule(
        f"{kind} rule", kind, "webhook", webhook_scope=("all", m.Scope()), options={**defaults, **options}
    )


def context(memo: dict, *, scope=EVERYONE, names=None, problems=(), readable=True, now=AS_OF) -> alerts.Context:
    """A context whose metric results are the literal rows given (`memo`), as the metric layer returns them."""
    request = m.Request(None, AS_OF, m.Filters(), scope) if readable else None
    names = names if names is not None else {"10001": "Test Mutual (10001)", "10002": "Other Care (10002)"}
    return alerts.Context(request, now, 36.0, problems=list(problems), names=names, memo=dict(memo))


def chart(rates: list[tuple[int, int]], centre: float, ucl: float, signals: dict[int, str]) -> list[dict]:
    """A control chart from Dec 1: (n, x) per day, a fixed centre and upper limit, the signals by day of month."""
    days = []
    for i, (n, x) in enumerate(rates):
        day = date(2013, 12, 1) + timedelta(days=i)
        days.append(
            {
                "date": day,
                "n": n,
                "x": x,
                "rate": x / n,
                "mature": True,
                "phase": "R-1",
                "centre": centre,
                "lcl": 0.0,
                "ucl": ucl,
                "signal": signals.get(day.day),
            }
        )
    return days


# ---------------------------------------------------------------------------- rule types, literal rows


def test_control_chart_signal_fires_on_a_recent_point_above_the_upper_limit():
    # Dec 1-8 at 10% (10 of 100); Dec 8 at 30 of 100 above the upper limit 20%: 2 days before the as-of day
    rows = chart([(100, 10)] * 7 + [(100, 30)], centre=0.10, ucl=0.20, signals={8: "above"})
    [firing] = alerts.evaluate(rule("control_chart_signal"), context({("control_charts", None): {"error_834": rows}}))
    assert firing.subject == "error_834|all|above|2013-12-08"
    assert firing.text == (
        "834 error rate: Dec 8: above the upper limit. On Dec 8: 30.0% of 100 834s "
        "(centre line 10.0%, upper limit 20.0%)."
    )
    assert firing.page == "errors" and firing.params == ()


def test_control_chart_signal_ignores_old_runs_better_signals_and_too_few_units():
    old = chart([(100, 30)] + [(100, 10)] * 7, centre=0.10, ucl=0.20, signals={1: "above"})  # Dec 1: 9 days ago
    below = chart([(100, 10)] * 7 + [(100, 0)], centre=0.10, ucl=0.20, signals={8: "below"})  # better, not worse
    small = chart([(100, 10)] * 7 + [(4, 3)], centre=0.10, ucl=0.20, signals={8: "above"})  # 4 units that day
    for rows, options in ((old, {}), (below, {}), (small, {"min_units": 5})):
        ctx = context({("control_charts", None): {"error_834": rows}})
        assert alerts.evaluate(rule("control_chart_signal", **options), ctx) == []
    # asked for, the better direction fires too
    ctx = context({("control_charts", None): {"error_834": below}})
    assert len(alerts.evaluate(rule("control_chart_signal", kinds=("below",)), ctx)) == 1


def test_control_chart_signal_per_issuer_names_the_issuer_and_stays_in_scope():
    up = chart([(100, 10)] * 7 + [(100, 30)], centre=0.10, ucl=0.20, signals={8: "above"})
    memo = {("control_charts", "10001"): {"error_834": up}, ("control_charts", "10002"): {"error_834": up}}
    every = alerts.evaluate(rule("control_chart_signal", per="issuer"), context(memo))
    assert [f.subject for f in every] == ["error_834|10001|above|2013-12-08", "error_834|10002|above|2013-12-08"]
    assert every[0].text.startswith("834 error rate for Test Mutual (10001): Dec 8")
    assert every[0].params == (("issuer", "10001"),)
    # an account manager of 10001: the context's names are their issuers only, so 10002 is never looked at
    mine = context(memo, scope=m.Scope(("10001",)), names={"10001": "Test Mutual (10001)"})
    assert [f.subject for f in alerts.evaluate(rule("control_chart_signal", per="issuer"), mine)] == [
        "error_834|10001|above|2013-12-08"
    ]


def test_never_sent_fires_only_above_the_count():
    row = {"count": 101, "share": 0.0505, "eligible": 2000}
    [firing] = alerts.evaluate(rule("never_sent_above", count=100), context({"never_sent": row}))
    assert firing.subject == "never_sent"
    assert firing.text.startswith(
        "101 plan selections have no 834 sent (never sent), above the rule's 100; 5.1% of 2,000"
    )
    assert alerts.evaluate(rule("never_sent_above", count=101), context({"never_sent": row})) == []


def test_past_due_fires_when_it_rose_since_the_day_before():
    def fired(today, yesterday, **options):
        memo = {"past_due": {"past_due": today, "at_risk": 0}, "past_due_yesterday": {"past_due": yesterday}}
        return alerts.evaluate(rule("past_due_rising", **options), context(memo))

    [firing] = fired(12, 10)
    assert "rose from 10 to 12 (+2)" in firing.text and firing.page == "backlog"
    assert fired(10, 10) == [] and fired(9, 10) == []
    assert fired(12, 10, min_increase=3) == []


def test_each_stuck_canary_is_its_own_alert():
    rows = [
        {
            "enrollment_id": "TEST-1",
            "issuer_id": "10001",
            "stage": "sent_834",
            "entered_at": ts("2013-12-01 08:30"),
            "stuck": True,
        },
        {
            "enrollment_id": "TEST-2",
            "issuer_id": "10002",
            "stage": "effectuated",
            "entered_at": ts("2013-12-02 08:30"),
            "stuck": False,
        },
        {
            "enrollment_id": "TEST-3",
            "issuer_id": "10002",
            "stage": "paid",
            "entered_at": ts("2013-12-03 09:00"),
            "stuck": True,
        },
    ]
    firings = alerts.evaluate(rule("canary_stuck"), context({"canaries": rows}))
    assert [f.subject for f in firings] == ["canary|TEST-1", "canary|TEST-3"]
    assert firings[0].text == "Canary TEST-1 (Test Mutual (10001)) is stuck at sent_834 since 2013-12-01 08:30 UTC."


def fix(release_id: str, deployed: datetime, verdict: str, issuer=None) -> dict:
    return {
        "release_id": release_id,
        "deployed_at": deployed,
        "issuer_id": issuer,
        "overlapping_releases": [],
        "its": {
            "metric": "error_834",
            "method": "its",
            "verdict": verdict,
            "rate_before": 0.05,
            "rate_after": 0.09,
            "odds_ratio": 1.8,
            "ci_low": 1.3,
            "ci_high": 2.5,
            "p_value": 0.0004,
            "periods_before": 14,
            "periods_after": 14,
            "units_before": 2000,
            "units_after": 2100,
            "comparison": None,
        },
    }


def test_a_release_judged_worse_within_the_window_fires():
    rows = [
        fix("R-worse", datetime(2013, 12, 5, 6), "worse", issuer="10001"),
        fix("R-old-worse", datetime(2013, 11, 20, 6), "worse"),  # 20 days before the as-of time
        fix("R-better", datetime(2013, 12, 6, 6), "improved"),
    ]
    [firing] = alerts.evaluate(rule("release_worse"), context({"fix_impact": rows}))
    assert firing.subject == "release|R-worse" and firing.params == (("issuer", "10001"),)
    assert "R-worse" in firing.text and "worse" in firing.text and "odds ratio 1.80" in firing.text
    assert "**" not in firing.text and ":red[" not in firing.text  # the page's markdown made plain
    assert len(alerts.evaluate(rule("release_worse", within_days=30), context({"fix_impact": rows}))) == 2


def test_stale_tables_and_a_broken_export_fire():
    rows = [
        {"table_name": "enrollments", "row_count": 10, "latest_event_at": AS_OF - timedelta(hours=2)},
        {"table_name": "transactions_834", "row_count": 10, "latest_event_at": AS_OF - timedelta(hours=40)},
        {"table_name": "payments", "row_count": 0, "latest_event_at": None},
    ]
    firings = alerts.evaluate(rule("stale_export"), context({"freshness": rows}))
    assert [f.subject for f in firings] == ["stale|transactions_834", "stale|payments"]
    assert "40 hours old (stale after 36 hours)" in firings[0].text
    assert firings[1].text == "Table payments has no event at all (0 rows)."
    broken = context({}, readable=False, problems=["table payments, file exp/payments/part-0.parquet: not parquet"])
    [firing] = alerts.evaluate(rule("stale_export"), broken)
    assert firing.subject == "export|problems" and "not parquet" in firing.text
    with pytest.raises(alerts.NotEvaluated):
        alerts.evaluate(rule("never_sent_above", count=0), broken)


# ----------------------------------------------------------------------- sent once, failed then retried


def run_once(rules, ctx, state, **kwargs):
    said = []
    outcome = alerts.run(
        rules,
        lambda scope: ctx,
        state,
        as_of=kwargs.pop("as_of", AS_OF),
        as_of_given=True,
        base_url="https://dash.example.gov/",
        now=AS_OF,
        say=said.append,
    )
    return outcome, said


def test_an_alert_is_sent_once_a_day_and_a_failed_delivery_is_retried(tmp_path):
    rows = {"never_sent": {"count": 7, "share": 0.07, "eligible": 100}}
    with Webhook() as hook:
        hooked = alerts.Rule(
            "never sent",
            "never_sent_above",
            "webhook",
            webhook_url=hook.url,
            webhook_scope=("all", m.Scope()),
            options={"count": 5},
        )
        state = alerts.State(tmp_path / "state.json")
        hook.fail_next = 1  # the chat service is down
        outcome, said = run_once([hooked], context(rows), state)
        assert (outcome.sent, outcome.failed, outcome.exit_code) == (0, 1, 1)
        assert "HTTP 500" in said[0] and "retried next run" in said[0] and "secret-token" not in said[0]
        assert hook.received == []
        saved = json.loads((tmp_path / "state.json").read_text())
        assert saved["sent"] == {} and len(saved["pending"]) == 1  # kept, to be sent as it is
        # the next run (a new State read from disk, as cron's next run would) delivers it
        outcome, _ = run_once([hooked], context(rows), alerts.State(tmp_path / "state.json"))
        assert (outcome.sent, outcome.failed, outcome.exit_code) == (1, 0, 0)
        [payload] = hook.received
        assert payload["type"] == "application/json" and payload["path"] == "/hooks/secret-token"
        assert payload["text"].startswith("Alert: never sent: 7 plan selections have no 834 sent")
        assert payload["alerts"] == [
            {
                "rule": "never sent",
                "subject": "never_sent",
                "text": "7 plan selections have no 834 sent (never sent), above the rule's 5; "
                "7.0% of 100 that should have one.",
                "link": "https://dash.example.gov/errors?as_of=2013-12-10T12%3A00%3A00Z",
            }
        ]
        # already sent: a run 15 minutes later sends nothing
        outcome, _ = run_once([hooked], context(rows), alerts.State(tmp_path / "state.json"))
        assert (outcome.sent, outcome.already) == (0, 1) and len(hook.received) == 1
        # the next day it still holds: sent again, once
        outcome, _ = run_once(
            [hooked], context(rows), alerts.State(tmp_path / "state.json"), as_of=AS_OF + timedelta(days=1)
        )
        assert outcome.sent == 1 and len(hook.received) == 2
    saved = json.loads((tmp_path / "state.json").read_text())
    assert sorted(json.loads(k)[2] for k in saved["sent"]) == ["2013-12-10", "2013-12-11"]


def test_a_failed_delivery_is_sent_next_run_even_when_its_condition_has_cleared(tmp_path):
    stuck = {
        "enrollment_id": "TEST-1",
        "issuer_id": "10001",
        "stage": "paid",
        "entered_at": ts("2013-12-01 08:00"),
        "stuck": True,
    }
    with Webhook() as hook:
        hooked = alerts.Rule(
            "canaries", "canary_stuck", "webhook", webhook_url=hook.url, webhook_scope=("all", m.Scope())
        )
        hook.fail_next = 1
        outcome, _ = run_once([hooked], context({"canaries": [stuck]}), alerts.State(tmp_path / "state.json"))
        assert outcome.failed == 1 and hook.received == []
        # 15 minutes later the canary has moved on: the alert that failed is still sent, as it was
        moved = {**stuck, "stuck": False, "stage": "effectuated"}
        outcome, said = run_once([hooked], context({"canaries": [moved]}), alerts.State(tmp_path / "state.json"))
        assert (outcome.sent, outcome.failed, outcome.exit_code) == (1, 0, 0)
        [payload] = hook.received
        assert [a["subject"] for a in payload["alerts"]] == ["canary|TEST-1"]
        assert "is stuck at paid since 2013-12-01 08:00 UTC" in payload["text"]
        saved = json.loads((tmp_path / "state.json").read_text())
        assert saved["pending"] == {} and len(saved["sent"]) == 1
        # and not again
        outcome, _ = run_once([hooked], context({"canaries": [stuck]}), alerts.State(tmp_path / "state.json"))
        assert (outcome.sent, outcome.already) == (0, 1) and len(hook.received) == 1


def test_a_delivery_that_fails_in_an_unexpected_way_is_kept_too(tmp_path):
    rows = {"never_sent": {"count": 7, "share": 0.07, "eligible": 100}}
    broken = alerts.Rule(
        "never sent",
        "never_sent_above",
        "webhook",
        webhook_url="http://127.0.0.1:1/hooks/x y",  # load_rules refuses it; here it reaches the sender
        webhook_scope=("all", m.Scope()),
        options={"count": 5},
    )
    outcome, said = run_once([broken], context(rows), alerts.State(tmp_path / "state.json"))
    assert outcome.failed == 1 and "/hooks/x y" not in said[0]
    assert len(json.loads((tmp_path / "state.json").read_text())["pending"]) == 1


def test_a_new_subject_of_a_rule_already_sent_is_sent_alone(tmp_path):
    stuck = {
        "enrollment_id": "TEST-1",
        "issuer_id": "10001",
        "stage": "paid",
        "entered_at": ts("2013-12-01 08:00"),
        "stuck": True,
    }
    with Webhook() as hook:
        hooked = alerts.Rule(
            "canaries", "canary_stuck", "webhook", webhook_url=hook.url, webhook_scope=("all", m.Scope())
        )
        state = alerts.State(tmp_path / "state.json")
        run_once([hooked], context({"canaries": [stuck]}), state)
        second = {**stuck, "enrollment_id": "TEST-2"}
        outcome, _ = run_once([hooked], context({"canaries": [stuck, second]}), state)
        assert (outcome.sent, outcome.already) == (1, 1)
        assert [a["subject"] for a in hook.received[1]["alerts"]] == ["canary|TEST-2"]


def test_an_unreadable_state_file_is_named_and_left_alone(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("{ half a file")
    with pytest.raises(alerts.StateError, match="state.json cannot be read"):
        alerts.State(path)
    assert path.read_text() == "{ half a file"


# ------------------------------------------------------------------------------ the command, end to end


def cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dashboard", "alerts", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture
def world(tmp_path):
    """A literal export of two issuers: as of Jan 1 2014 12:00, issuer 10001 has three plan selections of
    Nov 1 with no 834 (never sent 3 of the 4 eligible) and one with its 834 (awaiting its acknowledgement);
    all 4 are unpaid for Jan 1 coverage, so past due 4, and 0 a day earlier, when the Dec 31 due date had
    not passed; each issuer has one canary stuck since Nov 1."""
    rows = [enrollment(f"E{i}") for i in range(1, 5)]
    rows += [enrollment("TEST-A", is_test=True), enrollment("TEST-B", is_test=True, issuer_id="10002", state="VA")]
    export = write_export(
        tmp_path / "export",
        enrollments=rows,
        transactions=[outbound("T4", "E4", "2013-11-01 11:00")],
        issuers=[["10001", "Test Mutual", "NC"], ["10002", "Other Care", "VA"]],
    )
    roles = tmp_path / "roles.toml"
    roles.write_text(
        '[[users]]\nemail = "lead@cms.example"\nrole = "leadership"\n'
        '[[users]]\nemail = "am@issuer.example"\nrole = "account_manager"\nissuers = ["10001"]\n'
        '[[users]]\nemail = "tv@ops.example"\nrole = "standup"\n'
    )
    inbox = Inbox()
    smtp = LocalSmtp(inbox)
    smtp.start()
    env = dict(
        os.environ,
        DASHBOARD_ROLES_FILE=str(roles),
        DASHBOARD_PREPARED_DIR=str(tmp_path / "prepared"),
        DASHBOARD_SMTP_HOST="127.0.0.1",
        DASHBOARD_SMTP_PORT=str(smtp.port),
        DASHBOARD_SMTP_STARTTLS="0",
        DASHBOARD_SMTP_FROM="dashboard@cms.example",
    )
    with Webhook() as hook:
        yield tmp_path, export, env, inbox, hook
    smtp.stop()


def write_rules(path, hook_url: str, *extra: str) -> None:
    path.write_text(
        "\n".join(
            [
                '[[rule]]\nname = "never sent"\ntype = "never_sent_above"\ncount = 2\n'
                'recipients = ["role:leadership", "am@issuer.example"]',
                '[[rule]]\nname = "past due"\ntype = "past_due_rising"\nrecipients = ["lead@cms.example"]',
                '[[rule]]\nname = "canaries"\ntype = "canary_stuck"\nrecipients = ["role:leadership", "role:account_manager"]',
                f'[[rule]]\nname = "canaries to chat"\ntype = "canary_stuck"\nchannel = "webhook"\n'
                f'webhook_url = "{hook_url}"\nscope = "am@issuer.example"',
                *extra,
            ]
        )
    )


def test_the_command_sends_each_recipient_what_their_scope_allows_once(world):
    root, export, env, inbox, hook = world
    rules = root / "alerts.toml"
    write_rules(rules, hook.url)
    args = (
        "--rules",
        str(rules),
        "--data",
        str(export),
        "--as-of",
        "2014-01-01T12:00:00Z",
        "--base-url",
        "https://dash.example.gov",
    )
    done = cli(*args, env=env)
    assert done.returncode == 0, done.stderr
    assert "6 sent, 0 already sent, 0 failed" in done.stderr
    [lead_canary, lead_never, lead_past] = sorted(inbox.to("lead@cms.example"), key=lambda e: e["Subject"])
    # the numbers by hand (the fixture's docstring); the same as `report` for the same as-of time
    assert (
        lead_never["Subject"]
        == "Alert: never sent: 3 plan selections have no 834 sent (never sent), above the rule's 2; 75.0% of 4 that should have one."
    )
    assert "rose from 0 to 4 (+4)" in lead_past.get_content()
    assert "https://dash.example.gov/backlog?as_of=2014-01-01T12%3A00%3A00Z" in lead_past.get_content()
    assert "TEST-A" in lead_canary.get_content() and "TEST-B" in lead_canary.get_content()
    report = json.loads(
        subprocess.run(
            [sys.executable, "-m", "dashboard", "report", "--data", str(export), "--as-of", "2014-01-01T12:00:00Z"],
            cwd=REPO,
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout
    )
    assert (report["never_sent"]["count"], report["never_sent"]["eligible"], report["past_due"]) == (3, 4, 4)
    # the account manager of 10001: never the other issuer's canary or name, in mail or in their chat
    am = inbox.to("am@issuer.example")
    assert len(am) == 2
    for text in [e.get_content() for e in am] + [hook.received[0]["text"]]:
        assert "TEST-B" not in text and "10002" not in text and "Other Care" not in text
    assert "TEST-A" in hook.received[0]["text"] and "issuers 10001 (your access)" in hook.received[0]["text"]
    # cron's next run: nothing twice
    again = cli(*args, env=env)
    assert again.returncode == 0 and "0 sent, 7 already sent" in again.stderr
    assert len(inbox.messages) == 5 and len(hook.received) == 1


def test_a_failed_mail_is_named_exits_1_and_the_rest_is_sent(world):
    root, export, env, inbox, hook = world
    rules = root / "alerts.toml"
    write_rules(rules, hook.url)
    down = dict(env, DASHBOARD_SMTP_PORT=str(free_port()))  # nothing listens there
    done = cli("--rules", str(rules), "--data", str(export), "--as-of", "2014-01-01T12:00:00Z", env=down)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "error: rule 'never sent': not delivered to am@issuer.example" in done.stderr
    assert "1 sent, 0 already sent, 5 failed (retried next run)" in done.stderr
    assert len(hook.received) == 1 and inbox.messages == []
    # the server is back: the mails go, the webhook is not posted again
    done = cli("--rules", str(rules), "--data", str(export), "--as-of", "2014-01-01T12:00:00Z", env=env)
    assert done.returncode == 0 and "5 sent, 7 already sent" in done.stderr  # the 5 kept, then all 7 found sent
    assert len(inbox.messages) == 5 and len(hook.received) == 1


def test_a_broken_export_is_itself_an_alert(world):
    root, export, env, inbox, hook = world
    (export / "payments" / "part-0.parquet").write_bytes(b"not parquet at all")
    rules = root / "alerts.toml"
    write_rules(
        rules,
        hook.url,
        f'[[rule]]\nname = "export"\ntype = "stale_export"\nchannel = "webhook"\nwebhook_url = "{hook.url}"\nscope = "all"',
    )
    done = cli("--rules", str(rules), "--data", str(export), "--as-of", "2014-01-01T12:00:00Z", env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "rule 'never sent' was not evaluated" in done.stderr
    [payload] = hook.received
    assert payload["alerts"][0]["subject"] == "export|problems" and "payments" in payload["text"]


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        (
            '[[rule]]\nname = "x"\ntype = "never_sent_above"\ncount = 1\nrecipients = ["a@b.c"]\ncolour = "red"',
            "rule 'x': unknown key 'colour'",
        ),
        (
            '[[rule]]\nname = "x"\ntype = "never_sent_above"\nrecipients = ["lead@cms.example"]',
            "rule 'x': key 'count' is missing",
        ),
        (
            '[[rule]]\nname = "x"\ntype = "never_sent_above"\ncount = "ten"\nrecipients = ["lead@cms.example"]',
            "rule 'x': key 'count' is 'ten'",
        ),
        (
            '[[rule]]\nname = "x"\ntype = "error_spike"\nrecipients = ["lead@cms.example"]',
            "rule 'x': key 'type' is 'error_spike'",
        ),
        ('[[rule]]\nname = "x"\ntype = "canary_stuck"', "rule 'x': key 'recipients' must be a list"),
        (
            '[[rule]]\nname = "x"\ntype = "canary_stuck"\nrecipients = ["nobody@else.example"]',
            "rule 'x': key 'recipients': nobody@else.example: nobody@else.example has no entry",
        ),
        ('[[rule]]\nname = "x"\ntype = "canary_stuck"\nrecipients = ["tv@ops.example"]', "stand-up screen only"),
        (
            '[[rule]]\nname = "x"\ntype = "canary_stuck"\nchannel = "webhook"\nwebhook_url = "http://127.0.0.1:1/h"',
            "rule 'x': key 'scope' is missing",
        ),
        (
            '[[rule]]\nname = "x"\ntype = "canary_stuck"\nchannel = "webhook"\nwebhook_url = "ftp://h/x"\nscope = "all"',
            "rule 'x': key 'webhook_url': 'ftp://h/x' is not an http(s) URL",
        ),
        (
            '[[rule]]\nname = "x"\ntype = "canary_stuck"\nchannel = "webhook"\nwebhook_url_env = "NO_SUCH_HOOK"\nscope = "all"',
            "the environment variable 'NO_SUCH_HOOK' is not set",
        ),
        (
            '[[rule]]\nname = "x"\ntype = "canary_stuck"\nrecipients = ["lead@cms.example"]\npassword = "hunter2"',
            "rule 'x': unknown key 'password'",
        ),
        ('[[rule]]\ntype = "canary_stuck"', "rule 6: key 'name' is missing"),
        (
            '[[rule]]\nname = "canaries"\ntype = "canary_stuck"\nrecipients = ["lead@cms.example"]',
            "rule 'canaries': key 'name': another rule",
        ),
        ("[[rule]\nname = 1", "not valid TOML"),
        ('[[rule]]\nname = "x"\ntype = []\nrecipients = ["lead@cms.example"]', "rule 'x': key 'type' is []"),
        (
            '[[rule]]\nname = "x"\ntype = "control_chart_signal"\nmetrics = [["error_834"]]\nrecipients = ["lead@cms.example"]',
            "rule 'x': key 'metrics' must be a list of",
        ),
        (
            '[[rule]]\nname = "x"\ntype = "control_chart_signal"\nkinds = [{a = 1}]\nrecipients = ["lead@cms.example"]',
            "rule 'x': key 'kinds' must be a list of",
        ),
        (
            '[[rule]]\nname = "x"\ntype = "canary_stuck"\nchannel = "webhook"\nwebhook_url = "http://[::1/x"\nscope = "all"',
            "rule 'x': key 'webhook_url': 'http://[::1/x' is not an http(s) URL",
        ),
        (
            '[[rule]]\nname = "x"\ntype = "canary_stuck"\nchannel = "webhook"\nwebhook_url = "http://h/a b"\nscope = "all"',
            "rule 'x': key 'webhook_url'",
        ),
        (
            '[[rule]]\nname = "x\\ny"\ntype = "canary_stuck"\nrecipients = ["lead@cms.example"]',
            "key 'name' holds a line break",
        ),
        (
            '[[rule]]\nname = "x"\ntype = "release_worse"\nwithin_days = 9999999999\nrecipients = ["lead@cms.example"]',
            "rule 'x': key 'within_days' is 9999999999, more than 3650",
        ),
        (
            '[[rule]]\nname = "x"\ntype = "canary_stuck"\nchannel = "webhook"\nwebhook_url = "http://h/a"\nscope = "role:leadership"',
            "rule 'x': key 'scope': give \"all\" or one address",
        ),
    ],
)
def test_a_malformed_rules_file_names_the_rule_and_key_and_nothing_is_sent(world, bad, needle):
    root, export, env, inbox, hook = world
    rules = root / "alerts.toml"
    write_rules(
        rules, hook.url, '[[rule]]\nname = "fine"\ntype = "canary_stuck"\nrecipients = ["lead@cms.example"]', bad
    )
    done = cli("--rules", str(rules), "--data", str(export), "--as-of", "2014-01-01T12:00:00Z", env=env)
    assert done.returncode == 2, done.stderr
    assert needle in done.stderr and "Traceback" not in done.stderr
    assert inbox.messages == [] and hook.received == []
    assert not (root / "alerts.state.json").exists()


def test_dry_run_prints_and_neither_sends_nor_records(world):
    root, export, env, inbox, hook = world
    rules = root / "alerts.toml"
    write_rules(rules, hook.url)
    done = cli("--rules", str(rules), "--data", str(export), "--as-of", "2014-01-01T12:00:00Z", "--dry-run", env=env)
    assert done.returncode == 0, done.stderr
    assert "would send to am@issuer.example" in done.stdout and "would send to webhook:am@issuer.example" in done.stdout
    assert "(dry run, nothing sent or recorded): 6 message(s) would be sent" in done.stderr
    assert inbox.messages == [] and hook.received == [] and not (root / "alerts.state.json").exists()


# ------------------------------------------------------------------------------------- SMTP settings


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({}, "no SMTP server: set DASHBOARD_SMTP_HOST"),
        ({"DASHBOARD_SMTP_HOST": "mail"}, "no sender address: set DASHBOARD_SMTP_FROM"),
        (
            {"DASHBOARD_SMTP_HOST": "mail", "DASHBOARD_SMTP_FROM": "d@x.gov", "DASHBOARD_SMTP_PORT": "smtp"},
            "DASHBOARD_SMTP_PORT",
        ),
        (
            {"DASHBOARD_SMTP_HOST": "mail", "DASHBOARD_SMTP_FROM": "d@x.gov", "DASHBOARD_SMTP_STARTTLS": "maybe"},
            "give 1 or 0",
        ),
        (
            {"DASHBOARD_SMTP_HOST": "mail", "DASHBOARD_SMTP_FROM": "d@x.gov", "DASHBOARD_SMTP_USER": "u"},
            "give both DASHBOARD_SMTP_USER",
        ),
    ],
)
def test_smtp_settings_name_what_is_missing(monkeypatch, tmp_path, env, needle):
    for key in list(os.environ):
        if key.startswith("DASHBOARD_SMTP_"):
            monkeypatch.delenv(key)
    monkeypatch.setattr(delivery, "secrets_path", lambda: tmp_path / "no-secrets.toml")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(delivery.DeliverySettingError, match=needle):
        delivery.smtp_settings()


def test_smtp_settings_read_the_secrets_file_and_the_environment_wins(monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith("DASHBOARD_SMTP_"):
            monkeypatch.delenv(key)
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        '[smtp]\nhost = "mail.cms.example"\nport = 2525\nfrom = "d@cms.example"\nuser = "u"\npassword = "p"\n'
    )
    monkeypatch.setattr(delivery, "secrets_path", lambda: secrets)
    monkeypatch.setenv("DASHBOARD_SMTP_PORT", "465")
    assert delivery.smtp_settings() == delivery.SmtpSettings("mail.cms.example", 465, True, "u", "p", "d@cms.example")


def test_the_documented_example_rules_file_loads(tmp_path):
    from dashboard import access

    roles = tmp_path / "roles.toml"
    roles.write_text(
        '[[users]]\nemail = "lead@cms.example"\nrole = "leadership"\n'
        '[[users]]\nemail = "am@issuer.example"\nrole = "account_manager"\nissuers = ["10001"]\n'
    )
    rules = alerts.load_rules(
        REPO / "docs" / "alerts.example.toml",
        access.load_roles(roles),
        environ={"ALERTS_OPS_WEBHOOK": "https://hooks.example.com/T0/B0/x"},
    )
    assert sorted({r.type for r in rules}) == sorted(alerts.RULE_KEYS)  # one of each type, as the docs say
    never = next(r for r in rules if r.type == "never_sent_above")
    assert [who for who, _ in never.recipients] == ["lead@cms.example", "am@issuer.example"]
    assert never.recipients[1][1] == m.Scope(("10001",))


def test_two_runs_on_one_state_file_do_not_overlap(tmp_path):
    with alerts.Lock(tmp_path / "state.json"), pytest.raises(alerts.StateError, match="another alerts run holds"):
        alerts.Lock(tmp_path / "state.json").__enter__()
    with alerts.Lock(tmp_path / "state.json"):  # released: the next run takes it
        pass


def test_a_rule_that_fails_is_named_and_the_other_rules_still_run(tmp_path):
    rows = {"never_sent": {"count": 7, "share": 0.07, "eligible": 100}, "canaries": "not rows"}  # canaries break
    with Webhook() as hook:
        everyone = ("all", m.Scope())
        broken = alerts.Rule("canaries", "canary_stuck", "webhook", webhook_url=hook.url, webhook_scope=everyone)
        fine = alerts.Rule(
            "never", "never_sent_above", "webhook", webhook_url=hook.url, webhook_scope=everyone, options={"count": 5}
        )
        outcome, said = run_once([broken, fine], context(rows), alerts.State(tmp_path / "state.json"))
    assert (outcome.not_evaluated, outcome.sent, outcome.exit_code) == (1, 1, 1)
    assert said[0].startswith("error: rule 'canaries' was not evaluated for all: internal error (TypeError")
    assert [p["alerts"][0]["subject"] for p in hook.received] == ["never_sent"]


def test_an_account_manager_hears_of_a_broken_or_stale_export_without_other_issuers_values(world):
    root, export, env, inbox, hook = world
    rules = root / "alerts.toml"
    rules.write_text(
        '[[rule]]\nname = "export"\ntype = "stale_export"\nrecipients = ["lead@cms.example", "am@issuer.example"]\n'
    )
    args = ("--rules", str(rules), "--data", str(export), "--as-of", "2013-11-03T12:00:00Z")
    done = cli(*args, env=env)
    assert done.returncode == 0, done.stderr
    [lead], [am] = inbox.to("lead@cms.example"), inbox.to("am@issuer.example")
    # payments has no row at all: the whole export's row count is for a reader of every issuer only
    assert "Table payments has no event at all (0 rows)." in lead.get_content()
    assert "Table payments has no event at all." in am.get_content()
    # issuers.csv lists 10002 twice: the export cannot be read; its example value is the other issuer's
    (export / "issuers.csv").write_text(
        "issuer_id,issuer_name,state\n10001,Test Mutual,NC\n10002,Other Care,VA\n10002,Other Care,VA\n"
    )
    done = cli(*args, env=env)
    lead_text = inbox.to("lead@cms.example")[-1].get_content()
    am_text = inbox.to("am@issuer.example")[-1].get_content()
    assert "The export cannot be read" in lead_text and "10002" in lead_text
    assert "The export cannot be read" in am_text and "10002" not in am_text and "issuers" in am_text
    # a file that cannot be read: named by the server's path for the marketplace's readers, from the export
    # folder for the issuer's (who has no business knowing where the server keeps it)
    (export / "issuers.csv").write_text("issuer_id,issuer_name,state\n10001,Test Mutual,NC\n10002,Other Care,VA\n")
    (export / "payments" / "zz-torn.parquet").write_bytes(b"PAR1 not really")
    done = cli(*args[:-1], "2013-11-04T12:00:00Z", env=env)  # the next day: sent again while it holds
    assert done.returncode == 0, done.stderr
    lead_text = inbox.to("lead@cms.example")[-1].get_content()
    am_text = inbox.to("am@issuer.example")[-1].get_content()
    assert f"file {export}/payments/zz-torn.parquet" in lead_text
    assert str(export) not in am_text and f"file {export.name}/payments/zz-torn.parquet" in am_text


def test_a_state_file_that_cannot_be_written_stops_the_run_before_anything_is_sent(world):
    root, export, env, inbox, hook = world
    rules = root / "alerts.toml"
    write_rules(rules, hook.url)
    (root / "alerts.state.json.tmp").mkdir()  # as a full disk or a read-only directory would
    done = cli("--rules", str(rules), "--data", str(export), "--as-of", "2014-01-01T12:00:00Z", env=env)
    assert done.returncode == 2 and "alerts.state.json cannot be written" in done.stderr
    assert inbox.messages == [] and hook.received == []


def test_dry_run_after_a_run_shows_only_what_is_new_and_does_not_block_the_scheduled_run(world):
    root, export, env, inbox, hook = world
    rules = root / "alerts.toml"
    write_rules(rules, hook.url)
    args = ("--rules", str(rules), "--data", str(export), "--as-of", "2014-01-01T12:00:00Z")
    assert cli(*args, env=env).returncode == 0
    done = cli(*args, "--dry-run", env=env)
    assert done.returncode == 0 and "0 message(s) would be sent" in done.stderr
    with alerts.Lock(root / "alerts.state.json"):  # a scheduled run in progress
        assert cli(*args, "--dry-run", env=env).returncode == 0
        held = cli(*args, env=env)
        assert held.returncode == 2 and "another alerts run holds" in held.stderr


def stale_export_rule(root, hook):
    """A rules file with one stale_export rule posting to the test webhook, for everyone."""
    rules = root / "alerts.toml"
    rules.write_text(
        f'[[rule]]\nname = "export"\ntype = "stale_export"\nchannel = "webhook"\nwebhook_url = "{hook.url}"\n'
        'scope = "all"\n'
    )
    return rules


def test_without_as_of_an_alert_fires_on_the_clocks_day_and_a_far_as_of_is_refused(world):
    root, export, env, inbox, hook = world
    rules = stale_export_rule(root, hook)
    done = cli("--rules", str(rules), "--data", str(export), env=env)
    assert done.returncode == 0, done.stderr
    saved = json.loads((root / "alerts.state.json").read_text())
    assert {json.loads(k)[2] for k in saved["sent"]} == {m.utc_now().date().isoformat()}  # not the data's 2013
    far = cli("--rules", str(rules), "--data", str(export), "--as-of", "2099-01-01", env=env)
    assert far.returncode == 2 and "--as-of" in far.stderr
    assert json.loads((root / "alerts.state.json").read_text()) == saved  # nothing pruned or sent


def test_per_issuer_signals_on_the_demo_export_stay_within_an_account_managers_issuers(tmp_path):
    """The real narrowing (roles file -> scope -> the issuers looked at), on the demo export: every
    signal of every kind in ten years, for a leader and for the account manager of one issuer."""
    from dashboard import demo
    from dashboard.engine import Engine

    export = tmp_path / "export"
    demo.generate(export, 3000, progress=False)
    directory = m.issuer_directory(Engine(export))
    env = dict(
        os.environ, DASHBOARD_ROLES_FILE=str(tmp_path / "roles.toml"), DASHBOARD_PREPARED_DIR=str(tmp_path / "p")
    )

    def found(text: str) -> set[str]:
        return {r["issuer_id"] for r in directory if f"({r['issuer_id']})" in text}

    def heard(who: str, mine: str) -> str:
        (tmp_path / "roles.toml").write_text(
            '[[users]]\nemail = "lead@cms.example"\nrole = "leadership"\n'
            f'[[users]]\nemail = "am@issuer.example"\nrole = "account_manager"\nissuers = ["{mine}"]\n'
        )
        rules = tmp_path / "alerts.toml"
        rules.write_text(
            '[[rule]]\nname = "signals"\ntype = "control_chart_signal"\nper = "issuer"\nwithin_days = 3650\n'
            f'kinds = ["above", "below", "shift_up", "shift_down"]\nrecipients = ["{who}"]\n'
            f'[[rule]]\nname = "canaries"\ntype = "canary_stuck"\nrecipients = ["{who}"]\n'
        )
        done = cli("--rules", str(rules), "--data", str(export), "--as-of", "2014-01-31", "--dry-run", env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout

    lead = found(heard("lead@cms.example", directory[0]["issuer_id"]))
    assert len(lead) > 10  # the leader hears of many issuers
    mine = sorted(lead)[len(lead) // 2]
    assert found(heard("am@issuer.example", mine)) == {mine}


STUCK_B = {
    "enrollment_id": "TEST-B",
    "issuer_id": "10002",
    "stage": "paid",
    "entered_at": ts("2013-12-01 08:00"),
    "stuck": True,
}


def canary_hook(url: str, scope_name: str, scope: m.Scope) -> alerts.Rule:
    return alerts.Rule("canaries", "canary_stuck", "webhook", webhook_url=url, webhook_scope=(scope_name, scope))


def test_a_kept_delivery_goes_only_to_the_same_recipient_with_the_same_access(tmp_path):
    with Webhook() as hook:
        hook.fail_next = 1
        everyone = canary_hook(hook.url, "all", m.Scope())
        run_once([everyone], context({"canaries": [STUCK_B]}), alerts.State(tmp_path / "state.json"))
        # the operator gives the channel to the account manager of 10001: 10002's canary must not reach it
        theirs = canary_hook(hook.url, "am@issuer.example", m.Scope(("10001",)))
        mine = context({"canaries": []}, scope=m.Scope(("10001",)), names={"10001": "Test Mutual (10001)"})
        outcome, said = run_once([theirs], mine, alerts.State(tmp_path / "state.json"))
        assert hook.received == [] and outcome.sent == 0
        assert "dropped: the rules file no longer has that rule with that channel, recipient and access" in said[0]
        assert json.loads((tmp_path / "state.json").read_text())["pending"] == {}


def test_an_alert_that_holds_for_days_while_delivery_fails_is_kept_once_and_sent_once(tmp_path):
    with Webhook() as hook:
        rule_ = canary_hook(hook.url, "all", m.Scope())
        hook.fail_next = 3
        for days in range(3):  # three days of outage, the canary stuck all along
            outcome, _ = run_once(
                [rule_],
                context({"canaries": [STUCK_B]}),
                alerts.State(tmp_path / "state.json"),
                as_of=AS_OF + timedelta(days=days),
            )
            assert outcome.failed == 1
        assert len(json.loads((tmp_path / "state.json").read_text())["pending"]) == 1
        outcome, _ = run_once(
            [rule_],
            context({"canaries": [STUCK_B]}),
            alerts.State(tmp_path / "state.json"),
            as_of=AS_OF + timedelta(days=3),
        )
        # the kept message goes, and today's (a new day) too: two, not four
        assert outcome.sent == 2 and len(hook.received) == 2


def test_a_delivery_failing_for_35_days_is_given_up_loudly(tmp_path):
    state = alerts.State(tmp_path / "state.json")
    key = alerts.State.key("canaries", "canary|TEST-B", date(2013, 11, 1), "webhook:all")
    state.hold(
        {
            "rule": "canaries",
            "channel": "webhook",
            "recipient": "webhook:all",
            "to": "all",
            "scope": None,
            "subject": "Alert: canaries",
            "text": "t",
            "payload": {"text": "t"},
            "keys": [key],
            "failed_at": "2013-11-01T12:00:00Z",
        }
    )
    [gone] = alerts.State(tmp_path / "state.json").prune(date(2013, 12, 10))
    assert gone["subject"] == "Alert: canaries"
    assert alerts.State(tmp_path / "state.json").prune(date(2013, 12, 5)) == []  # 34 days: still kept


@pytest.mark.parametrize(
    "content",
    [
        '{"sent": {"not a key": {}}}',
        '{"sent": {}, "pending": {"x": ["a list"]}}',
        '{"sent": {}, "pending": {"x": {"rule": "r"}}}',
    ],
)
def test_a_state_file_not_of_this_program_is_named(tmp_path, content):
    path = tmp_path / "state.json"
    path.write_text(content)
    with pytest.raises(alerts.StateError, match="is not this program's"):
        alerts.State(path)


def test_a_line_break_in_an_issuers_name_does_not_reach_the_subject_line():
    names = {"10002": "Other\r\nBcc: x@evil.example (10002)"}
    [firing] = alerts.evaluate(rule("canary_stuck"), context({"canaries": [STUCK_B]}, names=names))
    subject, _ = alerts.message(rule("canary_stuck"), "all", m.Scope(), [(firing, None)], AS_OF)
    assert "\r" not in subject and "\n" not in subject


def test_a_future_as_of_is_refused_even_when_the_export_cannot_be_read(world):
    root, export, env, inbox, hook = world
    rules = stale_export_rule(root, hook)
    done = cli("--rules", str(rules), "--data", str(root / "nope"), "--as-of", "2099-01-01", env=env)
    assert done.returncode == 2 and "is after the current time" in done.stderr
    assert hook.received == []
