"""Time to a page being ready in a real browser, on the default demo export (issue 4's 2-second target).

    python -m benchmarks.bench_pages_browser [--runs 3]

Starts `streamlit run` on the demo export in data/ (generated if empty), lets the background
warm-up finish, then opens each page by clicking it in the sidebar, as a user does, and times the
click until Streamlit reports the script finished. Also times each page's script server-side with
AppTest (warm cache). Medians; writes benchmarks/results/pages.md. Needs Debian's chromium.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from dashboard.pages import PAGES as REGISTERED_PAGES

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "pages.md"
# every page but the stand-up screen (it refreshes itself), by its menu title
FILES = {p.title: p.name for p in REGISTERED_PAGES if p.name != "standup"}
PAGES = list(FILES)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def browser_times(port: int, runs: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {p: [] for p in PAGES}
    done = '[data-testid="stApp"][data-test-script-state="notRunning"]'
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = b.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}/health", timeout=180_000)
        page.wait_for_selector(done, timeout=180_000)
        time.sleep(15)  # the background warm-up of the default views
        for _ in range(runs):
            for label in PAGES:
                start = time.perf_counter()
                page.get_by_role("link", name=label).first.click()
                page.wait_for_timeout(50)
                page.wait_for_selector(done, timeout=180_000)
                out[label].append(time.perf_counter() - start)
        b.close()
    return out


def server_times(runs: int) -> dict[str, list[float]]:
    from streamlit.testing.v1 import AppTest

    out: dict[str, list[float]] = {p: [] for p in PAGES}
    for _ in range(runs + 1):  # the first pass fills the cache and is not counted
        for label in PAGES:
            at = AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=300)
            if FILES[label] != "overview":
                at.switch_page(f"app_pages/{FILES[label]}.py")
            start = time.perf_counter()
            at.run()
            out[label].append(time.perf_counter() - start)
    return {k: v[1:] for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=8799)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "DASHBOARD_DATA_DIR"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "dashboard/app.py",
            "--server.port",
            str(args.port),
            "--server.headless",
            "true",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        in_browser = browser_times(args.port, args.runs)
    finally:
        server.terminate()
        server.wait(timeout=30)
    on_server = server_times(args.runs)
    lines = [
        "# Dashboard pages: time to ready on the default demo export",
        "",
        f"Machine: {os.cpu_count()} cores. Command: `python -m benchmarks.bench_pages_browser --runs {args.runs}`. "
        "Browser: Debian's Chromium, headless, software rendering, on the same 2 cores as the server. "
        "Median of the runs, after the background warm-up of the default views.",
        "",
        "| page | click to ready in the browser | page script on the server (AppTest, warm) |",
        "|---|---:|---:|",
    ]
    for label in PAGES:
        lines.append(
            f"| {label} | {statistics.median(in_browser[label]):.2f} s | {statistics.median(on_server[label]):.2f} s |"
        )
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
