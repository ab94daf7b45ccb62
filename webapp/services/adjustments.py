"""Manual adjustments by operators: money in from the house adjustments account, always audited."""

from __future__ import annotations

from sqlalchemy import select

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import NotFound, ValidationError
from webapp.models import Transaction, User, Wallet
from webapp.money import Money
from webapp.services import audit, history, ledger, limits, wallets
from webapp.services.accounts import normalize_email


@retry_on_conflict
def credit(uow: UnitOfWork, *, email: str, amount: Money, reason: str, actor: str = "cli") -> Transaction:
    """Credit a user's wallet in `amount.currency`, opening that wallet if they have none."""
    limits.check_positive(amount)
    if not reason.strip():
        raise ValidationError.field("reason", "Say why this adjustment is made.")
    with uow:
        user = uow.session.scalar(select(User).where(User.email == normalize_email(email)))
        if user is None:
            raise NotFound(f"No user with email {email}.")
        wallet = uow.session.scalar(
            select(Wallet).where(Wallet.user_id == user.id, Wallet.currency == amount.currency)
        ) or wallets.open_wallet_in_uow(uow, user_id=user.id, currency=amount.currency)
        house = ledger.house_account(uow, "adjustments", amount.currency)
        entry_id = ledger.open_entry(uow, kind="adjustment", description=reason)
        audit.append(uow, stream=audit.user_stream(user.id), event="manual_credit", actor_id=None,
                     data={"entry_id": entry_id, "wallet_id": wallet.id, "amount": amount.amount,
                           "currency": amount.currency, "reason": reason, "by": actor})
        locked = ledger.lock_wallets(uow, [wallet.id])[wallet.id]  # audit head before wallet: one lock order
        ledger.post_entry(uow, entry_id=entry_id, legs=[ledger.Leg(-amount, account_id=house.id),
                                                        ledger.Leg(amount, wallet=locked)])
        tx = history.new_record(wallet_id=wallet.id, user_id=user.id, kind="adjustment", direction="credit",
                                amount=amount.amount, currency=amount.currency, journal_entry_id=entry_id,
                                counterparty={"type": "house", "name": "E-Wallet"}, meta={"reason": reason})
        history.record(uow, [tx])
        uow.commit()
    return history.receipt(tx)
