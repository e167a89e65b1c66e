"""A preparation's progress on standard error, for the command line (tqdm).

Shown when standard error is a terminal, or always with DASHBOARD_PROGRESS=always; never with
DASHBOARD_PROGRESS=never or `--no-progress`. On a terminal it appears only once a preparation has
taken DELAY_SECONDS, so that a quick start prints nothing; `always` shows every step from the first.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import IO

DELAY_SECONDS = 2.0
MODES = ("auto", "always", "never")


class ProgressSettingError(ValueError):
    pass


def mode() -> str:
    value = os.environ.get("DASHBOARD_PROGRESS", "auto").strip().lower() or "auto"
    if value not in MODES:
        raise ProgressSettingError(f"DASHBOARD_PROGRESS={value!r} is not one of {', '.join(MODES)}")
    return value


class StepBar:
    """A callback for Engine(progress=...): a bar of steps named in user words, on `stream`."""

    def __init__(self, stream: IO[str], delay: float):
        self._stream = stream
        self._delay = delay
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._bar = None
        self._step: tuple[str, int, int] | None = None
        self._done = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
        self._ticker.start()

    def __call__(self, step: str, i: int, n: int) -> None:
        with self._lock:
            self._step = (step, i, n)
            if self._bar is not None or time.monotonic() - self._started >= self._delay:
                self._show()

    def _show(self) -> None:
        from tqdm import tqdm

        if self._step is None:
            return
        step, i, n = self._step
        if self._bar is None:
            self._bar = tqdm(total=n, file=self._stream, unit="step", leave=False, dynamic_ncols=True)
            self._bar.start_t -= time.monotonic() - self._started  # its clock counts from the preparation's start
        self._bar.total = n
        self._bar.n = i - 1
        self._bar.set_description(f"{step} ({i}/{n})", refresh=True)

    def _tick(self) -> None:
        """Show the bar once the delay has passed even while one long step runs; keep its clock going."""
        while not self._done.wait(min(1.0, max(self._delay, 0.05))):
            with self._lock:
                if self._bar is not None:
                    self._bar.refresh()
                elif time.monotonic() - self._started >= self._delay:
                    self._show()

    def close(self) -> None:
        self._done.set()
        self._ticker.join()
        with self._lock:
            if self._bar is not None:
                self._bar.n = self._bar.total
                self._bar.close()
                self._bar = None


def step_bar(enabled: bool = True, stream: IO[str] | None = None) -> StepBar | None:
    """The bar the settings ask for, or None (no progress)."""
    stream = stream or sys.stderr
    if not enabled:
        return None
    chosen = mode()
    if chosen == "never":
        return None
    if chosen == "always":
        return StepBar(stream, 0.0)
    return StepBar(stream, DELAY_SECONDS) if stream.isatty() else None
