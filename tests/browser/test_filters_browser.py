"""The shared filters in a real browser: a date typed into the window and Enter applies it; values in the
address that Streamlit would drop (a bare issuer id, a lower-case state, an unknown value) are kept and
named in the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dashboard import demo
from tests.browser.browserkit import SCREENSHOTS, Server, open_page

DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("filters-browser") / "export"
    demo.generate(root, 1000, progress=False)
    running = Server(root)
    yield running
    running.stop()


def test_a_typed_date_applies_on_enter(browser, server):
    page = open_page(browser, server.url + "/")
    box = page.get_by_role("textbox", name="Applications from (YYYY-MM-DD)")
    box.fill("2013-12-01")
    box.press("Enter")
    page.wait_for_url("**/?from=2013-12-01", timeout=30_000)
    page.wait_for_selector(DONE, timeout=60_000)
    # the rerun the address change starts may begin after that wait: read until it shows
    expect(page.locator('[data-testid="stMain"]')).to_contain_text("applications 2013-12-01 to", timeout=60_000)
    page.close()


def test_address_values_are_normalised_or_named(browser, server):
    issuer = demo.build_issuers(demo.DEFAULT_SEED)[0]
    page = open_page(browser, server.url + f"/?state={issuer.state.lower()}&state=ZZ&issuer={issuer.issuer_id}")
    for words in (f"states: {issuer.state}, ZZ", "The state filter ZZ matches no state in the export"):
        expect(page.locator('[data-testid="stMain"]')).to_contain_text(words, timeout=60_000)
    main = page.locator('[data-testid="stMain"]').inner_text()
    assert f"states: {issuer.state}, ZZ" in main and issuer.issuer_id in main.split("issuers:")[1]
    assert "The state filter ZZ matches no state in the export" in main
    # the address now carries the canonical values, so a copied link says what is in force
    assert f"state={issuer.state}&state=ZZ" in page.url and f"%28{issuer.issuer_id}%29" in page.url
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "unknown-filter.png"))
    page.close()
