"""Amount sanity, and the limits by KYC tier: config's LIMITS table (webapp/config.limit_table), tier ×
operation × kind, in major units per currency. Nothing else in the app knows a limit.

Which error a breach gives: KYC_REQUIRED when only a verified identity would let this very request
through (the unverified tier may not do it at all, or the amount is above its per-transaction limit but
within the verified one); LIMIT_EXCEEDED otherwise (below a minimum, above every tier's per-transaction
limit, or over a daily total, which tomorrow resets), with the limit in `details`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from webapp.db import UnitOfWork
from webapp.errors import KycRequired, LimitExceeded, ValidationError
from webapp.models.base import utcnow
from webapp.money import MAX_MINOR, Money, exponent

if TYPE_CHECKING:
    from webapp.services.ledger import LockedWallet
    from webapp.services.recipients import Party

VERBS = {"deposit": "add", "send": "send", "payout": "withdraw"}
MESSAGES = {
    ("deposit", "min"): "Add at least {}.",
    ("deposit", "per_tx"): "You can add at most {} at a time.",
    ("deposit", "daily"): "You can add at most {} a day.",
    ("send", "min"): "Send at least {}.",
    ("send", "per_tx"): "A single transfer can be at most {}.",
    ("send", "daily"): "You can send at most {} a day.",
    ("payout", "min"): "Withdraw at least {}.",
    ("payout", "per_tx"): "You can withdraw at most {} at a time.",
    ("payout", "daily"): "You can withdraw at most {} a day.",
}
PERIODS = {"min": "minimum", "per_tx": "transaction", "daily": "day"}


def check_positive(amount: Money) -> None:
    if amount.amount <= 0:
        raise ValidationError.field("amount", "Enter an amount greater than zero.")
    if amount.amount > MAX_MINOR:
        raise ValidationError.field("amount", "That amount is too large.")


def tier_of(kyc_status: str) -> str:
    """Pending and rejected people are unverified until a reviewer approves them."""
    return "verified" if kyc_status == "verified" else "unverified"


def limit_for(table: dict[str, int], currency: str) -> Money | None:
    """The configured limit in `currency`, or None when neither the currency nor `*` is configured."""
    major = table.get(currency, table.get("*"))
    return None if major is None else Money(major * 10 ** exponent(currency), currency)


def limit(config: dict, tier: str, operation: str, kind: str, currency: str) -> Money | None:
    """One cell of the table; None means no limit. A config without LIMITS (a unit of work built by hand
    in a unit test or a benchmark) limits nothing."""
    kinds = config.get("LIMITS", {}).get(tier, {}).get(operation) or {}
    return limit_for(kinds.get(kind, {}), currency)


def allowed(config: dict, tier: str, operation: str) -> bool:
    """Whether the tier may do the operation at all: never a payout without a verified identity (that is
    the law's, not a setting), nor anything the configured table leaves out (None)."""
    if tier == "unverified" and operation == "payout":
        return False
    table = config.get("LIMITS")
    return table is None or table.get(tier, {}).get(operation, {}) is not None


def check(config: dict, operation: str, amount: Money, *, kyc_status: str, done_today: int | None = None) -> None:
    """The tier's minimum and per-transaction limit; and, when `done_today` is given (minor units of the
    operation already counted today, read under the wallet's lock), its daily total."""
    tier = tier_of(kyc_status)
    if not allowed(config, tier, operation):
        raise KycRequired(f"Verify your identity to {VERBS[operation]} money."
                          if operation != "payout" else "Verify your identity to withdraw to a bank.")
    low = limit(config, tier, operation, "min", amount.currency)
    if low is not None and amount < low:
        _refuse(config, tier, operation, "min", low)
    most = limit(config, tier, operation, "per_tx", amount.currency)
    if most is not None and amount > most:
        lifted = limit(config, "verified", operation, "per_tx", amount.currency)
        if _verifying_lifts(config, tier, operation, "per_tx", most) and (lifted is None or amount <= lifted):
            raise KycRequired(f"Verify your identity to {VERBS[operation]} more than {most.format()}.",
                              details=_details(tier, "per_tx", most))
        _refuse(config, tier, operation, "per_tx", most)
    daily = limit(config, tier, operation, "daily", amount.currency) if done_today is not None else None
    if daily is not None and done_today + amount.amount > daily.amount:
        _refuse(config, tier, operation, "daily", daily)


def _refuse(config: dict, tier: str, operation: str, kind: str, cap: Money) -> None:
    """LIMIT_EXCEEDED, telling an unverified person when verifying would raise this limit."""
    lifts = _verifying_lifts(config, tier, operation, kind, cap)
    hint = f" Verify your identity to {VERBS[operation]} more." if lifts else ""
    raise LimitExceeded(MESSAGES[operation, kind].format(cap.format()) + hint, details=_details(tier, kind, cap))


def _verifying_lifts(config: dict, tier: str, operation: str, kind: str, cap: Money) -> bool:
    if tier != "unverified" or kind == "min" or not allowed(config, "verified", operation):
        return False
    lifted = limit(config, "verified", operation, kind, cap.currency)
    return lifted is None or lifted > cap


def _details(tier: str, kind: str, cap: Money) -> dict:
    return {"limit": cap.amount, "currency": cap.currency, "period": PERIODS[kind], "tier": tier}


def check_transfer(uow: UnitOfWork, sender: Party, amount: Money) -> None:
    """Sending (a transfer or an institution payment), before any lock: the tier's minimum and per-transaction
    limit. The tier comes with the sender's Party row, so this costs no query on the transfer's hot path."""
    check(uow.config, "send", amount, kyc_status=sender.kyc_status)


def check_daily(uow: UnitOfWork, wallet: LockedWallet, amount: Money, *, kyc_status: str) -> None:
    """Call with the wallet locked: its daily total (kept by the ledger on the wallet row for transfers,
    institution payments and top-up holds alike) can't move until we commit, so racing payments can't slip
    past the limit together."""
    tier = tier_of(kyc_status)
    daily = limit(uow.config, tier, "send", "daily", amount.currency)
    if daily is not None and wallet.sent_on(utcnow().date()) + amount.amount > daily.amount:
        _refuse(uow.config, tier, "send", "daily", daily)


def check_deposit(uow: UnitOfWork, amount: Money, *, kyc_status: str, added_today: int | None = None) -> None:
    """Card deposits: the tier's minimum and maximum per deposit, and with `added_today` (minor units of
    today's deposits that are pending or went through) its daily total."""
    check(uow.config, "deposit", amount, kyc_status=kyc_status, done_today=added_today)


def check_payout(uow: UnitOfWork, amount: Money, *, kyc_status: str, paid_today: int | None = None) -> None:
    """Withdrawals: KYC_REQUIRED for the unverified tier; the verified tier's minimum, maximum and, with
    `paid_today` (minor units of today's payouts that have not failed), daily total."""
    check(uow.config, "payout", amount, kyc_status=kyc_status, done_today=paid_today)
