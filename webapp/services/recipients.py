"""Finding who money goes to: by wallet id, user id, email or phone, in the currency being sent."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from webapp.db import UnitOfWork
from webapp.errors import CurrencyMismatch, NotFound, ValidationError
from webapp.models import User, Wallet
from webapp.services.accounts import normalize_email, normalize_phone

RECIPIENT_KINDS = ("wallet_id", "user_id", "email", "phone")


@dataclass(frozen=True)
class Recipient:
    kind: str  # one of RECIPIENT_KINDS
    value: str

    @classmethod
    def from_text(cls, text: str) -> Recipient:
        """What a person types in the "to" field: an email if it has an @, otherwise a phone number."""
        text = (text or "").strip()
        return cls("email" if "@" in text else "phone", text)


@dataclass(frozen=True)
class Preview:
    """Who a transfer would reach, for a confirm screen, without moving anything."""

    user_id: str
    wallet_id: str
    email: str
    masked_phone: str


def preview(uow: UnitOfWork, *, sender_id: str, to: Recipient, currency: str) -> Preview:
    with uow:
        wallet = resolve(uow, to, currency)
        if wallet.user_id == sender_id:
            raise ValidationError.field("recipient", "You can't send money to yourself.")
        user = uow.session.get(User, wallet.user_id)
        return Preview(user.id, wallet.id, user.email, user.masked_phone)


def resolve(uow: UnitOfWork, to: Recipient, currency: str) -> Wallet:
    """The recipient's wallet in `currency`. Unknown people are NOT_FOUND; a person without a wallet in
    that currency (or a wallet id of another currency) is CURRENCY_MISMATCH."""
    if to.kind == "wallet_id":
        wallet = uow.session.get(Wallet, to.value)
        if wallet is None:
            raise NotFound("Recipient wallet not found.")
        if wallet.currency != currency:
            raise CurrencyMismatch(f"The recipient wallet holds {wallet.currency}, not {currency}.")
        return wallet
    user = _find_user(uow, to)
    if user is None:
        raise NotFound("No wallet user matches that recipient.")
    wallet = uow.session.scalar(select(Wallet).where(Wallet.user_id == user.id, Wallet.currency == currency))
    if wallet is None:
        raise CurrencyMismatch(f"The recipient has no {currency} wallet.")
    return wallet


def _find_user(uow: UnitOfWork, to: Recipient) -> User | None:
    if to.kind == "user_id":
        return uow.session.get(User, to.value)
    if to.kind == "email":
        return uow.session.scalar(select(User).where(User.email == normalize_email(to.value)))
    if to.kind == "phone":
        phone = normalize_phone(to.value, uow.config.get("DEFAULT_PHONE_REGION", "US"))
        return uow.session.scalar(select(User).where(User.phone == phone))
    raise ValidationError.field("recipient", "Choose who to send to.")
