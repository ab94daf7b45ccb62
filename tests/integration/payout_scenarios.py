"""Payouts as the tests make them (a verified user with a sandbox bank account ending in chosen digits),
and the documented responses of the payout endpoints for tests/integration/test_api_spec.py."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from webapp.extensions import new_uow
from webapp.models import Account, Payout, Posting
from webapp.services import reconciliation

PAYOUTS = "/payouts/bank"
ONE = "/payouts/{payout_id}"


def bank_account(user, last4: str = "6789", currency: str = "USD") -> str:
    """A US account ending in `last4`, added through the API (the sandbox behaves by those digits)."""
    body = {"account_holder_name": "Alice Example", "account_number": f"00012345{last4}",
            "routing_number": "110000000", "currency": currency, "country": "US"}
    response = user.post("/bank-accounts", json=body)
    assert response.status_code == 201, response.json
    return response.json["data"]["bank_account"]["id"]


def withdraw(user, account_id: str, amount: int = 2_500, *, key: str | None = None, **extra):
    body = {"wallet_id": user.wallet()["id"], "bank_account_id": account_id, "amount": amount,
            "idempotency_key": key or uuid.uuid4().hex, **extra}
    return user.post(PAYOUTS, json=body)


def row(app, payout_id: str) -> Payout:
    with app.app_context(), new_uow() as uow:
        return uow.session.get(Payout, payout_id)


def in_flight_postings(app, payout_id: str) -> int:
    """Postings of this payout's money into payouts in flight, net of returns: 1 when paid, never 2."""
    with app.app_context(), new_uow() as uow:
        payout = uow.session.get(Payout, payout_id)
        code = f"house:payouts_in_flight:{payout.currency}"
        entries = [payout.paid_entry_id, payout.returned_entry_id]
        return uow.session.scalar(select(func.count()).select_from(Posting).join(Account).where(
            Account.code == code, Posting.entry_id.in_([e for e in entries if e]), Posting.amount > 0)) or 0


def reconciled(app) -> bool:
    with app.app_context():
        return reconciliation.reconcile(new_uow()).ok


def verified_with_account(world, last4: str = "6789"):
    user = world.wallets.user(balance=10_000, kyc="verified")
    return user, bank_account(user, last4)


def frozen(world):
    from tests.integration.test_api_support import set_user

    user, account = verified_with_account(world)
    set_user(world.app, user.id, is_frozen=True)
    return withdraw(user, account)


def paid(world):
    user, account = verified_with_account(world)
    made = withdraw(user, account)
    return [made, user.get(f"/payouts/{made.json['data']['payout']['id']}")]


SCENARIOS = {
    ("post", PAYOUTS, "201"): lambda w: [withdraw(*verified_with_account(w))],
    ("post", PAYOUTS, "403"): lambda w: [withdraw(w.alice, bank_account(w.alice)), frozen(w)],
    ("post", PAYOUTS, "404"): lambda w: [withdraw(*verified_with_account(w)[:1], str(uuid.uuid4()))],
    ("post", PAYOUTS, "409"): lambda w: _conflict(w),
    ("post", PAYOUTS, "422"): lambda w: [w.call("post", PAYOUTS, json={}), _too_much(w), _wrong_currency(w),
                                         _over_the_limit(w)],
    ("get", ONE, "200"): lambda w: paid(w)[1:],
    ("get", ONE, "404"): lambda w: [w.alice.get(f"/payouts/{uuid.uuid4()}")],
}


def _conflict(world):
    user, account = verified_with_account(world)
    assert withdraw(user, account, 100, key="same").status_code == 201
    return [withdraw(user, account, 200, key="same")]


def _too_much(world):
    user, account = verified_with_account(world)
    return withdraw(user, account, 10_001)


def _over_the_limit(world):
    """Above the verified tier's most per payout ($10,000, LIMIT_VERIFIED_PAYOUT_PER_TX): LIMIT_EXCEEDED."""
    user = world.wallets.user(balance=1_000_001, kyc="verified")
    return withdraw(user, bank_account(user), 1_000_001)


def _wrong_currency(world):
    user, account = verified_with_account(world)
    return withdraw(user, account, 100, currency="EUR")
