"""The same money path with JavaScript switched off: plain form posts and whole pages must be enough.
Also a second wallet from the profile, the calm error states people actually meet, and history paging."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD, unique_email, unique_phone
from tests.e2e.test_send_money import confirm_email
from webapp.extensions import new_uow
from webapp.money import Money
from webapp.services import accounts, adjustments

pytestmark = pytest.mark.e2e
MINUS = "\u2212"


def sign_up(page: Page, screenshot=None) -> str:
    email = unique_email("nojs")
    page.goto("/signup")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Mobile number").fill("12")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    # Every problem at once, each next to its field, and the summary at the top has the focus.
    expect(page.locator("#e-email")).to_have_text("Enter a valid email address.")
    expect(page.locator("#e-phone")).to_have_text("Enter a valid mobile number with its country code.")
    expect(page.locator("#e-password")).to_have_text("Use at least 10 characters.")
    expect(page.locator("[data-error-summary]")).to_be_focused()
    expect(page.get_by_label("Email")).to_have_value("not-an-email")
    if screenshot:
        screenshot(page, "signup-error")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mobile number").fill(unique_phone())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_test_id("balance-USD")).to_have_text("$0.00")
    return email


def test_send_without_javascript(phone, ewallet_cli, screenshot, smtp_server):
    alice, bob = phone(javascript=False), phone(javascript=False)
    alice_email, bob_email = sign_up(alice, screenshot), sign_up(bob)
    confirm_email(bob, smtp_server, bob_email)  # the link's page is a plain form: no JavaScript needed
    ewallet_cli("credit", "--email", alice_email, "--amount", "2000", "--currency", "USD", "--reason", "e2e")

    alice.goto("/send")
    alice.get_by_label("To", exact=True).fill("nobody-" + bob_email)
    alice.get_by_label("Amount", exact=True).fill("12.345")
    alice.get_by_role("button", name="Review").click()
    expect(alice.locator("#e-to")).to_have_text("No wallet user matches that recipient.")
    expect(alice.locator("#e-amount")).to_have_text("USD amounts have at most 2 decimal places.")
    alice.get_by_label("To", exact=True).fill(bob_email)
    alice.get_by_label("Amount", exact=True).fill("25")
    alice.get_by_role("button", name="Review").click()
    expect(alice.locator("#e-amount")).to_have_text("You have $20.00 available.")
    expect(alice.locator("#e-to")).to_be_empty()
    screenshot(alice, "send-error")

    alice.get_by_label("Amount", exact=True).fill("7.25")
    alice.get_by_role("button", name="Review").click()
    alice.get_by_role("button", name="Send $7.25").click()
    expect(alice.get_by_test_id("receipt-amount")).to_have_text(f"{MINUS}$7.25")

    bob.goto("/")
    expect(bob.get_by_test_id("balance-USD")).to_have_text("$7.25")


def test_profile_opens_a_second_wallet_and_errors_stay_calm(phone, screenshot):
    page = phone()
    sign_up(page)
    page.get_by_role("link", name="Profile").last.click()
    expect(page.get_by_test_id("kyc-status")).to_have_text("Not verified")
    page.get_by_label("Open a wallet in another currency").select_option("EUR")
    page.get_by_role("button", name="Open", exact=True).click()
    expect(page.get_by_text("Your EUR wallet is open.")).to_be_visible()
    screenshot(page, "profile")

    page.get_by_role("link", name="Home").click()
    expect(page.get_by_test_id("balance-EUR")).to_have_text("€0.00")
    screenshot(page, "dashboard-two-wallets")

    page.goto("/transactions/00000000-0000-0000-0000-000000000000")
    expect(page.get_by_role("heading", name="We couldn't find that")).to_be_visible()
    screenshot(page, "not-found")

    page.get_by_role("link", name="Profile").last.click()
    page.get_by_role("button", name="Sign out", exact=True).click()  # not "Sign out everywhere"
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "login")


def test_history_load_more_appends_in_place(phone, live_app, screenshot):
    """With JavaScript on, "Load more" fetches only the next rows and appends them under the first page."""
    with live_app.app_context():
        user = accounts.register(new_uow(), email=unique_email("many"), password=PASSWORD, phone=unique_phone())
        for n in range(23):
            adjustments.credit(new_uow(), email=user.email, amount=Money(100 + n, "USD"), reason=f"refund {n}")
    page = phone()
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="History").first.click()
    rows = page.get_by_test_id("tx-amount")
    expect(rows).to_have_count(20)
    page.get_by_role("link", name="Load more").click()
    expect(rows).to_have_count(23)
    expect(rows.last).to_have_text("+$1.00")
    expect(page.get_by_role("link", name="Load more")).to_have_count(0)
    assert page.url.endswith("/history")  # appended in place, not a new page
    screenshot(page, "history-more")
