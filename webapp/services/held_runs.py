"""The life of money held for outside work (DESIGN §5–6, §11), shared by withdrawals to a bank
(services/payout_runs.py) and airtime top-ups (services/topup_runs.py).

The request that asked for the work holds the money and writes the movement's row (pending) in one
transaction, then queues its job. The job makes one attempt, in three steps, never calling a provider
inside a transaction: (1) claim the row with a conditional UPDATE (pending, or processing whose lease has
run out) and commit; (2) call the provider with an idempotency key derived from the row's id, so however
often this runs the provider acts once; (3) settle under the row's lock: done → the hold is posted to the
movement's house account; refused → the hold is released, failed with a reason; unreachable → counted
in `retries`, and tried again after a backoff until <SETTINGS>_RETRY_MAX, then failed with the hold
released. Still pending at the provider → asked again the same way, but never given up on, nor after a
later failed call either: the provider has the order and may still carry it out, and releasing the hold
then would pay it twice (once to the person, once to the provider). Past <SETTINGS>_RETRY_MAX it is asked
at the longest backoff, by the scheduler's sweep, and logged as stuck for an operator.

Running twice is safe at every point: a second claim finds nothing to claim while the first holds its
lease, and settling a row that is no longer `processing` changes nothing. A worker killed during the
provider call leaves the row `processing` with a lease that runs out; the scheduler's sweep queues it
again, and the provider answers the same key with the same outcome. `retries` and `next_attempt_at` live
on the row, so a lost Redis loses nothing either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from rq import Retry
from sqlalchemy import and_, or_, select, update

from webapp import background
from webapp.db import UnitOfWork, retry_on_conflict
from webapp.models import Hold, Transaction
from webapp.models.base import utcnow
from webapp.services import audit, ledger

log = logging.getLogger(__name__)
FAILED, RETRY, SKIPPED, ACCEPTED = "failed", "retry", "skipped", "accepted"
DONE, PENDING = "done", "pending"  # what a provider answered (Answer.state), besides ACCEPTED
SWEEP_BATCH = 200
Order = TypeVar("Order")


@dataclass(frozen=True)
class Movement:
    """What differs between two kinds of held movement; the rest is this module. The model's rows have
    id, user_id, wallet_id, amount, currency, status, hold_id, provider_ref, failure_reason, retries,
    next_attempt_at, paid_entry_id and updated_at, and share their id with the person's history row."""

    kind: str  # "payout" | "topup": the history row's and the entry's kind, and the audit events' prefix
    model: type
    done: str  # the status once the provider has done it: "paid" | "completed"
    house: str  # the house account a posted hold goes to (models/ledger.py HOUSE_ACCOUNTS)
    settings: str  # "PAYOUT" | "TOPUP": the config prefix of _LEASE, _RETRY_MAX and _RETRY_BASE
    job: str  # the RQ job, by name, that makes one attempt with the row's id
    queue: str  # background.PAYOUTS | background.TOPUPS
    gave_up: str  # the failure reason, for the person, after the last retry
    counts_as_sent: bool = False  # the hold counted toward today's sending limit: a release gives it back

    def setting(self, config: dict, name: str, default: int) -> int:
        return int(config.get(f"{self.settings}_{name}", default))


@dataclass(frozen=True)
class Answer:
    """What the provider said, in this module's words (each movement translates its provider's)."""

    ref: str | None  # the provider's id for the work
    state: str  # DONE | ACCEPTED (a webhook will end it) | PENDING (ask again later, same key)


class Refused(Exception):  # noqa: N818 - the provider's word for it
    """The provider refuses this for good; the message is for the person and names no number."""


class Unreachable(Exception):  # noqa: N818
    """The provider could not be reached or did not answer in time: the same call may work later."""


# --- Scheduling ---


def retry_policy(config: dict, movement: Movement) -> Retry:
    """<SETTINGS>_RETRY_MAX more attempts after the first, <SETTINGS>_RETRY_BASE seconds apart, doubling
    each time; the row keeps the same count (`backoff`), so the two agree on when the last one is."""
    most = max(movement.setting(config, "RETRY_MAX", 5), 1)
    return Retry(max=most, interval=[backoff(config, movement, n) for n in range(1, most + 1)])


def backoff(config: dict, movement: Movement, retries: int) -> int:
    """Seconds before the attempt that follows the `retries`-th failure."""
    return movement.setting(config, "RETRY_BASE", 30) * 2 ** (retries - 1)


def enqueue(uow: UnitOfWork, movement: Movement, row_id: str) -> None:
    """Queue the row's job once `uow` commits. Its timeout is half the lease, so RQ stops a stuck call
    before another worker may take the row over (`claim`)."""
    config = uow.config
    background.after_commit(uow, movement.job, row_id, queue=movement.queue, retry=retry_policy(config, movement),
                            timeout=max(_lease(config, movement) // 2, 1))


def _lease(config: dict, movement: Movement) -> int:
    return movement.setting(config, "LEASE", 300)


# --- One attempt ---


def attempt(uow: UnitOfWork, movement: Movement, row_id: str, *, order: Callable[[UnitOfWork, Any], Order],
            send: Callable[[Order], Answer]) -> str:
    """Claim, call, settle. `order` builds what the provider needs from the claimed row, inside the claim's
    transaction; `send` calls the provider (outside any) and translates its answer or its refusal. Returns
    movement.done, FAILED, ACCEPTED, RETRY (run again after the backoff) or SKIPPED (final already, or
    another attempt holds it)."""
    claimed = claim(uow, movement, row_id, order)
    if claimed is None:
        return SKIPPED
    try:
        answer = send(claimed)
    except Refused as refused:
        return fail(uow, movement, row_id, reason=str(refused))
    except Unreachable as down:
        log.warning("%s %s: provider down (%s)", movement.kind, row_id, down,
                    extra={"event": f"{movement.kind}.transient"})
        return _again(uow, movement, row_id, ref=None)
    if answer.state == PENDING:
        return _again(uow, movement, row_id, ref=answer.ref, may_give_up=False)
    return settle(uow, movement, row_id, answer)


@retry_on_conflict
def claim(uow: UnitOfWork, movement: Movement, row_id: str, order: Callable[[UnitOfWork, Any], Order]) -> Order | None:
    """Mark the row processing, for the lease, if nobody else is on it (the row count says), and build
    its order in the same transaction."""
    table, now = movement.model.__table__, utcnow()
    free = or_(table.c.status == "pending", and_(table.c.status == "processing", table.c.next_attempt_at <= now))
    with uow:
        lease = now + timedelta(seconds=_lease(uow.config, movement))
        taken = uow.execute(update(table).where(table.c.id == row_id, free)
                            .values(status="processing", next_attempt_at=lease, updated_at=now)).rowcount
        if taken != 1:
            return None
        built = order(uow, uow.session.get(movement.model, row_id))
        uow.commit()
    return built


@retry_on_conflict
def settle(uow: UnitOfWork, movement: Movement, row_id: str, answer: Answer) -> str:
    with uow:
        row = locked(uow, movement, row_id)
        if row.status != "processing":
            return SKIPPED  # a webhook, or a twin attempt, settled it first
        row.provider_ref = answer.ref
        if answer.state == DONE:
            mark_done_locked(uow, movement, row)
        else:
            row.next_attempt_at = None  # accepted: nobody takes it over, the provider's webhook ends it
        row.updated_at = utcnow()
        uow.commit()
    return movement.done if answer.state == DONE else ACCEPTED


@retry_on_conflict
def fail(uow: UnitOfWork, movement: Movement, row_id: str, *, reason: str) -> str:
    with uow:
        row = locked(uow, movement, row_id)
        if row.status in (movement.done, "failed"):
            return SKIPPED
        fail_locked(uow, movement, row, reason)
        uow.commit()
    return FAILED


@retry_on_conflict
def _again(uow: UnitOfWork, movement: Movement, row_id: str, *, ref: str | None, may_give_up: bool = True) -> str:
    """Count the attempt and make the row pending again, due after the backoff; past the last retry, fail
    it if `may_give_up` (else keep asking at the longest backoff: see the module docstring). RQ's Retry
    runs the job again on the same schedule (`retry_policy`); after it, the sweep does."""
    most = movement.setting(uow.config, "RETRY_MAX", 5)
    with uow:
        row = locked(uow, movement, row_id)
        if row.status != "processing":
            return SKIPPED
        row.provider_ref = ref or row.provider_ref
        row.retries += 1
        # Once the provider has named the order (a pending answer gave its reference), it may still carry
        # it out, whatever a later call says: an unreachable provider then is no reason to give up either.
        may_give_up = may_give_up and row.provider_ref is None
        if row.retries > most and may_give_up:
            fail_locked(uow, movement, row, movement.gave_up)
            uow.commit()
            return FAILED
        if row.retries > most:
            log.warning("%s %s still pending at the provider after %d tries", movement.kind, row_id, row.retries,
                        extra={"event": f"{movement.kind}.stuck"})
        row.status, row.updated_at = "pending", utcnow()
        row.next_attempt_at = utcnow() + timedelta(seconds=backoff(uow.config, movement, min(row.retries, most)))
        uow.commit()
    return RETRY


def sweep(uow: UnitOfWork, movement: Movement, *, now: datetime | None = None) -> int:
    """Queue again the rows whose job was lost: pending ones a lease past their due time (the job never
    ran: Redis lost it, or the enqueue failed), processing ones whose lease ran out (their worker died).
    A duplicate job is harmless (see `claim`). Run by the worker's scheduler (jobs/periodic.py)."""
    now, model = now or utcnow(), movement.model
    grace = timedelta(seconds=_lease(uow.config, movement))
    with uow:
        due = uow.session.scalars(select(model.id).where(or_(
            and_(model.status == "pending", model.next_attempt_at <= now - grace),
            and_(model.status == "processing", model.next_attempt_at <= now))).limit(SWEEP_BATCH)).all()
    for row_id in due:
        log.info("%s %s: queued again by the sweep", movement.kind, row_id, extra={"event": f"{movement.kind}.swept"})
        with uow:
            enqueue(uow, movement, row_id)
            uow.commit()
    return len(due)


# --- Under the row's lock (also from a provider's webhooks, services/payout_events.py). Lock order as
# everywhere: the movement's row, then the user's audit stream head, then the wallet. ---


def locked(uow: UnitOfWork, movement: Movement, row_id: str):
    return uow.session.get(movement.model, row_id, with_for_update=True, populate_existing=True)


def mark_done_locked(uow: UnitOfWork, movement: Movement, row) -> None:
    """The provider has it: post the hold from the wallet to the movement's house account."""
    audit_event(uow, movement, row, f"{movement.kind}_{movement.done}")
    wallet = ledger.lock_wallets(uow, [row.wallet_id])[row.wallet_id]
    in_flight = ledger.house_account_id(uow, movement.house, row.currency)
    row.paid_entry_id = ledger.post_hold(uow, uow.session.get(Hold, row.hold_id), wallet, kind=movement.kind,
                                         to_account_id=in_flight)
    row.status, row.next_attempt_at, row.updated_at = movement.done, None, utcnow()
    show(uow, row, "completed", journal_entry_id=row.paid_entry_id)


def fail_locked(uow: UnitOfWork, movement: Movement, row, reason: str) -> None:
    """Nothing happened outside: release the hold, so the money is available again."""
    audit_event(uow, movement, row, f"{movement.kind}_failed", reason=reason)
    wallet = ledger.lock_wallets(uow, [row.wallet_id])[row.wallet_id]
    ledger.release_hold(uow, uow.session.get(Hold, row.hold_id), wallet, unsend=movement.counts_as_sent)
    end_failed(uow, row, reason)


def end_failed(uow: UnitOfWork, row, reason: str) -> None:
    row.status, row.failure_reason = "failed", reason[:255]
    row.next_attempt_at, row.updated_at = None, utcnow()
    show(uow, row, "failed", reason=reason)


def show(uow: UnitOfWork, row, status: str, *, journal_entry_id: str | None = None, reason: str | None = None) -> None:
    """The person's history row follows the movement; its receipt shows the provider's reference."""
    tx = uow.session.get(Transaction, row.id)
    tx.status = status
    if journal_entry_id:
        tx.journal_entry_id = journal_entry_id
    extra = {"reason": reason} if reason else {}
    if row.provider_ref and status == "completed":
        extra["provider_ref"] = row.provider_ref
    if extra:
        tx.meta = {**(tx.meta or {}), **extra}


def audit_event(uow: UnitOfWork, movement: Movement, row, event: str, **data) -> None:
    audit.append(uow, stream=audit.user_stream(row.user_id), event=event, actor_id=None,
                 data={f"{movement.kind}_id": row.id, "amount": row.amount, "currency": row.currency, **data})
