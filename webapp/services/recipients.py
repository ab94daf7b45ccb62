"""Finding who money goes to: by wallet id, user id, email or phone, in the currency being sent; and the
wallet-and-holder rows a transfer checks before it moves anything."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, select

from webapp.db import UnitOfWork, numbered, numbered_in
from webapp.errors import CurrencyMismatch, NotFound, ValidationError
from webapp.models import User, Wallet
from webapp.models.users import mask_phone
from webapp.prepared import Prepared
from webapp.services.accounts import normalize_email, normalize_phone

RECIPIENT_KINDS = ("wallet_id", "user_id", "email", "phone")
_wallets, _users = Wallet.__table__, User.__table__


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
class Party:
    """A wallet and the person who holds it, read without locks: enough to check a transfer and to show
    each side who the other one was."""

    wallet_id: str
    currency: str
    user_id: str
    email: str
    phone: str
    kyc_status: str
    is_frozen: bool

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


@functools.cache
def _parties(count: int) -> Prepared:
    return Prepared(
        select(_wallets.c.id, _wallets.c.currency, _users.c.id, _users.c.email, _users.c.phone,
               _users.c.kyc_status, _users.c.is_frozen)
        .join_from(_wallets, _users, _wallets.c.user_id == _users.c.id)
        .where(numbered_in(_wallets.c.id, count))
    )


def parties(uow: UnitOfWork, wallet_ids: Iterable[str]) -> dict[str, Party]:
    """The wallets that exist among `wallet_ids`, with their holders, in one query."""
    ids = sorted(set(wallet_ids))
    rows = uow.execute(_parties(len(ids)), numbered(ids))
    return {row[0]: Party(*row) for row in rows}


def preview(uow: UnitOfWork, *, sender_id: str, to: Recipient, currency: str) -> Party:
    """Who a transfer would reach, for a confirm screen, without moving anything."""
    with uow:
        wallet_id = wallet_id_for(uow, to, currency)
        party = parties(uow, [wallet_id]).get(wallet_id)
        check_recipient(party, sender_id, currency)
        return party


def check_recipient(party: Party | None, sender_id: str, currency: str) -> None:
    if party is None:
        raise NotFound("Recipient wallet not found.")
    if party.currency != currency:
        raise CurrencyMismatch(f"The recipient wallet holds {party.currency}, not {currency}.")
    if party.user_id == sender_id:
        raise ValidationError.field("recipient", "You can't send money to yourself.")


def wallet_id_for(uow: UnitOfWork, to: Recipient, currency: str) -> str:
    """The id of the recipient's wallet in `currency` (no query when the sender named a wallet). Unknown
    people are NOT_FOUND; a person without a wallet in that currency is CURRENCY_MISMATCH."""
    if to.kind == "wallet_id":
        return to.value
    found = uow.execute(
        select(_users.c.id, _wallets.c.id)
        .outerjoin(_wallets, and_(_wallets.c.user_id == _users.c.id, _wallets.c.currency == currency))
        .where(_person(uow, to))
    ).first()
    if found is None:
        raise NotFound("No wallet user matches that recipient.")
    if found[1] is None:
        raise CurrencyMismatch(f"The recipient has no {currency} wallet.")
    return found[1]


def _person(uow: UnitOfWork, to: Recipient):
    if to.kind == "user_id":
        return _users.c.id == to.value
    if to.kind == "email":
        return _users.c.email == normalize_email(to.value)
    if to.kind == "phone":
        return _users.c.phone == normalize_phone(to.value, uow.config.get("DEFAULT_PHONE_REGION", "US"))
    raise ValidationError.field("recipient", "Choose who to send to.")
