"""Stripe's webhook events about our deposits, each applied once (DESIGN §7–8).

Deduplication: the event id is inserted into stripe_events first, in the same transaction as the effect.
A redelivery, even one racing the first copy, waits on that key and then changes nothing.

Order: every event about a deposit locks its card_deposits row, then records what it says there (the
refunds by refund id, the largest amount refunded, the dispute and its status) and only then brings the
ledger up to date with everything recorded. Money moves only after the credit: a refund or dispute that
arrives before `payment_intent.succeeded` is kept on the row and applied right after the credit lands,
as the same entries in the same order one in-order delivery would have written. A late event never moves
the ledger backwards: a closed dispute stays closed, a refund already reversed is not reversed again,
and a failure reported after the success does not undo the credit.
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.models import StripeEvent, Transaction
from webapp.models.base import utcnow
from webapp.prepared import Prepared
from webapp.providers.payments import PaymentIntent, WebhookEvent
from webapp.services import audit, deposit_rows, payout_events
from webapp.services.deposit_ledger import apply_dispute, apply_refunds, credit, record_dispute, record_refund
from webapp.services.deposit_rows import LockedDeposit

INTENT_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled")
REFUND_EVENTS = ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")
DISPUTE_EVENTS = ("charge.dispute.created", "charge.dispute.updated", "charge.dispute.funds_withdrawn",
                  "charge.dispute.closed")
HANDLED = {*INTENT_EVENTS, "charge.refunded", *REFUND_EVENTS, *DISPUTE_EVENTS}
# Every delivery starts here, and half of them are duplicates that stop here: compiled once (prepared.py).
_CLAIM = Prepared(insert(StripeEvent.__table__))


@retry_on_conflict
def handle_event(uow: UnitOfWork, event: WebhookEvent) -> str:
    """Apply a verified event: "applied", "duplicate" (seen before) or "ignored" (not ours to act on)."""
    if event.type in payout_events.HANDLED:  # money on its way to a bank, not a deposit
        return payout_events.handle_event(uow, event)
    if event.type not in HANDLED:
        return "ignored"
    with uow:
        if not _claim(uow, event):
            return "duplicate"
        deposit = _deposit_for(uow, event)
        if deposit is not None:
            _apply(uow, deposit, event)
            deposit_rows.save(uow, deposit)
        uow.commit()
    return "applied" if deposit is not None else "ignored"


def _apply(uow: UnitOfWork, deposit: LockedDeposit, event: WebhookEvent) -> None:
    obj = event.object
    match event.type:
        case "payment_intent.succeeded":  # paid: credit once, if it is exactly what we asked for
            succeeded(uow, deposit, obj)
        case "payment_intent.payment_failed":  # declined or failed 3-D Secure; the same intent may still succeed
            mark_failed_locked(uow, deposit, (obj.get("last_payment_error") or {}).get("message")
                               or "The payment did not go through.")
        case "payment_intent.canceled":  # it will never be paid
            mark_failed_locked(uow, deposit, "The payment was canceled.")
        case "charge.refunded":  # the charge's running total refunded (and its refunds, when listed)
            deposit.charge_refunded = max(deposit.charge_refunded, int(obj.get("amount_refunded") or 0))
            for refund in (obj.get("refunds") or {}).get("data") or []:
                record_refund(deposit, refund)
            apply_refunds(uow, deposit)
        case "refund.created" | "refund.updated" | "refund.failed" | "charge.refund.updated":  # one refund
            record_refund(deposit, obj)
            apply_refunds(uow, deposit)
        case "charge.dispute.created" | "charge.dispute.updated" | "charge.dispute.funds_withdrawn":  # hold it
            record_dispute(uow, deposit, obj)
            apply_dispute(uow, deposit)
        case "charge.dispute.closed":  # won: release the hold; lost: the bank took it, post the hold
            record_dispute(uow, deposit, obj)
            apply_dispute(uow, deposit)


def _claim(uow: UnitOfWork, event: WebhookEvent) -> bool:
    """Store the event id first; a twin delivery blocks on the key until we commit, then finds it taken."""
    try:
        uow.execute(_CLAIM, {"id": event.id, "type": event.type[:64], "payment_intent_id": _intent_id(event),
                             "received_at": utcnow()})
    except IntegrityError:
        return False
    uow.settled_by_key = True  # the event id settles a lost COMMIT, as an idempotency key does (db.py)
    return True


def _intent_id(event: WebhookEvent) -> str | None:
    obj = event.object
    found = obj.get("id") if event.type.startswith("payment_intent.") else obj.get("payment_intent")
    return found if isinstance(found, str) else None


def _deposit_for(uow: UnitOfWork, event: WebhookEvent) -> LockedDeposit | None:
    """Our deposit, locked: by the transaction id in the intent's metadata (set before Stripe knew the
    intent's id could reach us), else by the PaymentIntent id. None when the payment is not ours."""
    transaction_id = (event.object.get("metadata") or {}).get("transaction_id") \
        if event.type.startswith("payment_intent.") else None
    return deposit_rows.lock(uow, transaction_id=transaction_id, payment_intent_id=_intent_id(event))


def succeeded(uow: UnitOfWork, deposit: LockedDeposit, intent: dict) -> None:
    if deposit.status in ("completed", "review"):
        return  # credited already, or waiting for a person
    problems = mismatches(deposit, intent)
    if problems:
        _review(uow, deposit, intent.get("id"), problems)
        return
    deposit.payment_intent_id = deposit.payment_intent_id or intent["id"]
    credit(uow, deposit)
    apply_refunds(uow, deposit)
    apply_dispute(uow, deposit)


def mismatches(deposit: LockedDeposit, intent: dict) -> dict:
    """What the PaymentIntent says that differs from the deposit we asked for: never credited."""
    meta = intent.get("metadata") or {}
    expected = {"amount": deposit.amount, "currency": deposit.currency, "transaction_id": deposit.transaction_id,
                "wallet_id": deposit.wallet_id, "user_id": deposit.user_id,
                "payment_intent": deposit.payment_intent_id or intent.get("id")}
    seen = {"amount": intent.get("amount"), "currency": str(intent.get("currency") or "").upper(),
            "transaction_id": meta.get("transaction_id"), "wallet_id": meta.get("wallet_id"),
            "user_id": meta.get("user_id"), "payment_intent": intent.get("id")}
    return {name: {"expected": expected[name], "got": seen[name]} for name in expected if expected[name] != seen[name]}


def _review(uow: UnitOfWork, deposit: LockedDeposit, intent_id, problems: dict) -> None:
    audit.append(uow, stream=audit.SYSTEM, event="deposit_review",
                 data={"transaction_id": deposit.transaction_id, "payment_intent": intent_id, "problems": problems})
    deposit.status = "review"
    _set_transaction(uow, deposit.transaction_id, "review", "We are checking this payment. It will show here "
                     "once it is cleared.")


@retry_on_conflict
def settle_from_intent(uow: UnitOfWork, transaction_id: str, intent: PaymentIntent,
                       reason: str = "The payment was canceled.") -> None:
    """Apply what Stripe says about a pending deposit's PaymentIntent when no event told us: a failed
    attempt (e.g. a failed 3-D Secure check, which localstripe reports by no event at all) or a cancel
    (`reason` says why it was canceled). Never a credit: only the verified `payment_intent.succeeded`
    webhook credits (DESIGN §8)."""
    with uow:
        deposit = deposit_rows.lock(uow, transaction_id=transaction_id)
        if deposit.payment_intent_id != intent.id:
            return
        if intent.status == "canceled":
            mark_failed_locked(uow, deposit, reason)
        elif intent.status == "requires_payment_method" and intent.failure:
            mark_failed_locked(uow, deposit, intent.failure)  # as payment_intent.payment_failed would
        deposit_rows.save(uow, deposit)
        uow.commit()


@retry_on_conflict
def mark_failed(uow: UnitOfWork, transaction_id: str, reason: str) -> None:
    """End a deposit that never got a PaymentIntent (Stripe was down): failed, with a reason."""
    with uow:
        deposit = deposit_rows.lock(uow, transaction_id=transaction_id)
        if deposit.payment_intent_id is None:
            mark_failed_locked(uow, deposit, reason)
            deposit_rows.save(uow, deposit)
        uow.commit()


def mark_failed_locked(uow: UnitOfWork, deposit: LockedDeposit, reason: str) -> None:
    if deposit.status in ("pending", "failed"):  # a credit is never undone by a late failure
        deposit.status = "failed"
        _set_transaction(uow, deposit.transaction_id, "failed", reason)


def _set_transaction(uow: UnitOfWork, transaction_id: str, status: str, reason: str) -> None:
    tx = uow.session.get(Transaction, transaction_id)
    tx.status = status
    tx.meta = {**(tx.meta or {}), "reason": reason}  # what the receipt says happened
