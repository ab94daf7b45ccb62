"""Settling institutions: what payers paid an institution goes out to its bank account as a payout, by the
worker's scheduler (jobs/periodic.py) or `ewallet institution settle`.

Opening a settlement is one transaction under the institution's row lock, which only settlement takes
(payments never lock it, so payers never wait on a settlement): read the balance (Σ postings, as
committed), move it from the institution's account to the house `institution_settlement` account, write
a pending settlement, and queue its job after commit. Payments that commit meanwhile stay for the next one.

The job is a payout like a withdrawal (services/payout_runs.py, the same PayoutProvider): claim with a
lease and commit, call the provider outside any transaction with the key `ewallet-settlement-<id>`, then
settle: paid; refused for good → a reversing entry puts the money back in the institution's account and
its bank token is cleared until an operator sets one again; a timeout → retried with backoff, the count
kept on the row, until PAYOUT_RETRY_MAX, then failed and reversed. Safe to run twice at every step."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from webapp import background
from webapp.db import UnitOfWork, retry_on_conflict
from webapp.models import Institution, InstitutionSettlement
from webapp.models.base import new_id, utcnow
from webapp.money import Money
from webapp.providers import bank
from webapp.services import audit, ledger, payouts

log = logging.getLogger(__name__)
JOB = "jobs.settlements.send"
OPEN = ("pending", "processing")
PAID, FAILED, RETRY, SKIPPED, ACCEPTED = "paid", "failed", "retry", "skipped", "accepted"
GAVE_UP = "The bank could not be reached after several tries; the money is back in the institution's account."
BATCH = 200
_settlements = InstitutionSettlement.__table__


def settle_due(uow: UnitOfWork, *, now: datetime | None = None) -> int:
    """Open a settlement for every institution with money and a bank account and none open, and queue
    again the settlements whose job was lost. Returns how many were opened."""
    with uow:
        ids = uow.session.scalars(select(Institution.id).where(
            Institution.active.is_(True), Institution.payout_token.is_not(None)).order_by(Institution.id)).all()
    opened = sum(1 for institution_id in ids if open_settlement(uow, institution_id=institution_id))
    _requeue_lost(uow, now or utcnow())
    return opened


@retry_on_conflict
def open_settlement(uow: UnitOfWork, *, institution_id: str) -> str | None:
    """The id of the settlement opened now, or None: no bank account, nothing to pay, one open already, or
    the last one paid less than SETTLEMENT_INTERVAL ago."""
    with uow:
        institution = uow.session.get(Institution, institution_id, with_for_update=True)
        if institution is None or not institution.payout_token or _too_soon(uow, institution_id):
            return None
        balance = ledger.derived_balance(uow, institution.account_id)  # as committed: the lock is ours
        if balance <= 0:
            return None
        money = Money(balance, institution.currency)
        house = ledger.house_account_id(uow, "institution_settlement", institution.currency)
        entry_id = ledger.post_entry(uow, kind="institution_settlement", description=f"settle {institution.id}",
                                     legs=[ledger.Leg(-money, account_id=institution.account_id),
                                           ledger.Leg(money, account_id=house)])
        now = utcnow()
        settlement = InstitutionSettlement(id=new_id(), institution_id=institution.id, amount=balance,
                                           currency=institution.currency, status="pending", entry_id=entry_id,
                                           retries=0, next_attempt_at=now, created_at=now, updated_at=now)
        uow.session.add(settlement)
        _audit(uow, settlement, "settlement_opened", last4=institution.payout_last4)
        enqueue(uow, settlement.id)
        uow.commit()
    return settlement.id


def _too_soon(uow: UnitOfWork, institution_id: str) -> bool:
    """One open at a time, and SETTLEMENT_INTERVAL seconds since the last one that did not fail."""
    since = utcnow() - timedelta(seconds=int(uow.config.get("SETTLEMENT_INTERVAL", 86400)))
    settlement = InstitutionSettlement
    recent = and_(settlement.status == "paid", settlement.created_at > since)
    return uow.session.scalar(select(settlement.id).where(
        settlement.institution_id == institution_id, or_(settlement.status.in_(OPEN), recent)).limit(1)) is not None


def enqueue(uow: UnitOfWork, settlement_id: str) -> None:
    """As a withdrawal's job: the payouts queue, its retry policy, a timeout under the lease."""
    config = uow.config
    background.after_commit(uow, JOB, settlement_id, queue=background.PAYOUTS, retry=payouts.retry_policy(config),
                            timeout=max(int(config.get("PAYOUT_LEASE", 300)) // 2, 1))


def attempt(uow: UnitOfWork, *, settlement_id: str) -> str:
    """One attempt: PAID, FAILED, ACCEPTED (the provider settles it later), RETRY or SKIPPED."""
    order = _claim(uow, settlement_id)
    if order is None:
        return SKIPPED
    try:
        receipt = bank.provider(uow.config).send_payout(order)
    except bank.PayoutRejected as refused:
        return _fail(uow, settlement_id, reason=str(refused), rejected=True)
    except bank.ProviderDown as down:
        log.warning("settlement %s: provider down (%s)", settlement_id, down, extra={"event": "settlement.transient"})
        return _transient(uow, settlement_id)
    return _paid(uow, settlement_id, receipt)


@retry_on_conflict
def _claim(uow: UnitOfWork, settlement_id: str) -> bank.PayoutOrder | None:
    now = utcnow()
    lease = now + timedelta(seconds=int(uow.config.get("PAYOUT_LEASE", 300)))
    free = or_(_settlements.c.status == "pending",
               and_(_settlements.c.status == "processing", _settlements.c.next_attempt_at <= now))
    with uow:
        taken = uow.execute(update(_settlements).where(_settlements.c.id == settlement_id, free)
                            .values(status="processing", next_attempt_at=lease, updated_at=now)).rowcount
        if taken != 1:
            return None
        settlement = uow.session.get(InstitutionSettlement, settlement_id)
        token = uow.session.get(Institution, settlement.institution_id).payout_token
        uow.commit()
    if token is None:  # the bank account was removed since: give the money back to the institution
        _fail(uow, settlement_id, reason="The institution has no bank account to settle to.", rejected=False)
        return None
    return bank.PayoutOrder(payout_id=settlement_id, token=token, amount=settlement.amount,
                            currency=settlement.currency, idempotency_key=f"ewallet-settlement-{settlement_id}")


@retry_on_conflict
def _paid(uow: UnitOfWork, settlement_id: str, receipt: bank.PayoutReceipt) -> str:
    with uow:
        settlement = _locked(uow, settlement_id)
        if settlement.status != "processing":
            return SKIPPED
        settlement.provider_reference = receipt.ref
        # Accepted but not yet paid (Stripe's payouts in transit): nobody takes it over; it stays processing.
        settlement.status = "paid" if receipt.paid else "processing"
        settlement.next_attempt_at, settlement.updated_at = None, utcnow()
        _audit(uow, settlement, "settlement_paid" if receipt.paid else "settlement_accepted", ref=receipt.ref)
        uow.commit()
    return PAID if receipt.paid else ACCEPTED


@retry_on_conflict
def _fail(uow: UnitOfWork, settlement_id: str, *, reason: str, rejected: bool) -> str:
    with uow:
        settlement = _locked(uow, settlement_id)
        if settlement.status in ("paid", "failed"):
            return SKIPPED
        _fail_locked(uow, settlement, reason, rejected=rejected)
        uow.commit()
    return FAILED


def _fail_locked(uow: UnitOfWork, settlement: InstitutionSettlement, reason: str, *, rejected: bool) -> None:
    """Put the money back in the institution's account with a reversing entry (also when the bank returns
    a paid one). A bank that refuses the account for good also loses its token: every tick would otherwise
    try the closed account again, until an operator sets a new one."""
    institution = uow.session.get(Institution, settlement.institution_id, with_for_update=True)
    money = Money(settlement.amount, settlement.currency)
    house = ledger.house_account_id(uow, "institution_settlement", settlement.currency)
    legs = [ledger.Leg(-money, account_id=house), ledger.Leg(money, account_id=institution.account_id)]
    settlement.reversal_entry_id = ledger.post_entry(uow, kind="institution_settlement_reversal", legs=legs,
                                                     reverses_id=settlement.entry_id,
                                                     description=f"settlement {settlement.id} failed")
    if rejected:
        institution.payout_token = None
    settlement.status, settlement.failure_reason = "failed", reason[:255]
    settlement.next_attempt_at, settlement.updated_at = None, utcnow()
    _audit(uow, settlement, "settlement_failed", reason=reason)


def apply_event(uow: UnitOfWork, event_type: str, obj: dict) -> bool:
    """Stripe's word on a settlement it accepted (services/payout_events.py hands over payout events that
    are not a withdrawal's), inside the caller's transaction. False when it is not one of ours."""
    settlement_id = (obj.get("metadata") or {}).get("payout_id")
    settlement = _locked(uow, settlement_id) if isinstance(settlement_id, str) else None
    if settlement is None or obj.get("amount") != settlement.amount or \
            str(obj.get("currency") or "").upper() != settlement.currency:
        return False
    failure = obj.get("failure_message") or "The bank could not take this payout."
    match event_type:
        case "payout.paid" if settlement.status in OPEN:  # the bank has it
            settlement.status, settlement.next_attempt_at, settlement.updated_at = "paid", None, utcnow()
            settlement.provider_reference = settlement.provider_reference or obj.get("id")
            _audit(uow, settlement, "settlement_paid", ref=obj.get("id"))
        case "payout.failed" | "payout.canceled" if settlement.status != "failed":  # never got there, or returned
            _fail_locked(uow, settlement, f"{failure}", rejected=False)
    return True


@retry_on_conflict
def _transient(uow: UnitOfWork, settlement_id: str) -> str:
    """Count the failure and make it pending again after the backoff; past the last retry, fail it."""
    with uow:
        settlement = _locked(uow, settlement_id)
        if settlement.status != "processing":
            return SKIPPED
        if settlement.retries < int(uow.config.get("PAYOUT_RETRY_MAX", 5)):
            settlement.retries += 1
            settlement.status, settlement.updated_at = "pending", utcnow()
            settlement.next_attempt_at = utcnow() + timedelta(seconds=payouts.backoff(uow.config, settlement.retries))
            uow.commit()
            return RETRY
    return _fail(uow, settlement_id, reason=GAVE_UP, rejected=False)


def _requeue_lost(uow: UnitOfWork, now: datetime) -> int:
    """Settlements whose job never ran (pending a lease past due) or whose worker died (lease run out)."""
    grace = timedelta(seconds=int(uow.config.get("PAYOUT_LEASE", 300)))
    with uow:
        due = uow.session.scalars(select(InstitutionSettlement.id).where(or_(
            and_(InstitutionSettlement.status == "pending", InstitutionSettlement.next_attempt_at <= now - grace),
            and_(InstitutionSettlement.status == "processing", InstitutionSettlement.next_attempt_at <= now),
        )).limit(BATCH)).all()
    for settlement_id in due:
        with uow:
            enqueue(uow, settlement_id)
            uow.commit()
    return len(due)


def _locked(uow: UnitOfWork, settlement_id: str) -> InstitutionSettlement:
    return uow.session.get(InstitutionSettlement, settlement_id, with_for_update=True, populate_existing=True)


def _audit(uow: UnitOfWork, settlement: InstitutionSettlement, event: str, **data) -> None:
    audit.append(uow, stream=f"institution:{settlement.institution_id}", event=event, actor_id=None,
                 data={"settlement_id": settlement.id, "amount": settlement.amount, "currency": settlement.currency,
                       **data})
