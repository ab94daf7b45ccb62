"""Amount sanity and the per-transfer, daily and KYC limits from config (major units per currency)."""

from __future__ import annotations

from datetime import datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, func, select

from webapp.db import UnitOfWork
from webapp.errors import KycRequired, LimitExceeded, ValidationError
from webapp.models import Transaction, Wallet
from webapp.models.base import utcnow
from webapp.money import MAX_MINOR, Money, exponent

if TYPE_CHECKING:
    from webapp.services.ledger import LockedWallet
    from webapp.services.recipients import Party


def check_positive(amount: Money) -> None:
    if amount.amount <= 0:
        raise ValidationError.field("amount", "Enter an amount greater than zero.")
    if amount.amount > MAX_MINOR:
        raise ValidationError.field("amount", "That amount is too large.")


def limit_for(table: dict[str, int], currency: str) -> Money | None:
    """The configured limit in `currency`, or None when neither the currency nor `*` is configured."""
    major = table.get(currency, table.get("*"))
    return None if major is None else Money(major * 10 ** exponent(currency), currency)


def check_transfer(uow: UnitOfWork, sender: Party, amount: Money) -> None:
    """The limits that need no lock: per transfer, and the ceiling for users who have not passed KYC."""
    per_tx = limit_for(uow.config.get("TRANSFER_LIMIT_PER_TX", {}), amount.currency)
    if per_tx is not None and amount > per_tx:
        raise LimitExceeded(f"A single transfer can be at most {per_tx.format()}.",
                            details={"limit": per_tx.amount, "currency": per_tx.currency})
    kyc_free = limit_for(uow.config.get("KYC_FREE_TRANSFER_LIMIT", {}), amount.currency)
    if kyc_free is not None and amount > kyc_free and sender.kyc_status != "verified":
        raise KycRequired(f"Verify your identity to send more than {kyc_free.format()}.")


def check_daily(uow: UnitOfWork, wallet: LockedWallet, amount: Money, *, read_before_lock: Party) -> None:
    """Call with the wallet locked, so no other transfer from it can land before we commit.

    The total read with the wallet before the lock is still exact if the wallet's version has not moved
    since: every movement bumps it. Only when it has moved is the total read again, under the lock. Most
    transfers so skip a round trip, and none can slip past the limit. (Read just before midnight and used
    just after, the total can only be too high, never too low.)"""
    daily = limit_for(uow.config.get("TRANSFER_LIMIT_DAILY", {}), amount.currency)
    if daily is None:
        return
    unchanged = read_before_lock.wallet_id == wallet.id and read_before_lock.version == wallet.version
    sent = read_before_lock.sent_today if unchanged else sent_today(uow, wallet.id)
    if sent + amount.amount > daily.amount:
        raise LimitExceeded(f"You can send at most {daily.format()} a day.",
                            details={"limit": daily.amount, "currency": daily.currency})


def midnight() -> datetime:
    """The start of today's limit window: midnight UTC."""
    return datetime.combine(utcnow().date(), time.min)


def _sent_since(wallet_id):
    return select(func.coalesce(func.sum(Transaction.amount), 0)).where(
        Transaction.wallet_id == wallet_id,
        Transaction.kind == "transfer",
        Transaction.direction == "debit",
        Transaction.created_at >= bindparam("since"),
    )


# Both built once: they run on every transfer, and building a statement costs more than running it.
_SENT_SINCE = _sent_since(bindparam("wallet_id"))
SENT_SINCE_COLUMN = _sent_since(Wallet.id).scalar_subquery()  # correlated: one value per row of a wallets query


def sent_today(uow: UnitOfWork, wallet_id: str) -> int:
    """Minor units sent as transfers from this wallet since midnight UTC."""
    return int(uow.execute(_SENT_SINCE, {"wallet_id": wallet_id, "since": midnight()}).scalar_one())
