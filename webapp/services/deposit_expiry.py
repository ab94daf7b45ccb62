"""Card deposits nobody finished: opened on the "Add money" page, never paid (the person closed the tab,
or left a 3-D Secure page). Left pending they would count toward the day's deposit limit forever and
leave a PaymentIntent open that a stale page could still pay.

The periodic tick (jobs/periodic.py) calls `expire_stale`: every deposit still pending DEPOSIT_PENDING_TTL
seconds after it was opened is looked up at Stripe. One still waiting to be paid is canceled there and
ends failed here ("expired"), through the same path as Stripe's own cancel. One Stripe says is paid is
left alone: only its verified webhook credits (DESIGN §8), and `ewallet reconcile --stripe` reports a
paid PaymentIntent whose webhook never came. The provider is called outside any transaction (DESIGN §6).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update

from webapp.db import UnitOfWork
from webapp.models import CardDeposit
from webapp.models.base import utcnow
from webapp.providers import stripe as stripe_provider
from webapp.providers.payments import PaymentProviderError
from webapp.services.deposit_events import mark_failed, settle_from_intent

log = logging.getLogger(__name__)
BATCH = 100  # deposits per tick; the rest wait for the next one
UNPAID = ("requires_payment_method", "requires_confirmation", "requires_action")  # Stripe may still be paid
EXPIRED = "The payment was not completed in time, so it was canceled. Nothing was charged."


def expire_stale(uow: UnitOfWork) -> int:
    """End the stale pending deposits of one batch; returns how many ended failed."""
    cutoff = utcnow() - timedelta(seconds=uow.config.get("DEPOSIT_PENDING_TTL", 3600))
    with uow:
        # Least recently looked at first: one Stripe says is paid stays pending until its webhook comes, and
        # is moved to the back of the line (`_paid_elsewhere`), so such ones can't crowd out the others.
        stale = uow.session.execute(
            select(CardDeposit.transaction_id, CardDeposit.payment_intent_id)
            .where(CardDeposit.status == "pending", CardDeposit.created_at < cutoff)
            .order_by(CardDeposit.updated_at).limit(BATCH)).all()
    gateway = stripe_provider.from_config(uow.config) if stale else None
    return sum(_expire(uow, gateway, transaction_id, intent_id) for transaction_id, intent_id in stale)


def _expire(uow: UnitOfWork, gateway, transaction_id: str, intent_id: str | None) -> bool:
    if intent_id is None:  # Stripe never made its PaymentIntent (the request died between the steps)
        mark_failed(uow, transaction_id, EXPIRED)
        return True
    try:
        intent = gateway.retrieve_payment_intent(intent_id)
        if intent.status in UNPAID:
            intent = gateway.cancel_payment_intent(intent_id)
    except PaymentProviderError:
        return False  # Stripe down, or it was paid a moment ago: the next tick looks again
    settle_from_intent(uow, transaction_id, intent, reason=EXPIRED)
    if intent.status != "canceled":
        _paid_elsewhere(uow, transaction_id, intent.status)
    return intent.status == "canceled"


def _paid_elsewhere(uow: UnitOfWork, transaction_id: str, status: str) -> None:
    """Paid (or being paid) at Stripe, yet no webhook has credited it: said in the log, for `reconcile
    --stripe` to settle, and looked at again only after every other stale deposit."""
    log.warning("deposit %s is %s at Stripe but still pending here", transaction_id, status,
                extra={"event": "deposit.unsettled"})
    with uow:
        uow.session.execute(update(CardDeposit).where(CardDeposit.transaction_id == transaction_id,
                                                      CardDeposit.status == "pending").values(updated_at=utcnow()))
        uow.commit()
