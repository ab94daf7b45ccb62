"""Adding money by card, on a phone, against localstripe: the form, the review, the card form (the Stripe.js
stand-in, talking to localstripe as Stripe.js talks to Stripe) and the status that polls until localstripe's
own signed webhook has reached the live server. Nothing here credits anything: only that webhook does."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD, unique_email, unique_phone
from webapp.extensions import new_uow
from webapp.money import Money
from webapp.services import accounts, adjustments, history

pytestmark = pytest.mark.e2e
SUCCEEDS, DECLINED, ASKS_3DS = "4242 4242 4242 4242", "4000 0000 0000 0341", "4000 0027 6000 3184"


def signed_in(phone, live_app, *, javascript: bool = True) -> tuple[Page, str]:
    """A new user holding $10.00, signed in on a fresh phone."""
    with live_app.app_context():
        user = accounts.register(new_uow(), email=unique_email("card"), password=PASSWORD, phone=unique_phone())
        adjustments.credit(new_uow(), email=user.email, amount=Money(1000, "USD"), reason="opening balance")
    page = phone(javascript)
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("balance-USD")).to_have_text("$10.00")
    return page, user.id


def to_card_form(page: Page, amount: str = "25.00") -> None:
    page.get_by_role("link", name="Add money").click()
    page.get_by_label("Amount", exact=True).fill(amount)
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_test_id("confirm-amount")).to_have_text("$25.00")
    page.get_by_role("button", name="Continue to card").click()


def pay(page: Page, card: str) -> None:
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiry date").fill("12 / 34")
    page.get_by_label("Security code").fill("123")
    page.evaluate("window.stillThisPage = true")  # gone if anything reloads or navigates the page
    page.get_by_role("button", name="Pay $25.00").click()


def settled(live_app, user_id: str, transaction_id: str, timeout: float = 15):
    """The deposit once localstripe's webhook has settled it (delivered about a second after the event)."""
    deadline = time.monotonic() + timeout
    while True:
        with live_app.app_context():
            tx = history.get(new_uow(), user_id=user_id, transaction_id=transaction_id)
        if tx.status != "pending" or time.monotonic() > deadline:
            return tx
        time.sleep(0.2)


def deposit_id(page: Page) -> str:
    return page.url.split("/add-money/")[1].split("?")[0]


def test_the_success_card_adds_money_and_the_balance_rises_without_a_reload(phone, live_app, screenshot):
    page, _ = signed_in(phone, live_app)
    to_card_form(page)
    screenshot(page, "deposit-card")
    pay(page, SUCCEEDS)
    status = page.get_by_test_id("deposit-status")
    expect(status).to_have_attribute("data-status", "completed", timeout=15_000)
    expect(status.get_by_role("heading")).to_have_text("Added $25.00")
    expect(page.get_by_test_id("deposit-balance")).to_have_text("$35.00")
    assert page.evaluate("window.stillThisPage") is True
    screenshot(page, "deposit-added")
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_test_id("balance-USD")).to_have_text("$35.00")


def test_the_decline_card_says_so_and_nothing_is_credited(phone, live_app, screenshot):
    page, user_id = signed_in(phone, live_app)
    to_card_form(page)
    pay(page, DECLINED)
    expect(page.get_by_role("heading", name="We couldn't add $25.00")).to_be_visible()
    expect(page.get_by_test_id("deposit-reason")).to_have_text("Your card was declined.")
    screenshot(page, "deposit-declined")
    tx = settled(live_app, user_id, deposit_id(page))
    assert (tx.status, tx.meta.get("reason")) == ("failed", "Your card was declined.")
    page.reload()  # what the server says now: the same, from localstripe's payment_failed webhook
    expect(page.get_by_test_id("deposit-status")).to_have_attribute("data-status", "failed")
    page.get_by_role("link", name="Try again").click()
    expect(page.get_by_label("Amount", exact=True)).to_have_value("25.00")
    page.goto("/")
    expect(page.get_by_test_id("balance-USD")).to_have_text("$10.00")


@pytest.mark.parametrize(("choice", "balance"), [("Complete", "$35.00"), ("Fail", "$10.00")])
def test_3d_secure_complete_credits_and_fail_does_not(phone, live_app, screenshot, choice, balance):
    page, user_id = signed_in(phone, live_app)
    to_card_form(page)
    pay(page, ASKS_3DS)
    dialog = page.get_by_role("dialog", name="Confirm it's you")
    expect(dialog).to_be_visible()
    screenshot(page, "deposit-3ds")
    dialog.get_by_role("button", name=choice).click()
    if choice == "Complete":
        expect(page.get_by_test_id("deposit-status")).to_have_attribute("data-status", "completed", timeout=15_000)
        expect(page.get_by_test_id("deposit-balance")).to_have_text(balance)
    else:
        expect(page.get_by_test_id("deposit-status")).to_have_attribute("data-status", "failed")
        expect(page.get_by_test_id("deposit-reason")).to_contain_text("failed authentication")
        time.sleep(2)  # localstripe sends no event for a failed check; make sure nothing credits late
        assert settled(live_app, user_id, deposit_id(page), timeout=0).status == "failed"
    page.goto("/")
    expect(page.get_by_test_id("balance-USD")).to_have_text(balance)


def test_without_javascript_the_form_works_and_the_card_step_says_it_needs_javascript(phone, live_app):
    page, _ = signed_in(phone, live_app, javascript=False)
    page.get_by_role("link", name="Add money").click()
    page.get_by_role("button", name="Review").click()  # empty: Post/Redirect/Get back with the problem
    expect(page.locator("#e-amount")).to_have_text("Enter an amount.")
    page.goto("/")
    to_card_form(page)
    expect(page.get_by_role("heading", name="The card form needs JavaScript")).to_be_visible()
    expect(page.get_by_label("Card number")).to_have_count(0)
