"""Paying an institution's settlement out to its bank (services/settlements.py). Enqueued on the `payouts`
queue with the settlement's id only, after the transaction that opened it has committed."""

from __future__ import annotations

import logging

from jobs import app_context
from webapp.background import RetryLater
from webapp.extensions import new_uow
from webapp.services import settlements

log = logging.getLogger(__name__)


def send(settlement_id: str) -> str:
    """One attempt, safe to run twice (the settlement is claimed first and the bank called with a key
    derived from its id). A timeout raises RetryLater, so RQ's Retry runs it again after the backoff."""
    with app_context():
        outcome = settlements.attempt(new_uow(), settlement_id=settlement_id)
        log.info("settlement %s: %s", settlement_id, outcome, extra={"event": f"settlement.{outcome}"})
        if outcome == settlements.RETRY:
            raise RetryLater(f"settlement {settlement_id}: the bank timed out; tried again after the backoff")
        return outcome
