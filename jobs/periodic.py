"""Periodic work, run from the workers' scheduler (DESIGN §11): expired holds released, expired
idempotency keys purged, card deposits nobody paid canceled, payouts and top-ups whose job was lost
queued again, institutions' balances settled to their banks.

RQ 3 offers `rq cron` (a separate process per deployment, whose jobs each run once per scheduler, so two
would run everything twice) and `Repeat` (a fixed number of repeats). Simpler and robust enough: one job,
`tick`, that schedules its own next run with `enqueue_at` before doing its work, so a failure in the work
does not end the chain. Its job id names its time slot (PERIODIC_INTERVAL seconds), so however many
workers start, or however often a tick is scheduled, each slot is one job; a Redis key set once per slot
stops the rare second run of a slot. Every long-running `ewallet worker` seeds the chain when it starts
(a burst worker does not: it leaves when the queues are empty), so it survives a lost Redis too.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, datetime

from jobs import app_context
from webapp.background import queue_for, queue_name, redis_for
from webapp.extensions import new_uow
from webapp.services import deposit_expiry, idempotency, ledger, payout_runs, settlements, topup_runs

log = logging.getLogger(__name__)
# Each task takes a fresh unit of work and owns its transactions; one failing does not stop the others.
TASKS = {
    "expire_holds": ledger.expire_holds,
    "purge_idempotency_keys": idempotency.purge_expired,
    "expire_stale_deposits": deposit_expiry.expire_stale,
    "sweep_payouts": payout_runs.sweep,
    "sweep_topups": topup_runs.sweep,
    "settle_institutions": settlements.settle_due,
}


def tick(slot: int | None = None) -> dict[str, object]:
    with app_context() as app:
        config = app.config
        schedule(config, after=time.time())
        if slot is not None and not redis_for(config).set(f"{_job_id(config, slot)}:ran", 1, nx=True,
                                                           ex=10 * _interval(config)):
            return {}  # this slot has run already
        done: dict[str, object] = {}
        for name, task in TASKS.items():
            try:
                done[name] = task(new_uow())
            except Exception:  # noqa: BLE001 - logged; the next tick tries again
                log.exception("periodic task %s failed", name, extra={"event": "periodic.failed"})
        log.info("periodic tick %s: %s", slot, done, extra={"event": "periodic.tick"})
        return done


def schedule(config: dict, *, after: float) -> str:
    """Schedule the tick of the first slot that starts after `after` (Unix seconds); returns its job id."""
    interval = _interval(config)
    slot = math.floor(after / interval) + 1
    job_id = _job_id(config, slot)
    queue_for(config).enqueue_at(datetime.fromtimestamp(slot * interval, UTC), "jobs.periodic.tick", slot,
                                 job_id=job_id, result_ttl=interval, failure_ttl=24 * 3600)
    return job_id


def _interval(config: dict) -> int:
    return max(int(config.get("PERIODIC_INTERVAL", 60)), 1)


def _job_id(config: dict, slot: int) -> str:
    return f"{queue_name(config)}-periodic-{slot}"
