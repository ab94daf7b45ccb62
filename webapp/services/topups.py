"""Mobile airtime top-ups (DESIGN §5–7, §9, §11): the request holds the money; a job buys the airtime.

The request is one transaction: the checks that need no lock (the number, the operator, the amount in the
operator's limits and the wallet's currency: services/topup_numbers.py), the idempotency claim, the audit
row, the wallet lock, the daily limit, a hold on the amount (counted toward today's sending total), the
`topup` history row (pending) and the top-up row. Once it has committed, the job `jobs.topups.send` goes on
the `topups` queue; it calls the aggregator outside any transaction and settles in another
(services/topup_runs.py). The money leaves the balance only when the top-up is delivered.
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import AccountFrozen, BelowZero, NotFound
from webapp.models import Topup, User, Wallet
from webapp.models.base import new_id, utcnow
from webapp.services import audit, held_runs, history, idempotency, ledger, limits, pins, topup_numbers, topup_runs
from webapp.services.topup_numbers import Target

OPERATION = "topup"


@dataclass(frozen=True)
class Asked:
    """The request as it came: checked inside the unit of work, which knows the wallet's currency."""

    mobile_number: object
    operator: object
    amount: object


def request(uow: UnitOfWork, *, user_id: str, wallet_id: object, mobile_number: object, amount: object,
            operator: object = None, idempotency_key: object, pin: object = None) -> Topup:
    """Hold `amount` (minor units of the wallet's currency) and queue the top-up of `mobile_number`,
    through `operator` (an id from providers/airtime.py; detected from the number when None). Replaying
    a key returns the first top-up unchanged, without a PIN; a new top-up needs the person's `pin` once
    they have set one."""
    key = idempotency.check_key(idempotency_key)
    asked = Asked(mobile_number, operator, amount)
    return pins.guarded(uow, user_id=user_id, pin=pin,
                        run=lambda checked: _request(uow, user_id, wallet_id, asked, key, checked))


def get(uow: UnitOfWork, *, user_id: str, topup_id: object) -> Topup:
    """The user's own top-up; anyone else's is NotFound, as if it did not exist."""
    with uow:
        topup = uow.session.get(Topup, topup_id) if isinstance(topup_id, str) else None
        if topup is None or topup.user_id != user_id:
            raise NotFound("Top-up not found.")
        return topup


def made_with_key(uow: UnitOfWork, *, user_id: str, idempotency_key: str) -> Topup | None:
    """The top-up this key already made, if any: a review page reached again with Back offers its receipt."""
    with uow:
        result_id = idempotency.result_for(uow, user_id=user_id, operation=OPERATION, key=idempotency_key)
        return uow.session.get(Topup, result_id) if result_id else None


def preview(uow: UnitOfWork, *, user_id: str, wallet_id: object, mobile_number: object, amount: object,
            operator: object = None) -> Target:
    """What `request` would top up, checked the same way, holding nothing: the web's review page."""
    with uow:
        user, wallet = _owned(uow, user_id, wallet_id)
        return _target(user, wallet, Asked(mobile_number, operator, amount))


def check_number(uow: UnitOfWork, *, user_id: str, mobile_number: object) -> topup_numbers.Number:
    """The number alone, read as `request` reads it (the person's own country fills in a missing country
    code): the form's inline check."""
    with uow:
        phone = uow.session.get(User, user_id).phone
    return topup_numbers.parse_number(mobile_number, topup_numbers.region_of(phone))


@retry_on_conflict
def _request(uow: UnitOfWork, user_id: str, wallet_id: object, asked: Asked, key: str, pin: object) -> Topup:
    topup_id = new_id()
    with uow:
        user, wallet = _owned(uow, user_id, wallet_id)
        target = _target(user, wallet, asked)  # deterministic: a replay with bad fields is refused alike
        request_hash = idempotency.fingerprint({"wallet": wallet.id, "number": target.number,
                                                "operator": target.operator.id, "amount": target.amount.amount})
        try:
            idempotency.claim(uow, user_id=user_id, operation=OPERATION, key=key, request_hash=request_hash,
                              result_id=topup_id)
        except idempotency.KeyTaken:
            pass  # seen before: answer as the first request was answered
        else:
            topup = _hold(uow, topup_id, user, wallet, target, pin)
            held_runs.enqueue(uow, topup_runs.TOPUP, topup_id)
            uow.commit()
            return topup
    with uow:
        stored = idempotency.find_result(uow, user_id=user_id, operation=OPERATION, key=key,
                                         request_hash=request_hash)
        return uow.session.get(Topup, stored)


def _owned(uow: UnitOfWork, user_id: str, wallet_id: object) -> tuple[User, Wallet]:
    wallet = uow.session.get(Wallet, wallet_id) if isinstance(wallet_id, str) else None
    if wallet is None or wallet.user_id != user_id:
        raise NotFound("Wallet not found.")
    return uow.session.get(User, user_id), wallet


def _target(user: User, wallet: Wallet, asked: Asked) -> Target:
    return topup_numbers.check(mobile_number=asked.mobile_number, operator=asked.operator, amount=asked.amount,
                               currency=wallet.currency, region=topup_numbers.region_of(user.phone))


def _hold(uow: UnitOfWork, topup_id: str, user: User, wallet: Wallet, target: Target, pin: object) -> Topup:
    """The wallet is locked late, and the rows that refer to it (history, top-up) come after its lock, as
    in services/transfers.py."""
    if user.is_frozen:
        raise AccountFrozen()
    pins.check(uow, user.id, user, pin)
    amount, operator = target.amount, target.operator
    audit.append(uow, stream=audit.user_stream(user.id), event="topup_requested", actor_id=user.id,
                 data={"topup_id": topup_id, "wallet_id": wallet.id, "operator": operator.id,
                       "amount": amount.amount, "currency": amount.currency})
    locked = ledger.lock_wallets(uow, [wallet.id])[wallet.id]
    if locked.balance - locked.reserved < 0:
        raise BelowZero()
    limits.check_daily(uow, locked, amount, kyc_status=user.kyc_status)
    # No expiry, as a payout's: the top-up's own states end the hold (posted when delivered, released when
    # failed). A hold that expired while the operator was still delivering would hand back spent money.
    hold = ledger.reserve(uow, locked, amount, reason=OPERATION, sent=True)
    counterparty = {"type": "mobile", "name": operator.name, "phone": target.shown, "operator": operator.id}
    history.record(uow, [history.new_record(
        id=topup_id, wallet_id=wallet.id, user_id=user.id, kind=OPERATION, direction="debit",
        amount=amount.amount, currency=amount.currency, status="pending", counterparty=counterparty,
        meta={"mobile_number": target.number, "operator": operator.id})])
    now = utcnow()
    topup = Topup(id=topup_id, user_id=user.id, wallet_id=wallet.id, mobile_number=target.number,
                  operator=operator.id, amount=amount.amount, currency=amount.currency, status="pending",
                  hold_id=hold.id, retries=0, next_attempt_at=now, created_at=now, updated_at=now)
    uow.session.add(topup)
    uow.session.flush()
    return topup
