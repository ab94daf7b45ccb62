"""A card deposit's row under its lock, as the webhook events read and write it: one prepared SELECT …
FOR UPDATE, then one UPDATE of what the events changed.

Every `payment_intent.succeeded` goes through here, and the ORM's load, unit-of-work flush and session
transaction cost more CPU than the credit's SQL (bench/README.md, "bench/deposits.py"). With plain rows
the whole credit runs on the ledger's prepared statements, as a transfer does. Rarer work (a failure's
reason, a dispute's hold) may still open the ORM session in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import bindparam, select, update

from webapp.db import UnitOfWork
from webapp.errors import LedgerError
from webapp.models import CardDeposit
from webapp.models.base import utcnow
from webapp.prepared import Prepared

_deposits = CardDeposit.__table__
_COLUMNS = ("transaction_id", "user_id", "wallet_id", "amount", "currency", "status", "payment_intent_id",
            "credit_entry_id", "refunded", "charge_refunded", "refunds", "dispute")
_CHANGING = _COLUMNS[5:]  # what events may change; the rest was fixed when the deposit started


@dataclass
class LockedDeposit:
    transaction_id: str  # the pending `deposit` transaction's id, our key for the deposit
    user_id: str
    wallet_id: str
    amount: int  # minor units asked for
    currency: str
    status: str  # pending → completed | failed | review
    payment_intent_id: str | None
    credit_entry_id: str | None
    refunded: int  # minor units reversed in the ledger so far
    charge_refunded: int  # the largest `amount_refunded` Stripe has told us
    refunds: dict = field(default_factory=dict)  # refund id → {amount, created, live, applied}
    dispute: dict = field(default_factory=dict)  # {id, amount, status, hold_id, applied}


def _lock_by(column: str) -> Prepared:
    return Prepared(select(*(_deposits.c[name] for name in _COLUMNS))
                    .where(_deposits.c[column] == bindparam("key")).with_for_update())


_LOCK_BY_TRANSACTION = _lock_by("transaction_id")
_LOCK_BY_INTENT = _lock_by("payment_intent_id")
_SAVE = Prepared(update(_deposits).where(_deposits.c.transaction_id == bindparam("key"))
                 .values(**{name: bindparam(f"new_{name}") for name in _CHANGING}, updated_at=bindparam("now")))


def lock(uow: UnitOfWork, *, transaction_id: str | None = None, payment_intent_id: str | None = None):
    """The deposit with this transaction id, else with this PaymentIntent, locked; None if there is none."""
    for statement, key in ((_LOCK_BY_TRANSACTION, transaction_id), (_LOCK_BY_INTENT, payment_intent_id)):
        if isinstance(key, str):
            row = uow.execute(statement, {"key": key}).first()
            if row is not None:
                return LockedDeposit(*row[:10], refunds=row.refunds or {}, dispute=row.dispute or {})
    return None


def save(uow: UnitOfWork, deposit: LockedDeposit) -> None:
    params = {f"new_{name}": getattr(deposit, name) for name in _CHANGING}
    if uow.execute(_SAVE, {**params, "key": deposit.transaction_id, "now": utcnow()}).rowcount != 1:
        raise LedgerError(f"deposit {deposit.transaction_id} vanished under its lock")
