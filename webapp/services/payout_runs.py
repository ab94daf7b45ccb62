"""One attempt at paying a payout out, as the job `jobs.payouts.send` makes it, and the sweep that finds
payouts whose job was lost.

An attempt is three steps, never a provider call inside a transaction (DESIGN §6): (1) claim the payout
with a conditional UPDATE (pending, or processing whose lease has run out) and commit; (2) call the
provider with the idempotency key `ewallet-payout-<id>`, so however often this runs the bank pays once;
(3) settle under the payout's row lock: paid → the hold is posted to the house `payouts_in_flight`
account; refused → the hold is released, failed with a reason; a timeout → counted, and tried again after
a backoff until PAYOUT_RETRY_MAX, then failed with the hold released.

Running twice is safe at every point: a second claim finds nothing to claim while the first holds its
lease, and settling a payout that is no longer `processing` changes nothing. A worker killed during the
provider call leaves the payout `processing` with a lease that runs out (PAYOUT_LEASE seconds); the
scheduler's sweep then queues it again, and the provider answers the same key with the same payout.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.models import BankAccount, Hold, Payout, Transaction
from webapp.models.base import utcnow
from webapp.money import Money
from webapp.providers import bank
from webapp.services import audit, ledger, payouts

log = logging.getLogger(__name__)
PAID, FAILED, RETRY, SKIPPED, ACCEPTED = "paid", "failed", "retry", "skipped", "accepted"
GAVE_UP = "The bank could not be reached after several tries. Nothing was sent; the money is back in your wallet."
SWEEP_BATCH = 200
_payouts = Payout.__table__


def attempt(uow: UnitOfWork, *, payout_id: str) -> str:
    """One attempt: PAID, FAILED, ACCEPTED (the provider's webhook will settle it), RETRY (the caller
    should run again after the backoff) or SKIPPED (final already, or another attempt holds it)."""
    order = claim(uow, payout_id)
    if order is None:
        return SKIPPED
    try:
        receipt = bank.provider(uow.config).send_payout(order)
    except bank.PayoutRejected as refused:
        return fail(uow, payout_id, reason=str(refused))
    except bank.ProviderDown as down:
        log.warning("payout %s: provider down (%s)", payout_id, down, extra={"event": "payout.transient"})
        return _transient(uow, payout_id)
    return settle(uow, payout_id, receipt)


@retry_on_conflict
def claim(uow: UnitOfWork, payout_id: str) -> bank.PayoutOrder | None:
    """Mark the payout processing, for PAYOUT_LEASE seconds, if nobody else is on it; the row count says."""
    now = utcnow()
    lease = now + timedelta(seconds=int(uow.config.get("PAYOUT_LEASE", 300)))
    free = or_(_payouts.c.status == "pending",
               and_(_payouts.c.status == "processing", _payouts.c.next_attempt_at <= now))
    with uow:
        taken = uow.execute(update(_payouts).where(_payouts.c.id == payout_id, free)
                            .values(status="processing", next_attempt_at=lease, updated_at=now)).rowcount
        if taken != 1:
            return None
        payout = uow.session.get(Payout, payout_id)
        token = uow.session.get(BankAccount, payout.bank_account_id).provider_token
        uow.commit()
    return bank.PayoutOrder(payout_id=payout_id, token=token, amount=payout.amount, currency=payout.currency,
                            idempotency_key=f"ewallet-payout-{payout_id}")


@retry_on_conflict
def settle(uow: UnitOfWork, payout_id: str, receipt: bank.PayoutReceipt) -> str:
    with uow:
        payout = _locked(uow, payout_id)
        if payout.status != "processing":
            return SKIPPED  # a webhook, or a twin attempt, settled it first
        payout.provider_ref = receipt.ref
        if receipt.paid:
            mark_paid_locked(uow, payout)
        else:
            payout.next_attempt_at = None  # nobody takes it over: the webhook ends it
        payout.updated_at = utcnow()
        uow.commit()
    return PAID if receipt.paid else ACCEPTED


@retry_on_conflict
def fail(uow: UnitOfWork, payout_id: str, *, reason: str) -> str:
    with uow:
        payout = _locked(uow, payout_id)
        if payout.status in ("paid", "failed"):
            return SKIPPED
        fail_locked(uow, payout, reason)
        uow.commit()
    return FAILED


@retry_on_conflict
def _transient(uow: UnitOfWork, payout_id: str) -> str:
    """Count the failure and make the payout pending again, due after the backoff; past the last retry,
    fail it. RQ's Retry runs the job again on the same schedule (payouts.retry_policy)."""
    with uow:
        payout = _locked(uow, payout_id)
        if payout.status != "processing":
            return SKIPPED
        payout.retries += 1
        if payout.retries > int(uow.config.get("PAYOUT_RETRY_MAX", 5)):
            fail_locked(uow, payout, GAVE_UP)
            uow.commit()
            return FAILED
        payout.status = "pending"
        payout.next_attempt_at = utcnow() + timedelta(seconds=payouts.backoff(uow.config, payout.retries))
        payout.updated_at = utcnow()
        uow.commit()
    return RETRY


def sweep(uow: UnitOfWork, *, now: datetime | None = None) -> int:
    """Queue again the payouts whose job was lost: pending ones a lease past their due time (the job never
    ran: Redis lost it, or the enqueue failed), processing ones whose lease ran out (their worker died).
    A duplicate job is harmless (see `claim`). Run by the worker's scheduler (jobs/periodic.py)."""
    now = now or utcnow()
    grace = timedelta(seconds=int(uow.config.get("PAYOUT_LEASE", 300)))
    with uow:
        due = uow.session.scalars(select(Payout.id).where(or_(
            and_(Payout.status == "pending", Payout.next_attempt_at <= now - grace),
            and_(Payout.status == "processing", Payout.next_attempt_at <= now))).limit(SWEEP_BATCH)).all()
    for payout_id in due:
        log.info("payout %s: queued again by the sweep", payout_id, extra={"event": "payout.swept"})
        with uow:
            payouts.enqueue(uow, payout_id)
            uow.commit()
    return len(due)


# --- Under the payout's row lock: shared with the provider's webhooks (services/payout_events.py). Lock
# order as everywhere: the payout row, then the user's audit stream head, then the wallet. ---


def _locked(uow: UnitOfWork, payout_id: str) -> Payout:
    return uow.session.get(Payout, payout_id, with_for_update=True, populate_existing=True)


def mark_paid_locked(uow: UnitOfWork, payout: Payout) -> None:
    """The money has left: post the hold from the wallet to the house payouts-in-flight account."""
    _audit(uow, payout, "payout_paid")
    wallet = ledger.lock_wallets(uow, [payout.wallet_id])[payout.wallet_id]
    hold = uow.session.get(Hold, payout.hold_id)
    in_flight = ledger.house_account_id(uow, "payouts_in_flight", payout.currency)
    payout.paid_entry_id = ledger.post_hold(uow, hold, wallet, kind="payout", to_account_id=in_flight)
    payout.status, payout.next_attempt_at, payout.updated_at = "paid", None, utcnow()
    _show(uow, payout, "completed", journal_entry_id=payout.paid_entry_id)


def fail_locked(uow: UnitOfWork, payout: Payout, reason: str) -> None:
    """Nothing left: release the hold, so the money is available again."""
    _audit(uow, payout, "payout_failed", reason=reason)
    wallet = ledger.lock_wallets(uow, [payout.wallet_id])[payout.wallet_id]
    ledger.release_hold(uow, uow.session.get(Hold, payout.hold_id), wallet)
    _end_failed(uow, payout, reason)


def return_locked(uow: UnitOfWork, payout: Payout, reason: str) -> None:
    """The bank sent a paid payout back: a reversing entry from payouts in flight to the wallet."""
    _audit(uow, payout, "payout_returned", reason=reason)
    wallet = ledger.lock_wallets(uow, [payout.wallet_id])[payout.wallet_id]
    money = Money(payout.amount, payout.currency)
    in_flight = ledger.house_account_id(uow, "payouts_in_flight", payout.currency)
    payout.returned_entry_id = ledger.post_entry(
        uow, kind="payout_return", reverses_id=payout.paid_entry_id, description=f"payout {payout.id} returned",
        legs=[ledger.Leg(money, wallet=wallet), ledger.Leg(-money, account_id=in_flight)])
    _end_failed(uow, payout, reason)


def _end_failed(uow: UnitOfWork, payout: Payout, reason: str) -> None:
    payout.status, payout.failure_reason = "failed", reason[:255]
    payout.next_attempt_at, payout.updated_at = None, utcnow()
    _show(uow, payout, "failed", reason=reason)


def _show(uow: UnitOfWork, payout: Payout, status: str, *, journal_entry_id: str | None = None,
          reason: str | None = None) -> None:
    """The person's history row follows the payout."""
    tx = uow.session.get(Transaction, payout.id)
    tx.status = status
    if journal_entry_id:
        tx.journal_entry_id = journal_entry_id
    if reason:
        tx.meta = {**(tx.meta or {}), "reason": reason}


def _audit(uow: UnitOfWork, payout: Payout, event: str, **data) -> None:
    audit.append(uow, stream=audit.user_stream(payout.user_id), event=event, actor_id=None,
                 data={"payout_id": payout.id, "amount": payout.amount, "currency": payout.currency, **data})
