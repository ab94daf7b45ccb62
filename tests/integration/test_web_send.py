"""Sending money through the web form: review, confirm, receipt, and every refusal shown on the form."""

from __future__ import annotations

import re
from html import unescape

import pytest

from tests.conftest import PASSWORD, make_test_app
from webapp.extensions import new_uow
from webapp.models import User
from webapp.money import Money
from webapp.services import adjustments

AMOUNT_ERROR = 'id="e-amount" aria-live="polite">'


def sign_in(client, user):
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def review(client, wallet_id, to, amount, note=""):
    return client.post("/send", data={"wallet": wallet_id, "to": to, "amount": amount, "note": note})


def confirm_fields(html: str) -> dict:
    return {name: hidden(html, name) for name in ("idempotency_key", "to", "amount", "wallet", "note")}


def test_send_flow_moves_the_money_once(client, wallets):
    alice, bob = wallets.user(balance=5_000), wallets.user()
    sign_in(client, alice)
    assert client.get("/send").status_code == 200
    confirm = review(client, alice.wallet()["id"], bob.email, "12.50", "lunch")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert 'data-testid="confirm-amount">$12.50<' in html and bob.email in html
    fields = confirm_fields(html)
    assert len(fields["idempotency_key"]) >= 16
    done = client.post("/send/confirm", data=fields)
    assert done.status_code == 303 and "/transactions/" in done.location
    receipt = client.get(done.location).get_data(as_text=True)
    assert "\u2212$12.50" in receipt and bob.email in receipt and "lunch" in receipt
    again = client.post("/send/confirm", data=fields)  # a double tap or a resubmitted page
    assert again.location == done.location
    assert alice.wallet()["balance"] == 3_750 and bob.wallet()["balance"] == 1_250


def test_a_second_tap_after_spending_everything_still_lands_on_the_receipt(client, wallets):
    alice, bob = wallets.user(balance=2_000), wallets.user()
    sign_in(client, alice)
    fields = confirm_fields(review(client, alice.wallet()["id"], bob.email, "20.00").get_data(as_text=True))
    first = client.post("/send/confirm", data=fields)
    again = client.post("/send/confirm", data=fields)  # the balance is now 0: the replay must not be refused
    assert again.status_code == 303 and again.location == first.location
    assert alice.wallet()["balance"] == 0 and bob.wallet()["balance"] == 2_000


def test_recipient_can_be_a_phone_number(client, wallets):
    alice, bob = wallets.user(balance=1_000), wallets.user()
    sign_in(client, alice)
    html = review(client, alice.wallet()["id"], bob.phone, "1").get_data(as_text=True)
    done = client.post("/send/confirm", data=confirm_fields(html))
    assert done.status_code == 303
    assert bob.wallet()["balance"] == 100


def test_a_bad_amount_shows_its_error_next_to_the_field(client, wallets):
    alice, bob = wallets.user(balance=5_000), wallets.user()
    sign_in(client, alice)
    response = review(client, alice.wallet()["id"], bob.email, "12.345")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert AMOUNT_ERROR + "USD amounts have at most 2 decimal places.</p>" in html
    assert 'value="12.345"' in html  # what they typed stays for them to fix


@pytest.mark.parametrize(("field", "value", "message"), [
    ("amount", "12.345", "USD amounts have at most 2 decimal places."),
    ("amount", "abc", "Enter an amount like 12.50."),
    ("amount", "0", "Enter an amount greater than zero."),
    ("amount", "60", "You have $50.00 available."),
    ("amount", "12.50", ""),
    ("to", "nobody-here@example.com", "No wallet user matches that recipient."),
    ("to", "bob", "Enter an email address or a mobile number."),
])
def test_inline_validation_returns_only_the_error_text(client, wallets, field, value, message):
    alice = wallets.user(balance=5_000)
    sign_in(client, alice)
    response = client.post(f"/send/check/{field}", data={field: value, "wallet": alice.wallet()["id"]},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.get_data(as_text=True) == message


def test_inline_recipient_check_accepts_a_real_user(client, wallets):
    alice, bob = wallets.user(balance=100), wallets.user()
    sign_in(client, alice)
    response = client.post("/send/check/to", data={"to": bob.email, "wallet": alice.wallet()["id"]})
    assert response.get_data(as_text=True) == ""


def test_refusals_show_on_the_form_and_move_nothing(client, wallets, app):
    alice, bob = wallets.user(balance=200_000), wallets.user()
    sign_in(client, alice)
    wallet_id = alice.wallet()["id"]
    over_kyc = review(client, wallet_id, bob.email, "1500")
    fields = confirm_fields(over_kyc.get_data(as_text=True))
    refused = client.post("/send/confirm", data=fields)
    assert refused.status_code == 422
    assert "Verify your identity to send more than $1,000.00." in refused.get_data(as_text=True)
    yourself = review(client, wallet_id, alice.email, "1")
    assert "You can't send money to yourself." in unescape(yourself.get_data(as_text=True))
    with app.app_context():
        adjustments.credit(new_uow(), email=alice.email, amount=Money(500, "EUR"), reason="test")
    eur = alice.wallet("EUR")["id"]
    mismatch = review(client, eur, bob.email, "1")
    assert 'id="e-to" aria-live="polite">The recipient has no EUR wallet.</p>' in mismatch.get_data(as_text=True)
    assert alice.wallet()["balance"] == 200_000 and bob.wallet()["balance"] == 0


def test_a_frozen_account_is_told_at_the_top_of_the_form(client, wallets, app):
    alice, bob = wallets.user(balance=1_000), wallets.user()
    sign_in(client, alice)
    fields = confirm_fields(review(client, alice.wallet()["id"], bob.email, "1").get_data(as_text=True))
    with app.app_context(), new_uow() as uow:
        uow.session.get(User, alice.id).is_frozen = True
        uow.commit()
    refused = client.post("/send/confirm", data=fields)
    assert refused.status_code == 422
    assert 'role="alert"' in (html := refused.get_data(as_text=True)) and "This account is frozen." in html


def test_limits_show_next_to_the_amount(database_url, wallets):
    app = make_test_app(database_url, TRANSFER_LIMIT_PER_TX={"*": 5})
    try:
        alice, bob = wallets.user(balance=5_000), wallets.user()
        client = app.test_client()
        sign_in(client, alice)
        fields = confirm_fields(review(client, alice.wallet()["id"], bob.email, "6").get_data(as_text=True))
        refused = client.post("/send/confirm", data=fields)
        assert AMOUNT_ERROR + "A single transfer can be at most $5.00.</p>" in refused.get_data(as_text=True)
    finally:
        app.extensions["ewallet.db"].dispose()


def test_edit_goes_back_to_the_filled_in_form(client, wallets):
    alice, bob = wallets.user(balance=5_000), wallets.user()
    sign_in(client, alice)
    fields = confirm_fields(review(client, alice.wallet()["id"], bob.email, "7.5").get_data(as_text=True))
    edit = client.post("/send", data={**fields, "action": "edit"}).get_data(as_text=True)
    assert 'value="7.50"' in edit and f'value="{bob.email}"' in edit and "Review" in edit


def test_several_wallets_offer_a_choice(client, wallets, app):
    alice = wallets.user(balance=5_000)
    with app.app_context():
        adjustments.credit(new_uow(), email=alice.email, amount=Money(900, "EUR"), reason="test")
    sign_in(client, alice)
    html = client.get("/send?currency=EUR").get_data(as_text=True)
    assert '<select id="f-wallet" name="wallet"' in html
    assert re.search(r'<option value="[^"]+" selected>\s*EUR wallet', html)
