"""Starting a card deposit over the API, against localstripe over HTTP: the pending transaction, the
PaymentIntent made once per key, the limits, and a Stripe that cannot be reached."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from tests.conftest import make_test_app
from tests.integration.test_concurrency import race
from webapp.extensions import new_uow
from webapp.models import CardDeposit, Transaction
from webapp.providers import stripe as stripe_provider
from webapp.services import deposits


def start(user, amount=2_500, currency="USD", key=None, wallet_id=None):
    wallet_id = wallet_id or user.wallet(currency)["id"]
    body = {"amount": amount, "currency": currency, "idempotency_key": key or uuid.uuid4().hex}
    return user.post(f"/wallets/{wallet_id}/deposit", json=body)


def deposit_row(app, transaction_id) -> CardDeposit:
    with app.app_context(), new_uow() as uow:
        return uow.session.get(CardDeposit, transaction_id)


def intents_for(app, transaction_id) -> list:
    """The PaymentIntents localstripe holds for this transaction, by the metadata we sent."""
    gateway = stripe_provider.from_config(app.config)
    listing = gateway.client.v1.payment_intents.list(params={"limit": 100})
    return [pi for pi in listing.auto_paging_iter() if pi.metadata.to_dict().get("transaction_id") == transaction_id]


def test_a_deposit_is_pending_with_a_client_secret_and_one_payment_intent(app, wallets):
    alice = wallets.user()
    response = start(alice, 2_500)

    assert response.status_code == 201, response.json
    data = response.json["data"]
    tx = data["transaction"]
    assert (tx["kind"], tx["direction"], tx["status"], tx["amount"], tx["currency"]) == (
        "deposit", "credit", "pending", 2_500, "USD")
    assert data["client_secret"].startswith("pi_")
    row = deposit_row(app, tx["id"])
    assert data["client_secret"] == row.client_secret and row.status == "pending"
    [intent] = intents_for(app, tx["id"])
    assert (intent.id, intent.amount, intent.currency) == (row.payment_intent_id, 2_500, "usd")
    assert intent.metadata.to_dict() == {"transaction_id": tx["id"], "wallet_id": row.wallet_id, "user_id": alice.id}
    assert alice.wallet()["balance"] == 0  # nothing until Stripe's webhook says it was paid
    assert alice.get(f"/transactions/{tx['id']}").json["data"]["transaction"]["status"] == "pending"
    with app.app_context():
        assert deposits.client_secret_for(new_uow(), user_id=alice.id, transaction_id=tx["id"]) == row.client_secret
        assert deposits.client_secret_for(new_uow(), user_id=wallets.user().id, transaction_id=tx["id"]) is None


def test_the_same_key_replays_the_same_answer_without_a_second_payment_intent(app, wallets):
    alice = wallets.user()
    first = start(alice, 1_000, key="add-ten")
    again = start(alice, 1_000, key="add-ten")
    changed = start(alice, 1_001, key="add-ten")

    assert first.status_code == again.status_code == 201
    assert first.json == again.json
    assert changed.status_code == 409 and changed.json["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert len(intents_for(app, first.json["data"]["transaction"]["id"])) == 1
    with app.app_context(), new_uow() as uow:
        count = uow.session.scalar(select(func.count()).select_from(Transaction).where(
            Transaction.user_id == alice.id, Transaction.kind == "deposit"))
    assert count == 1


@pytest.mark.parametrize(("amount", "kyc", "message"), [
    (99, "unverified", "Add at least $1.00."),
    (500_001, "verified", "You can add at most $5,000.00 at a time."),
])
def test_limits_by_deposit_and_by_day_for_the_kyc_tier(wallets, amount, kyc, message):
    user = wallets.user(kyc=kyc)
    response = start(user, amount)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "LIMIT_EXCEEDED"
    assert response.json["error"]["message"] == message
    assert response.json["error"]["details"]["currency"] == "USD"


def test_the_daily_total_counts_pending_deposits_and_not_failed_ones(wallets):
    unverified, verified = wallets.user(), wallets.user(kyc="verified")
    assert start(unverified, 30_000).status_code == 201
    over = start(unverified, 20_001)
    assert over.status_code == 422 and over.json["error"]["details"]["limit"] == 50_000
    assert start(unverified, 20_000).status_code == 201  # exactly $500 today
    assert start(verified, 300_000).status_code == 201  # verified: $10,000 a day


def test_another_users_wallet_or_another_currency_is_refused(wallets):
    alice, bob = wallets.user(), wallets.user()
    assert start(alice, wallet_id=bob.wallet()["id"]).status_code == 404
    mismatch = start(alice, currency="EUR", wallet_id=alice.wallet()["id"])
    assert mismatch.status_code == 422 and mismatch.json["error"]["code"] == "CURRENCY_MISMATCH"
    invalid = start(alice, amount=25.0)
    assert invalid.status_code == 422 and invalid.json["error"]["code"] == "VALIDATION_ERROR"


@pytest.fixture()
def stripe_down_app(database_url, stripe_settings):
    """The app with the SDK pointed at a loopback port where nothing listens."""
    app = make_test_app(database_url, **{**stripe_settings, "STRIPE_API_BASE": "http://127.0.0.1:9"})
    yield app
    app.extensions["ewallet.db"].dispose()


def test_stripe_unreachable_is_a_503_with_retry_after_and_the_deposit_ends_failed(stripe_down_app, wallets):
    client = stripe_down_app.test_client()
    alice = type(wallets)(stripe_down_app, client).user()
    response = start(alice, 2_500, key="while-down")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    error = response.json["error"]
    assert error["code"] == "PROVIDER_UNAVAILABLE"
    assert error["details"]["correlation_id"] == response.headers["X-Request-ID"]
    page = alice.get(f"/wallets/{alice.wallet()['id']}/transactions").json["data"]["transactions"]
    assert [(t["kind"], t["status"]) for t in page] == [("deposit", "failed")]
    assert "Nothing was charged" in page[0]["metadata"]["reason"]
    again = start(alice, 2_500, key="while-down")  # the same key answers the same
    assert again.status_code == 503 and again.json["error"]["code"] == "PROVIDER_UNAVAILABLE"


def test_ten_copies_at_once_make_one_deposit_and_one_payment_intent(app, wallets):
    alice = wallets.user()
    body = {"amount": 1_999, "currency": "USD", "idempotency_key": "tap-tap-tap"}
    path = f"/api/v1/wallets/{alice.wallet()['id']}/deposit"

    responses = race(app, 10, lambda client, i: client.post(path, json=body, headers=alice.headers))

    assert {r.status_code for r in responses} == {201}
    assert len({r.get_data() for r in responses}) == 1  # the same answer, client secret included
    assert len(intents_for(app, responses[0].json["data"]["transaction"]["id"])) == 1
