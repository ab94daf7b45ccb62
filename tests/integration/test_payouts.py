"""Withdrawals to a bank, with jobs run inline (no REDIS_URL, as under `ewallet dev`): the hold, the
sandbox bank's three behaviours, who may withdraw, idempotency, and the ledger reconciled after each."""

from __future__ import annotations

import pytest

from tests.integration.payout_scenarios import bank_account, in_flight_postings, reconciled, row, withdraw
from tests.integration.test_api_support import set_user
from webapp.extensions import new_uow
from webapp.services import payout_runs


def payout_of(response) -> dict:
    assert response.status_code == 201, response.json
    return response.json["data"]["payout"]


def test_a_payout_is_paid_and_leaves_the_balance(app, wallets):
    alice = wallets.user(balance=10_000, kyc="verified")
    made = payout_of(withdraw(alice, bank_account(alice), 2_500))
    assert made["amount"] == 2_500 and made["currency"] == "USD"
    shown = alice.get(f"/payouts/{made['id']}").json["data"]["payout"]
    assert shown["status"] == "paid" and shown["failure_reason"] is None and shown["retries"] == 0
    wallet = alice.wallet()
    assert (wallet["balance"], wallet["reserved"], wallet["available"]) == (7_500, 0, 7_500)
    receipt = alice.get(f"/transactions/{made['id']}").json["data"]["transaction"]
    assert (receipt["kind"], receipt["direction"], receipt["status"]) == ("payout", "debit", "completed")
    assert receipt["counterparty"]["last4"] == "6789"
    assert in_flight_postings(app, made["id"]) == 1 and row(app, made["id"]).provider_ref.startswith("sandbox_po_")
    assert reconciled(app)


def test_an_account_that_is_closed_fails_and_the_money_comes_back(app, wallets):
    alice = wallets.user(balance=10_000, kyc="verified")
    made = payout_of(withdraw(alice, bank_account(alice, "0002"), 4_000))
    shown = alice.get(f"/payouts/{made['id']}").json["data"]["payout"]
    assert shown["status"] == "failed" and "account is closed" in shown["failure_reason"]
    assert (alice.wallet()["balance"], alice.wallet()["reserved"]) == (10_000, 0)
    receipt = alice.get(f"/transactions/{made['id']}").json["data"]["transaction"]
    assert receipt["status"] == "failed" and "closed" in receipt["metadata"]["reason"]
    assert in_flight_postings(app, made["id"]) == 0 and reconciled(app)


def test_a_bank_that_times_out_twice_is_tried_again_and_pays_once(app, wallets):
    """Inline, the runner tries again after short pauses (webapp/background.py), so the request that asked
    for the payout already sees it end."""
    alice = wallets.user(balance=10_000, kyc="verified")
    made = payout_of(withdraw(alice, bank_account(alice, "0005"), 1_000))
    payout = row(app, made["id"])
    assert (payout.status, payout.retries, payout.next_attempt_at) == ("paid", 2, None)
    assert alice.wallet()["balance"] == 9_000 and in_flight_postings(app, made["id"]) == 1
    with app.app_context():  # the job once more, as a duplicate or a sweep would run it: nothing happens
        assert payout_runs.attempt(new_uow(), payout_id=made["id"]) == payout_runs.SKIPPED
    assert alice.wallet()["balance"] == 9_000 and in_flight_postings(app, made["id"]) == 1 and reconciled(app)


def test_after_the_last_retry_the_payout_fails_with_its_hold_released(app, wallets, database_url):
    from tests.conftest import make_test_app

    impatient = make_test_app(database_url, PAYOUT_RETRY_MAX=1)
    try:
        alice = wallets.user(balance=10_000, kyc="verified")
        account = bank_account(alice, "0005")
        client = impatient.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {alice.token}"
        made = client.post("/api/v1/payouts/bank", json={"wallet_id": alice.wallet()["id"], "amount": 700,
                                                          "bank_account_id": account, "idempotency_key": "one"})
        payout = row(app, payout_of(made)["id"])
        assert (payout.status, payout.retries) == ("failed", 2) and "could not be reached" in payout.failure_reason
        assert (alice.wallet()["balance"], alice.wallet()["reserved"]) == (10_000, 0) and reconciled(app)
    finally:
        impatient.extensions["ewallet.db"].dispose()


def test_the_same_key_withdraws_once(app, wallets):
    alice = wallets.user(balance=10_000, kyc="verified")
    account = bank_account(alice)
    first, again = (payout_of(withdraw(alice, account, 3_000, key="k-1")) for _ in range(2))
    assert first["id"] == again["id"] and alice.wallet()["balance"] == 7_000
    conflict = withdraw(alice, account, 3_001, key="k-1")
    assert conflict.status_code == 409 and conflict.json["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert reconciled(app)


@pytest.mark.parametrize(("setup", "status", "code"), [
    ("unverified", 403, "KYC_REQUIRED"),
    ("pending_kyc", 403, "KYC_REQUIRED"),
    ("frozen", 403, "ACCOUNT_FROZEN"),
    ("too_much", 422, "INSUFFICIENT_FUNDS"),
    ("below_zero", 403, "ACCOUNT_FROZEN"),
    ("eur_account", 422, "CURRENCY_MISMATCH"),
    ("removed_account", 404, "NOT_FOUND"),
])
def test_who_may_withdraw_what(app, wallets, setup, status, code):
    kyc = {"unverified": "unverified", "pending_kyc": "pending"}.get(setup, "verified")
    alice = wallets.user(balance=1_000, kyc=kyc)
    account = _eur_account(alice) if setup == "eur_account" else bank_account(alice)
    if setup == "frozen":
        set_user(app, alice.id, is_frozen=True)
    if setup == "below_zero":
        _below_zero(app, alice)
    if setup == "removed_account":
        assert alice.client.delete(f"/api/v1/bank-accounts/{account}", headers=alice.headers).status_code == 200
    response = withdraw(alice, account, 2_000 if setup == "too_much" else 500)
    assert (response.status_code, response.json["error"]["code"]) == (status, code), response.json
    assert alice.wallet()["reserved"] == 0 and reconciled(app)


def _eur_account(user) -> str:
    response = user.post("/bank-accounts", json={"account_holder_name": "Alice Example", "currency": "EUR",
                                                 "iban": "DE89370400440532013000", "country": "DE"})
    assert response.status_code == 201, response.json
    return response.json["data"]["bank_account"]["id"]


def _below_zero(app, user) -> None:
    """A wallet a card refund took below zero, as services/deposits.py can (an overdrawing debit)."""
    from webapp.models import Wallet
    from webapp.money import Money
    from webapp.services import ledger

    with app.app_context(), new_uow() as uow:
        wallet = uow.session.get(Wallet, user.wallet()["id"])
        locked = ledger.lock_wallets(uow, [wallet.id])[wallet.id]
        clearing = ledger.house_account_id(uow, "stripe_clearing", "USD")
        ledger.post_entry(uow, kind="refund", legs=[ledger.Leg(Money(-1_500, "USD"), wallet=locked, may_overdraw=True),
                                                     ledger.Leg(Money(1_500, "USD"), account_id=clearing)])
        uow.commit()
    assert user.wallet()["balance"] == -500


def test_a_payout_for_someone_else_is_not_found(wallets):
    alice, bob = wallets.user(balance=1_000, kyc="verified"), wallets.user(kyc="verified")
    made = payout_of(withdraw(alice, bank_account(alice), 100))
    assert bob.get(f"/payouts/{made['id']}").status_code == 404
    assert withdraw(bob, bank_account(alice, "4444"), 100).status_code == 404  # her account, his wallet


def test_amounts_are_integers_of_minor_units(wallets):
    alice = wallets.user(balance=1_000, kyc="verified")
    account = bank_account(alice)
    for amount in (12.5, "100", 0, -1, True):
        response = withdraw(alice, account, amount)
        assert response.status_code == 422 and "amount" in response.json["error"]["details"]["fields"]


def test_twenty_copies_at_once_withdraw_once_and_concurrent_payouts_never_overdraw(app, wallets):
    """The same key from 20 threads released together is one payout; 10 different payouts of $3 racing
    for $20 hold at most $20 (the rest INSUFFICIENT_FUNDS)."""
    from tests.integration.test_concurrency import race

    alice = wallets.user(balance=2_000, kyc="verified")
    account, wallet_id = bank_account(alice), alice.wallet()["id"]

    def body(key):
        return {"wallet_id": wallet_id, "bank_account_id": account, "amount": 300, "idempotency_key": key}

    same = race(app, 20, lambda client, i: client.post("/api/v1/payouts/bank", json=body("one"), headers=alice.headers))
    assert {r.status_code for r in same} == {201} and len({r.json["data"]["payout"]["id"] for r in same}) == 1
    many = race(app, 10, lambda client, i: client.post("/api/v1/payouts/bank", json=body(f"k{i}"),
                                                       headers=alice.headers))
    statuses = sorted(r.status_code for r in many)
    assert statuses == [201] * 5 + [422] * 5, statuses  # $17 left after the first: five more of $3 fit
    assert alice.wallet()["balance"] == 2_000 - 6 * 300 and alice.wallet()["reserved"] == 0 and reconciled(app)
