"""Our card deposits against Stripe's PaymentIntents of a date range (`ewallet reconcile --stripe`):
succeeded payments we never credited, credits Stripe has no succeeded payment for, and credits whose
ledger amount differs from what Stripe took. Stripe is read first, with no database transaction open."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from webapp.db import UnitOfWork
from webapp.errors import ProviderUnavailable
from webapp.models import CardDeposit, Posting, Wallet
from webapp.models.base import utcnow
from webapp.providers import stripe as stripe_provider
from webapp.providers.payments import PaymentIntent, ProviderDown


@dataclass(frozen=True)
class CardFinding:
    problem: str  # "missing_credit" | "credit_without_payment" | "amount_mismatch"
    payment_intent_id: str | None
    transaction_id: str | None
    currency: str
    stripe_amount: int | None  # minor units Stripe took (None: no succeeded payment)
    ledger_amount: int | None  # minor units credited in our ledger (None: no credit)


@dataclass
class CardReport:
    since: datetime
    until: datetime
    payment_intents_checked: int = 0
    credits_checked: int = 0
    findings: list[CardFinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def reconcile_stripe(uow: UnitOfWork, *, since: datetime, until: datetime | None = None) -> CardReport:
    until = until or utcnow()
    gateway = stripe_provider.from_config(uow.config)
    try:
        intents = {pi.id: pi for pi in gateway.list_payment_intents(since=since, until=until)}
    except ProviderDown:
        raise ProviderUnavailable("Stripe could not be reached to reconcile; try again in a minute.") from None
    with uow:
        by_intent = _deposits(uow, since, until, intents)
    for intent_id, deposit in by_intent.items():  # credited, but created just outside the range
        if deposit.status == "completed" and intent_id not in intents:
            intents[intent_id] = _retrieve(gateway, intent_id)
    report = CardReport(since=since, until=until, payment_intents_checked=len(intents),
                        credits_checked=sum(1 for d in by_intent.values() if d.status == "completed"))
    with uow:
        for intent in intents.values():
            deposit = by_intent.get(intent.id)
            if intent.status == "succeeded" or (deposit is not None and deposit.status == "completed"):
                _check_paid(uow, report, intent, deposit)
    return report


def _deposits(uow: UnitOfWork, since, until, intents: dict) -> dict[str, CardDeposit]:
    """The range's deposits and any deposit one of the intents points at, by PaymentIntent id."""
    in_range = select(CardDeposit).where(CardDeposit.created_at >= since, CardDeposit.created_at < until,
                                         CardDeposit.payment_intent_id.is_not(None))
    rows = list(uow.session.scalars(in_range))
    ids = [pi for pi in intents if pi not in {row.payment_intent_id for row in rows}]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows += uow.session.scalars(select(CardDeposit).where(CardDeposit.payment_intent_id.in_(chunk)))
    return {row.payment_intent_id: row for row in rows}


def _check_paid(uow: UnitOfWork, report: CardReport, intent: PaymentIntent, deposit: CardDeposit | None) -> None:
    credited = _credited(uow, deposit)
    stripe_amount = intent.amount if intent.status == "succeeded" else None
    if stripe_amount is not None and credited is None:
        problem = "missing_credit"
    elif stripe_amount is None and credited is not None:
        problem = "credit_without_payment"
    elif stripe_amount != credited or (deposit is not None and intent.currency != deposit.currency):
        problem = "amount_mismatch"
    else:
        return
    report.findings.append(CardFinding(problem, intent.id, deposit.transaction_id if deposit else None,
                                       intent.currency, stripe_amount, credited))


def _credited(uow: UnitOfWork, deposit: CardDeposit | None) -> int | None:
    """What the credit entry actually put on the wallet's account, read from the postings."""
    if deposit is None or deposit.credit_entry_id is None:
        return None
    account_id = select(Wallet.account_id).where(Wallet.id == deposit.wallet_id).scalar_subquery()
    return uow.session.scalar(select(Posting.amount).where(Posting.entry_id == deposit.credit_entry_id,
                                                           Posting.account_id == account_id))


def _retrieve(gateway, intent_id: str) -> PaymentIntent:
    try:
        return gateway.retrieve_payment_intent(intent_id)
    except ProviderDown:
        raise ProviderUnavailable("Stripe could not be reached to reconcile; try again in a minute.") from None
