"""The dashboard's pages, in menu order: one file per area in app_pages/ (its queries in queries/<area>/,
its tests in tests/test_<area>.py). Plain data, so that tests and benchmarks can list the pages
without starting Streamlit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PAGES_DIR = Path(__file__).resolve().parent / "app_pages"


@dataclass(frozen=True)
class PageInfo:
    name: str  # the file app_pages/<name>.py and the URL path /<name>
    title: str
    icon: str
    default: bool = False

    @property
    def path(self) -> Path:
        return PAGES_DIR / f"{self.name}.py"

    @property
    def script(self) -> str:
        """The page as AppTest's switch_page names it."""
        return f"app_pages/{self.name}.py"


PAGES = (
    PageInfo("overview", "Overview", ":material/dashboard:", default=True),
    PageInfo("funnel", "Funnel", ":material/filter_alt:"),
    PageInfo("errors", "834 errors and fixes", ":material/bug_report:"),
    PageInfo("backlog", "Backlog", ":material/hourglass_top:"),
    PageInfo("issuer", "Issuer view", ":material/apartment:"),
    PageInfo("standup", "Stand-up screen", ":material/tv:"),
    PageInfo("health", "Data health and canaries", ":material/health_and_safety:"),
)
PAGE_NAMES = tuple(p.name for p in PAGES)
