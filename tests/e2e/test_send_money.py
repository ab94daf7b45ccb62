"""Two people sign up on their phones; one is funded by an operator with the CLI and sends the other
$12.50 through the form, the confirm step and the receipt. Both see the right balances and history."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD, unique_email, unique_phone
from tests.mailbox import body
from webapp.models.users import mask_email

pytestmark = pytest.mark.e2e
MINUS = "\u2212"
LINK = re.compile(r"https?://[^/\s]+(/verify-email/\S+)")


def sign_up(page: Page, name: str = "") -> str:
    email = unique_email("e2e")
    page.goto("/signup")
    if name:
        page.get_by_label("Your name (optional)").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mobile number").fill(unique_phone())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_test_id("balance-USD")).to_have_text("$0.00")
    return email


def confirm_email(page: Page, smtp_server, email: str) -> None:
    """What a new user does before anyone can pay them by email: open the mailed link, press Confirm."""
    page.goto(LINK.search(body(smtp_server.wait_for(email))).group(1))
    page.get_by_role("button", name="Confirm my email").click()
    expect(page.get_by_test_id("email-status")).to_have_text("Confirmed")
    page.goto("/")


def test_send_money_from_phone_to_phone(phone, ewallet_cli, screenshot, smtp_server):
    alice, bob = phone(), phone()
    alice_email, bob_email = sign_up(alice, name="Alice Example"), sign_up(bob)
    confirm_email(bob, smtp_server, bob_email)

    out = ewallet_cli("credit", "--email", alice_email, "--amount", "5000", "--currency", "USD",
                      "--reason", "e2e funding")
    assert "credited" in out
    alice.reload()
    expect(alice.get_by_test_id("balance-USD")).to_have_text("$50.00")
    screenshot(alice, "dashboard")

    alice.get_by_role("link", name="Send money").click()
    alice.get_by_label("To", exact=True).fill(bob_email)
    amount = alice.get_by_label("Amount", exact=True)
    amount.fill("12.345")
    amount.blur()  # HTMX checks the field on change, with the CSRF header, and shows only the message
    expect(alice.locator("#e-amount")).to_have_text("USD amounts have at most 2 decimal places.")
    amount.fill("12.50")
    amount.blur()
    expect(alice.locator("#e-amount")).to_be_empty()
    alice.get_by_label("Note (optional)").fill("Lunch")
    screenshot(alice, "send")

    alice.get_by_role("button", name="Review").click()
    expect(alice.get_by_test_id("confirm-amount")).to_have_text("$12.50")
    expect(alice.get_by_test_id("confirm-recipient")).to_have_text(bob_email)
    screenshot(alice, "confirm")

    alice.get_by_role("button", name="Send $12.50").click()
    expect(alice.get_by_test_id("receipt-amount")).to_have_text(f"{MINUS}$12.50")
    expect(alice.get_by_text(f"Sent $12.50 to {bob_email}.")).to_be_visible()
    screenshot(alice, "receipt")

    alice.get_by_role("link", name="Home").click()
    expect(alice.get_by_test_id("balance-USD")).to_have_text("$37.50")
    alice.get_by_role("link", name="History").first.click()
    expect(alice.get_by_test_id("tx-amount").first).to_have_text(f"{MINUS}$12.50")
    expect(alice.get_by_test_id("tx-amount").nth(1)).to_have_text("+$50.00")
    screenshot(alice, "history")

    bob.reload()
    expect(bob.get_by_test_id("balance-USD")).to_have_text("$12.50")
    bob.get_by_role("link", name="History").first.click()
    expect(bob.get_by_test_id("tx-amount")).to_have_text(["+$12.50"])
    bob.get_by_test_id("tx-amount").click()
    expect(bob.get_by_test_id("receipt-amount")).to_have_text("+$12.50")
    expect(bob.get_by_text("Alice Example")).to_be_visible()  # her name and a masked address, not her email
    expect(bob.get_by_test_id("receipt-party-sub")).to_contain_text(mask_email(alice_email))
    expect(bob.get_by_text(alice_email)).to_have_count(0)


def test_back_and_reload_after_sending_never_resubmit_nor_send_twice(phone, live_app, ewallet_cli, smtp_server):
    alice, bob = phone(), phone()
    alice_email, bob_email = sign_up(alice), sign_up(bob)
    confirm_email(bob, smtp_server, bob_email)
    ewallet_cli("credit", "--email", alice_email, "--amount", "5000", "--currency", "USD", "--reason", "e2e")
    ewallet_cli("credit", "--email", alice_email, "--amount", "900", "--currency", "EUR", "--reason", "e2e")
    ewallet_cli("credit", "--email", bob_email, "--amount", "100", "--currency", "EUR", "--reason", "e2e")

    alice.goto("/send")
    symbol, available = alice.locator("[data-amount-symbol]"), alice.locator("#h-amount")
    expect(symbol).to_have_text("$")
    expect(available).to_have_text("$50.00 available")
    alice.get_by_label("From").select_option(label="EUR wallet · €9.00 available")
    expect(symbol).to_have_text("€")  # the form follows the wallet at once, no reload
    expect(available).to_have_text("€9.00 available")
    alice.get_by_label("To", exact=True).fill(bob_email)
    alice.get_by_label("Amount", exact=True).fill("2")
    alice.get_by_role("button", name="Review").click()
    alice.wait_for_url("**/send/review/*")  # the POST's redirect has landed: reload the review, not the POST
    review_url = alice.url
    alice.reload()  # a review is a page of its own: reloading asks nothing
    expect(alice.get_by_test_id("confirm-amount")).to_have_text("€2.00")

    alice.get_by_role("button", name="Send €2.00").click()
    expect(alice.get_by_test_id("receipt-amount")).to_have_text(f"{MINUS}€2.00")
    receipt_url = alice.url
    alice.reload()
    expect(alice.get_by_test_id("receipt-amount")).to_have_text(f"{MINUS}€2.00")

    alice.go_back()  # to the review, which was sent: the browser lands on the receipt, not a resubmit page
    expect(alice.get_by_test_id("receipt-amount")).to_have_text(f"{MINUS}€2.00")
    assert alice.url == receipt_url
    expect(alice.get_by_text("You already sent this.")).to_be_visible()
    alice.goto(review_url)
    expect(alice.get_by_test_id("receipt-amount")).to_be_visible()

    alice.goto("/")
    expect(alice.get_by_test_id("balance-EUR")).to_have_text("€7.00")
    bob.goto("/")
    expect(bob.get_by_test_id("balance-EUR")).to_have_text("€3.00")


def test_an_inline_check_of_one_field_leaves_the_other_fields_errors(phone, ewallet_cli):
    alice = phone()
    alice_email = sign_up(alice)
    ewallet_cli("credit", "--email", alice_email, "--amount", "5000", "--currency", "USD", "--reason", "e2e")
    alice.goto("/send")
    alice.get_by_label("To", exact=True).fill("nobody-here@example.com")
    alice.get_by_label("Amount", exact=True).fill("12.345")
    alice.get_by_role("button", name="Review").click()
    to_error, amount_error = alice.locator("#e-to"), alice.locator("#e-amount")
    expect(to_error).to_have_text("No wallet user matches that recipient.")
    expect(amount_error).to_have_text("USD amounts have at most 2 decimal places.")

    amount = alice.get_by_label("Amount", exact=True)
    amount.fill("12.50")
    amount.blur()  # HTMX re-checks the amount alone
    expect(amount_error).to_be_empty()
    expect(amount).to_have_attribute("aria-invalid", "false")
    expect(to_error).to_have_text("No wallet user matches that recipient.")  # still true, still shown
    expect(alice.get_by_label("To", exact=True)).to_have_attribute("aria-invalid", "true")

    amount.fill("1.001")
    amount.blur()
    expect(amount_error).to_have_text("USD amounts have at most 2 decimal places.")
    expect(amount).to_have_attribute("aria-invalid", "true")  # an inline error is announced as invalid
