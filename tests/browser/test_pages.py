"""Every page in a real browser: it runs to the end, draws its charts, shows no error; screenshots saved."""

from __future__ import annotations

import pytest

from dashboard import demo
from dashboard.pages import PAGE_NAMES
from tests.browser.browserkit import SCREENSHOTS, Server, open_page, wait_for_charts

# page -> (minimum Plotly charts drawn, text that must be on the page); every page of the app has one
EXPECTED = {
    "overview": (4, "Coverage deadline"),
    "funnel": (3, "Who dropped out at a stage"),
    "errors": (3, "Did each release lower the error rate?"),
    "backlog": (2, "Work lists"),
    "issuer": (3, "Reconciliation"),
    "standup": (2, "data as of"),
    "health": (0, "Canaries"),
}


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser") / "export"
    demo.generate(root, 20_000, progress=False)
    server = Server(root)
    yield server
    server.stop()


def url_of(server, path: str) -> str:
    return f"{server.url}/" if path == "overview" else f"{server.url}/{path}"  # the default page lives at /


@pytest.mark.parametrize("path", PAGE_NAMES)
def test_page_renders_with_charts_and_no_error(browser, demo_server, path):
    charts, text = EXPECTED[path]
    width, height = (1920, 1080) if path == "standup" else (1600, 2400)
    page = open_page(browser, url_of(demo_server, path), width=width, height=height)
    try:
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0
        assert page.get_by_text("Page not found").count() == 0
        assert page.get_by_text(text, exact=False).count() > 0
        if charts:
            wait_for_charts(page, charts, timeout_ms=30_000)
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{path}.png"))
    finally:
        page.close()


def test_filters_live_in_the_url(browser, demo_server):
    page = open_page(browser, f"{demo_server.url}/funnel?state=NC&as_of=2013-12-15T00:00:00&from=2013-11-01")
    try:
        assert page.get_by_text("states: NC", exact=False).count() > 0
        assert page.get_by_text("2013-12-15T00:00:00Z", exact=False).count() > 0
        assert page.get_by_text("applications 2013-11-01 to", exact=False).count() > 0
    finally:
        page.close()


@pytest.mark.parametrize("path", PAGE_NAMES)
def test_empty_view_says_so(browser, demo_server, path):
    page = open_page(browser, f"{url_of(demo_server, path)}?as_of=2013-09-01T00:00:00")
    try:
        assert page.locator('[data-testid="stException"]').count() == 0
        if path == "overview":
            assert page.get_by_text("No enrollments match these filters", exact=False).count() > 0
            page.screenshot(path=str(SCREENSHOTS / "overview-empty.png"), full_page=True)
    finally:
        page.close()


def test_a_broken_export_is_named_on_the_pages_that_need_it(browser, tmp_path):
    root = tmp_path / "broken"
    demo.generate(root, 2000, progress=False)
    for f in (root / "payments").iterdir():
        f.unlink()
    (root / "payments").rmdir()
    server = Server(root)
    try:
        page = open_page(browser, f"{server.url}/funnel")
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.get_by_text("table payments", exact=False).count() > 0
        page.screenshot(path=str(SCREENSHOTS / "funnel-broken-export.png"), full_page=True)
        page.close()
        page = open_page(browser, f"{server.url}/health")
        assert page.get_by_text("does not exist", exact=False).count() > 0
        page.screenshot(path=str(SCREENSHOTS / "health-broken-export.png"), full_page=True)
        page.close()
    finally:
        server.stop()
