"""Adding money by card (DESIGN §8): a pending `deposit` transaction, then a Stripe PaymentIntent the
person pays in the browser; the wallet is credited only by Stripe's verified webhook
(services/deposit_events.py), never because a client says it paid.

Three steps, never a provider call inside a database transaction (DESIGN §6): (1) claim the idempotency
key and store the pending transaction, committed; (2) create the PaymentIntent, with a Stripe
idempotency key derived from our transaction id; (3) store its id and client secret. If Stripe is down
the transaction ends `failed` and ProviderUnavailable (503) tells the client to try again later.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from datetime import time as clock

from sqlalchemy import func, select

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import CurrencyMismatch, NotFound, ProviderUnavailable
from webapp.models import CardDeposit, Transaction, User, Wallet
from webapp.models.base import new_id, utcnow
from webapp.money import Money
from webapp.providers import stripe as stripe_provider
from webapp.providers.payments import PaymentIntent, PaymentProviderError, ProviderDown
from webapp.services import audit, history, idempotency, ledger, limits
from webapp.services.deposit_events import handle_event, mark_failed, settle_from_intent

__all__ = ["Deposit", "check", "client_secret_for", "handle_event", "start"]
OPERATION = "deposit"
UNAVAILABLE = "Card payments were unavailable when you tried. Nothing was charged; please try again."
REPLAY_WAIT = 30  # seconds a replay waits for the first request to get its PaymentIntent, then takes over
COUNTERPARTY = {"type": "card", "name": "Card"}


@dataclass(frozen=True)
class Deposit:
    transaction: Transaction  # kind "deposit", direction credit; pending until the webhook settles it
    client_secret: str  # for Stripe.js on the card page; never logged


def start(uow: UnitOfWork, *, user_id: str, wallet_id: str, amount: Money, idempotency_key: object) -> Deposit:
    """Open a deposit of `amount` into the user's wallet. The same key returns the same Deposit, without
    a second PaymentIntent; a key whose first attempt failed because Stripe was down answers that again."""
    key = idempotency.check_key(idempotency_key)
    limits.check_positive(amount)
    request_hash = idempotency.fingerprint({"wallet": wallet_id, "amount": amount.amount,
                                            "currency": amount.currency})
    transaction_id, fresh = _record_pending(uow, user_id, wallet_id, amount, key, request_hash)
    return _create_intent(uow, transaction_id) if fresh else _replay(uow, transaction_id)


def client_secret_for(uow: UnitOfWork, *, user_id: str, transaction_id: str) -> str | None:
    """The client secret of the user's own deposit while it can still be paid; None otherwise."""
    with uow:
        row = uow.session.get(CardDeposit, transaction_id) if isinstance(transaction_id, str) else None
        if row is None or row.user_id != user_id or row.status not in ("pending", "failed"):
            return None
        return row.client_secret


def check(uow: UnitOfWork, *, user_id: str, transaction_id: str) -> None:
    """Ask Stripe about the user's pending deposit, when the page has reason to think the attempt failed
    (Stripe.js reported an error, or the bank's 3-D Secure page sent the person back). A failure Stripe
    confirms ends the deposit failed at once, as its webhook would; Stripe unreachable changes nothing."""
    with uow:
        row = uow.session.get(CardDeposit, transaction_id) if isinstance(transaction_id, str) else None
    if row is None or row.user_id != user_id or row.status != "pending" or row.payment_intent_id is None:
        return
    try:
        intent = stripe_provider.from_config(uow.config).retrieve_payment_intent(row.payment_intent_id)
    except PaymentProviderError:
        return  # the webhook, or the next look, will tell
    settle_from_intent(uow, transaction_id, intent)


@retry_on_conflict
def _record_pending(uow, user_id, wallet_id, amount, key, request_hash) -> tuple[str, bool]:
    transaction_id = new_id()
    with uow:
        try:
            idempotency.claim(uow, user_id=user_id, operation=OPERATION, key=key, request_hash=request_hash,
                              result_id=transaction_id)
        except idempotency.KeyTaken:
            pass  # seen before: answer as the first request was answered
        else:
            _write_pending(uow, transaction_id, user_id, wallet_id, amount)
            uow.commit()
            return transaction_id, True
    with uow:
        return idempotency.find_result(uow, user_id=user_id, operation=OPERATION, key=key,
                                       request_hash=request_hash), False


def _write_pending(uow, transaction_id, user_id, wallet_id, amount: Money) -> None:
    wallet = uow.session.get(Wallet, wallet_id) if isinstance(wallet_id, str) else None
    if wallet is None or wallet.user_id != user_id:
        raise NotFound("Wallet not found.")
    if wallet.currency != amount.currency:
        raise CurrencyMismatch(f"This wallet holds {wallet.currency}, not {amount.currency}.")
    kyc_status = uow.session.get(User, user_id).kyc_status
    limits.check_deposit(uow, amount, kyc_status=kyc_status, added_today=0)  # the cheap refusals first
    audit.append(uow, stream=audit.user_stream(user_id), event="deposit_started", actor_id=user_id,
                 data={"transaction_id": transaction_id, "wallet_id": wallet_id, "amount": amount.amount,
                       "currency": amount.currency})
    # The wallet's lock orders this user's deposit starts, so two at once can't both pass the daily limit.
    ledger.lock_wallets(uow, [wallet_id])
    limits.check_deposit(uow, amount, kyc_status=kyc_status, added_today=_added_today(uow, wallet_id))
    history.record(uow, [history.new_record(
        id=transaction_id, wallet_id=wallet_id, user_id=user_id, kind="deposit", direction="credit",
        amount=amount.amount, currency=amount.currency, status="pending", counterparty=COUNTERPARTY)])
    uow.session.add(CardDeposit(transaction_id=transaction_id, user_id=user_id, wallet_id=wallet_id,
                                amount=amount.amount, currency=amount.currency, status="pending", refunded=0,
                                charge_refunded=0, refunds={}, dispute={}))


def _added_today(uow, wallet_id: str) -> int:
    midnight = datetime.combine(utcnow().date(), clock())
    return int(uow.session.scalar(
        select(func.coalesce(func.sum(CardDeposit.amount), 0)).where(
            CardDeposit.wallet_id == wallet_id, CardDeposit.created_at >= midnight,
            CardDeposit.status != "failed")))


def _create_intent(uow, transaction_id: str) -> Deposit:
    with uow:
        row = uow.session.get(CardDeposit, transaction_id)
    metadata = {"transaction_id": row.transaction_id, "wallet_id": row.wallet_id, "user_id": row.user_id}
    gateway = stripe_provider.from_config(uow.config)
    try:
        intent = gateway.create_payment_intent(amount=row.amount, currency=row.currency, metadata=metadata,
                                               idempotency_key=f"ewallet-deposit-{transaction_id}")
    except ProviderDown:
        mark_failed(uow, transaction_id, UNAVAILABLE)
        raise ProviderUnavailable() from None
    except PaymentProviderError:
        mark_failed(uow, transaction_id, "Card payments could not be started. Nothing was charged.")
        raise
    return _attach(uow, transaction_id, intent)


@retry_on_conflict
def _attach(uow, transaction_id: str, intent: PaymentIntent) -> Deposit:
    with uow:
        row = uow.session.get(CardDeposit, transaction_id, with_for_update=True)
        if row.payment_intent_id is None:  # a replay that took over may have stored it first
            row.payment_intent_id, row.client_secret = intent.id, intent.client_secret
            row.updated_at = utcnow()
        deposit = Deposit(uow.session.get(Transaction, transaction_id), row.client_secret)
        uow.commit()
    return deposit


def _replay(uow, transaction_id: str) -> Deposit:
    """Wait for the first request to store its PaymentIntent. If it never does (its process died between
    the two steps), finish its work: Stripe answers the same idempotency key with the same PaymentIntent."""
    deadline = time.monotonic() + REPLAY_WAIT
    while True:
        with uow:
            row = uow.session.get(CardDeposit, transaction_id)
            tx = uow.session.get(Transaction, transaction_id)
        if row.client_secret:
            return Deposit(tx, row.client_secret)
        if tx.status == "failed":
            raise ProviderUnavailable()
        if time.monotonic() > deadline:
            return _create_intent(uow, transaction_id)
        time.sleep(0.05)
