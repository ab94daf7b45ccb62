"""Paying a withdrawal out to its bank (services/payout_runs.py). Enqueued on the `payouts` queue with the
payout's id only, after the request that held the money has committed (services/payouts.py)."""

from __future__ import annotations

import logging

from jobs import app_context
from webapp.background import RetryLater
from webapp.extensions import new_uow
from webapp.services import payout_runs

log = logging.getLogger(__name__)


def send(payout_id: str) -> str:
    """One attempt. Safe to run twice, also at once: the payout is claimed before the bank is called, and
    the bank is called with a key derived from the payout's id. A timeout raises RetryLater, so RQ's Retry
    (exponential backoff, PAYOUT_RETRY_MAX) runs it again; the payout row already says when."""
    with app_context():
        outcome = payout_runs.attempt(new_uow(), payout_id=payout_id)
        log.info("payout %s: %s", payout_id, outcome, extra={"event": f"payout.{outcome}"})
        if outcome == payout_runs.RETRY:
            raise RetryLater(f"payout {payout_id}: the bank timed out; tried again after the backoff")
        return outcome
