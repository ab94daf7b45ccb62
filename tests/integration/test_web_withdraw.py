"""The "Withdraw to bank" pages with the Flask test client: the tile, the form's problems all at once, the
review whose double tap holds the money once, and the receipt's status that polls only while the payout is
on its way (jobs queued on the real Redis here, so the test decides when the worker runs)."""

from __future__ import annotations

from sqlalchemy import select

from tests.integration.payout_scenarios import bank_account
from tests.integration.test_web_deposit import sign_in
from tests.integration.worker_support import queued_app, work
from webapp.extensions import new_uow
from webapp.models import Payout

POLLING = 'hx-trigger="load delay:1s"'


def review(client, user, account: str, amount: str = "25.00"):
    return client.post("/withdraw", data={"wallet": user.wallet()["id"], "account": account, "amount": amount})


def test_the_bank_transfer_tile_leads_to_the_form(client, wallets):
    user = wallets.user(kyc="verified")
    sign_in(client, user)
    assert 'href="/withdraw"' in client.get("/").get_data(as_text=True)
    assert "Add a bank account" in client.get("/withdraw").get_data(as_text=True)  # none yet
    bank_account(user)
    assert 'name="account"' in client.get("/withdraw").get_data(as_text=True)


def test_until_verified_the_page_says_so_instead_of_a_form(client, wallets):
    user = wallets.user()
    bank_account(user)
    sign_in(client, user)
    html = client.get("/withdraw").get_data(as_text=True)
    assert 'data-testid="withdraw-kyc"' in html and 'name="amount"' not in html


def test_a_form_with_problems_comes_back_with_each_problem(client, wallets):
    user = wallets.user(balance=1_000, kyc="verified")
    account = bank_account(user)
    sign_in(client, user)
    response = review(client, user, account, "25.00")
    assert response.status_code == 303 and response.location == "/withdraw"
    assert "You have $10.00 available." in client.get("/withdraw").get_data(as_text=True)
    review(client, user, "not-an-account", "")
    html = client.get("/withdraw").get_data(as_text=True)
    assert "Choose the bank account" in html and "Enter an amount." in html


def test_a_double_tap_withdraws_once_and_the_receipt_shows_it_paid(client, wallets, app):
    user = wallets.user(balance=5_000, kyc="verified")
    account = bank_account(user)
    sign_in(client, user)
    confirm = review(client, user, account).location
    assert 'data-testid="confirm-amount">$25.00<' in client.get(confirm).get_data(as_text=True)
    first, second = client.post(confirm), client.post(confirm)
    assert first.location == second.location and first.location.startswith("/transactions/")
    assert client.get(confirm).location == first.location  # the review, reached again, offers the receipt
    html = client.get(first.location).get_data(as_text=True)
    assert 'data-status="paid"' in html and POLLING not in html and "Withdrawal" in html
    with app.app_context(), new_uow() as uow:
        assert len(uow.session.scalars(select(Payout).where(Payout.user_id == user.id)).all()) == 1
    assert user.wallet()["balance"] == 2_500


def test_the_status_polls_while_the_payout_is_on_its_way_then_stops(database_url, wallets):
    with queued_app(database_url) as app:
        client = app.test_client()
        user = wallets.user(balance=5_000, kyc="verified")
        account = bank_account(user, "0002")
        sign_in(client, user)
        receipt = client.post(review(client, user, account).location).location
        html = client.get(receipt).get_data(as_text=True)
        assert 'data-status="pending"' in html and POLLING in html
        status_url = f"/withdraw/{receipt.rsplit('/', 1)[1]}/status"
        work(app)
        fragment = client.get(status_url, headers={"HX-Request": "true"}).get_data(as_text=True)
        assert 'data-status="failed"' in fragment and POLLING not in fragment and "account is closed" in fragment
        assert 'id="receipt-status" hx-swap-oob="true"' in fragment
        assert client.get(status_url.replace(receipt.rsplit("/", 1)[1], "0" * 36)).status_code == 404
