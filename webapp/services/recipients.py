"""Finding who money goes to: by wallet id, user id, email or phone, in the currency being sent; and the
wallet-and-holder rows a transfer checks before it moves anything."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, select

from webapp.db import UnitOfWork, numbered, numbered_in
from webapp.errors import CurrencyMismatch, NotFound, ValidationError
from webapp.models import User, Wallet
from webapp.models.users import mask_email, mask_phone
from webapp.prepared import Prepared
from webapp.services.accounts import normalize_email, normalize_phone

RECIPIENT_KINDS = ("wallet_id", "user_id", "email", "phone")
ANONYMOUS = "E-Wallet user"  # what someone who chose no display name is called where their email is hidden
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
    display_name: str | None
    # The transaction PIN's state (services/pins.py), read here so that checking a sender's PIN costs no
    # query of its own. Never shown: the hash stays out of repr, and so out of logs and tracebacks.
    pin_hash: str | None = field(repr=False)
    pin_failures: int
    pin_locked_until: datetime | None

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def shown_to(self, typed: Recipient | None = None) -> dict:
        """How this person appears to the other side: on the review step, in the API's `counterparty` and
        on receipts. The full email only when the viewer typed it (`typed` is how they named this person);
        otherwise a masked one, so a phone number, wallet id or payment never reveals someone's address.
        `name` is what to call them: their display name, else the email typed, else "E-Wallet user"."""
        typed_email = typed is not None and typed.kind == "email"
        email = self.email if typed_email else mask_email(self.email)
        return {"type": "user", "user_id": self.user_id, "wallet_id": self.wallet_id,
                "name": self.display_name or (email if typed_email else ANONYMOUS), "email": email,
                "phone": self.masked_phone}


@functools.cache
def _parties(count: int) -> Prepared:
    return Prepared(
        select(_wallets.c.id, _wallets.c.currency, _users.c.id, _users.c.email, _users.c.phone,
               _users.c.kyc_status, _users.c.is_frozen, _users.c.display_name, _users.c.pin_hash,
               _users.c.pin_failures, _users.c.pin_locked_until)
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
    """Who `to` names. An email or phone finds only someone who confirmed it (services/verification.py):
    until then it matches nobody, with the same NOT_FOUND as a stranger's, so a sender learns neither
    that the account exists nor whether it is confirmed."""
    if to.kind == "user_id":
        return _users.c.id == to.value
    if to.kind == "email":
        return and_(_users.c.email == normalize_email(to.value), _users.c.email_verified_at.is_not(None))
    if to.kind == "phone":
        phone = normalize_phone(to.value, uow.config.get("DEFAULT_PHONE_REGION", "US"))
        return and_(_users.c.phone == phone, _users.c.phone_verified_at.is_not(None))
    raise ValidationError.field("recipient", "Choose who to send to.")
