"""The back office in Chromium (issue 12, points 5 and 8): a person captures their ID and a selfie with the
fake camera at 390×844 and sends them; a reviewer signs in, finds the back office from their profile, sees
the photos side by side and approves; the person sees "Verified" and can now withdraw. An admin freezes
and unfreezes an account with a reason, and clears an automatic risk hold found on the flagged page. axe
checks every back-office page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD, unique_email, unique_phone
from tests.e2e.conftest import sign_in
from tests.e2e.test_kyc import capture
from webapp.extensions import new_uow
from webapp.models import User
from webapp.money import Money
from webapp.services import accounts, adjustments, bank_accounts

pytestmark = pytest.mark.e2e


def sign_up(page: Page) -> str:
    email = unique_email("kyc")
    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mobile number").fill(unique_phone())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_test_id("balance-USD")).to_have_text("$0.00")
    return email


def operator(app, role: str) -> str:
    with app.app_context():
        user = accounts.register(new_uow(), email=unique_email(role), password=PASSWORD, phone=unique_phone(),
                                 verified=True)
        with new_uow() as uow:
            uow.session.get(User, user.id).role = role
            uow.commit()
    return user.email


def fund_with_a_bank_account(app, email: str) -> None:
    with app.app_context():
        adjustments.credit(new_uow(), email=email, amount=Money(20_000, "USD"), reason="e2e funding")
        with new_uow() as uow:
            user_id = uow.session.query(User.id).filter(User.email == email).scalar()
        bank_accounts.add(new_uow(), user_id=user_id, account_holder_name="Kim Example",
                          account_number="000123456789", routing_number="110000000", currency="USD", country="US")


def test_capture_then_a_reviewer_approves_and_the_person_can_withdraw(phone, live_app, screenshot, axe):
    person = phone()
    email = sign_up(person)
    fund_with_a_bank_account(live_app, email)
    person.goto("/kyc")
    capture(person, "Front of your document")
    capture(person, "A selfie")
    person.get_by_role("button", name="Send for review").click()
    expect(person.get_by_test_id("kyc-status")).to_have_text("Pending review")

    reviewer = phone()
    sign_in(reviewer, operator(live_app, "reviewer"))
    reviewer.get_by_role("navigation", name="Main").get_by_role("link", name="Profile").click()
    reviewer.get_by_role("link", name="Back office").click()
    expect(reviewer.get_by_role("heading", name="KYC queue")).to_be_visible()
    axe(reviewer, "the KYC queue")
    reviewer.get_by_role("link", name=f"Review {email}").click()
    photos = reviewer.locator(".kyc-photos img")
    expect(photos).to_have_count(2)  # a passport: its front and the selfie, side by side
    for index in range(2):
        assert photos.nth(index).evaluate("img => img.complete && img.naturalWidth > 0")  # served to staff
    screenshot(reviewer, "admin-kyc-review")
    axe(reviewer, "a KYC review")
    reviewer.get_by_role("button", name="Approve: the documents match the person").click()
    expect(reviewer.get_by_role("status").filter(has_text="Approved")).to_be_visible()

    person.reload()
    expect(person.get_by_test_id("kyc-status")).to_have_text("Verified")
    person.goto("/")
    person.get_by_role("link", name="Bank transfer").click()
    person.get_by_label("Amount", exact=True).fill("25.00")
    person.get_by_role("button", name="Review").click()
    person.get_by_role("button", name="Withdraw $25.00").click()
    expect(person.get_by_test_id("receipt-amount")).to_have_text("\u2212$25.00")


def test_an_admin_freezes_and_unfreezes_with_a_reason(phone, live_app, screenshot, axe):
    person_email = sign_up(phone())
    admin = phone()
    sign_in(admin, operator(live_app, "admin"))
    admin.goto("/admin/users")
    axe(admin, "the users list")
    admin.get_by_label("Email, phone or name").fill(person_email)
    admin.get_by_role("button", name="Search").click()
    admin.get_by_role("link", name=person_email).click()
    admin.get_by_role("button", name="Freeze this account").click()
    expect(admin.locator("#e-reason")).to_have_text("Say why, for the audit trail.")
    axe(admin, "a person's page with a problem")
    admin.get_by_label("Reason for freezing").fill("Card fraud reported by the issuer")
    admin.get_by_role("button", name="Freeze this account").click()
    expect(admin.get_by_test_id("frozen")).to_contain_text("Card fraud reported by the issuer")
    screenshot(admin, "admin-user-frozen")
    axe(admin, "a frozen person's page")
    admin.get_by_label("Reason for unfreezing").fill("Issuer withdrew the report")
    admin.get_by_role("button", name="Unfreeze this account").click()
    expect(admin.get_by_test_id("frozen")).to_contain_text("Allowed")

    admin.get_by_role("link", name="Reconciliation").click()
    admin.get_by_role("button", name="Run the reconciliation").click()
    expect(admin.get_by_test_id("reconciliation")).to_contain_text("Clean")
    axe(admin, "the reconciliation")
    admin.get_by_role("link", name="Audit log").click()
    admin.get_by_role("button", name="Check the chain").click()
    expect(admin.get_by_test_id("chain")).to_contain_text("Audit trail intact")
    axe(admin, "the audit log")


def test_an_admin_finds_a_risk_hold_on_the_flagged_page_clears_it_and_unfreezes(phone, live_app, screenshot, axe):
    from webapp.services import risk

    person_email = sign_up(phone())
    with live_app.app_context(), new_uow() as uow:
        person_id = uow.session.query(User.id).filter(User.email == person_email).scalar()
        risk.flag(uow, user_id=person_id, rule="lockouts",
                  details={"lockouts": 2, "threshold": 2, "hours": 24, "last": "pin"})
        uow.commit()
    admin = phone()
    sign_in(admin, operator(live_app, "admin"))
    admin.goto("/admin")
    admin.get_by_role("link", name="Flagged").click()
    expect(admin.get_by_role("row", name=person_email)).to_contain_text("2 lockouts within 24 hours")
    axe(admin, "the flagged list")
    screenshot(admin, "admin-flagged")
    admin.get_by_role("link", name=person_email).click()
    expect(admin.get_by_test_id("frozen")).to_contain_text("Automatic risk hold (lockouts)")
    admin.get_by_role("button", name="Clear this flag").click()
    expect(admin.get_by_text("Say why, for the audit trail.")).to_be_visible()
    axe(admin, "a flagged person's page with a problem")
    admin.get_by_label("Reason for clearing this flag").fill("Called the owner: they forgot their PIN")
    admin.get_by_role("button", name="Clear this flag").click()
    expect(admin.get_by_text("Flag cleared.")).to_be_visible()
    expect(admin.locator("li", has_text="Repeated lockouts")).to_contain_text("Cleared")
    admin.get_by_label("Reason for unfreezing").fill("Owner confirmed by phone")
    admin.get_by_role("button", name="Unfreeze this account").click()
    expect(admin.get_by_test_id("frozen")).to_contain_text("Allowed")
    admin.get_by_role("link", name="Flagged").click()
    expect(admin.get_by_role("row", name=person_email)).to_have_count(0)
