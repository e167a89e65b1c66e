"""The funnel page's state map in a real browser: it draws a tile per state, a click on a state filters
the page to it (the URL gets state=XX and the page's numbers change), and no error shows."""

from __future__ import annotations

import re

import pytest

from dashboard import demo
from tests.browser.browserkit import SCREENSHOTS, Server, open_page

MAP = '[class*="st-key-state_map"] .js-plotly-plot'
DROPOUTS = re.compile(r"([\d,]+) enrollments reached the stage before")


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("state-map") / "export"
    demo.generate(root, 20_000, progress=False)
    server = Server(root)
    yield server
    server.stop()


def tiles(page) -> dict[str, dict]:
    """state code -> the tile's box on the screen, read from the drawn map."""
    page.wait_for_function(f"document.querySelectorAll('{MAP} .barlayer .point').length >= 51", timeout=30_000)
    page.locator(MAP).scroll_into_view_if_needed()
    boxes = page.locator(MAP).evaluate(
        """(el) => Array.from(el.querySelectorAll('.barlayer .point')).map(p => {
            const r = p.querySelector('path').getBoundingClientRect();
            return [p.textContent, r.x, r.y, r.width, r.height]; })"""
    )
    return {text[:2]: {"x": x, "y": y, "width": w, "height": h} for text, x, y, w, h in boxes}


def no_error(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0


@pytest.mark.parametrize("width,height", [(1366, 768), (1600, 1000), (1920, 1080)])
def test_the_map_draws_a_square_tile_per_state(browser, demo_server, width, height):
    page = open_page(browser, f"{demo_server.url}/funnel?breakdown=By+state", width=width, height=height)
    try:
        no_error(page)
        drawn = tiles(page)
        assert len(drawn) == 51 and {"ME", "HI", "AK", "DC", "NC", "FL"} <= set(drawn)
        for box in drawn.values():  # square, and big enough to read and click
            assert box["width"] >= 30 and abs(box["width"] - box["height"]) <= 2
        # the grid's geography: Maine top right of Washington, Hawaii below it, Florida right of Texas
        assert drawn["ME"]["x"] > drawn["WA"]["x"] and drawn["ME"]["y"] < drawn["WA"]["y"] < drawn["HI"]["y"]
        assert drawn["FL"]["x"] > drawn["TX"]["x"] and drawn["FL"]["y"] == drawn["TX"]["y"]
        assert page.get_by_text("Colour the states by").count() == 1
        assert page.get_by_text("too few to judge", exact=False).count() > 0  # the legend
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"funnel-state-map-{width}.png"))
    finally:
        page.close()


def test_a_click_on_a_state_filters_the_page_to_it(browser, demo_server):
    page = open_page(browser, f"{demo_server.url}/funnel?breakdown=By+state", width=1600, height=1000)
    try:
        before = int(DROPOUTS.search(page.inner_text("body")).group(1).replace(",", ""))
        box = tiles(page)["NC"]
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_url(re.compile(r"[?&]state=NC(&|$)"), timeout=30_000)
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)
        page.wait_for_timeout(1500)
        no_error(page)
        body = page.inner_text("body")
        assert "states: NC" in body  # the header's filter line
        after = int(DROPOUTS.search(body).group(1).replace(",", ""))
        assert 0 < after < before  # the page's numbers are North Carolina's now
        assert "By state" in page.url or "breakdown=By+state" in page.url  # the same tab stays open
        drawn = tiles(page)  # the map now has one coloured state; the others are left out by the filter
        assert len(drawn) == 51
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "funnel-state-map-clicked.png"))
        # a state outside the view (grey) changes nothing and says so
        box = drawn["TX"]
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.get_by_text("TX has no enrollments in this view", exact=False).wait_for(timeout=30_000)
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)
        assert re.search(r"[?&]state=NC(&|$)", page.url) and "state=TX" not in page.url
        no_error(page)
    finally:
        page.close()


def test_a_click_narrows_the_issuer_filter_to_that_state_and_says_so(browser, demo_server):
    issuers = demo.build_issuers(demo.DEFAULT_SEED)
    nc = next(i for i in issuers if i.state == "NC")
    tx = next(i for i in issuers if i.state == "TX")
    url = f"{demo_server.url}/funnel?breakdown=By+state&issuer={nc.issuer_id}&issuer={tx.issuer_id}"
    page = open_page(browser, url, width=1600, height=1000)
    try:
        box = tiles(page)["NC"]
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_url(re.compile(r"[?&]state=NC(&|$)"), timeout=30_000)
        page.get_by_text("taken out of the Issuers filter", exact=False).wait_for(timeout=30_000)
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)
        page.wait_for_timeout(1500)
        no_error(page)
        # the address and the filter line agree: the TX issuer is gone from both, the NC one kept
        assert f"%28{nc.issuer_id}%29" in page.url and f"%28{tx.issuer_id}%29" not in page.url
        line = page.inner_text("body").split("issuers:")[1].split("\n")[0]
        assert nc.issuer_id in line and tx.issuer_id not in line
    finally:
        page.close()
