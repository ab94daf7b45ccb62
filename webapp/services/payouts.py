"""Withdrawals to a bank account (DESIGN §5–7, §11): the request holds the money; a job pays it out.

The request is one transaction: the idempotency claim, the audit row, the wallet lock, a hold on the
amount, the `payout` history row (pending) and the payout row. Once it has committed, the job
`jobs.payouts.send` goes on the `payouts` queue; it calls the bank outside any transaction and settles
in another (services/payout_runs.py). The money leaves the balance only when the payout is paid: until
then it is reserved, so it can neither be spent twice nor lost.
"""

from __future__ import annotations

from datetime import datetime
from datetime import time as clock

from rq import Retry
from sqlalchemy import func, select

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import AccountFrozen, BelowZero, CurrencyMismatch, NotFound, ValidationError
from webapp.models import Payout, User, Wallet
from webapp.models.base import utcnow
from webapp.money import MAX_MINOR, Money
from webapp.services import audit, bank_accounts, held_runs, history, idempotency, ledger, payout_runs, pins
from webapp.services.limits import check_payout

OPERATION = "payout"
JOB = payout_runs.PAYOUT.job


def request(uow: UnitOfWork, *, user_id: str, wallet_id: object, bank_account_id: object, amount: int,
            currency: str | None = None, idempotency_key: object, pin: object = None) -> Payout:
    """Hold `amount` (minor units of the wallet's currency; `currency`, when given, must be that one) and
    queue its payout. Replaying a key returns the first payout unchanged, without a PIN; a new payout
    needs the person's `pin` once they have set one."""
    key = idempotency.check_key(idempotency_key)
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_MINOR:
        raise ValidationError.field("amount", "Send a whole number of minor units (cents), greater than zero.")
    request_hash = idempotency.fingerprint({"wallet": wallet_id, "bank_account": bank_account_id,
                                            "amount": amount, "currency": currency})
    return pins.guarded(uow, user_id=user_id, pin=pin, run=lambda checked: _request(
        uow, user_id, wallet_id, bank_account_id, (amount, currency), key, request_hash, checked))


def get(uow: UnitOfWork, *, user_id: str, payout_id: object) -> Payout:
    """The user's own payout; anyone else's is NotFound, as if it did not exist."""
    with uow:
        payout = uow.session.get(Payout, payout_id) if isinstance(payout_id, str) else None
        if payout is None or payout.user_id != user_id:
            raise NotFound("Payout not found.")
        return payout


def made_with_key(uow: UnitOfWork, *, user_id: str, idempotency_key: str) -> Payout | None:
    """The payout this key already made, if any: a review page reached again with Back offers its receipt
    instead of a second withdrawal."""
    with uow:
        result_id = idempotency.result_for(uow, user_id=user_id, operation=OPERATION, key=idempotency_key)
        return uow.session.get(Payout, result_id) if result_id else None


def retry_policy(config: dict) -> Retry:
    """PAYOUT_RETRY_MAX more attempts after the first, PAYOUT_RETRY_BASE seconds apart, doubling each time
    (services/held_runs.py); institution settlements keep the same schedule."""
    return held_runs.retry_policy(config, payout_runs.PAYOUT)


def backoff(config: dict, retries: int) -> int:
    """Seconds before the attempt that follows the `retries`-th failure."""
    return held_runs.backoff(config, payout_runs.PAYOUT, retries)


def enqueue(uow: UnitOfWork, payout_id: str) -> None:
    """Queue the payout's job once `uow` commits, with a timeout under the lease (held_runs.enqueue)."""
    held_runs.enqueue(uow, payout_runs.PAYOUT, payout_id)


@retry_on_conflict
def _request(uow, user_id, wallet_id, bank_account_id, amount, key, request_hash, pin) -> Payout:
    def hold_and_queue(payout_id: str) -> Payout:
        payout = _hold(uow, payout_id, user_id, wallet_id, bank_account_id, amount, pin)
        enqueue(uow, payout_id)  # runs only once the hold commits
        return payout

    return idempotency.once(uow, user_id=user_id, operation=OPERATION, key=key, request_hash=request_hash,
                            effect=hold_and_queue, load=lambda stored: uow.session.get(Payout, stored))


def _hold(uow, payout_id, user_id, wallet_id, bank_account_id, asked: tuple[int, str | None], pin) -> Payout:
    """Checks that need no lock first; the wallet is locked late, and the rows that refer to it (history,
    payout) come after its lock, as in services/transfers.py."""
    wallet, account, amount = _check(uow, user_id, wallet_id, bank_account_id, asked, pin)
    audit.append(uow, stream=audit.user_stream(user_id), event="payout_requested", actor_id=user_id,
                 data={"payout_id": payout_id, "wallet_id": wallet.id, "bank_account_id": account.id,
                       "amount": amount.amount, "currency": amount.currency})
    locked = ledger.lock_wallets(uow, [wallet.id])[wallet.id]
    if locked.balance - locked.reserved < 0:
        raise BelowZero()
    # Under the wallet's lock, so two payouts at once can't both pass the daily limit.
    check_payout(uow, amount, kyc_status=uow.session.get(User, user_id).kyc_status,
                 paid_today=_paid_today(uow, wallet.id))
    # No expiry: the payout's own states end the hold (posted when paid, released when failed). A hold that
    # expired while the bank was still paying would hand back money that has already left.
    hold = ledger.reserve(uow, locked, amount, reason=OPERATION)
    counterparty = {"type": "bank", "name": f"{account.bank_name or 'Bank account'} ending {account.last4}",
                    "last4": account.last4}
    history.record(uow, [history.new_record(
        id=payout_id, wallet_id=wallet.id, user_id=user_id, kind=OPERATION, direction="debit",
        amount=amount.amount, currency=amount.currency, status="pending", counterparty=counterparty,
        meta={"bank_account_id": account.id})])
    now = utcnow()
    payout = Payout(id=payout_id, user_id=user_id, wallet_id=wallet.id, bank_account_id=account.id,
                    amount=amount.amount, currency=amount.currency, status="pending", hold_id=hold.id, retries=0,
                    next_attempt_at=now, created_at=now, updated_at=now)
    uow.session.add(payout)
    uow.session.flush()
    return payout


def _check(uow, user_id, wallet_id, bank_account_id, asked: tuple[int, str | None], pin):
    user = uow.session.get(User, user_id)
    wallet = uow.session.get(Wallet, wallet_id) if isinstance(wallet_id, str) else None
    if wallet is None or wallet.user_id != user_id:
        raise NotFound("Wallet not found.")
    account = bank_accounts.owned(uow, user_id=user_id, bank_account_id=bank_account_id)
    minor, currency = asked
    if currency is not None and currency != wallet.currency:
        raise CurrencyMismatch(f"This wallet holds {wallet.currency}, not {currency}.")
    if account.currency != wallet.currency:
        raise CurrencyMismatch(f"This bank account takes {account.currency}: withdraw from a "
                               f"{account.currency} wallet.")
    check_payout(uow, Money(minor, wallet.currency), kyc_status=user.kyc_status)  # KYC_REQUIRED when unverified
    if user.is_frozen:
        raise AccountFrozen()
    pins.check(uow, user_id, user, pin)  # last: a refusal above costs no PIN try
    return wallet, account, Money(minor, wallet.currency)


def _paid_today(uow: UnitOfWork, wallet_id: str) -> int:
    """Minor units of the wallet's payouts asked for today (UTC) that have not failed."""
    midnight = datetime.combine(utcnow().date(), clock())
    return int(uow.session.scalar(
        select(func.coalesce(func.sum(Payout.amount), 0)).where(
            Payout.wallet_id == wallet_id, Payout.created_at >= midnight, Payout.status != "failed")))
