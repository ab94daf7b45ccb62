"""Withdrawals to a bank account: what the payout job and the provider's webhooks move along."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, Timestamp, utcnow

STATUSES = ("pending", "processing", "paid", "failed")
FINAL = ("paid", "failed")


class Payout(Base):
    """One withdrawal. Its id is the id of the `payout` transaction the person sees, so the receipt, the
    job and the provider's idempotency key all name it the same way (services/payouts.py).

    pending → processing → paid | failed. `retries` and `next_attempt_at` live here rather than only in
    Redis, so a lost Redis (or a lost job) loses no payout: the scheduler's sweep finds what is due."""

    __tablename__ = "payouts"
    __table_args__ = (Index("ix_payouts_due", "status", "next_attempt_at"),
                      {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"})

    id: Mapped[str] = mapped_column(ForeignKey("transactions.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    wallet_id: Mapped[str] = mapped_column(ForeignKey("wallets.id"))
    bank_account_id: Mapped[str] = mapped_column(ForeignKey("bank_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units, > 0
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # STATUSES
    hold_id: Mapped[str] = mapped_column(ForeignKey("holds.id"))  # the funds reserved until paid or failed
    provider_ref: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)  # e.g. Stripe's "po_…"
    failure_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)  # for the person, no numbers
    retries: Mapped[int] = mapped_column(Integer, default=0)  # provider calls that failed and may be retried
    # pending: when the next attempt is due. processing: when the attempt in flight counts as lost (its
    # worker died), so another may take over; NULL while the provider's webhook is awaited.
    next_attempt_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    paid_entry_id: Mapped[str | None] = mapped_column(ForeignKey("journal_entries.id"), nullable=True)
    returned_entry_id: Mapped[str | None] = mapped_column(ForeignKey("journal_entries.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
