"""One attempt at a top-up, as the job `jobs.topups.send` makes it, and the sweep that finds top-ups whose
job was lost: the held-movement run of services/held_runs.py, with what is a top-up's own.

The aggregator is called outside any transaction with the key `ewallet-topup-<id>`. Delivered → the hold
is posted to the house `airtime_in_flight` account (what we owe the aggregator). Refused → the hold is
released. Unreachable → asked again with the same key after a backoff, until TOPUP_RETRY_MAX
(TOPUP_RETRY_BASE, TOPUP_LEASE); then failed with the hold released. Pending at the operator → asked
again the same way for as long as it stays pending, never given up on (services/held_runs.py): the
aggregator has the order and may still deliver it, and few can cancel one (Reloadly cannot).
"""

from __future__ import annotations

from datetime import datetime

from webapp import background
from webapp.db import UnitOfWork
from webapp.models import Topup
from webapp.providers import airtime
from webapp.services import held_runs

COMPLETED = "completed"
FAILED, RETRY, SKIPPED = held_runs.FAILED, held_runs.RETRY, held_runs.SKIPPED
GAVE_UP = "The mobile operator did not confirm this top-up in time."
TOPUP = held_runs.Movement(kind="topup", model=Topup, done=COMPLETED, house="airtime_in_flight", settings="TOPUP",
                           job="jobs.topups.send", queue=background.TOPUPS, gave_up=GAVE_UP, counts_as_sent=True)


def attempt(uow: UnitOfWork, *, topup_id: str) -> str:
    """One attempt: COMPLETED, FAILED, RETRY (run again after the backoff) or SKIPPED (final already, or
    another attempt holds it)."""
    return held_runs.attempt(uow, TOPUP, topup_id, order=_order, send=lambda order: _send(uow.config, order))


def _order(_uow: UnitOfWork, topup: Topup) -> airtime.TopupOrder:
    return airtime.TopupOrder(topup_id=topup.id, mobile_number=topup.mobile_number, operator=topup.operator,
                              amount=topup.amount, currency=topup.currency, attempt=topup.retries + 1,
                              idempotency_key=f"ewallet-topup-{topup.id}")


def _send(config: dict, order: airtime.TopupOrder) -> held_runs.Answer:
    try:
        receipt = airtime.provider(config).send(order)
    except airtime.TopupRejected as refused:
        raise held_runs.Refused(str(refused)) from None
    except airtime.ProviderDown as down:
        raise held_runs.Unreachable(str(down)) from None
    done = receipt.status == airtime.COMPLETED
    return held_runs.Answer(receipt.ref, held_runs.DONE if done else held_runs.PENDING)


def sweep(uow: UnitOfWork, *, now: datetime | None = None) -> int:
    """Queue again the top-ups whose job was lost (held_runs.sweep). Run by the worker's scheduler."""
    return held_runs.sweep(uow, TOPUP, now=now)
