"""Debian's Chromium under Playwright, for UI tests: never a browser download, nothing but 127.0.0.1 reachable."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from lookingglass.sources.crawler.politeness import chromium_args

CHROMIUM = Path(os.environ.get("LG_CHROMIUM") or "/usr/bin/chromium")
ARGS = chromium_args()  # the crawler's flags: no sandbox (root in CI), no calls home


def missing() -> str | None:
    """Why no browser test can run here, or None when one can."""
    if not CHROMIUM.is_file():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set LG_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Chromium browser (Playwright's Browser); closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
