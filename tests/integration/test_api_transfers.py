"""POST /transfers: validation, ownership, money rules, limits, KYC, freezes and idempotency."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from tests.conftest import make_test_app
from tests.integration.test_api_support import assert_error, assert_field_error, assert_success, set_user
from webapp.config import limit_table

NOBODY = SimpleNamespace(email="nobody-needed@example.com")  # for bodies refused before the recipient is looked up


def body_for(sender, recipient, amount=100, **overrides) -> dict:
    return {"from_wallet_id": sender.wallet()["id"], "to_email": recipient.email, "amount": amount,
            "currency": "USD", "idempotency_key": uuid.uuid4().hex, **overrides}


def test_a_transfer_moves_money_and_returns_the_senders_side(wallets):
    alice, bob = wallets.user(balance=1_000), wallets.user()
    tx = assert_success(alice.send(bob, 250), 201)["transaction"]
    assert (tx["wallet_id"], tx["direction"], tx["amount"], tx["status"]) == (alice.wallet()["id"], "debit", 250,
                                                                              "completed")
    assert alice.wallet()["available"] == 750 and bob.wallet()["balance"] == 250


@pytest.mark.parametrize("kind", ["to_wallet_id", "to_user_id", "to_email", "to_phone"])
def test_every_kind_of_recipient(wallets, kind):
    alice, bob = wallets.user(balance=1_000), wallets.user()
    value = {"to_wallet_id": bob.wallet()["id"], "to_user_id": bob.id, "to_email": bob.email.upper(),
             "to_phone": bob.phone}[kind]
    body = body_for(alice, bob, 10, **{kind: value})
    if kind != "to_email":
        del body["to_email"]
    assert_success(alice.post("/transfers", json=body), 201)
    assert bob.wallet()["balance"] == 10


@pytest.mark.parametrize("amount", [12.5, 12.0, "12", "12.50", -5, 0, 2**63, 10**30, True, False, None, [1], {"v": 1}])
def test_amounts_must_be_positive_integer_minor_units(wallets, amount):
    alice = wallets.user(balance=1_000)
    assert_field_error(alice.post("/transfers", json=body_for(alice, NOBODY, amount)), "amount")
    assert alice.wallet()["balance"] == 1_000


@pytest.mark.parametrize("currency", ["ZZZ", "US", "", 840, None, "XAU"])
def test_unknown_currency_is_a_field_error(wallets, currency):
    alice = wallets.user(balance=1_000)
    assert_field_error(alice.post("/transfers", json=body_for(alice, NOBODY, currency=currency)), "currency")


def test_missing_fields_are_all_reported(wallets):
    alice = wallets.user(balance=1_000)
    error = assert_field_error(alice.post("/transfers", json={"note": "hi"}), "from_wallet_id", "amount", "currency",
                               "to")
    assert set(error["details"]["fields"]) == {"from_wallet_id", "amount", "currency", "to"}


@pytest.mark.parametrize("change", [
    {"to_user_id": "someone"},  # two recipients
    {"to_email": None},  # none
    {"to_email": ["x@example.com"]},
    {"from_wallet_id": 7},
    {"note": 5},
    {"note": "n" * 141},
    {"idempotency_key": ""},
    {"idempotency_key": 12345},
    {"idempotency_key": "k" * 256},
])
def test_malformed_transfer_fields_are_422(wallets, change):
    alice = wallets.user(balance=1_000)
    body = {**body_for(alice, NOBODY), **change}
    assert assert_error(alice.post("/transfers", json=body), 422, "VALIDATION_ERROR")["details"]["fields"]
    assert alice.wallet()["balance"] == 1_000


def test_sending_to_yourself_is_a_field_error(wallets):
    alice = wallets.user(balance=1_000)
    assert_field_error(alice.post("/transfers", json=body_for(alice, alice)), "recipient")


def test_sending_from_someone_elses_wallet_is_not_found(wallets):
    alice, bob, carol = wallets.user(balance=1_000), wallets.user(balance=1_000), wallets.user()
    body = body_for(alice, carol, from_wallet_id=bob.wallet()["id"])
    assert_error(alice.post("/transfers", json=body), 404, "NOT_FOUND")
    assert bob.wallet()["balance"] == 1_000 and carol.wallet()["balance"] == 0


@pytest.mark.parametrize("recipient", [{"to_email": "nobody-here@example.com"}, {"to_phone": "+12125550123"},
                                       {"to_user_id": str(uuid.uuid4())}, {"to_wallet_id": str(uuid.uuid4())}])
def test_unknown_recipient_is_not_found(wallets, recipient):
    alice = wallets.user(balance=1_000)
    body = body_for(alice, alice)
    del body["to_email"]
    body.update(recipient)
    assert_error(alice.post("/transfers", json=body), 404, "NOT_FOUND")


def test_insufficient_funds(wallets):
    alice, bob = wallets.user(balance=100), wallets.user()
    assert_error(alice.send(bob, 101), 422, "INSUFFICIENT_FUNDS")
    assert alice.wallet()["balance"] == 100 and bob.wallet()["balance"] == 0


def test_currency_mismatch_on_the_wallet_and_on_the_recipient(wallets):
    alice, bob = wallets.user(balance=1_000), wallets.user()
    assert_error(alice.post("/transfers", json=body_for(alice, bob, currency="EUR")), 422, "CURRENCY_MISMATCH")
    eur = assert_success(alice.post("/wallets", json={"currency": "EUR"}), 201)["wallet"]
    body = body_for(alice, bob, currency="EUR", from_wallet_id=eur["id"])
    assert_error(alice.post("/transfers", json=body), 422, "CURRENCY_MISMATCH")  # bob has no EUR wallet
    body = body_for(alice, bob, to_wallet_id=bob.wallet()["id"], from_wallet_id=eur["id"], currency="EUR")
    del body["to_email"]
    assert_error(alice.post("/transfers", json=body), 422, "CURRENCY_MISMATCH")


def test_kyc_required_above_the_unverified_limit(app, wallets):
    free = app.config["LIMITS"]["unverified"]["send"]["per_tx"]["*"] * 100  # major units → cents
    unverified, verified, bob = wallets.user(balance=free + 1), wallets.user(balance=free + 1, kyc="verified"), \
        wallets.user()
    assert_error(unverified.send(bob, free + 1), 403, "KYC_REQUIRED")
    assert_success(unverified.send(bob, free), 201)
    assert_success(verified.send(bob, free + 1), 201)
    assert bob.wallet()["balance"] == 2 * free + 1


def test_frozen_account_cannot_send_but_can_receive(app, wallets):
    alice, bob = wallets.user(balance=1_000), wallets.user(balance=1_000)
    set_user(app, alice.id, is_frozen=True)
    assert_error(alice.send(bob, 100), 403, "ACCOUNT_FROZEN")
    assert_success(bob.send(alice, 100), 201)
    assert alice.wallet()["balance"] == 1_100
    assert_success(alice.get("/wallets"))  # reading still works


def test_replaying_a_key_returns_the_first_result_without_moving_money_again(wallets):
    alice, bob = wallets.user(balance=1_000), wallets.user()
    body = body_for(alice, bob, 300)
    first = assert_success(alice.post("/transfers", json=body), 201)["transaction"]
    again = assert_success(alice.post("/transfers", json=body), 201)["transaction"]
    assert again == first
    assert alice.wallet()["balance"] == 700 and bob.wallet()["balance"] == 300


def test_same_key_with_a_different_request_is_a_conflict(wallets):
    alice, bob = wallets.user(balance=1_000), wallets.user()
    body = body_for(alice, bob, 300)
    assert_success(alice.post("/transfers", json=body), 201)
    for change in ({"amount": 301}, {"note": "changed"}, {"to_email": wallets.user().email}):
        assert_error(alice.post("/transfers", json={**body, **change}), 409, "IDEMPOTENCY_CONFLICT")
    assert alice.wallet()["balance"] == 700


def test_the_key_may_come_in_the_idempotency_key_header(wallets):
    alice, bob = wallets.user(balance=1_000), wallets.user()
    body = body_for(alice, bob, 200)
    key = body.pop("idempotency_key")
    headers = {**alice.headers, "Idempotency-Key": key}
    first = assert_success(alice.client.post("/api/v1/transfers", json=body, headers=headers), 201)
    again = assert_success(alice.client.post("/api/v1/transfers", json=body, headers=headers), 201)
    assert first == again and alice.wallet()["balance"] == 800
    conflict = alice.client.post("/api/v1/transfers", json={**body, "amount": 1}, headers=headers)
    assert_error(conflict, 409, "IDEMPOTENCY_CONFLICT")
    assert_field_error(alice.post("/transfers", json=body), "idempotency_key")  # no key at all


def test_two_different_keys_in_the_body_and_the_header_are_refused_and_move_nothing(wallets):
    alice, bob = wallets.user(balance=1_000), wallets.user()
    body = body_for(alice, bob, 200)
    same = {**alice.headers, "Idempotency-Key": body["idempotency_key"]}
    assert_success(alice.client.post("/api/v1/transfers", json=body, headers=same), 201)
    other = {**alice.headers, "Idempotency-Key": uuid.uuid4().hex}
    assert_field_error(alice.client.post("/api/v1/transfers", json={**body, "idempotency_key": uuid.uuid4().hex},
                                         headers=other), "idempotency_key")
    assert alice.wallet()["balance"] == 800


def test_keys_belong_to_their_user(wallets):
    alice, bob, carol = wallets.user(balance=1_000), wallets.user(balance=1_000), wallets.user()
    key = uuid.uuid4().hex
    assert_success(alice.send(carol, 100, key=key), 201)
    assert_success(bob.send(carol, 100, key=key), 201)  # same key, other user: a transfer of its own
    assert carol.wallet()["balance"] == 200


# --- Limits (an app with small limits: 100.00 per transfer, 150.00 a day) ---------------------------------


@pytest.fixture()
def limited(database_url, wallets):
    app = make_test_app(database_url, LIMITS=limit_table({"LIMIT_VERIFIED_SEND_PER_TX": "*:100",
                                                          "LIMIT_VERIFIED_SEND_DAILY": "*:150"}))
    yield type(wallets)(app, app.test_client())
    app.extensions["ewallet.db"].dispose()


def test_per_transfer_limit(limited):
    alice, bob = limited.user(balance=50_000, kyc="verified"), limited.user()
    error = assert_error(alice.send(bob, 10_001), 422, "LIMIT_EXCEEDED")
    assert error["details"] == {"limit": 10_000, "currency": "USD", "period": "transaction", "tier": "verified"}
    assert_success(alice.send(bob, 10_000), 201)


def test_daily_limit(limited):
    alice, bob = limited.user(balance=50_000, kyc="verified"), limited.user()
    assert_success(alice.send(bob, 10_000), 201)
    error = assert_error(alice.send(bob, 5_001), 422, "LIMIT_EXCEEDED")
    assert error["details"] == {"limit": 15_000, "currency": "USD", "period": "day", "tier": "verified"}
    assert_success(alice.send(bob, 5_000), 201)
    assert_error(alice.send(bob, 1), 422, "LIMIT_EXCEEDED")
    assert bob.wallet()["balance"] == 15_000
