"""A live server and a headless Chromium (Debian's package, driven by Playwright) for browser tests."""

import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
# Without these Chromium phones home at start-up, and this network refuses those connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


class LiveServer:
    def __init__(self, app):
        self.app = app
        self._start(0)
        self.url = f"http://127.0.0.1:{self.port}"

    def _start(self, port):
        self.server = make_server("127.0.0.1", port, self.app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def restart(self):
        """Stop and start again on the same port, as a deploy or a crash-and-restart would."""
        self.stop()
        self._start(self.port)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; CI must install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is not installed (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def phone_context(browser, width: int = 360, height: int = 740, scale: float = 2):
    """A fresh browser context shaped like a phone: mobile viewport, touch."""
    return browser.new_context(
        viewport={"width": width, "height": height}, device_scale_factor=scale, is_mobile=True, has_touch=True
    )


@pytest.fixture
def phone(browser):
    """A page in a 360 px wide phone with touch: the narrowest screen we support."""
    context = phone_context(browser)
    yield context.new_page()
    context.close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in_page(page, base_url: str, email: str, password: str) -> None:
    """Log in through the login form of a Playwright page; waits until the app has moved on."""
    page.goto(f"{base_url}/login")
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: not url.endswith("/login"))


def fits_screen(page) -> bool:
    """No sideways scrolling: the page is no wider than the screen it was given.

    Compared with the context's viewport, not window.innerWidth: a mobile browser zooms out to
    show wide content, and innerWidth grows with it, so that check could never fail on a phone."""
    return page.evaluate("() => document.documentElement.scrollWidth") <= page.viewport_size["width"]


def controlled(page) -> None:
    """Wait until the service worker is active and controls the page (a first visit needs a reload)."""
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("() => navigator.serviceWorker.controller !== null"):
        page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


@contextmanager
def signed_in_phone(browser, base_url: str, email: str, password: str, path: str, width: int = 360, height: int = 740):
    """A phone (phone_context) logged in as `email`, on `path` with the service worker in control: yields
    (context, page), and closes the context after."""
    context = phone_context(browser, width, height)
    try:
        page = context.new_page()
        log_in_page(page, base_url, email, password)
        page.goto(f"{base_url}{path}")
        controlled(page)
        yield context, page
    finally:
        context.close()


def eventually(page, script: str, timeout: float = 20) -> None:
    """Wait until the page's script (which may return a Promise) gives a truthy value.

    page.wait_for_function does not await a Promise: it takes the Promise itself for a truthy answer,
    so a wait on IndexedDB or the Cache API through it never waits."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {script}"
        page.wait_for_timeout(100)


def back_online(context, page, timeout: float = 20000) -> None:
    """Bring the phone back online and wait until the changes queued on it are sent (the sync badge hides)."""
    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    page.wait_for_function("() => document.getElementById('sync-badge').hidden === true", timeout=timeout)
