"""Every page at the screen sizes people use (1366×768, 1600×1000, 1920×1080; the stand-up screen at
1920×1080 and 3840×2160), the sidebar open: a table's key columns are on screen without scrolling
sideways, no cell or text reads "None" (an empty cell of the grid is drawn as "None"), no number wraps or spills out of its tile, no exception.
Screenshots of each go to screenshots/sizes/ (git-ignored): look at them."""

from __future__ import annotations

import pytest

from dashboard import demo
from dashboard.pages import PAGE_NAMES
from tests.browser.browserkit import SCREENSHOTS, Server, open_page

SIZES = ((1366, 768), (1600, 1000), (1920, 1080))
STANDUP_SIZES = ((1920, 1080), (3840, 2160))  # the stand-up is also opened at the three above
# the columns a person reads a table for, by header: where they are in a table, they must be on screen
# without scrolling it sideways (the other columns may scroll into view)
KEY_COLUMNS = {
    # release verdicts, the 7-day comparison and the issuer's detail
    "Release",
    "Verdict",
    "Overlapping releases",
    "Rate before → after",
    "Before",
    "After",
    "Change",
    # funnel: stage table, heat table, time to convert
    "Stage",
    "Overall",
    "Effectuated",
    "Applied → effectuated",
    "Step",
    "Median (h)",
    # deadlines, issuers compared, backlog
    "Coverage start",
    "Unpaid",
    "Projected unpaid",
    "Issuer",
    "Where",
    "Waiting",
    "Oldest (days)",
}

OPEN_EXPANDERS = """() => [...document.querySelectorAll('[data-testid="stExpander"] details:not([open]) > summary')]
    .forEach(s => s.click())"""

# every st.dataframe drawn (one in a closed tab has no size and is skipped): its headers visible as it
# is, and every header (the grid's accessible table holds only the columns in view, so it is scrolled
# to the right end and back)
TABLES = """async () => {
  const vw = document.documentElement.clientWidth;
  const heads = df => [...df.querySelectorAll('table [role="columnheader"], table thead th')]
    .map(th => th.textContent.trim()).filter(Boolean);
  const out = [];
  for (const df of document.querySelectorAll('[data-testid="stDataFrame"]')) {
    const box = df.getBoundingClientRect();
    if (box.width === 0) continue;
    const scroller = df.querySelector('.dvn-scroller');
    for (let i = 0; i < 50 && heads(df).length === 0; i++) await new Promise(r => setTimeout(r, 100));
    const visible = heads(df);
    let all = [...visible];
    if (scroller && scroller.scrollWidth > scroller.clientWidth + 1) {
      scroller.scrollLeft = scroller.scrollWidth;
      await new Promise(r => setTimeout(r, 300));
      all = [...new Set([...all, ...heads(df)])];
      scroller.scrollLeft = 0;
      await new Promise(r => setTimeout(r, 100));
    }
    // the grid draws a missing value as "None" on its canvas; its accessible cell is then empty
    const empty = [...df.querySelectorAll('table td[role="gridcell"]')].filter(td => td.textContent === '')
      .map(td => `${td.id} (column ${visible[td.getAttribute('aria-colindex') - 1] ?? td.getAttribute('aria-colindex')})`);
    out.push({visible, all, empty, left: box.left, right: box.right, vw});
  }
  return out;
}"""

# text a person should never read: Python's missing values
NONE_TEXT = """() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    if (["None", "nan", "NaN", "<NA>", "NaT"].includes(text)) found.push(walker.currentNode.parentElement.outerHTML.slice(0, 160));
  }
  return found;
}"""

# a big number is one line, inside its tile
WRAPPED_NUMBERS = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('[data-testid="stMetricValue"], .kiosk-value')) {
    const range = document.createRange();
    range.selectNodeContents(el);
    const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top))).size;
    const tile = el.closest('.kiosk-tile, [data-testid="stMetric"]') || el.parentElement;
    const spills = range.getBoundingClientRect().right > tile.getBoundingClientRect().right + 1;
    if (lines > 1 || spills) bad.push(`${el.textContent.trim()} (${lines} lines${spills ? ", spills out" : ""})`);
  }
  return bad;
}"""


@pytest.fixture(scope="module")
def sized_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("sizes") / "export"
    demo.generate(root, 20_000, progress=False)
    server = Server(root)
    yield server
    server.stop()


def cases():
    for path in PAGE_NAMES:
        for width, height in SIZES + STANDUP_SIZES[1:] if path == "standup" else SIZES:
            yield pytest.param(path, "", width, height, id=f"{path}-{width}x{height}")
    # a small view: the stand-up's chart and the issuer view for one state, early December
    small = "?as_of=2013-12-02T00:00:00&state=NC"
    yield pytest.param("standup", small, 1920, 1080, id="standup-NC-1920x1080")
    yield pytest.param("issuer", small, 1366, 768, id="issuer-NC-1366x768")


@pytest.mark.parametrize("path,query,width,height", list(cases()))
def test_page_fits_the_screen(browser, sized_server, path, query, width, height):
    url = f"{sized_server.url}/{'' if path == 'overview' else path}{query}"
    page = open_page(browser, url, width=width, height=height)
    try:
        page.evaluate(OPEN_EXPANDERS)
        page.wait_for_timeout(1200)
        folder = SCREENSHOTS / "sizes"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{path}{'-NC' if query else ''}-{width}x{height}.png"
        page.screenshot(path=str(folder / name))  # what the screen shows
        exceptions = page.locator('[data-testid="stException"]').count()
        none_text, wrapped, tables = page.evaluate(NONE_TEXT), page.evaluate(WRAPPED_NUMBERS), page.evaluate(TABLES)
        # the whole page (Streamlit scrolls inside the app, so a tall window rather than full_page)
        tall = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
        page.set_viewport_size({"width": width, "height": min(max(tall, height), 9000)})
        page.wait_for_timeout(800)
        page.screenshot(path=str(folder / name.replace(".png", "-whole.png")))

        assert exceptions == 0, "the page shows an exception"
        assert none_text == [], "a missing value is printed as 'None'"
        assert wrapped == [], "a number wraps or spills out of its tile"
        for table in tables:
            where = f"table with columns {table['all']} (in view: {table['visible']})"
            assert table["left"] >= 0 and table["right"] <= table["vw"] + 1, f"{where} runs off the screen"
            hidden = [c for c in table["all"] if c in KEY_COLUMNS and c not in table["visible"]]
            assert not hidden, f"{where}: key columns {hidden} need sideways scrolling at {width} px"
            assert not table["empty"], f"{where}: cells drawn as 'None' (empty): {table['empty'][:5]}"
    finally:
        page.close()
