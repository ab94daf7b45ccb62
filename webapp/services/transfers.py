"""Wallet-to-wallet transfers: one DB transaction that debits, credits, records both sides, audits, and
stores the idempotency key, or does none of it."""

from __future__ import annotations

from sqlalchemy import select

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
    debit_id = new_id()
    with uow:
        try:
            idempotency.claim(uow, user_id=sender_id, operation=OPERATION, key=key,
                              request_hash=request_hash, result_id=debit_id)
        except idempotency.KeyTaken:
            pass  # seen before: answer below exactly as the first request was answered
        else:
            debit = _move(uow, debit_id, sender_id, from_wallet_id, to, amount, note)
            uow.commit()
            return debit
    with uow:
        stored = idempotency.find_result(uow, user_id=sender_id, operation=OPERATION, key=key,
                                         request_hash=request_hash)
        return uow.session.get(Transaction, stored)


def _move(uow, debit_id, sender_id, from_wallet_id, to, amount, note) -> Transaction:
    sender, recipient, source, target = _check(uow, sender_id, from_wallet_id, to, amount)
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
    return _record_sides(uow, entry, debit_id, sender, recipient, source, target, amount, note)


def _check(uow, sender_id, from_wallet_id, to, amount) -> tuple[User, User, Wallet, Wallet]:
    """Who sends, who receives, and from and to which wallets; refuses what no lock can make right.
    Rows are fetched together where possible: each ORM round trip costs more CPU than the SQL itself."""
    wallet_ids = [from_wallet_id] + ([to.value] if to.kind == "wallet_id" else [])
    fetched = {w.id: w for w in uow.session.scalars(select(Wallet).where(Wallet.id.in_(wallet_ids)))}
    source = fetched.get(from_wallet_id)
    if source is None or source.user_id != sender_id:
        raise NotFound("Wallet not found.")
    if amount.currency != source.currency:
        raise CurrencyMismatch(f"This wallet holds {source.currency}, not {amount.currency}.")
    target = recipients.resolve(uow, to, amount.currency)  # a wallet id is already in the identity map
    if target.user_id == sender_id:
        raise ValidationError.field("recipient", "You can't send money to yourself.")
    people = {u.id: u for u in uow.session.scalars(select(User).where(User.id.in_([sender_id, target.user_id])))}
    sender = people[sender_id]
    if sender.is_frozen:
        raise AccountFrozen()
    limits.check_transfer(uow, sender, amount)
    return sender, people[target.user_id], source, target


def _record_sides(uow, entry, debit_id, sender, recipient, source, target, amount, note) -> Transaction:
    meta = {"note": note} if note else {}
    debit = Transaction(id=debit_id, wallet_id=source.id, user_id=sender.id, kind="transfer",
                        direction="debit", amount=amount.amount, currency=amount.currency,
                        counterparty=_party(recipient, target), meta=meta, journal_entry_id=entry.id)
    # Ids made here, not by the database default at flush, let both rows go in one INSERT.
    credit = Transaction(id=new_id(), wallet_id=target.id, user_id=target.user_id, kind="transfer",
                         direction="credit", amount=amount.amount, currency=amount.currency,
                         counterparty=_party(sender, source), meta=meta, journal_entry_id=entry.id)
    uow.session.add_all([debit, credit])
    return debit


def _party(user: User, wallet: Wallet) -> dict:
    return {"type": "user", "user_id": user.id, "wallet_id": wallet.id, "email": user.email,
            "phone": user.masked_phone}
