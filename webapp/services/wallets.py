"""Opening and reading wallets. A wallet is a ledger account plus the cached balance of that account."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import NotFound, ValidationError
from webapp.models import Wallet
from webapp.models.base import new_id
from webapp.money import check_currency
from webapp.services import audit, ledger


def open_wallet_in_uow(uow: UnitOfWork, *, user_id: str, currency: str) -> Wallet:
    wallet_id = new_id()
    account = ledger.open_wallet_account(uow, wallet_id=wallet_id, currency=currency)
    wallet = Wallet(id=wallet_id, user_id=user_id, account_id=account.id, currency=currency)
    uow.session.add(wallet)
    uow.session.flush()
    return wallet


@retry_on_conflict
def open_wallet(uow: UnitOfWork, *, user_id: str, currency: object) -> Wallet:
    currency = check_currency(currency)
    with uow:
        if _find(uow, user_id, currency) is not None:
            raise ValidationError.field("currency", f"You already have a {currency} wallet.")
        try:
            wallet = open_wallet_in_uow(uow, user_id=user_id, currency=currency)
        except IntegrityError:  # a concurrent request opened it a moment ago
            raise ValidationError.field("currency", f"You already have a {currency} wallet.") from None
        audit.append(uow, stream=audit.user_stream(user_id), event="wallet_opened", actor_id=user_id,
                     data={"wallet_id": wallet.id, "currency": currency})
        uow.commit()
    return wallet


def list_wallets(uow: UnitOfWork, *, user_id: str) -> list[Wallet]:
    with uow:
        return list(uow.session.scalars(select(Wallet).where(Wallet.user_id == user_id).order_by(Wallet.created_at)))


def get_wallet(uow: UnitOfWork, *, user_id: str, wallet_id: object) -> Wallet:
    """A wallet that is not yours does not exist, as far as you can tell."""
    with uow:
        wallet = uow.session.get(Wallet, wallet_id) if isinstance(wallet_id, str) else None
        if wallet is None or wallet.user_id != user_id:
            raise NotFound("Wallet not found.")
        return wallet


def _find(uow: UnitOfWork, user_id: str, currency: str) -> Wallet | None:
    return uow.session.scalar(select(Wallet).where(Wallet.user_id == user_id, Wallet.currency == currency))


def find_wallet(uow: UnitOfWork, *, user_id: str, currency: str) -> Wallet | None:
    with uow:
        return _find(uow, user_id, currency)
