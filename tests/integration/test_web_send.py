"""Sending money through the web form: review, confirm, receipt, and every refusal shown on the form."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD, make_test_app
from webapp.config import limit_table
from webapp.extensions import new_uow
from webapp.models import User
from webapp.money import Money
from webapp.services import adjustments

AMOUNT_ERROR = 'id="e-amount" aria-live="polite">'


def sign_in(client, user):
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)


def review(client, wallet_id, to, amount, note=""):
    """Submit the form. A form that checks out answers 303 to its review page, a GET of its draft."""
    return client.post("/send", data={"wallet": wallet_id, "to": to, "amount": amount, "note": note})


def review_url(client, wallet_id, to, amount, note="") -> str:
    response = review(client, wallet_id, to, amount, note)
    assert response.status_code == 303 and response.location.startswith("/send/review/"), response.location
    return response.location


def followed(client, response) -> str:
    assert response.status_code == 303, response.status_code
    return client.get(response.location).get_data(as_text=True)


def test_send_flow_moves_the_money_once(client, wallets):
    alice, bob = wallets.user(balance=5_000), wallets.user()
    sign_in(client, alice)
    assert client.get("/send").status_code == 200
    url = review_url(client, alice.wallet()["id"], bob.email, "12.50", "lunch")
    page = client.get(url)  # the review is a GET: Back and reload show it again, no resubmission
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-testid="confirm-amount">$12.50<' in html
    assert bob.email.replace("@", "<wbr>@") in html
    assert f'action="{url}"' in html and "idempotency_key" not in html  # the key stays with the draft
    assert client.get(url).get_data(as_text=True) == html  # a reload changes nothing
    done = client.post(url)
    assert done.status_code == 303 and "/transactions/" in done.location
    receipt = client.get(done.location).get_data(as_text=True)
    assert "\u2212$12.50" in receipt and bob.email in receipt and "lunch" in receipt
    again = client.post(url)  # a double tap, or Back to the review and Send once more
    assert again.location == done.location
    back = client.get(url)  # Back to the review after sending leads to the receipt
    assert back.status_code == 303 and back.location == done.location
    assert "You already sent this." in client.get(back.location).get_data(as_text=True)
    assert alice.wallet()["balance"] == 3_750 and bob.wallet()["balance"] == 1_250


def test_a_second_tap_after_spending_everything_still_lands_on_the_receipt(client, wallets):
    alice, bob = wallets.user(balance=2_000), wallets.user()
    sign_in(client, alice)
    url = review_url(client, alice.wallet()["id"], bob.email, "20.00")
    first = client.post(url)
    again = client.post(url)  # the balance is now 0: the replay must not be refused
    assert again.status_code == 303 and again.location == first.location
    assert alice.wallet()["balance"] == 0 and bob.wallet()["balance"] == 2_000


def test_twenty_taps_on_one_review_move_the_money_once(database_url, wallets):
    from concurrent.futures import ThreadPoolExecutor

    app = make_test_app(database_url)
    try:
        alice, bob = wallets.user(balance=5_000), wallets.user()
        client = app.test_client()
        sign_in(client, alice)
        url = review_url(client, alice.wallet()["id"], bob.email, "10")
        cookie = client.get_cookie("session").value

        def tap(_):
            tapper = app.test_client()
            tapper.set_cookie("session", cookie)
            return tapper.post(url).location

        with ThreadPoolExecutor(max_workers=20) as pool:
            receipts = set(pool.map(tap, range(20)))
        assert len(receipts) == 1 and "/transactions/" in receipts.pop()
        assert alice.wallet()["balance"] == 4_000 and bob.wallet()["balance"] == 1_000
    finally:
        app.extensions["ewallet.db"].dispose()


def test_recipient_can_be_a_phone_number(client, wallets):
    alice, bob = wallets.user(balance=1_000), wallets.user()
    sign_in(client, alice)
    done = client.post(review_url(client, alice.wallet()["id"], bob.phone, "1"))
    assert done.status_code == 303
    assert bob.wallet()["balance"] == 100


@pytest.mark.parametrize(("to", "amount", "problems"), [
    ("nobody-here@example.com", "12.345", {"to": "No wallet user matches that recipient.",
                                           "amount": "USD amounts have at most 2 decimal places."}),
    ("bob", "abc", {"to": "Enter an email address or a mobile number.", "amount": "Enter an amount like 12.50."}),
    ("", "", {"to": "Enter the recipient&#39;s email or mobile number.", "amount": "Enter an amount."}),
    ("nobody-here@example.com", "60", {"to": "No wallet user matches that recipient.",
                                       "amount": "You have $50.00 available."}),
])
def test_every_problem_shows_at_once_next_to_its_field(client, wallets, to, amount, problems):
    alice = wallets.user(balance=5_000)
    sign_in(client, alice)
    response = review(client, alice.wallet()["id"], to, amount)
    assert response.location == "/send"  # Post/Redirect/Get: a reload never resubmits
    html = client.get(response.location).get_data(as_text=True)
    for field, message in problems.items():
        assert f'id="e-{field}" aria-live="polite">{message}</p>' in html
        assert re.search(rf'id="f-{field}"[^>]*aria-invalid="true"', html)
    assert f"Check these {len(problems)} fields" in html and 'role="alert"' in html
    assert f'value="{to}"' in html and f'value="{amount}"' in html  # what they typed stays for them to fix
    assert alice.wallet()["balance"] == 5_000


@pytest.mark.parametrize(("field", "value", "message"), [
    ("amount", "12.345", "USD amounts have at most 2 decimal places."),
    ("amount", "abc", "Enter an amount like 12.50."),
    ("amount", "0", "Enter an amount greater than zero."),
    ("amount", "60", "You have $50.00 available."),
    ("amount", "12.50", ""),
    ("amount", "", ""),
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


def test_inline_checks_leave_empty_fields_alone_until_submit(client, wallets):
    alice = wallets.user(balance=5_000)
    sign_in(client, alice)
    for field in ("amount", "to"):
        response = client.post(f"/send/check/{field}", data={field: "", "wallet": alice.wallet()["id"]})
        assert response.get_data(as_text=True) == ""


def test_inline_recipient_check_accepts_a_real_user(client, wallets):
    alice, bob = wallets.user(balance=100), wallets.user()
    sign_in(client, alice)
    response = client.post("/send/check/to", data={"to": bob.email, "wallet": alice.wallet()["id"]})
    assert response.get_data(as_text=True) == ""


def test_refusals_show_on_the_form_and_move_nothing(client, wallets, app):
    alice, bob = wallets.user(balance=200_000), wallets.user()
    sign_in(client, alice)
    wallet_id = alice.wallet()["id"]
    url = review_url(client, wallet_id, bob.email, "1500")
    refused = client.post(url)
    draft_id = url.rsplit("/", 1)[1]
    assert refused.status_code == 303 and refused.location == f"/send?draft={draft_id}"
    html = client.get(refused.location).get_data(as_text=True)
    assert "Verify your identity to send more than $1,000.00." in html and 'value="1500"' in html
    yourself = followed(client, review(client, wallet_id, alice.email, "1"))
    assert "You can&#39;t send money to yourself." in yourself
    with app.app_context():
        adjustments.credit(new_uow(), email=alice.email, amount=Money(500, "EUR"), reason="test")
    eur = alice.wallet("EUR")["id"]
    mismatch = followed(client, review(client, eur, bob.email, "1"))
    assert 'id="e-to" aria-live="polite">The recipient has no EUR wallet.</p>' in mismatch
    assert alice.wallet()["balance"] == 200_000 and bob.wallet()["balance"] == 0


def test_a_frozen_account_is_told_at_the_top_of_the_form(client, wallets, app):
    alice, bob = wallets.user(balance=1_000), wallets.user()
    sign_in(client, alice)
    url = review_url(client, alice.wallet()["id"], bob.email, "1")
    with app.app_context(), new_uow() as uow:
        uow.session.get(User, alice.id).is_frozen = True
        uow.commit()
    html = followed(client, client.post(url))
    assert 'role="alert"' in html and "This account is frozen." in html
    assert alice.wallet()["balance"] == 1_000


def test_limits_show_next_to_the_amount(database_url, wallets):
    app = make_test_app(database_url, LIMITS=limit_table({"LIMIT_UNVERIFIED_SEND_PER_TX": "*:5",
                                                          "LIMIT_VERIFIED_SEND_PER_TX": "*:5"}))
    try:
        alice, bob = wallets.user(balance=5_000), wallets.user()
        client = app.test_client()
        sign_in(client, alice)
        html = followed(client, client.post(review_url(client, alice.wallet()["id"], bob.email, "6")))
        assert AMOUNT_ERROR + "A single transfer can be at most $5.00.</p>" in html
    finally:
        app.extensions["ewallet.db"].dispose()


def test_edit_goes_back_to_the_filled_in_form(client, wallets):
    alice, bob = wallets.user(balance=5_000), wallets.user()
    sign_in(client, alice)
    url = review_url(client, alice.wallet()["id"], bob.email, "7.5", "rent")
    edit_link = f'href="/send?draft={url.rsplit("/", 1)[1]}"'
    assert edit_link in client.get(url).get_data(as_text=True)
    edit = client.get(f"/send?draft={url.rsplit('/', 1)[1]}").get_data(as_text=True)
    assert 'value="7.5"' in edit and f'value="{bob.email}"' in edit and 'value="rent"' in edit


def test_a_review_is_only_yours_and_only_for_a_while(client, wallets, app, monkeypatch):
    alice, bob = wallets.user(balance=5_000), wallets.user()
    sign_in(client, alice)
    url = review_url(client, alice.wallet()["id"], bob.email, "5")
    stranger = app.test_client()
    sign_in(stranger, bob)
    assert stranger.post(url).location == "/send"  # drafts live in the owner's session, nowhere else
    from webapp.web import drafts

    monkeypatch.setattr(drafts, "TTL", 0)  # a review that is already past its time
    expired = client.post(review_url(client, alice.wallet()["id"], bob.email, "5"))
    assert expired.location == "/send"
    assert "That review has expired." in client.get("/send").get_data(as_text=True)
    assert alice.wallet()["balance"] == 5_000 and bob.wallet()["balance"] == 0


def test_several_wallets_offer_a_choice_that_carries_its_symbol(client, wallets, app):
    alice = wallets.user(balance=5_000)
    with app.app_context():
        adjustments.credit(new_uow(), email=alice.email, amount=Money(900, "EUR"), reason="test")
    sign_in(client, alice)
    html = client.get("/send?currency=EUR").get_data(as_text=True)
    assert re.search(r'<select id="f-wallet" name="wallet"', html)
    assert re.search(r'data-symbol="€" data-available="€9.00 available"\s+selected>\s*EUR wallet', html)
    assert 'data-amount-symbol>€</span>' in html and 'id="h-amount">€9.00 available</p>' in html
