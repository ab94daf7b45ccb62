"""Amount sanity and the per-transfer, daily and KYC limits from config (major units per currency)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from webapp.db import UnitOfWork
from webapp.errors import KycRequired, LimitExceeded, ValidationError
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


def check_daily(uow: UnitOfWork, wallet: LockedWallet, amount: Money) -> None:
    """Call with the wallet locked: its daily total (kept by the ledger on the wallet row) can't move
    until we commit, so racing transfers can't slip past the limit together."""
    daily = limit_for(uow.config.get("TRANSFER_LIMIT_DAILY", {}), amount.currency)
    if daily is None:
        return
    if wallet.sent_on(utcnow().date()) + amount.amount > daily.amount:
        raise LimitExceeded(f"You can send at most {daily.format()} a day.",
                            details={"limit": daily.amount, "currency": daily.currency})


def check_deposit(uow: UnitOfWork, amount: Money, *, kyc_status: str, added_today: int) -> None:
    """Card deposits: the configured minimum and maximum per deposit, and the daily total by KYC tier
    (`added_today`: minor units of today's deposits that are pending or went through)."""
    config = uow.config
    low = limit_for(config.get("DEPOSIT_LIMIT_MIN", {}), amount.currency)
    if low is not None and amount < low:
        raise LimitExceeded(f"Add at least {low.format()}.", details={"limit": low.amount, "currency": low.currency})
    per_tx = limit_for(config.get("DEPOSIT_LIMIT_PER_TX", {}), amount.currency)
    if per_tx is not None and amount > per_tx:
        raise LimitExceeded(f"You can add at most {per_tx.format()} at a time.",
                            details={"limit": per_tx.amount, "currency": per_tx.currency})
    tier = "DEPOSIT_LIMIT_DAILY" if kyc_status == "verified" else "DEPOSIT_LIMIT_DAILY_UNVERIFIED"
    daily = limit_for(config.get(tier, {}), amount.currency)
    if daily is not None and added_today + amount.amount > daily.amount:
        hint = "" if kyc_status == "verified" else " Verify your identity to add more."
        raise LimitExceeded(f"You can add at most {daily.format()} a day.{hint}",
                            details={"limit": daily.amount, "currency": daily.currency})
