"""Paying an institution with a structured reference: one DB transaction that debits the payer's wallet,
credits the institution's ledger account, records the payer's side with the reference, audits, and stores
the idempotency key, or does none of it.

Shaped like services/transfers.py, with one difference that matters under load: the institution's account
caches no balance, so its side is a posting and nothing else. The payer's wallet is the only row locked,
and a thousand payers can pay one college at once without waiting on each other (DESIGN §5)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import AccountFrozen, CurrencyMismatch, NotFound
from webapp.models import Institution, Transaction
from webapp.money import Money
from webapp.services import audit, history, idempotency, ledger, limits, pins, recipients
from webapp.services.institutions import ReferenceField, check_reference
from webapp.services.recipients import Party

OPERATION = "institution_payment"
_institutions = Institution.__table__


@dataclass(frozen=True)
class Payee:
    """An institution as a payment sees it, read without locks."""

    id: str
    name: str
    kind: str
    currency: str
    account_id: int
    fields: list[ReferenceField]

    def shown(self) -> dict:
        """The `counterparty` of the payer's transaction."""
        return {"type": "institution", "institution_id": self.id, "name": self.name, "kind": self.kind}


def pay(
    uow: UnitOfWork,
    *,
    payer_id: str,
    wallet_id: str,
    institution_id: str,
    amount: Money,
    reference: object,
    idempotency_key: object,
    pin: object = None,
) -> Transaction:
    """Pay `amount` from the payer's wallet to the institution and return the payer's side (a receipt with
    the reference in its metadata). Replaying a key returns the first result unchanged, without a PIN; a
    new payment needs the payer's `pin` once they have set one."""
    key = idempotency.check_key(idempotency_key)
    limits.check_positive(amount)
    request = {"wallet": wallet_id, "institution": institution_id, "amount": amount.amount,
               "currency": amount.currency, "reference": reference}
    request_hash = idempotency.fingerprint(request)  # never with the PIN: see transfers.transfer
    return pins.guarded(uow, user_id=payer_id, pin=pin, run=lambda checked: _pay(
        uow, payer_id, wallet_id, institution_id, amount, reference, key, request_hash, checked))


def paid_with_key(uow: UnitOfWork, *, payer_id: str, idempotency_key: str) -> Transaction | None:
    """The payment this key already made, if any: a review reached again with Back offers its receipt."""
    with uow:
        result_id = idempotency.result_for(uow, user_id=payer_id, operation=OPERATION, key=idempotency_key)
        return uow.session.get(Transaction, result_id) if result_id else None


@retry_on_conflict
def _pay(uow, payer_id, wallet_id, institution_id, amount, reference, key, request_hash, pin) -> Transaction:
    return idempotency.once(
        uow, user_id=payer_id, operation=OPERATION, key=key, request_hash=request_hash,
        effect=lambda payment_id: _move(uow, payment_id, payer_id, wallet_id, institution_id, amount, reference, pin),
        load=lambda stored: uow.session.get(Transaction, stored))


def _move(uow, payment_id, payer_id, wallet_id, institution_id, amount, reference, pin) -> Transaction:
    payee, payer, kept = _check(uow, payer_id, wallet_id, institution_id, amount, reference, pin)
    # As in a transfer: what needs no lock first, the wallet lock last, the history row after it.
    entry_id = ledger.open_entry(uow, kind=OPERATION)
    audit.append(uow, stream=audit.user_stream(payer_id), event=OPERATION, actor_id=payer_id,
                 data={"entry_id": entry_id, "from_wallet": wallet_id, "institution_id": payee.id,
                       "amount": amount.amount, "currency": amount.currency, "reference": kept})
    wallet = ledger.lock_wallets(uow, [payer.wallet_id])[payer.wallet_id]
    limits.check_daily(uow, wallet, amount, kyc_status=payer.kyc_status)
    ledger.post_entry(uow, entry_id=entry_id, legs=[ledger.Leg(-amount, wallet=wallet, sent=True),
                                                    ledger.Leg(amount, account_id=payee.account_id)])
    labels = {field.name: field.label for field in payee.fields}
    row = history.new_record(id=payment_id, wallet_id=payer.wallet_id, user_id=payer_id, kind=OPERATION,
                             direction="debit", amount=amount.amount, currency=amount.currency,
                             counterparty=payee.shown(), meta={"reference": kept, "reference_labels": labels},
                             journal_entry_id=entry_id)
    history.record(uow, [row])
    return history.receipt(row)


def _check(uow, payer_id, wallet_id, institution_id, amount, reference, pin) -> tuple[Payee, Party, dict[str, str]]:
    """Who pays whom, with which reference; refuses what no lock can make right."""
    payee = payee_for(uow, institution_id)
    kept = check_reference(payee.fields, reference)
    payer = recipients.parties(uow, [wallet_id]).get(wallet_id) if isinstance(wallet_id, str) else None
    if payer is None or payer.user_id != payer_id:
        raise NotFound("Wallet not found.")
    if amount.currency != payer.currency:
        raise CurrencyMismatch(f"This wallet holds {payer.currency}, not {amount.currency}.")
    if amount.currency != payee.currency:
        raise CurrencyMismatch(f"{payee.name} is paid in {payee.currency}, not {amount.currency}.")
    if payer.is_frozen:
        raise AccountFrozen()
    limits.check_transfer(uow, payer, amount)
    pins.check(uow, payer_id, payer, pin)  # last: a refusal above costs no PIN try
    return payee, payer, kept


def payee_for(uow: UnitOfWork, institution_id: object) -> Payee:
    """An active institution, read with plain Core (no ORM session on the money path), or NotFound."""
    row = None
    if isinstance(institution_id, str):
        row = uow.execute(select(_institutions.c.id, _institutions.c.name, _institutions.c.kind,
                                 _institutions.c.currency, _institutions.c.account_id,
                                 _institutions.c.reference_fields, _institutions.c.active)
                          .where(_institutions.c.id == institution_id)).first()
    if row is None or not row.active:
        raise NotFound("Institution not found.")
    fields = [ReferenceField(**field) for field in row.reference_fields or []]
    return Payee(row.id, row.name, row.kind, row.currency, row.account_id, fields)
