"""A real `streamlit run` for the browser tests, and a page opened in it once the script has finished.

Browsers cannot be downloaded here, so the tests use /usr/bin/chromium (apt-get install chromium).
Without it they skip with a notice saying how to install it, except in CI (CI=true), where a
missing browser is a failure.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = REPO / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, data_dir: Path, extra_env: dict | None = None, extra_args: list | None = None):
        self.port = _free_port()
        self.proxies: dict[tuple[str, str], IdentityProxy] = {}
        env = dict(
            os.environ, DASHBOARD_DATA_DIR=str(data_dir), DASHBOARD_STANDUP_REFRESH_SECONDS="600", **(extra_env or {})
        )
        self.log = open(data_dir.parent / f"streamlit-{self.port}.log", "w")  # noqa: SIM115 (open while the server runs)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(REPO / "dashboard" / "app.py"),
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                *(extra_args or []),
            ],
            cwd=REPO,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2)
                return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"streamlit did not start; see {self.log.name}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_as(self, header: str, email: str) -> str:
        """The address of this server behind a sign-in proxy that says every request is `email`'s."""
        if (header, email) not in self.proxies:
            self.proxies[header, email] = IdentityProxy(self.port, header, email)
        return self.proxies[header, email].url

    def stop(self) -> None:
        for proxy in self.proxies.values():
            proxy.stop()
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class IdentityProxy:
    """A reverse proxy in front of a `Server` that sets one header on every request, as the sign-in
    proxy of docs/security.md does (and drops any value the client sent for it).

    A browser's own extra headers are not enough: Chromium 150 no longer adds Playwright's
    `extra_http_headers` to the WebSocket upgrade, and the upgrade is the request Streamlit reads
    `st.user` from. Each request is forwarded on its own connection (`Connection: close`); an upgrade
    is then piped both ways until either side closes.
    """

    def __init__(self, upstream_port: int, header: str, value: str):
        self.upstream_port, self.header, self.value = upstream_port, header, value
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        started.wait(10)

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        started.set()
        self.loop.run_forever()
        # stopped: end the open connections' tasks here, so that no transport outlives its loop
        tasks = asyncio.all_tasks(self.loop)
        for task in tasks:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self.loop.run_until_complete(self.server.wait_closed())
        self.loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _rewrite(self, head: bytes) -> tuple[bytes, bool]:
        lines = head.decode("latin-1").split("\r\n")
        name = self.header.lower()
        kept = [lines[0]] + [
            line for line in lines[1:] if line and line.split(":", 1)[0].strip().lower() not in (name, "connection")
        ]
        upgrade = any(line.lower().startswith("upgrade:") for line in kept)
        kept += [f"{self.header}: {self.value}", "Connection: Upgrade" if upgrade else "Connection: close"]
        return ("\r\n".join(kept) + "\r\n\r\n").encode("latin-1"), upgrade

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        request, _ = self._rewrite(head[:-4])
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        up_writer.write(request)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while chunk := await source.read(65536):
                    sink.write(chunk)
                    await sink.drain()
            except ConnectionError:
                pass
            finally:
                sink.close()

        # a request body (or a WebSocket's frames) one way, the response (or frames) the other
        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            for end in (writer, up_writer):
                end.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def open_page(browser, url: str, *, width: int = 1600, height: int = 1000, timeout_ms: int = 90_000):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)
    # the script has finished; give the front end a moment to lay out charts
    page.wait_for_timeout(1500)
    return page


def wait_for_charts(page, count: int, *, timeout_ms: int = 60_000) -> None:
    """Wait until `count` Plotly charts are drawn. Counting `.main-svg` elements is not enough:
    Plotly puts two or three in each chart, so two charts drawn already look like five."""
    page.wait_for_function(
        "n => Array.from(document.querySelectorAll('.js-plotly-plot'))"
        ".filter(plot => plot.querySelector('.main-svg')).length >= n",
        arg=count,
        timeout=timeout_ms,
    )
