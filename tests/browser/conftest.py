"""Browser tests: Playwright for Python driving the system's Chromium (never a downloaded one)
against `serve` on 127.0.0.1. Chromium is /usr/bin/chromium (`.ci/run` installs it)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.server.conftest import http, start_server  # noqa: F401 - the real server
from tests.server.ui_support import UI_TOKEN, seed_shop

CHROMIUM = os.environ.get("MPCHECKOUT_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    """One Chromium per module, not per session: Playwright's sync API keeps an event loop
    running on the main thread while it is open, and later tests call asyncio.run()."""
    from playwright.sync_api import sync_playwright

    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def shop(start_server):  # noqa: F811
    url, ctx = start_server(**{"server.ui_token": UI_TOKEN, "server.ui_actions": True})
    return url, ctx, seed_shop(ctx.store, ctx.clock.now())


@pytest.fixture
def browser_page(chromium):
    """A fresh context per test (its own cookies); JavaScript on unless the test says."""
    contexts = []

    def open_page(javascript: bool = True):
        context = chromium.new_context(
            java_script_enabled=javascript, viewport={"width": 1200, "height": 900}
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()
