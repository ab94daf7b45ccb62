"""Wallet-to-wallet transfers: one DB transaction that debits, credits, records both sides, audits, and
stores the idempotency key, or does none of it."""

from __future__ import annotations

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import AccountFrozen, CurrencyMismatch, NotFound, ValidationError
from webapp.models import Transaction
from webapp.money import Money
from webapp.services import audit, history, idempotency, ledger, limits, notices, pins, recipients, risk
from webapp.services.recipients import RECIPIENT_KINDS, Party, Recipient

OPERATION = "transfer"
__all__ = ["RECIPIENT_KINDS", "Recipient", "sent_with_key", "transfer"]
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
    pin: object = None,
) -> Transaction:
    """Move `amount` and return the sender's side. Replaying a key returns the first result unchanged,
    without a PIN; a new transfer needs the sender's `pin` once they have set one."""
    key = idempotency.check_key(idempotency_key)
    limits.check_positive(amount)
    if len(note) > MAX_NOTE:
        raise ValidationError.field("note", f"Keep the note under {MAX_NOTE} characters.")
    request = {"from": from_wallet_id, "to": [to.kind, to.value], "amount": amount.amount,
               "currency": amount.currency, "note": note}
    # Never the PIN in the fingerprint: a retry with the right PIN after a wrong one is the same request.
    request_hash = idempotency.fingerprint(request)
    return pins.guarded(uow, user_id=sender_id, pin=pin, run=lambda checked: _transfer(
        uow, sender_id, from_wallet_id, to, amount, note, key, request_hash, checked))


def sent_with_key(uow: UnitOfWork, *, sender_id: str, idempotency_key: str) -> Transaction | None:
    """The sender's side of the transfer this key already made, if any: a review page reached again with
    Back offers the receipt instead of a second send."""
    with uow:
        result_id = idempotency.result_for(uow, user_id=sender_id, operation=OPERATION, key=idempotency_key)
        return uow.session.get(Transaction, result_id) if result_id else None


@retry_on_conflict
def _transfer(uow, sender_id, from_wallet_id, to, amount, note, key, request_hash, pin) -> Transaction:
    return idempotency.once(
        uow, user_id=sender_id, operation=OPERATION, key=key, request_hash=request_hash,
        effect=lambda debit_id: _move(uow, debit_id, sender_id, from_wallet_id, to, amount, note, pin),
        load=lambda stored: uow.session.get(Transaction, stored))


def _move(uow, debit_id, sender_id, from_wallet_id, to, amount, note, pin) -> Transaction:
    source, target = _check(uow, sender_id, from_wallet_id, to, amount, pin)
    # What needs no wallet lock is written first and the wallet rows are locked late, so a popular
    # recipient's row stays locked only for the few statements before commit. Rows that reference a
    # wallet (history rows) come after the lock: InnoDB's foreign-key check takes a shared lock on the
    # wallet, and a shared lock taken before our FOR UPDATE would deadlock with a twin transaction.
    entry_id = ledger.open_entry(uow, kind="transfer")
    audit.append(uow, stream=audit.user_stream(sender_id), event="transfer", actor_id=sender_id,
                 data={"entry_id": entry_id, "from_wallet": source.wallet_id, "to_wallet": target.wallet_id,
                       "amount": amount.amount, "currency": amount.currency})
    locked = ledger.lock_wallets(uow, [source.wallet_id, target.wallet_id])
    limits.check_daily(uow, locked[source.wallet_id], amount, kyc_status=source.kyc_status)
    legs = [ledger.Leg(-amount, wallet=locked[source.wallet_id], sent=True),
            ledger.Leg(amount, wallet=locked[target.wallet_id])]
    ledger.post_entry(uow, entry_id=entry_id, legs=legs)
    meta = {"note": note} if note else {}
    debit = history.new_record(id=debit_id, wallet_id=source.wallet_id, user_id=sender_id, kind="transfer",
                               direction="debit", amount=amount.amount, currency=amount.currency,
                               counterparty=target.shown_to(to), meta=meta, journal_entry_id=entry_id)
    credit = history.new_record(wallet_id=target.wallet_id, user_id=target.user_id, kind="transfer",
                                direction="credit", amount=amount.amount, currency=amount.currency,
                                counterparty=source.shown_to(), meta=meta, journal_entry_id=entry_id,
                                created_at=debit["created_at"])
    history.record(uow, [debit, credit])
    notices.after_transfer(uow, credit_id=credit["id"])  # only a new transfer gets here, never a replay
    risk.after_transfer(uow, sender_id=sender_id)
    return history.receipt(debit)


def _check(uow, sender_id, from_wallet_id, to, amount, pin) -> tuple[Party, Party]:
    """Whose wallets, and may this sender send this amount; refuses what no lock can make right. Both
    wallets and their holders come in one query: a round trip costs more CPU than the SQL itself."""
    to_wallet_id = recipients.wallet_id_for(uow, to, amount.currency)
    found = recipients.parties(uow, [from_wallet_id, to_wallet_id])
    source = found.get(from_wallet_id)
    if source is None or source.user_id != sender_id:
        raise NotFound("Wallet not found.")
    if amount.currency != source.currency:
        raise CurrencyMismatch(f"This wallet holds {source.currency}, not {amount.currency}.")
    target = found.get(to_wallet_id)
    recipients.check_recipient(target, sender_id, amount.currency)
    if source.is_frozen:
        raise AccountFrozen()
    limits.check_transfer(uow, source, amount)
    pins.check(uow, sender_id, source, pin)  # last: a refusal above costs no PIN try
    return source, target
