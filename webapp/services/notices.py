"""Telling people about their money by email: "you received $12.50 from a•••@example.com".

Nothing here runs inside a money transaction. A transfer only asks for the notice (`after_transfer`); the
job that sends it starts after commit (webapp/background.py) and reads what it needs by id, in its own
unit of work, so the notice costs the transfer one list append (plus one Redis round trip when queued).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select

from webapp import background
from webapp.db import UnitOfWork
from webapp.models import Transaction, User
from webapp.models.users import mask_email
from webapp.money import Money

MONEY_RECEIVED_JOB = "jobs.notices.money_received"


@dataclass(frozen=True)
class MoneyReceived:
    to: str  # the recipient's email
    amount: Money
    sender: str  # masked: the notice may be read by anyone who sees the recipient's inbox
    transaction_id: str  # the recipient's side, for the receipt link


def after_transfer(uow: UnitOfWork, *, credit_id: str) -> None:
    """Notify the recipient of a transfer once `uow` commits. MAIL_URL=dummy: drops all mail, so the
    notice is not even built (load benchmarks measure transfers, not notices)."""
    if urlsplit(uow.config.get("MAIL_URL", "")).scheme != "dummy":
        background.after_commit(uow, MONEY_RECEIVED_JOB, credit_id)


def money_received(uow: UnitOfWork, *, transaction_id: str) -> MoneyReceived | None:
    """What to tell the recipient of a transfer; None if `transaction_id` is not a transfer's credit side."""
    with uow:
        row = uow.session.execute(
            select(Transaction, User.email).join(User, User.id == Transaction.user_id)
            .where(Transaction.id == transaction_id)
        ).first()
    if row is None or row.Transaction.direction != "credit" or row.Transaction.kind != "transfer":
        return None
    tx = row.Transaction
    sender = (tx.counterparty or {}).get("email") or ""
    return MoneyReceived(to=row.email, amount=tx.money, sender=mask_email(sender) if sender else "someone",
                         transaction_id=tx.id)
