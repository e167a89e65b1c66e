"""The errors page's signals in a real browser: the control chart and the funnel plot draw, with their
legends, and the browser logs no error. Their screenshots, cropped to the chart, go to screenshots/
(docs/screenshots/ holds the copies the docs show)."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from dashboard import demo
from tests.browser.browserkit import SCREENSHOTS, Server, wait_for_charts

CONTROL_CHART_LEGEND = (
    "834 error rate",
    "centre line (the phase's rate)",
    "control limits (normal day-to-day variation)",
)
FUNNEL_PLOT_LEGEND = ("all issuers in view", "95% limits", "99.8% limits", "within the limits")


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("signals-browser") / "export"
    demo.generate(root, 20_000, progress=False)  # the size of the other browser tests' screenshots
    server = Server(root)
    yield server
    server.stop()


def streamlit_own_miss(message, server_url: str) -> bool:
    """A failed load that is Streamlit's, not the page's: its probes of /_stcore under a page's path
    (404 there, answered at the root) and its icons from Google's font server (no network here)."""
    if not message.text.startswith("Failed to load resource"):
        return False
    url = message.location.get("url", "")
    parsed = urlparse(url)
    own_probe = url.startswith(server_url) and parsed.path.rstrip("/").endswith(
        ("_stcore/health", "_stcore/host-config")
    )
    return own_probe or parsed.hostname in ("fonts.gstatic.com", "fonts.googleapis.com")


def test_errors_page_draws_the_control_chart_and_the_funnel_plot(browser, demo_server):
    console_errors = []
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    # listening from the first request on: open_page would attach the listeners after the load
    page.on("console", lambda message: console_errors.append(message) if message.type == "error" else None)
    page.on("pageerror", lambda error: console_errors.append(error))
    try:
        page.goto(f"{demo_server.url}/errors", wait_until="domcontentloaded", timeout=90_000)
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=90_000)
        # the control chart, the category lines, the odds ratios, the funnel plot and never-sent: 5 drawn
        wait_for_charts(page, 5)
        assert page.locator(".js-plotly-plot").count() >= 5
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0

        control = page.locator('[data-testid="stPlotlyChart"]').filter(has_text="centre line (the phase's rate)")
        assert control.count() == 1
        legend = control.locator(".legendtext").all_text_contents()
        assert all(any(text.startswith(label) for text in legend) for label in CONTROL_CHART_LEGEND), legend
        assert control.locator(".scatterlayer .trace").count() >= 4  # band, centre, rate, and more
        assert page.get_by_text("Real changes on this chart", exact=False).count() > 0
        assert page.get_by_text("How to read this", exact=False).count() > 0

        funnel = page.locator('[data-testid="stPlotlyChart"]').filter(has_text="95% limits")
        assert funnel.count() == 1
        legend = funnel.locator(".legendtext").all_text_contents()
        assert all(any(text.startswith(label) for text in legend) for label in FUNNEL_PLOT_LEGEND), legend
        assert page.get_by_text("Outside the 95% limits", exact=False).count() > 0

        SCREENSHOTS.mkdir(exist_ok=True)
        control.scroll_into_view_if_needed()
        control.screenshot(path=str(SCREENSHOTS / "control-chart.png"))
        funnel.scroll_into_view_if_needed()
        funnel.screenshot(path=str(SCREENSHOTS / "funnel-plot.png"))

        page.wait_for_timeout(500)
        problems = [e for e in console_errors if not streamlit_own_miss(e, demo_server.url)]
        assert not problems, [getattr(e, "text", str(e)) for e in problems]
    finally:
        page.close()
