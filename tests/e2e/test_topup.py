"""Buy airtime on a phone: the Mobile top-up tile, the form (a number whose operator can't be detected, so
it is chosen), the review, and the receipt whose status turns from "Waiting to send" to "Airtime sent"
without a reload, once a real RQ worker has sent it. The server queues its jobs on the real Redis, so the
test decides when that is."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, unique_email, unique_phone
from tests.e2e.conftest import PHONE, sign_in
from tests.integration.worker_support import work
from webapp.extensions import new_uow
from webapp.money import Money
from webapp.services import accounts, adjustments

pytestmark = pytest.mark.e2e
MINUS = "\u2212"


def funded(app) -> str:
    """Someone holding $50.00; returns the email."""
    with app.app_context():
        user = accounts.register(new_uow(), email=unique_email("airtime"), password=PASSWORD, phone=unique_phone())
        adjustments.credit(new_uow(), email=user.email, amount=Money(5_000, "USD"), reason="e2e funding")
    return user.email


def test_buy_airtime_and_watch_it_sent(browser, queued_server, screenshot, axe):
    app, base_url = queued_server
    email = funded(app)
    context = browser.new_context(base_url=base_url, **PHONE)
    problems: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(str(error)))
        sign_in(page, email)
        page.get_by_role("link", name="Mobile top-up").click()

        page.get_by_label("Mobile number").fill("+1 415 555 0123")
        page.get_by_label("Amount", exact=True).fill("15.00")
        page.get_by_role("button", name="Review").click()
        # US numbers have no carrier data: the operator is asked for, next to its field.
        expect(page.locator("#e-operator")).to_contain_text("choose it from the list")
        screenshot(page, "topup-choose-operator")
        page.get_by_label("Operator").select_option(label="AT&T (USD)")
        axe(page, "top-up form")
        page.get_by_role("button", name="Review").click()

        expect(page.get_by_test_id("confirm-amount")).to_have_text("$15.00")
        expect(page.get_by_test_id("confirm-number")).to_have_text("+1 415-555-0123")
        expect(page.get_by_test_id("confirm-operator")).to_contain_text("AT&T")
        page.get_by_role("button", name="Top up $15.00").click()

        status = page.get_by_test_id("topup-status")
        expect(status).to_have_attribute("data-status", "pending")
        expect(page.get_by_test_id("receipt-amount")).to_have_text(f"{MINUS}$15.00")
        screenshot(page, "topup-pending")
        axe(page, "top-up receipt, pending")
        page.evaluate("window.stillThisPage = true")  # gone if anything reloads the page

        work(app)  # a real RQ worker (in this process) sends it through the sandbox aggregator
        expect(status).to_have_attribute("data-status", "completed", timeout=10_000)
        expect(status).to_contain_text("Airtime sent")
        expect(page.get_by_test_id("topup-ref")).to_contain_text("sandbox_tu_")
        expect(page.locator("#receipt-status")).to_have_text("Completed")
        assert page.evaluate("window.stillThisPage") is True
        screenshot(page, "topup-completed")
        page.goto("/")
        expect(page.get_by_test_id("balance-USD")).to_have_text("$35.00")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways: {width}px"
    finally:
        context.close()
    assert problems == []
