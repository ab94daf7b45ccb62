"""Sending a top-up to the airtime aggregator (services/topup_runs.py). Enqueued on the `topups` queue
with the top-up's id only, after the request that held the money has committed (services/topups.py)."""

from __future__ import annotations

import logging

from jobs import app_context
from webapp.background import RetryLater
from webapp.extensions import new_uow
from webapp.services import topup_runs

log = logging.getLogger(__name__)


def send(topup_id: str) -> str:
    """One attempt, safe to run twice: the top-up is claimed before the aggregator is called, with a key
    derived from its id. Unreachable, or pending at the operator, raises RetryLater, so RQ's Retry
    (exponential backoff, TOPUP_RETRY_MAX) runs it again; the top-up row already says when."""
    with app_context():
        outcome = topup_runs.attempt(new_uow(), topup_id=topup_id)
        log.info("topup %s: %s", topup_id, outcome, extra={"event": f"topup.{outcome}"})
        if outcome == topup_runs.RETRY:
            raise RetryLater(f"topup {topup_id}: not confirmed yet; asked again after the backoff")
        return outcome
