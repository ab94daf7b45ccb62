"""Withdraw to a sandbox bank account on a phone: the Bank transfer tile, the form, the review, and the
receipt whose status turns from "Waiting to send" to "Sent to your bank" without a reload, once a real RQ
worker has paid it. The server queues its jobs on the real Redis, so the test decides when that is."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, unique_email, unique_phone
from tests.e2e.conftest import PHONE, sign_in
from tests.integration.worker_support import work
from webapp.extensions import new_uow
from webapp.models import User
from webapp.money import Money
from webapp.services import accounts, adjustments, bank_accounts

pytestmark = pytest.mark.e2e
MINUS = "\u2212"


def verified_saver(app) -> str:
    """A verified user holding $200.00 with a US bank account ending 6789; returns the email."""
    with app.app_context():
        user = accounts.register(new_uow(), email=unique_email("payout"), password=PASSWORD, phone=unique_phone())
        with new_uow() as uow:
            uow.session.get(User, user.id).kyc_status = "verified"
            uow.commit()
        adjustments.credit(new_uow(), email=user.email, amount=Money(20_000, "USD"), reason="e2e funding")
        bank_accounts.add(new_uow(), user_id=user.id, account_holder_name="Pat Saver", account_number="000123456789",
                          routing_number="110000000", currency="USD", country="US")
    return user.email


def test_withdraw_to_the_bank_and_watch_it_paid(browser, queued_server, screenshot, axe):
    app, base_url = queued_server
    email = verified_saver(app)
    context = browser.new_context(base_url=base_url, **PHONE)
    problems: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(str(error)))
        sign_in(page, email)
        page.get_by_role("link", name="Bank transfer").click()
        expect(page.get_by_label("To bank account")).to_contain_text("6789")
        page.get_by_label("Amount", exact=True).fill("75.00")
        axe(page, "withdraw form")
        page.get_by_role("button", name="Review").click()

        expect(page.get_by_test_id("confirm-amount")).to_have_text("$75.00")
        expect(page.get_by_test_id("confirm-account")).to_contain_text("6789")
        page.get_by_role("button", name="Withdraw $75.00").click()

        status = page.get_by_test_id("payout-status")
        expect(status).to_have_attribute("data-status", "pending")
        expect(page.get_by_test_id("receipt-amount")).to_have_text(f"{MINUS}$75.00")
        screenshot(page, "withdraw-pending")
        axe(page, "withdraw receipt, pending")
        page.evaluate("window.stillThisPage = true")  # gone if anything reloads the page

        work(app)  # a real RQ worker (in this process) pays it out through the sandbox bank
        expect(status).to_have_attribute("data-status", "paid", timeout=10_000)
        expect(status).to_contain_text("Sent to your bank")
        expect(page.locator("#receipt-status")).to_have_text("Completed")
        assert page.evaluate("window.stillThisPage") is True
        screenshot(page, "withdraw-paid")
        page.goto("/")
        expect(page.get_by_test_id("balance-USD")).to_have_text("$125.00")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways: {width}px"
    finally:
        context.close()
    assert problems == []
