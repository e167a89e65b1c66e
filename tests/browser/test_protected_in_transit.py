"""Subscriber ids and birth dates never leave the server: not in a websocket frame, not in a download.

tests/test_protected_fields.py checks the queries and the text AppTest renders. That cannot see two
ways out: a dataframe travels as Arrow IPC bytes, where a birth date is an Arrow date32 (a day
number, never the text 1982-05-29), and a download is built only when its button is clicked. So
here a real browser opens every page of a real server (as leadership, and the pages with work lists
as an issuer's account manager too), every frame it receives is decoded as the front end decodes it
(a ForwardMsg protobuf per frame, Arrow tables, Plotly JSON), every download button of every tab and
work list is clicked and its file fetched over HTTP, and all of it is searched for the export's
actual subscriber ids and birth dates, read from its parquet files. The same search finds
enrollment ids and dates that the pages do show, so a decoder that decoded nothing could not pass.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.ipc
import pypdf
import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from dashboard import demo
from dashboard import metrics as m
from dashboard.definitions import RECONCILIATION_LABELS
from dashboard.engine import Engine
from dashboard.pages import PAGES, PageInfo
from tests.browser.browserkit import Server

PROTECTED_COLUMNS = {"subscriber_id", "subscriber_birth_date"}
HEADER = "X-Test-Email"
LEADERSHIP = "lead@cms.example"
ACCOUNT_MANAGER = "am@issuer.example"
DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# one per enabled download button of the run: a button with a tooltip (help=) is drawn twice, once inside
# its tooltip's hover target and once hidden, so buttons are counted by their element, not by <button>
DOWNLOAD_BUTTONS = '[data-testid="stDownloadButton"]:has(button:not([disabled]))'
DRAWN_BUTTONS = '[data-testid="stDownloadButton"] button'
# each drawn button's label and the test ids of its ancestors: what a failed wait saw
WHERE_JS = """bs => bs.map(b => {
    let p = b, path = [];
    while (p) { path.push((p.dataset && p.dataset.testid) || p.tagName); p = p.parentElement; }
    return b.textContent + ' in ' + path.join(' < ');
})"""

# page -> (Arrow tables, Plotly charts) a leadership visit must decode at least: the search below
# means something only if it searched what the page shows. Every page of the app has an entry.
EXPECTED = {
    "overview": (0, 4),
    "funnel": (5, 3),
    "errors": (2, 3),
    "backlog": (5, 2),
    "issuer": (8, 9),  # its four work lists, four runs
    "standup": (0, 2),
    "health": (2, 0),
}
# pages whose work lists can be downloaded: each must fetch at least one file
DOWNLOADS = {"funnel", "backlog", "issuer"}

WORD = re.compile(r"[a-z_]+")
MONTHS = {
    m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))
}
# the ways a page might write a day: 1982-05-29 (also in timestamps), 19820529 (X12's D8),
# 05/29/1982, and May 29, 1982 / 29 May 1982 as Plotly and Streamlit's tables draw dates
DATE_FORMS = (
    (re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)"), lambda g: (g[0], g[1], g[2])),
    (re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"), lambda g: (g[0], g[1], g[2])),
    (re.compile(r"(?<!\d)(\d{1,2})/(\d{1,2})/(\d{4})(?!\d)"), lambda g: (g[2], g[0], g[1])),
    (re.compile(r"\b([A-Za-z]{3})[a-z]*\.? (\d{1,2}),? (\d{4})\b"), lambda g: (g[2], MONTHS.get(g[0].lower()), g[1])),
    (re.compile(r"\b(\d{1,2}) ([A-Za-z]{3})[a-z]*\.?,? (\d{4})\b"), lambda g: (g[2], MONTHS.get(g[1].lower()), g[0])),
)


class Needles:
    """Values to look for in text: ids anywhere (as substrings), days in any of DATE_FORMS."""

    def __init__(self, ids: Iterable[str], days: Iterable[date]):
        self.ids = frozenset(ids)
        self.days = frozenset(days)
        # ids share a few short prefixes (SUB0, TSUB): find those, then look up each id length there
        self._lengths = {len(i) for i in self.ids}
        self._prefixes = {i[: min(4, *self._lengths)] for i in self.ids}

    def found_in(self, text: str) -> set[str]:
        return self._ids_in(text) | self._days_in(text)

    def _ids_in(self, text: str) -> set[str]:
        found = set()
        for prefix in self._prefixes:
            at = text.find(prefix)
            while at != -1:
                found.update(text[at : at + n] for n in self._lengths if text[at : at + n] in self.ids)
                at = text.find(prefix, at + 1)
        return found

    def _days_in(self, text: str) -> set[str]:
        found = set()
        for pattern, parts in DATE_FORMS:
            for match in pattern.finditer(text):
                try:
                    day = date(*(int(p) for p in parts(match.groups())))
                except (TypeError, ValueError):  # not a day: 2013-13-45, "Tue 12, 2014"
                    continue
                if day in self.days:
                    found.add(match.group(0))
        return found


@dataclass
class Capture:
    """Every frame one browser page received, decoded, and the downloads fetched from it."""

    payloads: list[Any] = field(default_factory=list)
    decoded: int = 0  # payloads decoded so far
    messages: int = 0
    texts: list[tuple[str, str]] = field(default_factory=list)  # (where, text)
    columns: list[tuple[str, str]] = field(default_factory=list)  # (where, column name)
    tables: int = 0
    charts: int = 0
    finished_runs: int = 0
    hashes: set[str] = field(default_factory=set)
    ref_hashes: set[str] = field(default_factory=set)
    sent: list[Any] = field(default_factory=list)  # the browser's requests for a deferred file (BackMsg)
    requested: list[str] = field(default_factory=list)  # deferred files it asked the server to build
    download_buttons: set[str] = field(default_factory=set)  # deferred file ids of enabled buttons
    run_buttons: list[tuple[str, bool]] = field(default_factory=list)  # the latest run's: (file id, enabled)
    failures: list[str] = field(default_factory=list)  # backend operations the server refused
    static_urls: set[str] = field(default_factory=set)  # a button with its file already in place
    deferred_urls: list[str] = field(default_factory=list)  # files the server built on a click
    downloads: list[tuple[str, str]] = field(default_factory=list)  # (url, text)

    def update(self) -> None:
        """Decode the frames received since the last call."""
        for n in range(self.decoded, len(self.payloads)):
            payload = self.payloads[n]
            if isinstance(payload, str):  # Streamlit sends binary frames only; a text frame is read as it is
                self.texts.append((f"text frame {n}", payload))
                continue
            msg = ForwardMsg()
            msg.ParseFromString(payload)
            self.messages += 1
            kind = msg.WhichOneof("type")
            if kind == "new_session":  # sent as each script run starts
                self.run_buttons = []
            if kind == "script_finished":
                self.finished_runs += 1
            if kind == "ref_hash":
                self.ref_hashes.add(msg.ref_hash)
            elif msg.hash:
                self.hashes.add(msg.hash)
            self._walk(msg, f"frame {n} ({kind})")
        self.decoded = len(self.payloads)
        for payload in self.sent[len(self.requested) :]:  # only requests are kept: see visit()
            msg = BackMsg()
            msg.ParseFromString(payload)
            self.requested.append(msg.backend_operation_request.deferred_file.file_id)

    def _walk(self, message, where: str) -> None:
        name = message.DESCRIPTOR.name
        if name == "PlotlyChart":
            self.charts += 1
        if name == "DownloadButton":
            self.run_buttons.append((message.deferred_file_id, not message.disabled))
        if name == "DownloadButton" and not message.disabled:
            if message.deferred_file_id:
                self.download_buttons.add(message.deferred_file_id)
            if message.url:
                self.static_urls.add(message.url)
        if name == "DeferredFileResponsePayload" and message.url:
            self.deferred_urls.append(message.url)
        if name == "BackendOperationResponse" and message.error_msg:
            self.failures.append(message.error_msg)
        for descriptor, value in message.ListFields():
            here = f"{where} {name}.{descriptor.name}"
            if descriptor.message_type is not None and descriptor.message_type.GetOptions().map_entry:
                for key, item in value.items():
                    self.texts.append((here, str(key)))
                    self._value(descriptor.message_type.fields_by_name["value"], item, here)
            else:
                for item in value if descriptor.is_repeated else [value]:
                    self._value(descriptor, item, here)

    def _value(self, descriptor, value, where: str) -> None:
        if descriptor.type == descriptor.TYPE_MESSAGE:
            self._walk(value, where)
        elif descriptor.type == descriptor.TYPE_BYTES:
            table = arrow_table(value)
            if table is None:
                self.texts.append((where, value.decode("utf-8", errors="replace")))
            else:
                self.tables += 1
                self._table(table, f"{where} (Arrow)")
        elif descriptor.type == descriptor.TYPE_STRING:
            self.texts.append((where, value))
            if value[:1] in "{[":  # Plotly specs and other JSON: the strings inside, unescaped
                with contextlib.suppress(ValueError):
                    self.texts.extend((f"{where} (JSON)", s) for s in strings(json.loads(value)))

    def _table(self, table: pa.Table, where: str) -> None:
        for key, value in (table.schema.metadata or {}).items():  # pandas metadata names every column
            self.texts.append((f"{where} metadata", key.decode() + " " + value.decode("utf-8", errors="replace")))
        for column_field, column in zip(table.schema, table.columns, strict=True):
            self.columns.append((where, column_field.name))
            cells = "\n".join(strings(column.to_pylist()))
            self.texts.append((f"{where} column {column_field.name!r} ({column_field.type})", cells))

    def fetch(self, base: str, headers: dict[str, str]) -> None:
        """Fetch every download file the server named and not yet fetched."""
        done = {url for url, _ in self.downloads}
        for url in [*sorted(self.static_urls), *self.deferred_urls]:
            if url in done:
                continue
            request = urllib.request.Request(base + url if url.startswith("/") else url, headers=headers)
            with urllib.request.urlopen(request, timeout=60) as response:
                kind = response.headers.get_content_type()
                body = response.read()
            # the app offers CSV, xlsx and the PDF briefing; another kind needs its own decoder here, not a
            # byte search
            if kind == XLSX:  # every cell of every sheet, as CSV text; the first sheet's header its columns
                book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
                sheets = [[["" if v is None else str(v) for v in r] for r in sheet.iter_rows(values_only=True)]
                          for sheet in book.worksheets]  # fmt: skip
                buffer = io.StringIO()
                for sheet_rows in sheets:
                    csv.writer(buffer).writerows(sheet_rows)
                text, rows = buffer.getvalue(), sheets[0]
            elif kind == "application/pdf":  # the text of every page, chart labels included (SVG text)
                text, rows = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(body)).pages), []
            else:
                assert kind == "text/csv", f"{url} is {kind}: teach this test to decode it"
                text = body.decode("utf-8")
                rows = list(csv.reader(line for line in io.StringIO(text) if not line.startswith("#")))
            self.downloads.append((url, text))
            done.add(url)
            self.columns.extend((f"download {url}", c) for c in (rows[0] if rows else []))


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def strings(value: Any) -> Iterator[str]:
    """Every value inside `value` as text, dates as ISO 8601 (as a browser would show them)."""
    if value is None:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from strings(v)
    elif isinstance(value, date | datetime):
        yield value.isoformat()
    elif isinstance(value, bytes):
        yield value.decode("utf-8", errors="replace")
    else:
        yield str(value)


def arrow_table(data: bytes) -> pa.Table | None:
    """The Arrow IPC table in `data` (stream or file format), or None when it holds none."""
    for opener in (pa.ipc.open_stream, pa.ipc.open_file):
        try:
            return opener(pa.BufferReader(data)).read_all()
        except (pa.ArrowInvalid, pa.ArrowTypeError, OSError):
            continue
    return None


def column_values(root: Path, table: str, column: str) -> set[Any]:
    values = ds.dataset(root / table, format="parquet").to_table(columns=[column])[column].to_pylist()
    return {v for v in values if v is not None}


@dataclass
class World:
    server: Server
    protected: Needles
    shown: Needles  # the positive control: values the pages do show
    issuer: str  # the account manager's issuer
    focus: str  # the issuer leadership opens in the issuer view, another one
    focus_label: str  # as the issuer view's selectbox (and its URL parameter) names it
    work_lists: dict[str, int]  # issuer -> reconciliation categories with records: downloads to expect


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("transit")
    export = root / "export"
    demo.generate(export, 2000, progress=False)
    # every subscriber id and birth date of the export, not a sample or a pattern
    protected = Needles(
        column_values(export, "enrollments", "subscriber_id"),
        column_values(export, "enrollments", "subscriber_birth_date")
        | column_values(export, "transactions_834", "subscriber_birth_date"),
    )
    assert len(protected.ids) > 2000 and len(protected.days) > 1000
    season = date(2013, 1, 1)  # the demo's enrollment season: the days its pages show
    shown = Needles(
        column_values(export, "enrollments", "enrollment_id"), {season + timedelta(days=n) for n in range(730)}
    )
    assert not shown.days & protected.days and not shown.ids & protected.ids
    # the issuers with the most complete reconciliation: every work list of the issuer view has records
    engine = Engine(export)
    recon = m.reconciliation(m.Request(engine, m.default_as_of(engine)))
    ranked = sorted(
        recon, key=lambda r: (min(r[c] for c in RECONCILIATION_LABELS), sum(r[c] for c in RECONCILIATION_LABELS))
    )
    issuer, focus = ranked[-1]["issuer_id"], ranked[-2]["issuer_id"]
    work_lists = {r["issuer_id"]: sum(1 for c in RECONCILIATION_LABELS if r[c]) for r in recon}
    name = next(r["issuer_name"] for r in m.issuer_directory(engine) if r["issuer_id"] == focus)
    roles = root / "roles.toml"
    roles.write_text(
        f'[[users]]\nemail = "{LEADERSHIP}"\nrole = "leadership"\n\n'
        f'[[users]]\nemail = "{ACCOUNT_MANAGER}"\nrole = "account_manager"\nissuers = ["{issuer}"]\n'
    )
    server = Server(
        export,
        extra_env={"DASHBOARD_ROLES_FILE": str(roles), "DASHBOARD_DEMO_MODE": "0"},
        extra_args=["--server.trustedUserHeaders", json.dumps({HEADER: "email"})],
    )
    yield World(server, protected, shown, issuer, focus, f"{name} ({focus})" if name else focus, work_lists)
    server.stop()


def wait_until(page, condition, what: str, timeout_s: float = 60, detail=lambda: "") -> None:
    """Let Playwright deliver frames until `condition()` holds; `detail()` says what was seen instead."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what} {detail()}"
        page.wait_for_timeout(100)


def click_every_download(page, capture: Capture, base: str, headers: dict[str, str]) -> None:
    """Click each enabled download button of the latest run, in every tab, and fetch the files.

    A page's tabs are bound to its URL, so choosing one reruns the script and draws that tab's work
    list (and only that one's): real clicks on its visible buttons after each run."""
    click_visible_downloads(page, capture, base, headers)
    tabs = page.get_by_role("tab")
    for tab in range(1, tabs.count()):
        tabs.nth(tab).click()
        page.wait_for_timeout(1000)  # a tab bound to the URL reruns the page; one that is not does not
        page.wait_for_selector(DONE, timeout=120_000)
        click_visible_downloads(page, capture, base, headers)
    # the latest run's buttons: every tab's when the tabs do not rerun, the open tab's when they do
    wanted = {file_id for file_id, enabled in capture.run_buttons if enabled and file_id}
    assert wanted <= set(capture.requested), "a download button could not be clicked"
    assert not capture.failures, f"the server could not build a download: {capture.failures}"
    capture.fetch(base, headers)


def click_visible_downloads(page, capture: Capture, base: str, headers: dict[str, str]) -> None:
    """Click every visible enabled download button of the latest run and fetch the files at once: a
    rerun (a tab bound to the URL) drops the files of the run before."""
    capture.update()
    enabled = sum(on for _, on in capture.run_buttons)
    # the front end draws the run's elements a moment after the script has finished
    wait_until(
        page,
        lambda: page.locator(DOWNLOAD_BUTTONS).count() == enabled,
        f"{enabled} download button(s) drawn",
        detail=lambda: f"run: {capture.run_buttons} drawn: {page.locator(DRAWN_BUTTONS).evaluate_all(WHERE_JS)}",
    )
    visible = page.locator(f"{DOWNLOAD_BUTTONS} button:not([disabled]):visible")
    clicks, asked = visible.count(), len(capture.requested)
    for i in range(clicks):
        visible.nth(i).click()
    wait_until(
        page,
        lambda: (
            capture.update()
            or (
                len(capture.requested) >= asked + clicks
                and len(capture.deferred_urls) + len(capture.failures) >= len(capture.requested)
            )
        ),
        f"the server to build {clicks} download(s)",
    )
    capture.fetch(base, headers)


def visit(browser, world: World, email: str, url_path: str, options: Iterable[str] = ()) -> Capture:
    """Open one page as `email`, decode all it receives, click every download; then pick each of
    `options` (segmented-control labels) in turn, each a new run with its own work list and download."""
    headers = {HEADER: email}
    context = browser.new_context(viewport={"width": 1600, "height": 2000})
    base = world.server.url_as(HEADER, email)
    page = context.new_page()
    capture = Capture()

    def listen(ws) -> None:
        ws.on("framereceived", lambda payload: capture.payloads.append(payload))
        ws.on("framesent", lambda payload: capture.sent.append(payload) if is_download_request(payload) else None)

    # registered before the page is opened: the first frame (new_session) is captured too
    page.on("websocket", listen)
    try:
        page.goto(base + url_path, wait_until="domcontentloaded", timeout=90_000)
        page.wait_for_selector(DONE, timeout=120_000)
        wait_until(page, lambda: capture.update() or capture.finished_runs >= 1, "the first run", 120)
        assert page.locator('[data-testid="stException"]').count() == 0, url_path
        assert page.get_by_text("no access", exact=False).count() == 0, f"{email} was refused"
        click_every_download(page, capture, base, headers)
        for option in options:
            runs = capture.finished_runs
            page.locator('[data-testid="stButtonGroup"] button').filter(has_text=option).first.click()
            wait_until(page, lambda runs=runs: capture.update() or capture.finished_runs > runs, f"a run for {option}")
            page.wait_for_selector(DONE, timeout=120_000)
            assert capture.run_buttons, f"{option}: no work list drawn (was it unselected?)"
            click_every_download(page, capture, base, headers)
        page.wait_for_timeout(500)  # anything still in flight
        capture.update()
    finally:
        context.close()
    return capture


def assert_nothing_protected(capture: Capture, protected: Needles, label: str) -> None:
    leaks = [(where, sorted(protected.found_in(text))[:5]) for where, text in capture.texts]
    leaks += [(f"download {url}", sorted(protected.found_in(text))[:5]) for url, text in capture.downloads]
    leaks = [(where, found) for where, found in leaks if found]
    assert not leaks, f"{label}: protected values sent to the browser: {leaks[:10]}"
    named = [(where, c) for where, c in capture.columns if c in PROTECTED_COLUMNS]
    named += [
        (where, w)
        for where, text in [*capture.texts, *capture.downloads]
        for w in set(WORD.findall(text)) & PROTECTED_COLUMNS
    ]
    assert not named, f"{label}: a protected column sent to the browser: {named[:10]}"


def assert_everything_decoded(capture: Capture, label: str) -> None:
    assert capture.messages > 0 and capture.finished_runs > 0, f"{label}: no frame decoded"
    # a message sent as a reference to one the browser had cached would not have been searched
    assert capture.ref_hashes <= capture.hashes, f"{label}: a message arrived only by reference"
    assert capture.download_buttons <= set(capture.requested), f"{label}: a download button was not clicked"
    assert len(capture.deferred_urls) == len(capture.requested), f"{label}: a download was not built"
    fetched = {url for url, _ in capture.downloads}
    assert capture.static_urls | set(capture.deferred_urls) <= fetched, f"{label}: a download was not fetched"


def is_download_request(payload: Any) -> bool:
    """A frame the browser sends when a download button is clicked: build that file now."""
    if isinstance(payload, str):
        return False
    msg = BackMsg()
    msg.ParseFromString(payload)
    return msg.WhichOneof("type") == "backend_operation_request" and msg.backend_operation_request.HasField(
        "deferred_file"
    )


def summary(capture: Capture) -> str:
    return (
        f"{capture.messages} frames, {capture.tables} Arrow tables, {capture.charts} charts, "
        f"{len(capture.downloads)} downloads"
    )


def url_of(page: PageInfo, query: dict[str, str] | None = None) -> str:
    path = "/" if page.default else f"/{page.name}"  # the default page lives at /
    return path + (f"?{urllib.parse.urlencode(query)}" if query else "")


def options_of(page: PageInfo) -> list[str]:
    """The issuer view's other reconciliation work lists (field mismatch is drawn first, and a second
    click on it would unselect it)."""
    if page.name != "issuer":
        return []
    return [label for key, label in RECONCILIATION_LABELS.items() if key != "field_mismatch"]


def arrow_text(capture: Capture, kind: str = "") -> str:
    """The cells of every decoded Arrow column (of Arrow type `kind`, e.g. date32, if given)."""
    return "\n".join(text for where, text in capture.texts if "(Arrow)" in where and kind in where)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_page_sends_a_protected_value_to_leadership(browser, world, page):
    assert set(EXPECTED) == {p.name for p in PAGES}
    query = {"focus": world.focus_label} if page.name == "issuer" else None
    capture = visit(browser, world, LEADERSHIP, url_of(page, query), options_of(page))
    print(f"{page.name}: {summary(capture)}")
    assert_everything_decoded(capture, page.name)
    tables, charts = EXPECTED[page.name]
    assert capture.tables >= tables and capture.charts >= charts, f"{page.name}: {summary(capture)}"
    if page.name in DOWNLOADS:
        assert capture.downloads, f"{page.name}: no download fetched"
    assert_nothing_protected(capture, world.protected, page.name)
    if page.name == "issuer":  # the issuer the URL asked for, each of its work lists downloaded
        assert world.focus in arrow_text(capture)
        assert len(set(capture.requested)) == 2 * world.work_lists[world.focus]  # an xlsx and a CSV each
    if page.name == "backlog":  # the positive control: the same search finds what the work lists do show
        assert world.shown.found_in(arrow_text(capture)) & world.shown.ids, "no enrollment id in the Arrow tables"
        assert world.shown.found_in(arrow_text(capture, "date32")), "no day in a date32 column"
        downloaded = "\n".join(text for _, text in capture.downloads)
        assert world.shown.found_in(downloaded) & world.shown.ids, "no enrollment id in the downloads"


@pytest.mark.parametrize("page", [p for p in PAGES if p.name in DOWNLOADS], ids=lambda p: p.name)
def test_no_work_list_sends_a_protected_value_to_an_account_manager(browser, world, page):
    capture = visit(browser, world, ACCOUNT_MANAGER, url_of(page), options_of(page))
    print(f"{page.name} as account manager: {summary(capture)}")
    assert_everything_decoded(capture, page.name)
    assert capture.tables and capture.downloads, f"{page.name}: {summary(capture)}"
    assert_nothing_protected(capture, world.protected, f"{page.name} as account manager")
    assert world.issuer in arrow_text(capture)  # the account manager's own issuer is what the frames show
    if page.name == "issuer":
        assert len(set(capture.requested)) == 2 * world.work_lists[world.issuer]  # an xlsx and a CSV each
