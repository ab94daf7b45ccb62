"""Wallet-to-wallet transfers: one DB transaction that debits, credits, records both sides, audits, and
stores the idempotency key, or does none of it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import AccountFrozen, CurrencyMismatch, NotFound, ValidationError
from webapp.models import Transaction, User, Wallet
from webapp.models.base import new_id
from webapp.money import Money
from webapp.services import audit, idempotency, ledger, limits
from webapp.services.accounts import normalize_email, normalize_phone

OPERATION = "transfer"
RECIPIENT_KINDS = ("wallet_id", "user_id", "email", "phone")
MAX_NOTE = 140


@dataclass(frozen=True)
class Recipient:
    kind: str  # one of RECIPIENT_KINDS
    value: str


def transfer(
    uow: UnitOfWork,
    *,
    sender_id: str,
    from_wallet_id: str,
    to: Recipient,
    amount: Money,
    idempotency_key: object,
    note: str = "",
) -> Transaction:
    """Move `amount` and return the sender's side. Replaying a key returns the first result unchanged."""
    key = idempotency.check_key(idempotency_key)
    limits.check_positive(amount)
    if len(note) > MAX_NOTE:
        raise ValidationError.field("note", f"Keep the note under {MAX_NOTE} characters.")
    request = {"from": from_wallet_id, "to": [to.kind, to.value], "amount": amount.amount,
               "currency": amount.currency, "note": note}
    return _transfer(uow, sender_id, from_wallet_id, to, amount, note, key, idempotency.fingerprint(request))


@retry_on_conflict
def _transfer(uow, sender_id, from_wallet_id, to, amount, note, key, request_hash) -> Transaction:
    with uow:
        stored = idempotency.find_result(uow, user_id=sender_id, operation=OPERATION, key=key,
                                         request_hash=request_hash)
        if stored:
            return uow.session.get(Transaction, stored)
        debit_id = new_id()
        try:
            idempotency.claim(uow, user_id=sender_id, operation=OPERATION, key=key,
                              request_hash=request_hash, result_id=debit_id)
        except idempotency.KeyTaken:  # a twin committed while we waited on its key: answer as it did
            stored = idempotency.find_result(uow, user_id=sender_id, operation=OPERATION, key=key,
                                             request_hash=request_hash)
            return uow.session.get(Transaction, stored)
        debit = _move(uow, debit_id, sender_id, from_wallet_id, to, amount, note)
        uow.commit()
    return debit


def _move(uow, debit_id, sender_id, from_wallet_id, to, amount, note) -> Transaction:
    sender = uow.session.get(User, sender_id)
    source = uow.session.get(Wallet, from_wallet_id)
    if source is None or source.user_id != sender_id:
        raise NotFound("Wallet not found.")
    if amount.currency != source.currency:
        raise CurrencyMismatch(f"This wallet holds {source.currency}, not {amount.currency}.")
    if sender.is_frozen:
        raise AccountFrozen()
    target = _resolve(uow, to, amount.currency)
    if target.user_id == sender_id:
        raise ValidationError.field("recipient", "You can't send money to yourself.")
    locked = ledger.lock_wallets(uow, [source.id, target.id])
    source, target = locked[source.id], locked[target.id]
    limits.check_transfer(uow, sender, source, amount)  # after the lock: the daily sum can't race
    entry = ledger.post_entry(uow, kind="transfer", legs=[ledger.Leg(-amount, wallet=source),
                                                          ledger.Leg(amount, wallet=target)])
    recipient = uow.session.get(User, target.user_id)
    meta = {"note": note} if note else {}
    debit = Transaction(id=debit_id, wallet_id=source.id, user_id=sender_id, kind="transfer",
                        direction="debit", amount=amount.amount, currency=amount.currency,
                        counterparty=_party(recipient, target), meta=meta, journal_entry_id=entry.id)
    credit = Transaction(wallet_id=target.id, user_id=target.user_id, kind="transfer", direction="credit",
                         amount=amount.amount, currency=amount.currency, counterparty=_party(sender, source),
                         meta=meta, journal_entry_id=entry.id)
    uow.session.add_all([debit, credit])
    audit.append(uow, stream=audit.user_stream(sender_id), event="transfer", actor_id=sender_id,
                 data={"entry_id": entry.id, "from_wallet": source.id, "to_wallet": target.id,
                       "amount": amount.amount, "currency": amount.currency})
    uow.session.flush()
    return debit


def _party(user: User, wallet: Wallet) -> dict:
    return {"type": "user", "user_id": user.id, "wallet_id": wallet.id, "email": user.email,
            "phone": user.masked_phone}


def _resolve(uow: UnitOfWork, to: Recipient, currency: str) -> Wallet:
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
