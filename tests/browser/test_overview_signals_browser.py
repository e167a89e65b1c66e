"""The Overview's coverage deadline panel and funnel plots in a real browser, and the stand-up screen's
countdown on a 1920x1080 TV without scrolling; screenshots saved (docs/screenshots/ holds copies)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dashboard import demo
from tests.browser.browserkit import SCREENSHOTS, Server, open_page, wait_for_charts

PANEL = ".st-key-deadline_panel"
FUNNEL_PLOTS = (".st-key-overview_funnel_effectuation", ".st-key-overview_funnel_error_834")


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("signals-browser") / "export"
    demo.generate(root, 20_000, progress=False)
    server = Server(root)
    yield server
    server.stop()


def main_scroll(page) -> tuple[int, int]:
    """(scrollHeight, clientHeight) of the page's scrolling main area."""
    return tuple(
        page.evaluate(
            "() => { const m = document.querySelector('[data-testid=\"stMain\"]'); "
            "return [m.scrollHeight, m.clientHeight]; }"
        )
    )


def no_error(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0


@pytest.mark.parametrize("width,height", [(1366, 900), (1600, 1000), (1920, 1080)])
def test_the_overview_leads_with_the_deadline_panel_and_draws_the_funnel_plots(browser, demo_server, width, height):
    page = open_page(browser, f"{demo_server.url}/", width=width, height=height)
    try:
        no_error(page)
        panel = page.locator(PANEL)
        assert panel.count() == 1
        # each of the panel's sentences is drawn on its own: under load the lead came after the rest (CI)
        for words in ("coverage:", "chose a plan", "unpaid"):
            expect(panel).to_contain_text(words, timeout=30_000)
        panel.locator('[data-testid="stDataFrame"]').wait_for(timeout=30_000)  # the table of every start
        # the panel comes first: above the tiles, within the first screen
        box = panel.bounding_box()
        tiles = page.locator('[data-testid="stMetric"]').first.bounding_box()
        assert box["y"] + box["height"] <= tiles["y"]
        assert box["y"] < height
        for selector in FUNNEL_PLOTS:
            plot = page.locator(selector)
            plot.scroll_into_view_if_needed()
            plot.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
            assert plot.bounding_box()["width"] > 0.6 * (width - 400)  # one to a row, not squeezed
        # the page does not scroll sideways
        assert page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollWidth") <= width
        SCREENSHOTS.mkdir(exist_ok=True)
        if (width, height) == (1600, 1000):
            page.locator(PANEL).scroll_into_view_if_needed()
            page.locator(PANEL).screenshot(path=str(SCREENSHOTS / "deadline-panel.png"))
            # the whole page in one picture (docs/screenshots/overview.png is a copy)
            page.set_viewport_size({"width": width, "height": main_scroll(page)[0] + 40})
            page.wait_for_timeout(2500)
            page.screenshot(path=str(SCREENSHOTS / "overview-full.png"))
    finally:
        page.close()


@pytest.mark.parametrize("as_of", [None, "2013-12-02T00:00:00", "2014-03-05T00:00:00", "2013-09-01T00:00:00"])
def test_the_standup_countdown_fits_the_tv_without_scrolling(browser, demo_server, as_of):
    url = f"{demo_server.url}/standup" + (f"?as_of={as_of}" if as_of else "")
    page = open_page(browser, url, width=1920, height=1080)
    try:
        no_error(page)
        countdown = page.locator(".kiosk-countdown")
        assert countdown.count() == 1
        assert "coverage" in countdown.inner_text().lower()
        box = countdown.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 1080
        assert box["height"] < 110  # one line of large type
        if as_of != "2013-09-01T00:00:00":
            wait_for_charts(page, 2, timeout_ms=30_000)
        scroll, client = main_scroll(page)
        assert scroll <= client <= 1080, (scroll, client)
        # the last thing on the screen (the refresh caption) is on it
        caption = page.get_by_text("Refreshes every", exact=False).bounding_box()
        assert caption["y"] + caption["height"] <= 1080
        if as_of is None:
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "standup-countdown.png"))
    finally:
        page.close()
