"""A real browser on a real `streamlit run`: Debian's Chromium driven by Playwright.

Browsers cannot be downloaded here, so the tests use /usr/bin/chromium (apt-get install chromium).
Without it they skip with a notice saying how to install it, except in CI (CI=true), where a
missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.browser.browserkit import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        message = (
            "Browser tests need Debian's Chromium: run `apt-get install -y chromium` (as root) and "
            "`pip install -r requirements-dev.txt`, then run pytest again."
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
