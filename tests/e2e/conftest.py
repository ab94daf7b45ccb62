"""End-to-end fixtures: a real server on a free loopback port (CSRF on, as in production) and Debian's
chromium driven by Playwright at a phone's viewport."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from werkzeug.serving import make_server

from tests.conftest import PASSWORD, make_test_app
from tests.integration.worker_support import queued_app
from webapp.devtools.stripe_standin import STANDIN_PATH

CHROMIUM = "/usr/bin/chromium"
# The fake camera (a test pattern, permission granted without a prompt) is on for every page: one Chromium
# serves the whole run, as Playwright's sync API allows one instance per thread (tests/e2e/test_kyc.py).
FAKE_CAMERA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", *FAKE_CAMERA]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}
SCREENS = Path(os.environ.get("E2E_SCREENS_DIR", "/tmp/screens"))


@pytest.fixture(scope="session")
def live_app(database_url, smtp_server, stripe_settings, localstripe):
    # Card payments go to localstripe, and the card page loads the Stripe.js stand-in it serves.
    app = make_test_app(database_url, WTF_CSRF_ENABLED=True, MAIL_URL=smtp_server.url, **stripe_settings,
                        STRIPE_JS_URL=localstripe + STANDIN_PATH)
    yield app
    app.extensions["ewallet.db"].dispose()


@pytest.fixture(scope="session")
def live_server(live_app, localstripe_server):
    """The whole app, served by werkzeug in a thread, exactly as a browser meets it, and as localstripe's
    signed webhooks reach it."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    localstripe_server.register_webhook(f"http://127.0.0.1:{server.server_port}/api/v1/webhooks/stripe",
                                        live_app.config["STRIPE_WEBHOOK_SECRET"], name="e2e")
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def phone(browser, live_server):
    """Open a fresh phone-sized browser (its own cookies) per person; console errors fail the test, so a
    CSP violation or a broken script cannot pass unnoticed. (Chromium also logs every 4xx page it loads;
    those are the app answering a bad form, not a fault.)"""
    contexts, problems = [], []

    def on_console(message):
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    def open_phone(javascript: bool = True):
        context = browser.new_context(base_url=live_server, java_script_enabled=javascript, **PHONE)
        contexts.append(context)
        page = context.new_page()
        page.on("console", on_console)
        page.on("pageerror", lambda error: problems.append(str(error)))
        return page

    yield open_phone
    for context in contexts:
        context.close()
    assert problems == [], problems


@pytest.fixture()
def ewallet_cli(database_url):
    """The real console script, in its own process, against the test database."""
    script = Path(sys.executable).parent / "ewallet"
    env = {**os.environ, "DATABASE_URL": database_url, "EWALLET_ENV": "test", "REDIS_URL": ""}

    def run(*args: str) -> str:
        done = subprocess.run([str(script), *args], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run


@pytest.fixture()
def screenshot():
    SCREENS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> None:
        page.screenshot(path=str(SCREENS / f"{name}.png"))

    return take


@pytest.fixture(scope="session")
def axe():
    """axe-core (bundled by axe-playwright-python, no download) on the page as it is now, every rule on:
    any violation fails the test with what was found and where."""
    from axe_playwright_python.sync_playwright import Axe

    runner = Axe()

    def check(page, label: str) -> None:
        violations = runner.run(page).response["violations"]
        found = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:4]}"
                 for v in violations]
        assert not found, f"axe on {label} ({page.url}):\n" + "\n".join(found)

    return check


@pytest.fixture()
def queued_server(database_url) -> Iterator[tuple]:
    """The app on a free loopback port, CSRF on, its jobs queued on Redis under a queue name of its own, so
    a test decides when a real RQ worker runs them (tests/integration/worker_support.work)."""
    with queued_app(database_url, WTF_CSRF_ENABLED=True) as app:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="e2e-queued", daemon=True)
        thread.start()
        try:
            yield app, f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            thread.join(timeout=10)


def sign_in(page: Page, email: str) -> None:
    """Through the sign-in form, as a person does; returns once a signed-in page is showing."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
