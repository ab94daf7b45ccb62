"""Stripe's webhook events about our payouts (PAYOUT_PROVIDER=stripe), each applied once and in any order
(DESIGN §7–8). services/deposit_events.py hands them here.

`payout.paid` posts the hold, `payout.failed` and `payout.canceled` release it, whether or not our job
has settled the provider's answer yet: every event locks the payout row first, and a payout settles once.
A `payout.failed` after `payout.paid` is the bank sending the money back, days later: a reversing entry
returns it from payouts in flight to the wallet. A `payout.paid` after a failure changes nothing.
"""

from __future__ import annotations

import logging

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.models import Payout, StripeEvent
from webapp.models.base import utcnow
from webapp.providers.payments import WebhookEvent
from webapp.services import payout_runs, settlements

HANDLED = ("payout.paid", "payout.failed", "payout.canceled")
log = logging.getLogger(__name__)


@retry_on_conflict
def handle_event(uow: UnitOfWork, event: WebhookEvent) -> str:
    """"applied", "duplicate" (this event id was applied before) or "ignored" (not one of our payouts)."""
    with uow:
        try:
            uow.execute(insert(StripeEvent.__table__).values(id=event.id, type=event.type[:64], received_at=utcnow()))
        except IntegrityError:
            return "duplicate"
        uow.settled_by_key = True  # the event id settles a lost COMMIT (webapp/db.py)
        payout = _payout_for(uow, event.object)
        if payout is not None:
            _apply(uow, payout, event)
        settled = payout is None and settlements.apply_event(uow, event.type, event.object)  # an institution's
        uow.commit()
    return "applied" if payout is not None or settled else "ignored"


def _apply(uow: UnitOfWork, payout: Payout, event: WebhookEvent) -> None:
    failure = event.object.get("failure_message") or "The bank could not take this payout."
    match event.type:
        case "payout.paid":  # the bank has it: post the hold, unless the payout already ended
            if payout.status in ("pending", "processing"):
                payout.provider_ref = payout.provider_ref or event.object.get("id")
                payout_runs.mark_paid_locked(uow, payout)
        case "payout.failed" if payout.status == "paid":  # returned by the bank after it was paid
            payout_runs.return_locked(uow, payout, f"Your bank returned this payout: {failure} The money is "
                                                   "back in your wallet.")
        case "payout.failed" | "payout.canceled":  # it never reached the bank: release the hold
            if payout.status in ("pending", "processing"):
                payout_runs.fail_locked(uow, payout, f"{failure} Nothing was sent; the money is back in your "
                                                     "wallet.")


def _payout_for(uow: UnitOfWork, obj: dict) -> Payout | None:
    """Ours, locked: by the payout id we put in its metadata, else by Stripe's payout id. A payout whose
    amount or currency differs from ours is logged and left alone: a person must look."""
    payout_id = (obj.get("metadata") or {}).get("payout_id")
    if not isinstance(payout_id, str) and isinstance(obj.get("id"), str):
        payout_id = uow.session.scalar(select(Payout.id).where(Payout.provider_ref == obj["id"]))
    payout = uow.session.get(Payout, payout_id, with_for_update=True) if isinstance(payout_id, str) else None
    if payout is None:
        return None
    if obj.get("amount") != payout.amount or str(obj.get("currency") or "").upper() != payout.currency:
        log.error("payout %s: Stripe's event %s does not match it", payout.id, obj.get("id"),
                  extra={"event": "payout.mismatch"})
        return None
    return payout
