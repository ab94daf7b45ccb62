"""Someone who forgot their password, on a phone: "Forgot password?" on the sign-in page, a link by email
(read from the test SMTP server), a new password, and signing in with it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, unique_email, unique_phone
from tests.mailbox import body
from webapp.extensions import new_uow
from webapp.services import accounts

pytestmark = pytest.mark.e2e
NEW_PASSWORD = "my-new-phone-passphrase"


def test_a_mailed_link_sets_a_new_password_that_signs_in(phone, live_app, smtp_server, screenshot):
    email = unique_email("forgetful")
    with live_app.app_context():
        accounts.register(new_uow(), email=email, password=PASSWORD, phone=unique_phone())
    page = phone()

    page.goto("/login")
    page.get_by_role("link", name="Forgot password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Forgot your password?")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    expect(page.get_by_text("If an account exists for that address")).to_be_visible()
    screenshot(page, "reset-sent")

    link = re.search(r"(http://\S+/reset-password/\S+)", body(smtp_server.wait_for(email))).group(1)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    screenshot(page, "reset-form")
    page.get_by_role("button", name="Set new password").click()

    expect(page.get_by_text("Your password has been changed")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("balance-USD")).to_have_text("$0.00")

    page.goto(link)  # the link is spent
    expect(page.get_by_role("heading", level=1)).to_have_text("This link can't be used")
