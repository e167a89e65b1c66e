"""Twenty sessions at once, different users and scopes, on one export: each sees its own numbers.

Identity comes through a trusted proxy header (server.trustedUserHeaders), as it would behind a
reverse proxy; the twenty browser pages are opened together, not one after another.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dashboard import demo
from dashboard import metrics as m
from dashboard.engine import Engine
from tests.browser.browserkit import Server

HEADER = "X-Test-Email"


@pytest.fixture(scope="module")
def crowd(tmp_path_factory):
    root = tmp_path_factory.mktemp("crowd")
    export = root / "export"
    demo.generate(export, 8000, progress=False)
    engine = Engine(export)
    directory = m.issuer_directory(engine)
    by_size = sorted(
        m.funnel(m.Request(engine, m.default_as_of(engine))).by_issuer.items(), key=lambda kv: -kv[1][0]["count"]
    )
    users = []
    lines = []
    for i, (issuer, _) in enumerate(by_size[:15]):
        email = f"am{i}@issuer.example"
        users.append((email, (issuer,)))
        lines.append(f'[[users]]\nemail = "{email}"\nrole = "account_manager"\nissuers = ["{issuer}"]\n')
    for i in range(5):
        email = f"lead{i}@cms.example"
        users.append((email, None))
        lines.append(f'[[users]]\nemail = "{email}"\nrole = "leadership"\n')
    roles = root / "roles.toml"
    roles.write_text("\n".join(lines))
    latest = m.default_as_of(engine)
    expected = {
        email: m.funnel(m.Request(engine, latest, scope=m.Scope(issuers=scope))).total[0]["count"]
        for email, scope in users
    }
    names = {r["issuer_id"]: r["issuer_name"] for r in directory}
    server = Server(
        export,
        extra_env={"DASHBOARD_ROLES_FILE": str(roles), "DASHBOARD_DEMO_MODE": "0"},
        extra_args=["--server.trustedUserHeaders", json.dumps({HEADER: "email"})],
    )
    yield server, users, expected, names
    server.stop()


def test_twenty_sessions_at_once_each_correct_and_scoped(browser, crowd):
    server, users, expected, names = crowd
    contexts, pages = [], []
    for email, _ in users:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.goto(
            server.url_as(HEADER, email) + "/", wait_until="commit", timeout=120_000
        )  # all twenty start before any is read
        contexts.append(context)
        pages.append(page)
    try:
        done = '[data-testid="stApp"][data-test-script-state="notRunning"]'
        for (email, scope), page in zip(users, pages, strict=True):
            page.wait_for_selector('[data-testid="stMetricValue"]', timeout=180_000)
            page.wait_for_selector(done, timeout=180_000)
            assert page.locator('[data-testid="stException"]').count() == 0, email
            applications = page.locator('[data-testid="stMetric"]').filter(has_text="Applications")
            # read until it settles: under load a metric may be drawn before the script's last element
            expect(applications.locator('[data-testid="stMetricValue"]').first).to_have_text(
                f"{expected[email]:,}", timeout=60_000
            )
            text = page.locator("body").inner_text()
            assert "Demo mode" not in text
            if scope:
                others = [n for i, n in names.items() if i not in scope and n]
                assert not [n for n in others if n in text], email
    finally:
        for context in contexts:
            context.close()


def test_an_unknown_user_behind_the_proxy_is_denied(browser, crowd):
    server, _, _, _ = crowd
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(server.url_as(HEADER, "stranger@example.org") + "/", timeout=120_000)
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=120_000)
        assert page.get_by_text("no access", exact=False).count() > 0
        assert page.locator('[data-testid="stMetric"]').count() == 0
    finally:
        context.close()


def test_a_request_that_bypasses_the_proxy_is_refused_without_a_traceback(browser, crowd):
    """No header at all (someone reached Streamlit's port directly) and no secrets.toml: the page says
    so; it used to show a StreamlitSecretNotFoundError traceback."""
    server, _, _, _ = crowd
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(server.url + "/", timeout=120_000)
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=120_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.get_by_text("no access to this dashboard (not signed in)", exact=False).count() > 0
        assert page.locator('[data-testid="stMetric"]').count() == 0
    finally:
        context.close()


def test_an_account_managers_downloads_hold_only_their_issuer(browser, crowd):
    server, users, _, names = crowd
    email, scope = users[0]
    context = browser.new_context(viewport={"width": 1400, "height": 1200}, accept_downloads=True)
    page = context.new_page()
    try:
        for path in ("backlog", "funnel"):
            page.goto(f"{server.url_as(HEADER, email)}/{path}", timeout=120_000)
            page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=180_000)
            if path == "backlog":  # the whole backlog: the deadline tabs may be empty for one issuer
                page.get_by_role("tab", name="Oldest").click()
            # the visible one: the other tabs' buttons are in the page but hidden
            button = page.locator(
                '[data-testid="stDownloadButton"] button:not([disabled]):visible', has_text="(CSV)"
            ).first
            with page.expect_download(timeout=60_000) as download:
                button.click()
            content = Path(download.value.path()).read_text(encoding="utf-8")
            assert content.startswith("enrollment_id,issuer_id,issuer_name,")  # the header first, no comments
            rows = list(csv.reader(io.StringIO(content)))
            header, body = rows[0], rows[1:]
            assert body and {row[header.index("issuer_id")] for row in body} == set(scope)
            assert not [n for i, n in names.items() if i not in scope and n and n in content]
            assert "subscriber" not in content
    finally:
        context.close()


def test_an_account_managers_briefing_from_the_overview_holds_only_their_issuer(browser, crowd):
    """The Overview's "Download briefing (PDF)": built on the click (in Streamlit's download thread), a PDF
    of this view within the reader's scope: their issuer's id on it, no other issuer's id or name."""
    from pypdf import PdfReader

    server, users, _, names = crowd
    email, scope = users[0]
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(f"{server.url_as(HEADER, email)}/", timeout=120_000)
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=180_000)
        button = page.get_by_role("button", name="Download briefing (PDF)")
        with page.expect_download(timeout=180_000) as download:
            button.click()
        assert download.value.suggested_filename.startswith("briefing_asof_")
        reader = PdfReader(download.value.path())
        text = "\n".join(p.extract_text() for p in reader.pages)
        assert 2 <= len(reader.pages) <= 4
        assert "1. Coverage deadline" in text and f"for {email} (your issuers only)" in text
        assert f"({scope[0]})" in text
        others = [i for i in names if i not in scope]
        assert not [i for i in others if f"({i})" in text or f" {i} " in text]
        assert not [names[i] for i in others if names[i] and names[i] in text]
    finally:
        context.close()
