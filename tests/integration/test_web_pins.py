"""The transaction PIN on the web: set on the profile (errors next to their fields), then asked on every
review step; a wrong or missing one answered on the same review (its draft and idempotency key unchanged)
with the message under the field, the right one confirms; without a PIN, a pointer to the settings."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher

from tests.conftest import PASSWORD
from tests.integration.institution_scenarios import add_institution
from tests.integration.payout_scenarios import bank_account
from tests.integration.pin_support import PIN, WRONG, set_pin, user_row


def sign_in(client, user):
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 303


def _send(app, wallets):
    user, bob = wallets.user(balance=10_000), wallets.user()
    return user, "/send", {"wallet": user.wallet()["id"], "to": bob.email, "amount": "10.00"}


def _pay(app, wallets):
    user, college = wallets.user(balance=10_000), add_institution(app)
    return user, f"/pay/to/{college}", {"wallet": user.wallet()["id"], "amount": "10.00",
                                        "ref_student_id": "S123456", "ref_term": "2026-fall"}


def _topup(app, wallets):
    user = wallets.user(balance=10_000)
    return user, "/topup", {"wallet": user.wallet()["id"], "mobile_number": "+1 415 555 0123", "operator": "us-att",
                            "amount": "10.00"}


def _withdraw(app, wallets):
    user = wallets.user(balance=10_000, kyc="verified")
    return user, "/withdraw", {"wallet": user.wallet()["id"], "account": bank_account(user), "amount": "10.00"}


FLOWS = {"send": _send, "pay": _pay, "topup": _topup, "withdraw": _withdraw}


@pytest.fixture()
def on_review(app, wallets, client):
    """`on_review(flow)`: a new funded user (with a PIN unless told), signed in, whose form of that flow
    checked out: (user, the review page's URL)."""

    def open_review(flow: str, *, pin: bool = True):
        user, form_url, data = FLOWS[flow](app, wallets)
        if pin:
            set_pin(app, user.id)
        sign_in(client, user)
        response = client.post(form_url, data=data)
        assert response.status_code == 303 and "/review/" in response.location, response.location
        return user, response.location

    return open_review


def error_under_pin(html: str) -> str:
    found = re.search(r'<p class="error" id="e-pin" aria-live="polite">([^<]*)</p>', html)
    assert found, "no PIN field"
    return found.group(1)


@pytest.mark.parametrize("flow", list(FLOWS))
def test_the_review_asks_for_the_pin_and_a_wrong_one_stays_on_the_review(app, client, on_review, flow):
    user, url = on_review(flow)
    html = client.get(url).get_data(as_text=True)
    field = re.search(r'<input id="f-pin"[^>]*>', html).group(0)
    for attribute in ('type="password"', 'inputmode="numeric"', 'pattern="[0-9]{4}"', 'maxlength="4"',
                      'autocomplete="off"', 'aria-describedby="h-pin e-pin"', 'aria-invalid="false"'):
        assert attribute in field, attribute
    assert '<label for="f-pin">Transaction PIN</label>' in html and error_under_pin(html) == ""
    balance = user.wallet()

    missing = client.post(url, data={"pin": ""})
    assert missing.status_code == 303 and missing.location == url  # the same review, not the form
    html = client.get(url).get_data(as_text=True)
    assert error_under_pin(html) == "Enter your 4-digit transaction PIN to confirm."
    assert re.search(r'<input id="f-pin"[^>]*aria-invalid="true"', html) and 'href="#f-pin"' in html

    wrong = client.post(url, data={"pin": WRONG})
    assert wrong.location == url
    html = client.get(url).get_data(as_text=True)
    assert error_under_pin(html).startswith("That PIN is not right. 4 tries left")
    assert user.wallet() == balance and user_row(app, user.id).pin_failures == 1

    done = client.post(url, data={"pin": PIN})  # the same draft, so the same idempotency key
    assert done.status_code == 303 and "/transactions/" in done.location
    assert user.wallet()["available"] == balance["available"] - 1_000
    assert client.post(url, data={}).location == done.location  # a second tap: the receipt, no PIN asked


def test_without_a_pin_the_review_points_to_the_security_settings(app, client, on_review):
    user, url = on_review("send", pin=False)
    html = client.get(url).get_data(as_text=True)
    assert 'id="f-pin"' not in html and 'data-testid="pin-hint"' in html and 'href="/profile#pin"' in html
    done = client.post(url)
    assert done.status_code == 303 and "/transactions/" in done.location


def test_a_lock_is_told_on_the_review_with_when_it_ends(app, client, on_review):
    user, url = on_review("send")
    for _ in range(5):
        client.post(url, data={"pin": WRONG})
    html = client.get(url).get_data(as_text=True)
    until = user_row(app, user.id).pin_locked_until
    assert f"sending money is locked until {until:%H:%M} UTC" in error_under_pin(html)
    assert "/transactions/" not in client.post(url, data={"pin": PIN}).location  # the right PIN waits too
    profile = client.get("/profile").get_data(as_text=True)
    assert 'data-testid="pin-locked"' in profile and f"locked until {until:%H:%M} UTC" in profile


def test_the_profile_form_sets_the_pin_with_errors_next_to_its_fields(app, client, wallets):
    user = wallets.user()
    sign_in(client, user)
    page = client.get("/profile").get_data(as_text=True)
    assert "Set a transaction PIN" in page and 'id="f-new_pin"' in page and 'inputmode="numeric"' in page
    bad = client.post("/profile/pin", data={"pin_password": "nope-not-it", "new_pin": "2222", "confirm_pin": "2222"})
    assert bad.status_code == 303 and bad.location.endswith("/profile#pin")
    page = client.get("/profile").get_data(as_text=True)
    assert 'id="e-pin_password" aria-live="polite">This is not your password.</p>' in page
    assert 'id="e-new_pin" aria-live="polite">Four of the same digit' in page
    assert 'href="#f-new_pin"' in page  # the summary links to the field
    mismatch = client.post("/profile/pin", data={"pin_password": PASSWORD, "new_pin": PIN, "confirm_pin": "4830"})
    assert 'id="e-confirm_pin" aria-live="polite">The two PINs do not match.</p>' in client.get(
        mismatch.location).get_data(as_text=True)
    done = client.post("/profile/pin", data={"pin_password": PASSWORD, "new_pin": PIN, "confirm_pin": PIN})
    page = client.get(done.location).get_data(as_text=True)
    assert "Your transaction PIN is saved." in page and "Change transaction PIN" in page
    assert PasswordHasher().verify(user_row(app, user.id).pin_hash, PIN)
