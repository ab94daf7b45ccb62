"""Mobile airtime top-ups: what the top-up job moves along (services/topups.py, services/topup_runs.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, Timestamp, utcnow

STATUSES = ("pending", "processing", "completed", "failed")
FINAL = ("completed", "failed")


class Topup(Base):
    """One top-up. Its id is the id of the `topup` transaction the person sees, so the receipt, the job and
    the aggregator's idempotency key all name it the same way.

    pending → processing → completed | failed, the same run as a payout's (services/held_runs.py):
    `retries` and `next_attempt_at` live here rather than only in Redis, so a lost Redis (or a lost job)
    loses no top-up, and the sandbox's "pending once" survives any worker process."""

    __tablename__ = "topups"
    __table_args__ = (Index("ix_topups_due", "status", "next_attempt_at"),
                      {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"})

    id: Mapped[str] = mapped_column(ForeignKey("transactions.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    wallet_id: Mapped[str] = mapped_column(ForeignKey("wallets.id"))
    mobile_number: Mapped[str] = mapped_column(String(16))  # E.164
    operator: Mapped[str] = mapped_column(String(32))  # providers/airtime.py Operator.id
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units, > 0
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # STATUSES
    hold_id: Mapped[str] = mapped_column(ForeignKey("holds.id"))  # the funds reserved until completed or failed
    provider_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)  # the aggregator's id
    failure_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)  # for the person
    retries: Mapped[int] = mapped_column(Integer, default=0)  # calls that timed out or came back pending
    # pending: when the next attempt is due. processing: when the attempt in flight counts as lost.
    next_attempt_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    # The entry that paid the operator: the hold posted to the house airtime_in_flight account.
    paid_entry_id: Mapped[str | None] = mapped_column(ForeignKey("journal_entries.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
