"""The ledger side of card deposits: the credit from the Stripe clearing house account, refunds as linked
reversing entries, disputes as holds. Called by services/deposit_events.py with the deposit row locked.

Money the card network takes back (a refund, a lost dispute) leaves whether or not the wallet still holds
it, so those debits may take a wallet below zero (`Leg.may_overdraw`, the only such path in the ledger).
Such a wallet is flagged in the audit trail and sends nothing until it is back at zero: the ledger answers
any transfer out of it with BelowZero (ACCOUNT_FROZEN). Money added later brings it back.
"""

from __future__ import annotations

from sqlalchemy import bindparam, update

from webapp.db import UnitOfWork
from webapp.errors import LedgerError
from webapp.models import Hold, Transaction
from webapp.money import Money
from webapp.prepared import Prepared
from webapp.services import audit, history, ledger, risk
from webapp.services.deposit_rows import LockedDeposit
from webapp.services.ledger import Leg, LockedWallet

LIVE_REFUNDS = ("pending", "succeeded", "requires_action")  # Stripe has taken these from the balance
DISPUTE_LOST = ("lost",)
DISPUTE_RELEASED = ("won", "warning_closed", "charge_refunded", "prevented")
CARD = {"type": "card", "name": "Card"}
_transactions = Transaction.__table__
# The history row of the credit, without loading it into the session: every credit runs this (bench/README.md).
_COMPLETE = Prepared(update(_transactions).where(_transactions.c.id == bindparam("tx_id"))
                     .values(status="completed", journal_entry_id=bindparam("entry_id")))


def credit(uow: UnitOfWork, deposit: LockedDeposit) -> None:
    """Stripe clearing → the wallet, once; the pending transaction becomes completed."""
    money = Money(deposit.amount, deposit.currency)
    clearing_id = ledger.house_account_id(uow, "stripe_clearing", deposit.currency)
    entry_id = ledger.open_entry(uow, kind="deposit", description=f"card payment {deposit.payment_intent_id}")
    audit.append(uow, stream=audit.user_stream(deposit.user_id), event="deposit_credited",
                 data={"transaction_id": deposit.transaction_id, "entry_id": entry_id,
                       "payment_intent": deposit.payment_intent_id, "amount": money.amount,
                       "currency": money.currency})
    wallet = _lock(uow, deposit)
    ledger.post_entry(uow, entry_id=entry_id, legs=[Leg(-money, account_id=clearing_id), Leg(money, wallet=wallet)])
    deposit.status, deposit.credit_entry_id = "completed", entry_id
    if uow.execute(_COMPLETE, {"tx_id": deposit.transaction_id, "entry_id": entry_id}).rowcount != 1:
        raise LedgerError(f"deposit {deposit.transaction_id} has no history row to complete")


def record_refund(deposit: LockedDeposit, refund: dict) -> None:
    """Remember one refund by id: its amount, when Stripe made it, and whether it still stands (a failed
    or canceled one does not). Nothing moves here."""
    refunds = {key: dict(value) for key, value in (deposit.refunds or {}).items()}
    known = refunds.setdefault(refund["id"], {"applied": False})
    known.update(amount=int(refund.get("amount") or 0), created=int(refund.get("created") or 0),
                 live=refund.get("status") in LIVE_REFUNDS)
    deposit.refunds = refunds


def apply_refunds(uow: UnitOfWork, deposit: LockedDeposit) -> None:
    """Once the credit is in the ledger, reverse what is refunded and not reversed yet: one entry per
    refund, oldest first, as in-order delivery would have posted them. The refunded total is the larger
    of the charge's running total (`charge.refunded`) and the refunds seen, so one refund told by several
    events counts once; a total ahead of the refunds we know of is reversed as it stands, and the refund
    that explains it later finds nothing left to do."""
    if deposit.status != "completed":
        return  # kept on the row until the credit lands
    refunds = {key: dict(value) for key, value in (deposit.refunds or {}).items()}
    live = sorted((r["created"], key) for key, r in refunds.items() if r["live"])
    target = min(deposit.amount, max(deposit.charge_refunded, sum(refunds[key]["amount"] for _, key in live)))
    for _, key in live:
        refund = refunds[key]
        if not refund["applied"] and deposit.refunded + refund["amount"] <= target:
            _reverse(uow, deposit, refund["amount"], key)
            refund["applied"] = True
    if deposit.refunded < target:
        _reverse(uow, deposit, target - deposit.refunded, None)
    deposit.refunds = refunds


def _reverse(uow: UnitOfWork, deposit: LockedDeposit, amount: int, refund_id: str | None) -> None:
    money = Money(amount, deposit.currency)
    entry_id = ledger.open_entry(uow, kind="deposit_refund", reverses_id=deposit.credit_entry_id,
                                 description=f"refund {refund_id or ''} of card payment {deposit.payment_intent_id}")
    _audit(uow, deposit, "deposit_refunded", entry_id=entry_id, amount=amount, refund=refund_id)
    wallet = _lock(uow, deposit)
    clearing_id = ledger.house_account_id(uow, "stripe_clearing", deposit.currency)
    ledger.post_entry(uow, entry_id=entry_id, legs=[Leg(-money, wallet=wallet, may_overdraw=True),
                                                    Leg(money, account_id=clearing_id)])
    _history(uow, deposit, "deposit_refund", amount, entry_id)
    deposit.refunded += amount
    _flag_below_zero(uow, deposit, wallet)


def record_dispute(uow: UnitOfWork, deposit: LockedDeposit, dispute: dict) -> None:
    """Remember the dispute and its status. A closed dispute stays closed whatever arrives after."""
    current = dict(deposit.dispute or {})
    if current.get("id") not in (None, dispute.get("id")):
        audit.append(uow, stream=audit.SYSTEM, event="deposit_review",
                     data={"transaction_id": deposit.transaction_id, "problems": {"second_dispute": dispute.get("id")}})
        return
    status = dispute.get("status")
    if current.get("status") in DISPUTE_LOST + DISPUTE_RELEASED:
        status = current["status"]
    current.update(id=dispute.get("id"), amount=int(dispute.get("amount") or 0), status=status)
    deposit.dispute = current


def apply_dispute(uow: UnitOfWork, deposit: LockedDeposit) -> None:
    """Hold the disputed amount, then post it (lost) or release it (won), always in that order, so a
    dispute reported before the credit leaves the ledger as an in-order one would."""
    dispute = dict(deposit.dispute or {})
    if deposit.status != "completed" or not dispute.get("id") or dispute.get("applied") in ("posted", "released"):
        return
    if dispute.get("hold_id") and dispute["status"] not in DISPUTE_LOST + DISPUTE_RELEASED:
        return  # held already; still open
    money = Money(min(dispute["amount"], deposit.amount), deposit.currency)
    _audit(uow, deposit, f"deposit_dispute_{dispute['status']}", dispute=dispute["id"], amount=money.amount)
    wallet = _lock(uow, deposit)
    if not dispute.get("hold_id"):
        dispute["hold_id"] = ledger.reserve(uow, wallet, money, reason="card dispute", may_overdraw=True).id
        dispute["applied"] = "held"
    hold = uow.session.get(Hold, dispute["hold_id"])
    if dispute["status"] in DISPUTE_LOST:
        clearing_id = ledger.house_account_id(uow, "stripe_clearing", deposit.currency)
        entry_id = ledger.post_hold(uow, hold, wallet, kind="chargeback", to_account_id=clearing_id,
                                    reverses_id=deposit.credit_entry_id, may_overdraw=True)
        _history(uow, deposit, "chargeback", money.amount, entry_id)
        dispute["applied"] = "posted"
    elif dispute["status"] in DISPUTE_RELEASED:
        ledger.release_hold(uow, hold, wallet)
        dispute["applied"] = "released"
    deposit.dispute = dispute
    _flag_below_zero(uow, deposit, wallet)


def _lock(uow: UnitOfWork, deposit: LockedDeposit) -> LockedWallet:
    return ledger.lock_wallets(uow, [deposit.wallet_id])[deposit.wallet_id]


def _audit(uow: UnitOfWork, deposit: LockedDeposit, event: str, **data) -> None:
    """Before the wallet lock, as everywhere: audit stream head first, then wallets (ledger.lock_wallets)."""
    audit.append(uow, stream=audit.user_stream(deposit.user_id), event=event,
                 data={"transaction_id": deposit.transaction_id, "payment_intent": deposit.payment_intent_id,
                       "currency": deposit.currency, **data})


def _history(uow: UnitOfWork, deposit: LockedDeposit, kind: str, amount: int, entry_id: str) -> None:
    history.record(uow, [history.new_record(
        wallet_id=deposit.wallet_id, user_id=deposit.user_id, kind=kind, direction="debit", amount=amount,
        currency=deposit.currency, counterparty=CARD, meta={"deposit_id": deposit.transaction_id},
        journal_entry_id=entry_id)])


def _flag_below_zero(uow: UnitOfWork, deposit: LockedDeposit, wallet: LockedWallet) -> None:
    """The flag an operator sees; the block itself is the ledger's (BelowZero on any money sent)."""
    if wallet.balance - wallet.reserved < 0:
        seen = {"wallet_id": wallet.id, "balance": wallet.balance, "reserved": wallet.reserved,
                "currency": wallet.currency, "transaction_id": deposit.transaction_id}
        audit.append(uow, stream=audit.user_stream(deposit.user_id), event="wallet_below_zero", data=seen)
        risk.after_negative_balance(uow, user_id=deposit.user_id, details=seen)
