from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, Timestamp, Uuid, new_id, utcnow
from webapp.money import Money


class Transaction(Base):
    """What a user sees in their history: one row per wallet side, linked to the journal entry."""

    __tablename__ = "transactions"
    __table_args__ = (
        Index("ix_transactions_wallet_page", "wallet_id", "created_at", "id"),
        Index("ix_transactions_user_page", "user_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(Uuid, primary_key=True, default=new_id)
    wallet_id: Mapped[str] = mapped_column(ForeignKey("wallets.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))  # "transfer", "adjustment", ...
    direction: Mapped[str] = mapped_column(String(6))  # "debit" | "credit"
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units, always > 0; direction gives the sign
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="completed")
    counterparty: Mapped[dict] = mapped_column(JSON, default=dict)
    meta: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    journal_entry_id: Mapped[str | None] = mapped_column(ForeignKey("journal_entries.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def signed_amount(self) -> int:
        return self.amount if self.direction == "credit" else -self.amount
