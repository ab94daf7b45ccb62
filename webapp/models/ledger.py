"""Double-entry ledger: accounts, immutable journal entries, their postings, and holds on wallets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.models.base import Base, BigId, Timestamp, Uuid, new_id, utcnow

# House accounts, one per currency each. Their balances are derived from postings, never cached in a row,
# so no deposit or payout has to lock a shared "house" row (DESIGN §5).
HOUSE_ACCOUNTS = (
    "stripe_clearing",
    "payouts_in_flight",
    "airtime_in_flight",
    "institution_settlement",
    "fees",
    "fx",
    "adjustments",
)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)  # "wallet:<uuid>" or "house:fees:USD"
    kind: Mapped[str] = mapped_column(String(16))  # "wallet" | "house"
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class JournalEntry(Base):
    __tablename__ = "journal_entries"

    id: Mapped[str] = mapped_column(Uuid, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32))  # "transfer", "adjustment", ...
    description: Mapped[str] = mapped_column(String(255), default="")
    reverses_id: Mapped[str | None] = mapped_column(ForeignKey("journal_entries.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    postings: Mapped[list[Posting]] = relationship(back_populates="entry")


class Posting(Base):
    __tablename__ = "postings"
    __table_args__ = (Index("ix_postings_account", "account_id", "currency"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units; + credit to the account, - debit
    currency: Mapped[str] = mapped_column(String(3))

    entry: Mapped[JournalEntry] = relationship(back_populates="postings")


class Hold(Base):
    """Funds reserved on a wallet while outside work is pending: then posted, released or expired."""

    __tablename__ = "holds"
    __table_args__ = (Index("ix_holds_status_expiry", "status", "expires_at"),)

    id: Mapped[str] = mapped_column(Uuid, primary_key=True, default=new_id)
    wallet_id: Mapped[str] = mapped_column(ForeignKey("wallets.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units, > 0
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|posted|released|expired
    reason: Mapped[str] = mapped_column(String(64), default="")
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
