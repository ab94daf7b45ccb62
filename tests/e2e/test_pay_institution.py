"""An operator adds a college with the CLI; a student on a phone pays it from the College payment tile,
first with a student id in the wrong format (the message sits under that field), then right: review,
pay, and a receipt with the structured reference. Also without JavaScript, and through axe."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.test_send_money import sign_up

pytestmark = pytest.mark.e2e
MINUS = "\u2212"


def add_college(ewallet_cli) -> tuple[str, str]:
    name = f"Riverside College {uuid.uuid4().hex[:4]}"
    out = ewallet_cli("institution", "add", name, "--kind", "college", "--country", "US", "--currency", "USD",
                      "--field", r"student_id=^S\d{6}$", "--example", "student_id=S123456",
                      "--field", r"term=20\d\d-(spring|fall)", "--example", "term=2026-fall")
    return name, out.strip()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_pay_a_college_from_the_phone(phone, ewallet_cli, screenshot, axe, javascript):
    name, _ = add_college(ewallet_cli)
    page = phone(javascript=javascript)
    email = sign_up(page)
    ewallet_cli("credit", "--email", email, "--amount", "50000", "--currency", "USD", "--reason", "e2e funding")
    page.reload()
    if javascript:
        screenshot(page, "pay-dashboard")

    page.get_by_role("link", name="College payment").click()
    if javascript:
        screenshot(page, "pay-college-list")
        axe(page, "college list")
    page.get_by_role("link", name=name).click()
    expect(page.get_by_test_id("payee")).to_have_text(name)
    expect(page.get_by_label("Student ID")).to_have_attribute("inputmode", "text")
    page.get_by_label("Student ID").fill("12345")
    page.get_by_label("Term").fill("2026-fall")
    page.get_by_label("Amount", exact=True).fill("125.50")
    page.get_by_role("button", name="Review").click()

    expect(page.locator("#e-ref_student_id")).to_have_text("This is not a valid Student ID: it looks like S123456.")
    expect(page.get_by_label("Student ID")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Term")).to_have_value("2026-fall")  # what was right stays
    if javascript:
        screenshot(page, "pay-college-error")
        axe(page, "pay form with an error")
    page.get_by_label("Student ID").fill("S123456")
    page.get_by_role("button", name="Review").click()

    expect(page.get_by_test_id("confirm-amount")).to_have_text("$125.50")
    expect(page.get_by_test_id("confirm-ref-student_id")).to_have_text("S123456")
    if javascript:
        axe(page, "pay review")
    page.get_by_role("button", name="Pay $125.50").click()

    expect(page.get_by_test_id("receipt-amount")).to_have_text(f"{MINUS}$125.50")
    expect(page.get_by_test_id("receipt-ref-student_id")).to_have_text("S123456")
    expect(page.get_by_test_id("receipt-ref-term")).to_have_text("2026-fall")
    expect(page.get_by_text(name).first).to_be_visible()
    if javascript:
        screenshot(page, "pay-college-receipt")
        axe(page, "pay receipt")
    page.goto("/")
    expect(page.get_by_test_id("balance-USD")).to_have_text("$374.50")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways: {width}px"
