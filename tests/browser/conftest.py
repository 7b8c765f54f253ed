"""Browser tests: the app served on a loopback port, driven by Debian's Chromium via Playwright.

`scripts/ensure-chromium.sh` (run by `make test`) installs Chromium when it is missing; these
tests are never skipped. Screenshots go to test-artifacts/screenshots/ (ignored by git).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def chromium():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def login(chromium, live_server):
    """login(username, phone=False, locale="en-US", password=PASSWORD) → a Playwright page,
    logged in (username None: on the login page, not logged in).

    Every page it opens is watched: a script error, or anything the Content-Security-Policy
    refused (an inline script, a style, a frame), fails the test when it ends.
    """
    contexts, refused = [], []

    def open_as(username: str | None, *, phone: bool = False, locale: str = "en-US",
                password: str = PASSWORD):
        context = chromium.new_context(base_url=live_server, locale=locale,
                                       viewport=PHONE if phone else DESKTOP)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: refused.append(message.text)
                if "Content Security Policy" in message.text else None)
        page.on("pageerror", lambda error: refused.append(f"script error: {error}"))
        page.goto("/login")
        if username is None:
            return page
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        return page

    yield open_as
    for context in contexts:
        context.close()
    assert refused == [], "the pages broke their own Content-Security-Policy or scripts"


def screenshot(page, name: str) -> Path:
    """Keep a picture of the page for a reviewer (test-artifacts/ is ignored by git)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
