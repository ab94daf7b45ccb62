"""Wallet-to-wallet transfers: one DB transaction that debits, credits, records both sides, audits, and
stores the idempotency key, or does none of it."""

from __future__ import annotations

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import AccountFrozen, CurrencyMismatch, NotFound, ValidationError
from webapp.models import Transaction, User, Wallet
from webapp.models.base import new_id
from webapp.money import Money
from webapp.services import audit, idempotency, ledger, limits, recipients
from webapp.services.recipients import RECIPIENT_KINDS, Recipient

OPERATION = "transfer"
__all__ = ["RECIPIENT_KINDS", "Recipient", "transfer"]
MAX_NOTE = 140


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
    sender, source, target = _check(uow, sender_id, from_wallet_id, to, amount)
    # What needs no wallet lock is written first and the wallet rows are locked late, so a popular
    # recipient's row stays locked only for the few statements before commit. Rows that reference a
    # wallet (history rows) come after the lock: InnoDB's foreign-key check takes a shared lock on the
    # wallet, and a shared lock taken before our FOR UPDATE would deadlock with a twin transaction.
    entry = ledger.open_entry(uow, kind="transfer")
    audit.append(uow, stream=audit.user_stream(sender_id), event="transfer", actor_id=sender_id,
                 data={"entry_id": entry.id, "from_wallet": source.id, "to_wallet": target.id,
                       "amount": amount.amount, "currency": amount.currency})
    locked = ledger.lock_wallets(uow, [source.id, target.id])
    limits.check_daily(uow, locked[source.id], amount)  # under the lock, so two transfers can't both fit
    ledger.post_entry(uow, entry=entry, legs=[ledger.Leg(-amount, wallet=locked[source.id]),
                                              ledger.Leg(amount, wallet=locked[target.id])])
    return _record_sides(uow, entry, debit_id, sender, source, target, amount, note)


def _check(uow, sender_id, from_wallet_id, to, amount) -> tuple[User, Wallet, Wallet]:
    sender = uow.session.get(User, sender_id)
    source = uow.session.get(Wallet, from_wallet_id)
    if source is None or source.user_id != sender_id:
        raise NotFound("Wallet not found.")
    if amount.currency != source.currency:
        raise CurrencyMismatch(f"This wallet holds {source.currency}, not {amount.currency}.")
    if sender.is_frozen:
        raise AccountFrozen()
    target = recipients.resolve(uow, to, amount.currency)
    if target.user_id == sender_id:
        raise ValidationError.field("recipient", "You can't send money to yourself.")
    limits.check_transfer(uow, sender, amount)
    return sender, source, target


def _record_sides(uow, entry, debit_id, sender, source, target, amount, note) -> Transaction:
    recipient = uow.session.get(User, target.user_id)
    meta = {"note": note} if note else {}
    debit = Transaction(id=debit_id, wallet_id=source.id, user_id=sender.id, kind="transfer",
                        direction="debit", amount=amount.amount, currency=amount.currency,
                        counterparty=_party(recipient, target), meta=meta, journal_entry_id=entry.id)
    credit = Transaction(wallet_id=target.id, user_id=target.user_id, kind="transfer", direction="credit",
                         amount=amount.amount, currency=amount.currency, counterparty=_party(sender, source),
                         meta=meta, journal_entry_id=entry.id)
    uow.session.add_all([debit, credit])
    uow.session.flush()
    return debit


def _party(user: User, wallet: Wallet) -> dict:
    return {"type": "user", "user_id": user.id, "wallet_id": wallet.id, "email": user.email,
            "phone": user.masked_phone}
