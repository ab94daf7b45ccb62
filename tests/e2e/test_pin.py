"""On a phone: set a transaction PIN in the profile's security settings, then send money with it. A missing
and a wrong PIN come back to the same review with the message under the field; axe finds nothing on the
way, light or dark."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.e2e.test_accessibility import funded_user, sign_in

pytestmark = pytest.mark.e2e
MINUS = "\u2212"


def set_pin(page: Page, axe, password: str) -> None:
    page.goto("/profile#pin")
    expect(page.get_by_role("heading", name="Set a transaction PIN")).to_be_visible()
    page.get_by_label("Your password").fill(password)
    page.get_by_label("New PIN", exact=True).fill("1234")
    page.get_by_label("Confirm new PIN").fill("1234")
    page.get_by_role("button", name="Set PIN").click()
    expect(page.locator("#e-new_pin")).to_contain_text("Digits in a row")  # too easy: told next to the field
    axe(page, "profile PIN errors")
    page.get_by_label("Your password").fill(password)
    page.get_by_label("New PIN", exact=True).fill("4829")
    page.get_by_label("Confirm new PIN").fill("4829")
    page.get_by_role("button", name="Set PIN").click()
    expect(page.get_by_text("Your transaction PIN is saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Change transaction PIN")).to_be_visible()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_set_a_pin_and_send_money_with_it(phone, live_app, axe, screenshot, scheme):
    email, other = funded_user(live_app, usd=5_000), funded_user(live_app, usd=1)
    page = phone()
    page.emulate_media(color_scheme=scheme)
    sign_in(page, email)
    set_pin(page, axe, PASSWORD)

    page.goto("/send")
    page.get_by_label("To", exact=True).fill(other)
    page.get_by_label("Amount", exact=True).fill("12.50")
    page.get_by_role("button", name="Review").click()
    pin = page.get_by_label("Transaction PIN")
    expect(pin).to_have_attribute("inputmode", "numeric")
    axe(page, f"review with a PIN ({scheme})")
    screenshot(page, f"pin-review-{scheme}")

    page.get_by_role("button", name="Send $12.50").click()  # no PIN
    expect(page.locator("#e-pin")).to_have_text("Enter your 4-digit transaction PIN to confirm.")
    expect(page.get_by_test_id("confirm-amount")).to_have_text("$12.50")  # still the review
    pin.fill("1357")
    page.get_by_role("button", name="Send $12.50").click()
    expect(page.locator("#e-pin")).to_contain_text("That PIN is not right. 4 tries left")
    expect(page.locator("[data-error-summary]")).to_be_focused()
    axe(page, f"review with a wrong PIN ({scheme})")
    screenshot(page, f"pin-wrong-{scheme}")

    page.get_by_label("Transaction PIN").fill("4829")
    page.get_by_role("button", name="Send $12.50").click()
    expect(page.get_by_test_id("receipt-amount")).to_have_text(f"{MINUS}$12.50")
    page.get_by_role("link", name="Home").click()
    expect(page.get_by_test_id("balance-USD")).to_have_text("$37.50")
